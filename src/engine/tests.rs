//! The engine on a real file: the synthetic tiny llama (2 layers, 512 tokens, every quant type
//! the writer makes), loaded natively in the resident and the paged layout. The same model in
//! llama.cpp is checked by `tests/llamacpp/synth_loads.mjs`; here the engine's own rules are
//! checked: context reuse and limits, stop handling, errors, and paging after a failed copy.
//! `tests/engine_smollm2.rs` repeats the generation checks on a real model.

use super::*;
use crate::error_code::ErrorCode;
use crate::memory::{LayoutKind, PlanLimits, Target};
use crate::runtime::native::{self, NativeStorage};
use crate::synth::{Preset, SynthModel};

/// A storage host that fails the next `fail` copies, then copies as `NativeStorage` does.
struct Flaky {
    storage: NativeStorage,
    fail: usize,
}

impl StorageHost for Flaky {
    fn copy_in(&mut self, memory: u32, src: u64, dst: &mut [u8]) -> Result<(), String> {
        if self.fail > 0 {
            self.fail -= 1;
            dst.fill(0xEE); // what a half-done copy might leave
            return Err("injected failure".into());
        }
        self.storage.copy_in(memory, src, dst)
    }
}

fn tiny_file() -> Vec<u8> {
    SynthModel::new(&Preset::Tiny.config(), 7).unwrap().write_to(Vec::new(), |_, _| {}).unwrap()
}

fn engine(layout: Option<LayoutKind>) -> Engine<Flaky> {
    let bytes = tiny_file();
    let mut limits = PlanLimits::for_target(Target::Wasm64);
    limits.force = layout;
    if matches!(layout, Some(LayoutKind::Paged | LayoutKind::Disk)) {
        limits.working_set_layers = Some(1);
    }
    let (model, storage) = native::load(bytes.as_slice(), bytes.len() as u64, limits).unwrap();
    Engine::new(model, Flaky { storage, fail: 0 })
}

fn greedy(max_tokens: usize) -> GenerateOptions {
    let mut o = GenerateOptions { max_tokens, ..GenerateOptions::default() };
    o.sampler.temperature = 0.0;
    o
}

const PROMPT: &str = "the quick brown fox jumps over the lazy dog";

#[test]
fn a_second_prompt_reuses_the_cached_prefix_and_the_same_kv_cache() {
    let mut e = engine(None);
    let ids = e.tokenize(PROMPT, true, true).unwrap();
    let first = e.begin(&ids, greedy(4)).unwrap();
    assert_eq!(first, Begun { evaluated: ids.len(), reused: 0 });
    let longer = [ids.clone(), e.tokenize(" and runs away", false, true).unwrap()].concat();
    let second = e.begin(&longer, greedy(4)).unwrap();
    assert_eq!(second.reused, ids.len(), "the first prompt's tokens come from the cache");
    assert_eq!(second.evaluated, longer.len() - ids.len());
    // Setting the length in force again changes nothing; the cache is made once.
    let n = e.context_length().unwrap();
    e.set_context_length(n).unwrap();
    assert_eq!(e.begin(&longer, greedy(4)).unwrap(), Begun { evaluated: 1, reused: longer.len() - 1 });
    assert_eq!(e.contexts_made(), 1);
    // Another length makes a new cache, once.
    e.set_context_length(64).unwrap();
    assert_eq!(e.begin(&ids, greedy(4)).unwrap().reused, 0);
    e.begin(&ids, greedy(4)).unwrap();
    assert_eq!(e.contexts_made(), 2);
    assert_eq!(e.context_length().unwrap(), 64);
}

#[test]
fn reused_prefix_gives_the_logits_of_a_fresh_evaluation() {
    let mut e = engine(None);
    let ids = e.tokenize(PROMPT, true, true).unwrap();
    let fresh = e.logits(&ids).unwrap();
    e.begin(&ids[..ids.len() - 3], greedy(1)).unwrap();
    let begun = e.begin(&ids, greedy(1)).unwrap();
    assert_eq!(begun.evaluated, 3);
    let reused = e.run(|ctx, _, _, _| Ok(ctx.logits().to_vec())).unwrap();
    // Bit for bit: no position's arithmetic depends on the batch split.
    assert!(fresh.iter().zip(&reused).all(|(a, b)| a.to_bits() == b.to_bits()), "reused prefix changed the logits");
    // `logits` reuses the cached prefix too, and token by token gives the same bits.
    e.reset_context();
    for n in 1..=ids.len() {
        let along = e.logits(&ids[..n]).unwrap();
        if n == ids.len() {
            assert!(along.iter().zip(&fresh).all(|(a, b)| a.to_bits() == b.to_bits()), "token by token differs");
        }
    }
    assert_eq!(e.cached_tokens(), &ids[..]);
}

