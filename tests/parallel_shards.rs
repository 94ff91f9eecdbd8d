//! Tensor-parallel shards, natively: a model streamed once through the `ShardRouter` into two
//! (or three) shard files, each loaded as a model of its own and driven in step as the browser
//! workers drive them (at every gathering point each shard's columns copied into the others,
//! the leader's logits completed with the other shards' rows). The logits equal the whole
//! model's bit for bit, and greedy generation gives the whole model's tokens, on the real
//! models and on synthetic files of every architecture.

#[path = "support/models.rs"]
mod models;

use std::path::PathBuf;

use gguf64::engine::Engine;
use gguf64::generate::GenerateOptions;
use gguf64::gguf::GgmlType;
use gguf64::memory::{PlanLimits, Target};
use gguf64::model::Advance;
use gguf64::parallel::ShardRouter;
use gguf64::runtime::native::{self, NativeStorage};
use gguf64::synth::{Preset, QuantPlan, SynthModel};

type Native = Engine<NativeStorage>;

fn engine(bytes: &[u8]) -> Native {
    let (model, storage) = native::load(bytes, bytes.len() as u64, PlanLimits::for_target(Target::Wasm64)).expect("load");
    Engine::new(model, storage)
}

/// The shard files of `file` for `wanted` shards, routed in chunks of `chunk` bytes.
fn split(file: &[u8], wanted: usize, chunk: usize) -> Vec<Vec<u8>> {
    let mut router = ShardRouter::new(wanted, Some(file.len() as u64));
    let mut shards: Vec<Vec<u8>> = Vec::new();
    for piece in file.chunks(chunk) {
        router.push(piece).expect("route");
        let n = router.count().unwrap_or(0);
        shards.resize(n, Vec::new());
        for (i, out) in shards.iter_mut().enumerate() {
            out.extend(router.take(i));
        }
    }
    assert!(router.complete(), "every shard got its whole file");
    for (i, s) in shards.iter().enumerate() {
        assert_eq!(Some(s.len() as u64), router.file_len(i), "shard {i}'s length");
    }
    shards
}

/// Runs one evaluation on every shard in step; returns the leader's completed logits.
fn evaluate(shards: &mut [Native], keep: usize, tokens: &[u32]) -> Vec<f32> {
    for s in shards.iter_mut() {
        s.eval_start(keep, tokens).expect("start");
    }
    loop {
        let steps: Vec<Advance> = shards.iter_mut().map(|s| s.advance().expect("advance")).collect();
        assert!(steps.windows(2).all(|w| w[0] == w[1]), "shards out of step: {steps:?}");
        if steps[0] == Advance::Done {
            break;
        }
        // Every shard's columns, copied into every other shard's buffer.
        let slices: Vec<(std::ops::Range<usize>, usize, Vec<f32>)> = shards
            .iter_mut()
            .map(|s| {
                let g = s.gather().expect("a gather");
                (g.mine.clone(), g.width, g.rows.to_vec())
            })
            .collect();
        for s in shards.iter_mut() {
            let g = s.gather().expect("a gather");
            for (mine, width, rows) in &slices {
                assert_eq!(*width, g.width);
                for t in 0..g.n {
                    g.rows[t * width + mine.start..t * width + mine.end].copy_from_slice(&rows[t * width + mine.start..t * width + mine.end]);
                }
            }
        }
    }
    for i in 1..shards.len() {
        let rows = shards[i].shard().unwrap().expect("a shard").vocab;
        let mine = shards[i].logits_buffer()[rows.clone()].to_vec();
        shards[0].logits_buffer()[rows].copy_from_slice(&mine);
    }
    shards[0].logits_buffer().to_vec()
}

fn greedy(max_tokens: usize) -> GenerateOptions {
    let mut o = GenerateOptions { max_tokens, stop_at_end_of_generation: false, ..GenerateOptions::default() };
    o.sampler.temperature = 0.0;
    o
}

