//! The tokenizer against llama.cpp (node-llama-cpp 3.21.1) on both test models: every corpus
//! string's ids with and without special-token parsing, BOS/EOS handling, decoding and
//! streaming, token attributes, end-of-generation ids and every token's piece
//! (tools/golden/llamacpp-tokens.mjs wrote `<model>.tokens.json`), and the chat templates against
//! Python jinja2 (tools/golden/chat_golden.py wrote `<model>.chat.json`). A model whose file is absent
//! is skipped with a notice.

#[path = "support/models.rs"]
mod models;

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use gguf64::digest::Sha256;
use gguf64::gguf::{Header, HeaderParser, Limits, Step};
use gguf64::tokenizer::{ChatMessage, ChatRequest, ChatValue, Tokenizer, TokenizerError};

#[path = "support/json.rs"]
mod json;
use json::Json;

const SMOLLM: &str = "SmolLM2-135M-Instruct.Q4_1";
const GEMMA: &str = "gemma-3-270m-q4_k_m";

#[test]
fn smollm2_matches_llamacpp() {
    check_model(SMOLLM);
}

#[test]
fn gemma3_matches_llamacpp() {
    check_model(GEMMA);
}

#[test]
fn smollm2_chat_matches_jinja2() {
    check_chat(SMOLLM);
}

#[test]
fn gemma3_chat_matches_jinja2() {
    check_chat(GEMMA);
}

// ---- per model ------------------------------------------------------------------------------

fn check_model(name: &str) {
    let Some(header) = read_header(name) else { return };
    let t0 = Instant::now();
    let tok = Tokenizer::from_header(&header).expect("tokenizer");
    let build_ms = t0.elapsed().as_secs_f64() * 1e3;
    let golden =
        Json::parse(&std::fs::read_to_string(golden_path(name, "tokens")).expect("golden"));
    check_vocab(&tok, &golden);
    check_pieces(&tok, &golden);
    let mut failures = Vec::new();
    for case in golden.get("cases").items() {
        check_case(&tok, &golden, case, &mut failures);
    }
    for case in golden.get("chat").items() {
        let text = case.get("prompt_text").str();
        expect_ids(
            &mut failures,
            "chat prompt",
            text,
            tok.encode(text, false, true),
            case.get("ids_special").ids(),
        );
        let rendered = case.get("rendered_ids_special").ids();
        let raw = with_bos(&tok, &golden, &case.get("ids_special").ids());
        expect_ids(&mut failures, "chat prompt + BOS", text, tok.encode(text, true, true), raw);
        if tok.add_bos() {
            // The template's own <bos> string parses to BOS: llama.cpp would then double it.
            assert_eq!(rendered[0], tok.bos().unwrap());
        }
    }
    assert!(failures.is_empty(), "{name}: {} failures:\n{}", failures.len(), failures.join("\n"));
    let encode_ms = time_long_encode(&tok, &golden);
    eprintln!(
        "{name}: from_header {build_ms:.1} ms, 10 kB encode {encode_ms:.2} ms, {} tokens",
        tok.n_vocab()
    );
}

fn check_vocab(tok: &Tokenizer, g: &Json) {
    assert_eq!(tok.n_vocab() as u64, g.get("n_vocab").u64());
    // node-llama-cpp reports bos/eos/eot only for control tokens (null otherwise).
    let ids = tok.special_ids();
    for (key, ours) in [("bos", ids.bos), ("eos", ids.eos), ("eot", ids.eot), ("nl", ids.nl)] {
        assert_eq!(g.get(key).opt_u32(), ours, "{key}");
    }
    assert_eq!(tok.add_bos(), g.get("add_bos").bool());
    assert_eq!(tok.add_eos(), g.get("add_eos").bool());
    assert_eq!(tok.end_of_generation_ids(), g.get("eog").ids().as_slice());
    for id in g.get("eog").ids() {
        assert!(tok.is_end_of_generation(id));
    }
    for run in g.get("attrs").items() {
        let r = run.ids();
        for id in r[0]..r[0] + r[1] {
            assert_eq!(tok.token_attr(id), r[2], "attributes of token {id}");
        }
    }
    let last = g.get("attrs").items().last().unwrap().ids();
    assert_eq!((last[0] + last[1]) as usize, tok.n_vocab(), "attribute runs cover the vocabulary");
}

