//! Model config, tensor groups and the MemoryPlan on the two real models, including every layout
//! forced on a 100 MB model through the limits.

#[path = "support/models.rs"]
mod models;

use std::fs;
use std::path::PathBuf;

use gguf64::gguf::{Header, Metadata, Value, parse_header};
use gguf64::memory::plan::MemoryPlan;
use gguf64::memory::summary::summary;
use gguf64::memory::{GroupId, Groups, LayoutKind, PlanError, PlanLimits, Target};
use gguf64::model::{Arch, ConfigError, ModelConfig};

const MB: u64 = 1_000_000;

fn header(name: &str) -> Option<Header> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models").join(name);
    let Ok(bytes) = fs::read(&path) else {
        models::absent(&path);
        return None;
    };
    Some(parse_header(&bytes, Some(bytes.len() as u64)).expect("real model parses"))
}

fn smollm() -> Option<Header> {
    header("SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// Every memory's groups lie inside it, aligned, without overlap; every layer is placed once.
fn check_invariants(plan: &MemoryPlan, groups: &Groups, limits: &PlanLimits) {
    assert_eq!(plan.groups.len(), groups.groups.len());
    for m in &plan.memories {
        let mut spans: Vec<(u64, u64)> = plan.groups_in(m.index).map(|g| (g.home.offset, g.home.offset + g.bytes)).collect();
        if m.index == 0
            && let Some(ws) = plan.working_set
        {
            spans.push((ws.offset, ws.offset + ws.slots as u64 * ws.slot_bytes));
        }
        spans.sort();
        for pair in spans.windows(2) {
            assert!(pair[0].1 <= pair[1].0, "overlap in memory {}: {pair:?}", m.index);
        }
        for (start, end) in &spans {
            assert_eq!(start % 64, 0);
            assert!(*end <= m.bytes, "a group ends past memory {}", m.index);
        }
        let cap = if m.index == 0 { limits.memory_cap - limits.working_room } else { limits.shard_cap };
        assert!(m.bytes <= cap, "memory {} holds {} > cap {cap}", m.index, m.bytes);
    }
}

#[test]
fn smollm2_config_matches_its_metadata() {
    let Some(h) = smollm() else { return };
    let c = ModelConfig::from_header(&h).unwrap();
    assert_eq!(c.arch, Arch::Llama);
    assert_eq!((c.n_layers, c.n_embd, c.n_heads, c.n_kv_heads, c.head_dim, c.n_ff), (30, 576, 9, 3, 64, 1536));
    assert_eq!((c.n_vocab, c.n_ctx_train, c.rope_dims), (49152, 8192, 64));
    assert_eq!(c.rope_base, 100_000.0);
    assert!((c.norm_eps - 1e-5).abs() < 1e-10);
    assert!(c.tied_embeddings, "SmolLM2 has no output.weight");
    assert!(!c.qkv_bias && !c.qk_norm && c.sliding_window.is_none());
}

#[test]
fn gemma3_config_has_sliding_window_qk_norm_and_scaled_embeddings() {
    let Some(h) = header("gemma-3-270m-q4_k_m.gguf") else { return };
    let c = ModelConfig::from_header(&h).unwrap();
    assert_eq!(c.arch, Arch::Gemma3);
    assert_eq!((c.n_layers, c.n_embd, c.n_heads, c.n_kv_heads, c.head_dim, c.n_ff), (18, 640, 4, 1, 256, 2048));
    assert_eq!(c.n_vocab, 262_144);
    assert_eq!(c.sliding_window, Some(512));
    assert!(c.is_sliding(0) && c.is_sliding(4) && !c.is_sliding(5) && !c.is_sliding(11));
    assert_eq!((c.rope_base, c.rope_base_local), (1_000_000.0, 10_000.0));
    assert!(c.qk_norm && c.tied_embeddings);
    assert!((c.embedding_scale - 640f32.sqrt()).abs() < 1e-4);
}

#[test]
fn an_unsupported_architecture_names_the_supported_ones() {
    let Some(mut h) = smollm() else { return };
    let mut meta = Metadata::new();
    for (k, v) in h.metadata.iter() {
        let v = if k == "general.architecture" { Value::String("mamba".into()) } else { v.clone() };
        meta.insert(k.to_string(), v).unwrap();
    }
    h.metadata = meta;
    let err = ModelConfig::from_header(&h).unwrap_err();
    assert_eq!(err, ConfigError::UnsupportedArch { arch: "mamba".into() });
    let text = err.to_string();
    assert!(["llama", "qwen2", "gemma3"].iter().all(|a| text.contains(a)), "{text}");
}

#[test]
fn smollm2_groups_hold_every_tensor_once() {
    let Some(h) = smollm() else { return };
    let groups = Groups::from_header(&h).unwrap();
    assert_eq!(groups.n_layers(), 30);
    let tensor_bytes: u64 = h.tensors.iter().map(|t| t.n_bytes).sum();
    assert!(groups.total_bytes() >= tensor_bytes && groups.total_bytes() < tensor_bytes + 64 * 272);
    let mut seen: Vec<usize> = groups.groups.iter().flat_map(|g| g.tensors.iter().map(|t| t.index)).collect();
    seen.sort();
    assert_eq!(seen, (0..h.tensors.len()).collect::<Vec<_>>());
    let emb = groups.get(GroupId::Embeddings).unwrap();
    assert_eq!(h.tensors[emb.tensors[0].index].name, "token_embd.weight");
    // Each layer of SmolLM2 holds 9 tensors.
    assert!(groups.layers().all(|g| g.tensors.len() == 9));
}

#[test]
fn smollm2_auto_plan_is_standard_and_resident() {
    let Some(h) = smollm() else { return };
    let groups = Groups::from_header(&h).unwrap();
    let limits = PlanLimits::for_target(Target::Wasm64);
    let plan = MemoryPlan::new(&groups, &limits).unwrap();
    assert_eq!(plan.kind, LayoutKind::Standard);
    assert_eq!(plan.memories.len(), 1);
    assert!(plan.working_set.is_none());
    check_invariants(&plan, &groups, &limits);
    let text = summary(&plan, ModelConfig::from_header(&h).ok().as_ref(), "Q4_1");
    for needle in ["Layers: 30", "Hidden size: 576", "Vocab size: 49152", "Standard layout", "Layers 0-29"] {
        assert!(text.contains(needle), "summary lacks {needle:?}:\n{text}");
    }
}

#[test]
fn thresholds_are_settings_so_a_small_model_can_take_every_layout() {
    let Some(h) = smollm() else { return };
    let groups = Groups::from_header(&h).unwrap();
    let layer = groups.max_layer_bytes();

    // Lower the memory64 threshold: single memory64 region.
    let limits = PlanLimits { memory64_threshold: 10 * MB, ..PlanLimits::for_target(Target::Wasm64) };
    let plan = MemoryPlan::new(&groups, &limits).unwrap();
    assert_eq!(plan.kind, LayoutKind::Memory64);
    check_invariants(&plan, &groups, &limits);

    // A layer budget below the model: one storage memory, a working set of 4 layers.
    let limits = PlanLimits { layer_budget: Some(4 * layer + 1), ..PlanLimits::for_target(Target::Wasm64) };
    let plan = MemoryPlan::new(&groups, &limits).unwrap();
    assert_eq!(plan.kind, LayoutKind::Paged);
    assert_eq!(plan.memories.len(), 2);
    assert_eq!(plan.working_set.unwrap().slots, 4);
    check_invariants(&plan, &groups, &limits);

    // A working set counted in layers: two slots, the layers in one storage memory.
    let limits = PlanLimits { working_set_layers: Some(2), ..PlanLimits::for_target(Target::Wasm64) };
    let plan = MemoryPlan::new(&groups, &limits).unwrap();
    assert_eq!(plan.kind, LayoutKind::Paged);
    assert_eq!(plan.working_set.unwrap().slots, 2);
    check_invariants(&plan, &groups, &limits);

    // Storage memories capped at 10 MB: layers spread over several, none straddling two.
    let limits = PlanLimits { shard_cap: 10 * MB, layer_budget: Some(2 * layer + 100), ..PlanLimits::for_target(Target::Wasm64) };
    let plan = MemoryPlan::new(&groups, &limits).unwrap();
    assert_eq!(plan.kind, LayoutKind::Multi);
    let per_shard = (10 * MB / layer.next_multiple_of(64)) as usize;
    assert_eq!(plan.memories.len() - 1, 30usize.div_ceil(per_shard));
    assert_eq!(plan.working_set.unwrap().slots, 2);
    assert!(plan.groups.iter().filter(|g| matches!(g.id, GroupId::Layer(_))).all(|g| g.home.memory > 0));
    assert!(plan.groups.iter().filter(|g| !matches!(g.id, GroupId::Layer(_))).all(|g| g.home.memory == 0));
    check_invariants(&plan, &groups, &limits);
}

#[test]
fn a_model_larger_than_the_main_memory_keeps_the_first_layers_resident_and_pages_the_rest() {
    let Some(h) = smollm() else { return };
    let groups = Groups::from_header(&h).unwrap();
    let layer = groups.max_layer_bytes().next_multiple_of(64);
    let others: u64 = groups.groups.iter().filter(|g| !matches!(g.id, GroupId::Layer(_))).map(|g| g.bytes.next_multiple_of(64)).sum();
    // Room for the embeddings, two slots and 10 of the 30 layers: nothing forced, nothing asked.
    let base = PlanLimits::for_target(Target::Wasm64);
    let limits = PlanLimits { memory_cap: base.working_room + others + 12 * layer + 64, ..base };
    let plan = MemoryPlan::new(&groups, &limits).unwrap();
    assert_eq!(plan.kind, LayoutKind::Paged);
    assert_eq!(plan.working_set.unwrap().slots, 2);
    let homes: Vec<u32> = groups.layers().map(|g| plan.placement(g.id).unwrap().home.memory).collect();
    assert_eq!(homes, [vec![0; 10], vec![1; 20]].concat(), "layers 0-9 resident, 10-29 in storage");
    check_invariants(&plan, &groups, &limits);

    // The same room with storage memories of 5 layers: multi-memory, still 10 resident.
    let limits = PlanLimits { shard_cap: 5 * layer, ..limits };
    let plan = MemoryPlan::new(&groups, &limits).unwrap();
    assert_eq!(plan.kind, LayoutKind::Multi);
    assert_eq!(plan.memories.len(), 1 + 4);
    assert_eq!(plan.groups_in(0).filter(|g| matches!(g.id, GroupId::Layer(_))).count(), 10);
    check_invariants(&plan, &groups, &limits);

    // Forced, or with a working-set count, every layer stays in storage as before.
    for limits in [
        PlanLimits { force: Some(LayoutKind::Multi), ..limits.clone() },
        PlanLimits { working_set_layers: Some(3), ..limits.clone() },
    ] {
        let plan = MemoryPlan::new(&groups, &limits).unwrap();
        assert_eq!(plan.groups_in(0).filter(|g| matches!(g.id, GroupId::Layer(_))).count(), 0, "{limits:?}");
        check_invariants(&plan, &groups, &limits);
    }
}

#[test]
fn the_disk_tier_keeps_every_layer_in_one_uncapped_file_and_reads_them_into_slots() {
    let Some(h) = smollm() else { return };
    let groups = Groups::from_header(&h).unwrap();
    // A shard cap far below the layers' bytes: the disk file has none.
    let limits = PlanLimits { force: Some(LayoutKind::Disk), shard_cap: 1, ..PlanLimits::for_target(Target::Wasm64) };
    let plan = MemoryPlan::new(&groups, &limits).unwrap();
    assert_eq!(plan.kind, LayoutKind::Disk);
    assert_eq!(plan.memories.len(), 2);
    assert_eq!(plan.working_set.unwrap().slots, 2, "nothing asked: two slots");
    assert!(groups.layers().all(|g| plan.placement(g.id).unwrap().home.memory == 1));
    let text = summary(&plan, ModelConfig::from_header(&h).ok().as_ref(), "Q4_1");
    for needle in ["Disk tier", "Working set: 2 of 30 layers", "Layers 0-29 (2.2 MB max) on disk"] {
        assert!(text.contains(needle), "summary lacks {needle:?}:\n{text}");
    }
    let limits = PlanLimits { working_set_layers: Some(5), ..limits };
    assert_eq!(MemoryPlan::new(&groups, &limits).unwrap().working_set.unwrap().slots, 5);
    assert_eq!(LayoutKind::from_name("disk"), Some(LayoutKind::Disk));
}

#[test]
fn a_memory_limit_below_the_model_puts_its_layers_on_disk_and_keeps_what_fits_resident() {
    let Some(h) = smollm() else { return };
    let groups = Groups::from_header(&h).unwrap();
    let layer = groups.max_layer_bytes().next_multiple_of(64);
    let others = groups.non_layer_bytes(64);
    let base = PlanLimits::for_target(Target::Wasm64);
    // A limit above the model and its room: the same plan as without one.
    let roomy = PlanLimits { memory_limit: Some(groups.total_bytes() + base.working_room + 30 * 64), ..base.clone() };
    let plan = MemoryPlan::new(&groups, &roomy).unwrap();
    assert_eq!(plan.kind, LayoutKind::Standard);
    assert_eq!(plan.memory_limit, roomy.memory_limit);

    // Room for the embeddings, two slots and 10 of the 30 layers: the disk tier, layers 0-9
    // resident, and memory within the limit.
    let limit = base.working_room + others + 12 * layer + 64;
    let limits = PlanLimits { memory_limit: Some(limit), ..base.clone() };
    let plan = MemoryPlan::new(&groups, &limits).unwrap();
    assert_eq!(plan.kind, LayoutKind::Disk);
    assert_eq!(plan.working_set.unwrap().slots, 2);
    let homes: Vec<u32> = groups.layers().map(|g| plan.placement(g.id).unwrap().home.memory).collect();
    assert_eq!(homes, [vec![0; 10], vec![1; 20]].concat(), "layers 0-9 resident, 10-29 on disk");
    assert!(plan.memory_bytes() + base.working_room <= limit, "{} + room > {limit}", plan.memory_bytes());
    assert_eq!(plan.memory_bytes(), plan.memories[0].bytes, "the file is not memory");
    check_invariants(&plan, &groups, &limits);
    let text = summary(&plan, ModelConfig::from_header(&h).ok().as_ref(), "Q4_1");
    for needle in ["Memory limit: 1.13 GB", "Resident: 10 of 30 layers", "Working set: 2 slots for the other 20 layers", "Layers 10-29 (2.2 MB max) on disk"] {
        assert!(text.contains(needle), "summary lacks {needle:?}:\n{text}");
    }

    // The same limit with 3 slots asked for: every layer on disk.
    let asked = PlanLimits { working_set_layers: Some(3), ..limits.clone() };
    let plan = MemoryPlan::new(&groups, &asked).unwrap();
    assert_eq!((plan.kind, plan.working_set.unwrap().slots), (LayoutKind::Disk, 3));
    assert_eq!(plan.groups_in(0).filter(|g| matches!(g.id, GroupId::Layer(_))).count(), 0);

    // A forced in-memory layout keeps its main memory within the limit, or says it cannot.
    let forced = PlanLimits { force: Some(LayoutKind::Memory64), ..limits.clone() };
    assert!(matches!(MemoryPlan::new(&groups, &forced), Err(PlanError::DoesNotFit { what: "the main memory", .. })));

    // Below the embeddings, one slot and the room, not even the disk tier fits: a typed error
    // that says what it needs.
    let needs = others + layer + base.working_room;
    let tiny = PlanLimits { memory_limit: Some(needs - 1), ..base.clone() };
    assert_eq!(MemoryPlan::new(&groups, &tiny), Err(PlanError::LimitTooSmall { limit: needs - 1, needs }));
    let just = PlanLimits { memory_limit: Some(needs), ..base.clone() };
    assert_eq!(MemoryPlan::new(&groups, &just).unwrap().working_set.unwrap().slots, 1);
    // A limit that would hold the disk tier, and a layer budget that holds no layer: the budget is
    // what fails, and the error says so.
    let budget = PlanLimits { memory_limit: Some(limit), layer_budget: Some(layer / 2), ..base };
    assert!(matches!(MemoryPlan::new(&groups, &budget), Err(PlanError::BudgetTooSmall { .. })));
}

#[test]
fn impossible_limits_are_typed_errors() {
    let Some(h) = smollm() else { return };
    let groups = Groups::from_header(&h).unwrap();
    let layer = groups.max_layer_bytes();
    let wasm32 = PlanLimits { force: Some(LayoutKind::Memory64), ..PlanLimits::for_target(Target::Wasm32) };
    assert_eq!(MemoryPlan::new(&groups, &wasm32), Err(PlanError::NeedsMemory64));
    let tiny_budget = PlanLimits { layer_budget: Some(layer / 2), ..PlanLimits::for_target(Target::Wasm64) };
    assert!(matches!(MemoryPlan::new(&groups, &tiny_budget), Err(PlanError::BudgetTooSmall { .. })));
    let tiny_shard = PlanLimits { shard_cap: layer / 2, force: Some(LayoutKind::Multi), ..PlanLimits::for_target(Target::Wasm64) };
    assert!(matches!(MemoryPlan::new(&groups, &tiny_shard), Err(PlanError::DoesNotFit { .. })));
    let forced_paged = PlanLimits { shard_cap: 10 * MB, force: Some(LayoutKind::Paged), ..PlanLimits::for_target(Target::Wasm64) };
    assert!(matches!(MemoryPlan::new(&groups, &forced_paged), Err(PlanError::DoesNotFit { what: "one storage memory", .. })));
}

/// A qwen2 header written in code: QKV biases, GQA, YaRN scaling, no tied embeddings.
fn qwen2_header() -> Header {
    use gguf64::gguf::{GgmlType, TensorSpec};
    let mut m = Metadata::new();
    let mut put = |k: &str, v: Value| m.insert(k.to_string(), v).unwrap();
    put("general.architecture", Value::String("qwen2".into()));
    put("qwen2.block_count", Value::U32(2));
    put("qwen2.embedding_length", Value::U32(896));
    put("qwen2.feed_forward_length", Value::U32(4864));
    put("qwen2.attention.head_count", Value::U32(14));
    put("qwen2.attention.head_count_kv", Value::U32(2));
    put("qwen2.context_length", Value::U32(32768));
    put("qwen2.rope.freq_base", Value::F32(1_000_000.0));
    put("qwen2.attention.layer_norm_rms_epsilon", Value::F32(1e-6));
    put("qwen2.rope.scaling.type", Value::String("yarn".into()));
    put("qwen2.rope.scaling.factor", Value::F32(4.0));
    put("qwen2.rope.scaling.original_context_length", Value::U32(32768));
    put("qwen2.vocab_size", Value::U32(151936));
    let mut specs = vec![TensorSpec::new("token_embd.weight", &[896, 64], GgmlType::F16), TensorSpec::new("output.weight", &[896, 64], GgmlType::F16)];
    for l in 0..2 {
        specs.push(TensorSpec::new(&format!("blk.{l}.attn_q.weight"), &[896, 896], GgmlType::F16));
        specs.push(TensorSpec::new(&format!("blk.{l}.attn_q.bias"), &[896], GgmlType::F32));
    }
    // Only the header matters here: lay it out and parse it back.
    let layout = gguf64::gguf::layout_header(&m, &specs).unwrap();
    gguf64::gguf::parse_header(&layout.bytes, None).unwrap()
}

/// A header of architecture `arch` with `layers` layers, 5120 wide with 40 heads (no GQA), trained
/// on `context`.
fn wide_header(arch: &str, layers: u32, context: u32) -> Header {
    use gguf64::gguf::{GgmlType, TensorSpec};
    let mut m = Metadata::new();
    let mut put = |k: &str, v: Value| m.insert(k.to_string(), v).unwrap();
    put("general.architecture", Value::String(arch.into()));
    put(&format!("{arch}.block_count"), Value::U32(layers));
    put(&format!("{arch}.embedding_length"), Value::U32(5120));
    put(&format!("{arch}.feed_forward_length"), Value::U32(13824));
    put(&format!("{arch}.attention.head_count"), Value::U32(40));
    put(&format!("{arch}.attention.head_count_kv"), Value::U32(40));
    put(&format!("{arch}.context_length"), Value::U32(context));
    put(&format!("{arch}.vocab_size"), Value::U32(32000));
    let specs = vec![TensorSpec::new("token_embd.weight", &[5120, 64], GgmlType::F16), TensorSpec::new("output.weight", &[5120, 64], GgmlType::F16)];
    let layout = gguf64::gguf::layout_header(&m, &specs).unwrap();
    gguf64::gguf::parse_header(&layout.bytes, None).unwrap()
}

#[test]
fn the_plan_keeps_room_for_the_default_contexts_kv_cache() {
    const GIB: u64 = 1 << 30;
    let base = PlanLimits::for_target(Target::Wasm64);
    // 96 layers x 2048 positions x (5120 keys + 5120 values) x 2 bytes, and half a GiB beside.
    let kv = 96 * 2048 * 10240 * 2;
    assert_eq!(base.with_room_for(&wide_header("llama", 96, 4096)).working_room, kv + GIB / 2);
    // A shorter trained context caps the default.
    assert_eq!(base.with_room_for(&wide_header("llama", 96, 512)).working_room, kv / 4 + GIB / 2);
    // A small cache keeps the default room; a header without a model config changes nothing.
    assert_eq!(base.with_room_for(&wide_header("llama", 2, 4096)).working_room, base.working_room);
    if let Some(h) = smollm() {
        assert_eq!(base.with_room_for(&h).working_room, base.working_room);
    }
    assert!(ModelConfig::from_header(&wide_header("mamba", 96, 4096)).is_err());
    assert_eq!(base.with_room_for(&wide_header("mamba", 96, 4096)).working_room, base.working_room);
}

#[test]
fn qwen2_config_has_qkv_bias_gqa_and_yarn() {
    let c = ModelConfig::from_header(&qwen2_header()).unwrap();
    assert_eq!(c.arch, Arch::Qwen2);
    assert_eq!((c.n_layers, c.n_embd, c.n_heads, c.n_kv_heads, c.head_dim, c.n_ff, c.n_vocab), (2, 896, 14, 2, 64, 4864, 151_936));
    assert!(c.qkv_bias && !c.tied_embeddings && !c.qk_norm);
    assert_eq!(c.rope_scaling, gguf64::model::RopeScaling::Yarn { factor: 4.0, original_context: 32768 });
    assert!(c.sliding_window.is_none());
}

#[test]
fn inconsistent_head_counts_are_config_errors() {
    let mut h = qwen2_header();
    let mut meta = Metadata::new();
    for (k, v) in h.metadata.iter() {
        let v = if k == "qwen2.attention.head_count_kv" { Value::U32(3) } else { v.clone() };
        meta.insert(k.to_string(), v).unwrap();
    }
    h.metadata = meta;
    let err = ModelConfig::from_header(&h).unwrap_err();
    assert!(matches!(&err, ConfigError::Invalid { key, .. } if key == "qwen2.attention.head_count_kv"), "{err:?}");
}
