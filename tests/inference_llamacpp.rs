//! The forward pass against llama.cpp, natively, for SmolLM2, Gemma 3 and Qwen2.5-Coder-0.5B on
//! the prompts of `tests/golden/llamacpp/prompts.json` (llama.cpp's own prompt ids).
//!
//! The primary check (the same as the browser test `tests/e2e/generate.test.mjs`), against the
//! portable llama.cpp build (`tests/golden/llamacpp/<model>.portable.json`, written by
//! `tools/golden/llamacpp_portable.py teacher`: ggml's generic kernels, flash attention off, F16
//! cache, one thread), under teacher forcing along that reference's own greedy 32 tokens: at
//! every position gguf64's top-1 is the reference's wherever the reference's top-1/top-2 logit
//! gap exceeds `TIE_GAP`, and gguf64's log-probability of the reference's top-1 is within
//! `TEACHER_TOLERANCE` of the reference's. The median and largest |Δ| per model are printed.
//!
//! A secondary report, not asserted: the older rule against node-llama-cpp 3.21.1's prebuilt
//! binary (`<model>.reference.json`, `tools/golden/llamacpp-reference.mjs`), whose kernels
//! depend on the CPU that made the file:
//!
//! * top-1 at the first generated position: llama.cpp's, unless wllama (llama.cpp built for
//!   wasm, `<model>.wllama.json`) also picks another token there (where wllama has no run of a
//!   prompt, the rule holds gguf64 to llama.cpp alone);
//! * its log-probability within `max(0.1, spread)` of llama.cpp's, where `spread` is how far
//!   llama.cpp itself moves the top-20 log-probabilities when only its attention kernel changes
//!   (flash attention on/off: 0.13 to 0.50 on these prompts, not the 0.05 the issue assumed);
//! * the greedy 32-token continuation equals llama.cpp's, or agrees at least as far as wllama's,
//!   or diverges at a near-tie: where llama.cpp's own top-2 logit gap is below `max(0.1, spread)`,
//!   a difference llama.cpp's own kernels can flip.
//!
//! Every layout (standard, memory64, paged with 2 slots, multi with a 32 MiB shard cap) gives
//! the same ids. A test is skipped, with a notice, only when its model file is absent and models are not
//! required (`npm test` requires them).

#[path = "support/models.rs"]
mod models;

use std::fs::File;
use std::path::PathBuf;

use gguf64::memory::{LayoutKind, PlanLimits, Target};
use gguf64::memory::pager::Pager;
use gguf64::model::{ModelConfig, Session};
use gguf64::runtime::{PlacedWeights, TensorIndex, native};

const SMOLLM: &str = "SmolLM2-135M-Instruct.Q4_1";
const GEMMA: &str = "gemma-3-270m-q4_k_m";
const QWEN: &str = "qwen2.5-coder-0.5b-instruct-q4_k_m";
/// The reference's top-1/top-2 logit gap at or below which gguf64 may pick the other token.
const TIE_GAP: f64 = 0.01;
/// |Δ| of the reference top-1's log-probability allowed at any teacher-forced position.
const TEACHER_TOLERANCE: f64 = 0.01;
/// llama.cpp's own logit gap below which a greedy divergence counts as a near-tie (secondary
/// report).
const NEAR_TIE: f64 = 0.1;
const LOGPROB_TOLERANCE: f64 = 0.1;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[path = "support/json.rs"]
mod json;
use json::Json;

struct Loaded {
    model: gguf64::loader::LoadedModel,
    storage: native::NativeStorage,
    pager: Option<Pager>,
    index: TensorIndex,
    config: ModelConfig,
}

fn load(stem: &str, limits: PlanLimits) -> Option<Loaded> {
    let path = root().join("models").join(format!("{stem}.gguf"));
    let Ok(file) = File::open(&path) else {
        models::absent(&path);
        return None;
    };
    let len = file.metadata().unwrap().len();
    let (model, storage) = native::load(std::io::BufReader::new(file), len, limits).expect("load");
    let config = ModelConfig::from_header(model.placed.header()).expect("config");
    let index = TensorIndex::new(&model.placed, &config).expect("index");
    let pager = model.placed.plan.working_set.map(Pager::new);
    Some(Loaded { model, storage, pager, index, config })
}