/// Every token's piece, hashed as the script hashes them (the addon turns invalid UTF-8 into
/// U+FFFD, so pieces are compared as lossy text), plus a readable sample.
fn check_pieces(tok: &Tokenizer, g: &Json) {
    for (special, key) in [(true, "special"), (false, "plain")] {
        let mut hash = Sha256::new();
        for id in 0..tok.n_vocab() as u32 {
            let piece = String::from_utf8_lossy(tok.token_bytes(id, special)).into_owned();
            hash.update(&(piece.len() as u32).to_le_bytes());
            hash.update(piece.as_bytes());
        }
        assert_eq!(hash.finish_hex(), g.get("pieces_sha256").get(key).str(), "{key} pieces");
    }
    for entry in g.get("pieces_sample").items() {
        let e = entry.items();
        let id = e[0].u64() as u32;
        assert_eq!(tok.decode(&[id], true), e[1].str(), "piece of {id} (special)");
        assert_eq!(tok.decode(&[id], false), e[2].str(), "piece of {id}");
    }
}

fn check_case(tok: &Tokenizer, g: &Json, case: &Json, failures: &mut Vec<String>) {
    let text = case.get("text").str();
    let ids = case.get("ids").ids();
    let special = match case.get("ids_special") {
        Json::Null => ids.clone(),
        v => v.ids(),
    };
    expect_ids(failures, "plain", text, tok.encode(text, false, false), ids.clone());
    expect_ids(failures, "special", text, tok.encode(text, false, true), special.clone());
    expect_ids(
        failures,
        "add_special",
        text,
        tok.encode(text, true, true),
        with_bos(tok, g, &special),
    );
    let detok = case.get("detok").str();
    expect_text(failures, "detok", text, tok.decode(&ids, false), detok);
    expect_text(
        failures,
        "detok special",
        text,
        tok.decode(&special, true),
        case.get("detok_special").str(),
    );
    if case.get("roundtrip").bool() {
        expect_text(
            failures,
            "round trip",
            text,
            tok.decode(&tok.encode(text, false, false), false),
            text,
        );
    }
    for (list, special, want) in
        [(&ids, false, detok), (&special, true, case.get("detok_special").str())]
    {
        let streamed = stream(tok, list, special);
        expect_text(failures, "stream", text, streamed.concat(), want);
        // Whole characters only: no chunk adds a replacement character the full text lacks.
        let replaced: usize = streamed.iter().map(|s| s.matches('\u{FFFD}').count()).sum();
        if replaced != want.matches('\u{FFFD}').count() {
            failures.push(format!("stream split a character: {text:?}"));
        }
    }
}

/// The outputs of a stream decoder fed `ids` one at a time, then `finish`.
fn stream(tok: &Tokenizer, ids: &[u32], special: bool) -> Vec<String> {
    let mut decoder = tok.stream(special);
    let mut out: Vec<String> = ids.iter().map(|&id| decoder.push(id)).collect();
    out.push(decoder.finish());
    out
}

/// `ids` as `encode(.., add_special = true, ..)` must give them: BOS first when llama.cpp adds
/// it, EOS last when it adds it.
fn with_bos(tok: &Tokenizer, g: &Json, ids: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    if g.get("add_bos").bool() {
        out.push(tok.bos().expect("bos"));
    }
    out.extend_from_slice(ids);
    if g.get("add_eos").bool() {
        out.push(tok.eos().expect("eos"));
    }
    out
}

fn expect_ids(failures: &mut Vec<String>, what: &str, text: &str, ours: Vec<u32>, want: Vec<u32>) {
    if ours != want {
        failures.push(format!("{what} {:?}:\n  ours  {ours:?}\n  llama {want:?}", short(text)));
    }
}