#[test]
fn context_lengths_beyond_training_or_zero_are_refused() {
    let mut e = engine(None);
    let trained = e.config().unwrap().n_ctx_train;
    assert_eq!(e.context_length().unwrap(), DEFAULT_CONTEXT.min(trained));
    for bad in [0, trained + 1] {
        let err = e.set_context_length(bad).unwrap_err();
        assert_eq!(err, EngineError::ContextLength { requested: bad, trained });
        assert_eq!(err.code(), ErrorCode::InvalidArgument);
    }
    e.set_context_length(trained).unwrap();
}

#[test]
fn a_prompt_longer_than_the_context_is_context_full_and_a_full_context_ends_generation() {
    let mut e = engine(None);
    e.set_context_length(8).unwrap();
    let long: Vec<u32> = (300..320).collect();
    let err = e.begin(&long, greedy(4)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ContextFull, "{err}");
    let mut o = greedy(100);
    o.stop_at_end_of_generation = false;
    let g = e.generate(&[1, 300, 301], o).unwrap();
    assert_eq!(g.finish, Finish::ContextFull);
    assert_eq!(g.ids.len(), 8 - 3 + 1, "every position filled, then one more token sampled from the last logits");
    assert!(e.cached_tokens().len() <= 8);
}

#[test]
fn greedy_generation_is_repeatable_and_max_tokens_ends_it() {
    let mut e = engine(None);
    let ids = e.tokenize(PROMPT, true, true).unwrap();
    let mut o = greedy(6);
    o.stop_at_end_of_generation = false;
    let a = e.generate(&ids, o.clone()).unwrap();
    e.reset_context();
    let b = e.generate(&ids, o).unwrap();
    assert_eq!(a.finish, Finish::Length);
    assert_eq!(a.ids.len(), 6);
    assert_eq!((a.ids.as_slice(), a.text.as_str()), (b.ids.as_slice(), b.text.as_str()));
    assert_eq!(b.begun.reused, 0, "reset_context forgets the conversation");
    assert_eq!(e.detokenize(&a.ids, false).unwrap(), a.text);
}

#[test]
fn a_stop_string_ends_generation_before_it() {
    let mut e = engine(None);
    let ids = e.tokenize(PROMPT, true, true).unwrap();
    let mut o = greedy(12);
    o.stop_at_end_of_generation = false;
    let free = e.generate(&ids, o.clone()).unwrap();
    // Stop at a piece of the text that starts after the first character.
    let cut = free.text.char_indices().nth(free.text.chars().count() / 2).map(|(i, _)| i).unwrap();
    let stop: String = free.text[cut..].chars().take(3).collect();
    let expected_text = &free.text[..free.text.find(&stop).unwrap()];
    o.stop = vec![stop.clone()];
    let stopped = e.generate(&ids, o).unwrap();
    assert_eq!(stopped.finish, Finish::StopString, "stop {stop:?} in {:?}", free.text);
    assert_eq!(stopped.text, expected_text);
    assert!(!stopped.text.contains(&stop));
}

#[test]
fn step_before_begin_and_bad_ids_are_typed_errors() {
    let mut e = engine(None);
    assert_eq!(e.step().unwrap_err(), EngineError::NotBegun);
    let err = e.detokenize(&[9999], false).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidArgument);
    assert_eq!(e.logits(&[]).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(e.logits(&[512]).unwrap_err().code(), ErrorCode::InvalidArgument);
    assert_eq!(e.acquire_layer(2).unwrap_err(), EngineError::NoSuchLayer { layer: 2 });
    assert_eq!(e.main_sha256(u64::MAX - 1, 4).unwrap_err().code(), ErrorCode::InvalidArgument);
}