/// Greedy generation across the shards, as the browser's leader runs it.
fn generate(shards: &mut [Native], ids: &[u32], n: usize) -> Vec<u32> {
    let (keep, tokens) = shards[0].begin_deferred(ids, greedy(n)).expect("begin");
    evaluate(shards, keep, &tokens);
    loop {
        let (step, next) = shards[0].step_deferred().expect("step");
        if step.finish.is_some() {
            return shards[0].generated_ids().to_vec();
        }
        // No token to evaluate: the last one was sampled, and the next step says so.
        if let Some((keep, token)) = next {
            evaluate(shards, keep, &[token]);
        }
    }
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// The whole model against `wanted` shards: logits after `prompt`, and `n` greedy tokens.
fn check(name: &str, file: &[u8], wanted: usize, expected_shards: usize, n: usize) {
    let mut whole = engine(file);
    let ids = whole.tokenize("The capital of France is Paris, and the capital of Italy is", true, false).unwrap();
    let want = whole.logits(&ids).unwrap();
    let want_tokens = whole.generate(&ids, greedy(n)).unwrap().ids;

    let files = split(file, wanted, 1 << 20);
    assert_eq!(files.len(), expected_shards, "{name}: shards");
    let mut shards: Vec<Native> = files.iter().map(|f| engine(f)).collect();
    // Each shard holds its own slice: together about the whole model, not `wanted` copies.
    let held: u64 = shards.iter().map(|s| s.model().placed.main.as_slice().len() as u64).sum();
    let got = evaluate(&mut shards, 0, &ids);
    let diff = max_diff(&got, &want);
    eprintln!("{name}: {expected_shards} shards hold {held} bytes in all, the file {}; max |Δlogit| {diff:e}", file.len());
    assert_eq!(diff, 0.0, "{name}: logits differ");
    assert_eq!(generate(&mut shards, &ids, n), want_tokens, "{name}: greedy tokens");
}

fn real(file: &str) -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models").join(file);
    match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            models::absent(&path);
            None
        }
    }
}

#[test]
fn smollm2_on_two_and_three_shards_equals_the_whole_model() {
    let Some(file) = real("SmolLM2-135M-Instruct.Q4_1.gguf") else { return };
    // 9 query heads over 3 key/value heads: 2 shards get 2 and 1 groups; 3 get one each.
    check("SmolLM2 ×2", &file, 2, 2, 16);
    check("SmolLM2 ×3", &file, 3, 3, 8);
}

#[test]
fn gemma3_splits_one_key_value_head_between_two_shards() {
    let Some(file) = real("gemma-3-270m-q4_k_m.gguf") else { return };
    check("Gemma 3 ×2", &file, 2, 2, 16);
}

#[test]
fn qwen2_with_biases_on_two_shards_equals_the_whole_model() {
    let Some(file) = real("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf") else { return };
    check("Qwen2.5 ×2", &file, 2, 2, 16);
}

#[test]
fn every_synthetic_architecture_splits() {
    for preset in Preset::SMALL {
        let config = gguf64::synth::ModelConfig { quant: QuantPlan::Uniform(GgmlType::Q8_0), ..preset.config() };
        let bytes = SynthModel::new(&config, 7).unwrap().write_to(Vec::new(), |_, _| {}).unwrap();
        // olmo2 normalizes Q and K over every head at once, which no shard holds: it passes
        // through whole and runs on one thread.
        let shards = if preset == Preset::TinyOlmo2 { 1 } else { 2 };
        check(preset.name(), &bytes, 2, shards, 8);
    }
}

#[test]
fn a_model_whose_heads_do_not_divide_passes_through_whole() {
    // 3 query heads sharing 1 key/value head cannot go to 2 shards (each would need 1.5 heads):
    // the router hands the whole file, unchanged, to a single shard, and so it does with bytes
    // that are no GGUF file at all (the loader that receives them reports what is wrong).
    let config = gguf64::synth::ModelConfig { quant: QuantPlan::Uniform(GgmlType::Q8_0), n_head: 3, n_head_kv: 1, n_embd: 192, ..Preset::Tiny.config() };
    let bytes = SynthModel::new(&config, 7).unwrap().write_to(Vec::new(), |_, _| {}).unwrap();
    let files = split(&bytes, 2, 4096);
    assert_eq!(files, vec![bytes]);
    let junk = b"GGUF but not really: a truncated header".repeat(3);
    let mut router = ShardRouter::new(2, Some(junk.len() as u64));
    router.push(&junk).unwrap();
    assert_eq!((router.count(), router.take(0)), (Some(1), junk));
}