fn expect_text(failures: &mut Vec<String>, what: &str, text: &str, ours: String, want: &str) {
    if ours != want {
        failures.push(format!(
            "{what} {:?}: ours {:?}, want {:?}",
            short(text),
            short(&ours),
            short(want)
        ));
    }
}

fn short(s: &str) -> String {
    s.chars().take(60).collect()
}

/// Encodes the 5 kB corpus paragraph twice over (10 kB); returns the best of 5 runs in ms.
fn time_long_encode(tok: &Tokenizer, g: &Json) -> f64 {
    let case = g
        .get("cases")
        .items()
        .iter()
        .find(|c| c.get("name").str() == "mixed_5k")
        .expect("mixed_5k");
    let text = case.get("text").str().repeat(2);
    let mut best = f64::INFINITY;
    for _ in 0..5 {
        let t0 = Instant::now();
        let ids = tok.encode(&text, true, true);
        best = best.min(t0.elapsed().as_secs_f64() * 1e3);
        assert!(ids.len() > 1000);
    }
    // Milliseconds, not seconds; a generous bound for a busy shared machine.
    assert!(best < 250.0, "10 kB took {best} ms");
    best
}

// ---- chat templates -------------------------------------------------------------------------

fn check_chat(name: &str) {
    let Some(header) = read_header(name) else { return };
    let tok = Tokenizer::from_header(&header).expect("tokenizer");
    let golden = Json::parse(&std::fs::read_to_string(golden_path(name, "chat")).expect("golden"));
    let template = tok.chat_template().expect("known chat template");
    let bos = golden.get("bos_token").str();
    for case in golden.get("cases").items() {
        let case_name = case.get("name").str();
        let messages: Vec<ChatMessage> = case
            .get("messages")
            .items()
            .iter()
            .map(|m| ChatMessage::new(m.get("role").str(), m.get("content").str()))
            .collect();
        let add_gen = case.get("add_generation_prompt").bool();
        let values: Vec<ChatValue> = messages.iter().map(ChatMessage::to_value).collect();
        let request = ChatRequest { messages: &values, add_generation_prompt: add_gen, ..ChatRequest::default() };
        let rendered = template.render(&request, bos, golden.get("eos_token").str());
        let prompt = tok.apply_chat_template(&messages, add_gen);
        match case.find("rendered") {
            Some(want) => {
                assert_eq!(rendered.as_deref(), Ok(want.str()), "{name} {case_name}: rendering");
                assert_eq!(
                    prompt.as_deref(),
                    Ok(case.get("prompt_text").str()),
                    "{name} {case_name}: prompt"
                );
            }
            None => {
                // The built-in Gemma format names the message; a Jinja template raises.
                let rejected = |r: &Result<String, TokenizerError>| {
                    matches!(r, Err(TokenizerError::ChatRoles { .. } | TokenizerError::ChatTemplate(_)))
                };
                assert!(rejected(&rendered), "{name} {case_name}: {rendered:?}");
                assert!(rejected(&prompt), "{name} {case_name}");
            }
        }
    }
    let starts_with_bos = golden.get("template").str().starts_with("{{ bos_token }}");
    eprintln!(
        "{name}: chat template {:?} ({}), starts with BOS: {starts_with_bos}",
        template,
        golden.get("template_source").str()
    );
}

// ---- files ----------------------------------------------------------------------------------

fn golden_path(name: &str, kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/golden/llamacpp/{name}.{kind}.json"))
}

/// The model's header, or `None` (with a notice) if its file is absent.
fn read_header(name: &str) -> Option<Header> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("models/{name}.gguf"));
    let Ok(mut file) = File::open(&path) else {
        models::absent(&path);
        return None;
    };
    let file_len = file.metadata().expect("metadata").len();
    let mut parser = HeaderParser::new(Limits::default());
    let mut prefix = Vec::new();
    loop {
        if let Step::Done(header) = parser.advance(&prefix, Some(file_len)).expect("header") {
            return Some(header);
        }
        let mut chunk = vec![0; 1 << 20];
        let n = file.read(&mut chunk).expect("read");
        assert!(n > 0, "file ended before the header did");
        prefix.extend_from_slice(&chunk[..n]);
    }
}