impl Loaded {
    /// Logits after `prompt`, then `n` greedy tokens.
    fn greedy(&mut self, prompt: &[u32], n: usize) -> (Vec<f32>, Vec<u32>) {
        let mut session = Session::new(&self.config, 512, 32).unwrap();
        let mut weights = PlacedWeights { model: &mut self.model, pager: self.pager.as_mut(), index: &self.index, host: &mut self.storage };
        let mut logits = vec![0.0; self.config.n_vocab];
        session.eval(&mut weights, prompt, &mut logits).unwrap();
        let first = logits.clone();
        let mut out = Vec::new();
        for _ in 0..n {
            let next = argmax(&logits);
            out.push(next);
            session.eval(&mut weights, &[next], &mut logits).unwrap();
        }
        (first, out)
    }
}

impl Loaded {
    /// Logits at each position predicting `continuation[i]`: the prompt in batches, then one
    /// token at a time (teacher forcing: the reference's tokens, whatever gguf64 would pick).
    fn teacher(&mut self, prompt: &[u32], continuation: &[u32]) -> Vec<Vec<f32>> {
        let mut session = Session::new(&self.config, 512, 32).unwrap();
        let mut weights = PlacedWeights { model: &mut self.model, pager: self.pager.as_mut(), index: &self.index, host: &mut self.storage };
        let mut logits = vec![0.0; self.config.n_vocab];
        session.eval(&mut weights, prompt, &mut logits).unwrap();
        let mut out = vec![logits.clone()];
        for &id in &continuation[..continuation.len() - 1] {
            session.eval(&mut weights, &[id], &mut logits).unwrap();
            out.push(logits.clone());
        }
        out
    }
}

/// |Δ| at every teacher-forced position and the positions where top-1 differs beyond a tie.
struct Teacher {
    deltas: Vec<f64>,
    mismatches: Vec<String>,
}

/// The primary rule for one prompt of `<model>.portable.json` and gguf64's logits along it.
fn teacher_forcing(p: &Json, logits: &[Vec<f32>]) -> Teacher {
    let (mut deltas, mut mismatches) = (Vec::new(), Vec::new());
    for (i, (want, ours)) in p.get("positions").items().iter().zip(logits).enumerate() {
        let top1 = want.get("top1").u64() as u32;
        let delta = (log_softmax_at(ours, top1 as usize) - want.get("logprob").f64()).abs();
        deltas.push(delta);
        let gap = want.get("gap").f64();
        if argmax(ours) != top1 && gap > TIE_GAP {
            mismatches.push(format!("position {i}: top-1 {} where the reference picks {top1} (its gap {gap:.4})", argmax(ours)));
        }
    }
    Teacher { deltas, mismatches }
}

/// Median and maximum of `v`.
fn median_max(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v.get(v.len() / 2).copied().unwrap_or(0.0), v.last().copied().unwrap_or(0.0))
}

