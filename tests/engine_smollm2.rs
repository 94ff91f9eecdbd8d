//! The engine on a real model (SmolLM2-135M-Instruct, natively): a chat turn ends at its
//! end-of-turn token with the answer, a stop string cuts the text where the free run had it, a
//! grown conversation evaluates only its new tokens and gets the logits a fresh evaluation gets,
//! and the paged layout generates the resident layout's tokens.

#[path = "support/models.rs"]
mod models;

use std::path::PathBuf;

use gguf64::engine::Engine;
use gguf64::generate::{Finish, GenerateOptions};
use gguf64::memory::{LayoutKind, PlanLimits, Target};
use gguf64::runtime::native::{self, NativeStorage};
use gguf64::tokenizer::ChatMessage;

fn engine(layout: Option<LayoutKind>) -> Option<Engine<NativeStorage>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    let Ok(file) = std::fs::File::open(&path) else {
        models::absent(&path);
        return None;
    };
    let mut limits = PlanLimits::for_target(Target::Wasm64);
    limits.force = layout;
    limits.working_set_layers = layout.map(|_| 3);
    let len = file.metadata().unwrap().len();
    let (model, storage) = native::load(std::io::BufReader::new(file), len, limits).expect("load");
    Some(Engine::new(model, storage))
}

fn greedy(max_tokens: usize) -> GenerateOptions {
    let mut o = GenerateOptions { max_tokens, ..GenerateOptions::default() };
    o.sampler.temperature = 0.0;
    o
}

const STORY: &str = "The old lighthouse keeper climbed the stairs every evening, and";

#[test]
fn a_chat_turn_ends_at_end_of_turn_with_the_answer() {
    let Some(mut e) = engine(None) else { return };
    let text = e.apply_chat_template(&[ChatMessage::new("user", "What is the capital of France? Answer in one sentence.")], true).unwrap();
    let ids = e.tokenize(&text, true, true).unwrap();
    let g = e.generate(&ids, greedy(48)).unwrap();
    assert_eq!(g.finish, Finish::EndOfGeneration, "{:?}", g.text);
    assert!(g.text.contains("Paris"), "{:?}", g.text);
    assert!(!g.text.contains("<|im_end|>"));
}

#[test]
fn a_stop_string_cuts_the_text_where_the_free_run_had_it() {
    let Some(mut e) = engine(None) else { return };
    let ids = e.tokenize(STORY, true, true).unwrap();
    let free = e.generate(&ids, greedy(24)).unwrap();
    assert_eq!((free.finish, free.ids.len()), (Finish::Length, 24));
    let stop = " his";
    let at = free.text.find(stop).unwrap_or_else(|| panic!("{stop:?} in {:?}", free.text));
    let mut o = greedy(24);
    o.stop = vec![stop.into()];
    let stopped = e.generate(&ids, o).unwrap();
    assert_eq!(stopped.finish, Finish::StopString);
    assert_eq!(stopped.text, free.text[..at]);
    assert_eq!(stopped.begun.evaluated, 1, "the same prompt again evaluates only its last token");
}

#[test]
fn a_grown_conversation_evaluates_only_its_new_tokens_with_fresh_logits() {
    let Some(mut e) = engine(None) else { return };
    let first = e.tokenize(STORY, true, true).unwrap();
    let grown = e.tokenize(&format!("{STORY} one night he saw a ship"), true, true).unwrap();
    assert_eq!(grown[..first.len()], first[..]);
    let fresh = e.logits(&grown).unwrap();
    e.reset_context();
    e.begin(&first, greedy(1)).unwrap();
    let begun = e.begin(&grown, greedy(1)).unwrap();
    assert_eq!((begun.reused, begun.evaluated), (first.len(), grown.len() - first.len()));
    assert_eq!(e.contexts_made(), 1);
    let step = e.step().unwrap();
    let argmax = |x: &[f32]| x.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0 as u32;
    assert_eq!(step.token, Some(argmax(&fresh)), "the reused prefix gives the fresh evaluation's greedy token");
}

#[test]
fn the_paged_layout_generates_the_resident_tokens() {
    let (Some(mut resident), Some(mut paged)) = (engine(None), engine(Some(LayoutKind::Paged))) else { return };
    let ids = resident.tokenize(STORY, true, true).unwrap();
    let a = resident.generate(&ids, greedy(8)).unwrap();
    let b = paged.generate(&ids, greedy(8)).unwrap();
    assert_eq!(a.ids, b.ids);
    let stats = paged.pager_stats().unwrap();
    assert!(stats.misses + stats.prefetches >= 30 && stats.evictions > 0, "every layer was paged in: {stats:?}");
    assert_eq!(resident.tensor_sha256().unwrap(), paged.tensor_sha256().unwrap());
}