#[test]
fn paged_weights_give_the_resident_logits_and_tensor_hash() {
    let mut resident = engine(None);
    let ids = resident.tokenize(PROMPT, true, true).unwrap();
    // The disk tier pages the same way; only its host differs (a file in the browser).
    for layout in [LayoutKind::Paged, LayoutKind::Disk] {
        let mut paged = engine(Some(layout));
        assert!(paged.pager_stats().is_some() && resident.pager_stats().is_none());
        assert_eq!(resident.logits(&ids).unwrap(), paged.logits(&ids).unwrap(), "{layout:?}");
        assert_eq!(resident.tensor_sha256().unwrap(), paged.tensor_sha256().unwrap());
        assert!(paged.pager_stats().unwrap().misses >= 2);
    }
}

#[test]
fn a_failed_copy_leaves_no_slot_behind_and_the_next_access_reads_correct_weights() {
    let mut resident = engine(None);
    let mut paged = engine(Some(LayoutKind::Paged));
    let home = resident.acquire_layer(1).unwrap();
    let want = resident.main_sha256(home.offset, home.bytes).unwrap();

    paged.host_mut().fail = 1;
    let err = paged.acquire_layer(1).unwrap_err();
    assert_eq!(err.code(), ErrorCode::PageFailed, "{err}");
    let again = paged.acquire_layer(1).unwrap();
    assert!(!again.hit, "the failed slot was forgotten, so the layer is copied again");
    assert_eq!(paged.main_sha256(again.offset, again.bytes).unwrap(), want);
    assert!(paged.acquire_layer(1).unwrap().hit);
    paged.release_layer(1);
    paged.release_layer(1);

    // The same through the forward pass: a failed page-in fails the evaluation, and the next one
    // gives the resident model's logits.
    let ids = resident.tokenize(PROMPT, true, true).unwrap();
    let mut paged = engine(Some(LayoutKind::Paged));
    paged.host_mut().fail = 1;
    assert_eq!(paged.logits(&ids).unwrap_err().code(), ErrorCode::PageFailed);
    assert_eq!(paged.logits(&ids).unwrap(), resident.logits(&ids).unwrap());
}

#[test]
fn a_model_larger_than_the_main_memory_mixes_resident_and_paged_layers_and_gives_the_resident_logits() {
    use crate::memory::{GroupId, Groups};
    let config = crate::synth::ModelConfig { n_layer: 4, ..Preset::Tiny.config() };
    let bytes = SynthModel::new(&config, 7).unwrap().write_to(Vec::new(), |_, _| {}).unwrap();
    let header = crate::gguf::parse_header(&bytes, Some(bytes.len() as u64)).unwrap();
    let groups = Groups::from_header(&header).unwrap();
    let layer = groups.max_layer_bytes().next_multiple_of(64);
    let others: u64 = groups.groups.iter().filter(|g| !matches!(g.id, GroupId::Layer(_))).map(|g| g.bytes.next_multiple_of(64)).sum();
    let load = |memory_cap: Option<u64>| {
        let mut limits = PlanLimits::for_target(Target::Wasm64);
        limits.memory_cap = memory_cap.map_or(limits.memory_cap, |cap| limits.working_room + cap);
        let (model, storage) = native::load(bytes.as_slice(), bytes.len() as u64, limits).unwrap();
        Engine::new(model, Flaky { storage, fail: 0 })
    };
    // The main memory holds the embeddings, the two slots and one of the four layers.
    let mut mixed = load(Some(others + 3 * layer + 64));
    let plan = &mixed.model.placed.plan;
    assert_eq!(plan.kind, LayoutKind::Paged);
    let homes: Vec<u32> = (0..4).map(|n| plan.placement(GroupId::Layer(n)).unwrap().home.memory).collect();
    assert_eq!(homes, [0, 1, 1, 1]);
    let mut resident = load(None);
    assert!(resident.pager_stats().is_none());
    let ids = resident.tokenize(PROMPT, true, true).unwrap();
    let want = resident.logits(&ids).unwrap();
    for _ in 0..2 {
        assert_eq!(mixed.logits(&ids).unwrap(), want);
        mixed.reset_context();
    }
    assert_eq!(mixed.tensor_sha256().unwrap(), resident.tensor_sha256().unwrap());
    let stats = mixed.pager_stats().unwrap();
    assert_eq!(stats.misses + stats.hits, 2 * 3, "layer 0 never goes through the pager: {stats:?}");
}