fn portable(stem: &str) -> Json {
    let path = root().join("tests/golden/llamacpp").join(format!("{stem}.portable.json"));
    Json::parse(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn argmax(x: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v > x[best] {
            best = i;
        }
    }
    best as u32
}

fn log_softmax_at(x: &[f32], i: usize) -> f64 {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = x.iter().map(|&v| (v as f64 - max).exp()).sum();
    x[i] as f64 - max - sum.ln()
}

fn reference(stem: &str) -> Json {
    let path = root().join("tests/golden/llamacpp").join(format!("{stem}.reference.json"));
    Json::parse(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn check_model(stem: &str) {
    let Some(mut m) = load(stem, PlanLimits::for_target(Target::Wasm64)) else { return };
    let golden = portable(stem);
    let (mut all, mut failures, mut report) = (Vec::new(), Vec::new(), Vec::new());
    for p in golden.get("prompts").items() {
        let name = p.get("name").str();
        let logits = m.teacher(&p.get("prompt_ids").ids(), &p.get("greedy").ids());
        let mut t = teacher_forcing(p, &logits);
        all.extend_from_slice(&t.deltas);
        let (median, max) = median_max(&mut t.deltas);
        report.push(format!("{name}: |Δ| median {median:.2e}, max {max:.2e}; top-1 mismatches beyond a tie {}", t.mismatches.len()));
        if max > TEACHER_TOLERANCE {
            failures.push(format!("{name}: max |Δ log-probability| {max:.4} > {TEACHER_TOLERANCE}"));
        }
        failures.extend(t.mismatches.into_iter().map(|f| format!("{name}: {f}")));
    }
    let (median, max) = median_max(&mut all);
    eprintln!("{stem} vs portable llama.cpp, teacher forcing ({} positions): |Δ| median {median:.2e}, max {max:.2e}\n  {}", all.len(), report.join("\n  "));
    secondary_report(stem, &mut m);
    assert!(failures.is_empty(), "{stem}:\n  {}", failures.join("\n  "));
}

/// The older rule against node-llama-cpp's prebuilt binary, printed, not asserted.
fn secondary_report(stem: &str, m: &mut Loaded) {
    let r = reference(stem);
    let wllama = Json::parse(&std::fs::read_to_string(root().join(format!("tests/golden/llamacpp/{stem}.wllama.json"))).unwrap());
    let mut report = Vec::new();
    for p in r.get("prompts").items() {
        let name = p.get("name").str();
        let want = p.get("greedy").ids();
        // Where wllama has no run (its ids could not be rebuilt: `left_out`), gguf64 is held to
        // llama.cpp alone, as if wllama agreed with it fully.
        let w = wllama.get("prompts").items().iter().find(|w| w.get("name").str() == name);
        let wllama_greedy = w.map_or_else(|| want.clone(), |w| w.get("greedy").ids());
        let (first, got) = m.greedy(&p.get("prompt_ids").ids(), want.len());
        let ours = Observed { top1: argmax(&first), logprob_of: |id| log_softmax_at(&first, id as usize), greedy: got };
        let verdict = agreement(p, &wllama_greedy, &ours);
        let failed = if verdict.failures.is_empty() { String::new() } else { format!(" [old rule: {}]", verdict.failures.join("; ")) };
        report.push(format!("{name}: {}{failed}", verdict.summary));
    }
    eprintln!("{stem} vs node-llama-cpp 3.21.1 (secondary, not asserted):\n  {}", report.join("\n  "));
}

/// What gguf64 computed for one prompt.
struct Observed<F: Fn(u32) -> f64> {
    top1: u32,
    logprob_of: F,
    greedy: Vec<u32>,
}

struct Verdict {
    summary: String,
    failures: Vec<String>,
}

/// Positions at the start of `a` and `b` that agree.
fn agreeing(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The module's rule, for one prompt `p` of the reference, wllama's greedy ids and ours.
fn agreement<F: Fn(u32) -> f64>(p: &Json, wllama_greedy: &[u32], ours: &Observed<F>) -> Verdict {
    let top = &p.get("first").get("top").items()[0];
    let (want_top, want_lp) = (top.get("id").u64() as u32, top.get("logprob").f64());
    let spread = p.get("flash_attention_top20_max_abs_diff").f64();
    let tolerance = LOGPROB_TOLERANCE.max(spread);
    let want = p.get("greedy").ids();
    let lp = (ours.logprob_of)(want_top);
    let agree = agreeing(&ours.greedy, &want);
    let wllama_agree = agreeing(wllama_greedy, &want);
    let gap = p.get("steps").items().get(agree).map(|s| s.get("gap").f64());
    let mut failures = Vec::new();
    if ours.top1 != want_top && wllama_greedy.first() == Some(&want_top) {
        failures.push(format!("top-1 {} where llama.cpp and wllama pick {want_top}", ours.top1));
    }
    if (lp - want_lp).abs() > tolerance {
        failures.push(format!("log-probability of {want_top}: {lp:.4}, llama.cpp {want_lp:.4} (tolerance {tolerance:.3})"));
    }
    let near_tie = gap.is_some_and(|g| g < NEAR_TIE.max(spread));
    if agree < want.len() && agree < wllama_agree && !near_tie {
        failures.push(format!("greedy agrees for {agree} tokens, wllama for {wllama_agree}; llama.cpp's gap there {gap:?}"));
    }
    let summary = format!(
        "top-1 {} (llama.cpp {want_top}), logprob {lp:.4} (llama.cpp {want_lp:.4}, tolerance {tolerance:.3}), greedy agrees {agree}/{} (wllama {wllama_agree}), llama.cpp's gap at the divergence {}",
        ours.top1,
        want.len(),
        gap.map_or("-".to_string(), |g| format!("{g:.4}"))
    );
    Verdict { summary, failures }
}

#[test]
fn smollm2_matches_llamacpp() {
    check_model(SMOLLM);
}

#[test]
fn gemma3_matches_llamacpp() {
    check_model(GEMMA);
}

#[test]
fn qwen25_coder_matches_llamacpp() {
    check_model(QWEN);
}

/// gguf64's own tokenizer and chat template give llama.cpp's prompt ids for every prompt
/// (a chat prompt through the file's template, special tokens parsed, BOS as the model says).
#[test]
fn prompt_ids_from_text_equal_llamacpps() {
    use gguf64::tokenizer::{ChatMessage, Tokenizer};
    for stem in [SMOLLM, GEMMA, QWEN] {
        let path = root().join("models").join(format!("{stem}.gguf"));
        let Ok(bytes) = std::fs::read(&path) else { return models::absent(&path) };
        let header = gguf64::gguf::parse_header(&bytes, Some(bytes.len() as u64)).expect("header");
        let tokenizer = Tokenizer::from_header(&header).expect("tokenizer");
        for p in reference(stem).get("prompts").items() {
            let spec = prompts().into_iter().find(|q| q.get("name").str() == p.get("name").str()).expect("prompt");
            let text = match spec.find("messages") {
                Some(messages) => {
                    let list: Vec<_> = messages.items().iter().map(|m| ChatMessage::new(m.get("role").str(), m.get("content").str())).collect();
                    tokenizer.apply_chat_template(&list, true).expect("chat template")
                }
                None => spec.get("text").str().to_string(),
            };
            assert_eq!(tokenizer.encode(&text, true, true), p.get("prompt_ids").ids(), "{stem}: {}", p.get("name").str());
        }
    }
}

fn prompts() -> Vec<Json> {
    let text = std::fs::read_to_string(root().join("tests/golden/llamacpp/prompts.json")).unwrap();
    match Json::parse(&text) {
        Json::Obj(fields) => match fields.into_iter().find(|(k, _)| k == "prompts") {
            Some((_, Json::Arr(items))) => items,
            _ => panic!("prompts.json has no prompts array"),
        },
        _ => panic!("prompts.json is not an object"),
    }
}

/// Every layout computes the same greedy tokens as the fully resident one.
#[test]
fn every_layout_generates_the_same_ids() {
    let prompt: Vec<u32> = vec![504, 1573, 33059, 40061, 30324, 260, 24224, 897, 9053, 28, 284];
    let mut runs = Vec::new();
    for (kind, shard_cap, working_set) in [
        (LayoutKind::Standard, None, None),
        (LayoutKind::Memory64, None, None),
        (LayoutKind::Paged, None, Some(2)),
        (LayoutKind::Multi, Some(32u64 << 20), Some(2)),
    ] {
        let mut limits = PlanLimits::for_target(Target::Wasm64);
        limits.force = Some(kind);
        limits.working_set_layers = working_set;
        if let Some(cap) = shard_cap {
            limits.shard_cap = cap;
        }
        let Some(mut m) = load(SMOLLM, limits) else { return };
        assert_eq!(m.model.placed.plan.kind, kind);
        let (_, got) = m.greedy(&prompt, 16);
        if kind.is_paged() {
            let stats = m.pager.as_ref().unwrap().stats();
            assert!(stats.misses > 0 && m.storage.bytes_copied > 0, "{kind:?} paged nothing");
        }
        runs.push((kind, m.model.placed.plan.memories.len(), got));
    }
    for (kind, memories, got) in &runs[1..] {
        assert_eq!(got, &runs[0].2, "{kind:?} ({memories} memories) differs from the standard layout");
    }
    assert!(runs[3].1 >= 3, "a 32 MiB shard cap spreads SmolLM2's layers over several memories");
}
