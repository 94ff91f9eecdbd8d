//! Reports of what a file holds and where a model lives, as JSON for the JS shim (which parses
//! them into the objects `inspect()`, `model.info` and the progress events give) and for tools:
//! the header (metadata, tensors, config, planned layout), a layout, a registered group, a loaded
//! model's facts. Keys are camelCase, as the JS API names them.

mod json;

pub use json::Json;

use crate::gguf::{Array, Header, Value};
use crate::loader::LoadedModel;
use crate::memory::plan::{LayoutKind, MemoryPlan};
use crate::memory::{GroupId, Groups, PlanLimits, RegisteredGroup};
use crate::model::ModelConfig;
use crate::tokenizer::ChatSource;

/// Arrays longer than this are reported as `{ type: "array", count, head }`, not element by element.
const ARRAY_PREVIEW: usize = 16;
/// Elements in the `head` of a long array.
const ARRAY_HEAD: usize = 8;

/// `("embeddings", null)`, `("layer", 3)`, `("output", null)`.
fn group_kind(id: GroupId) -> (&'static str, Json) {
    match id {
        GroupId::Embeddings => ("embeddings", Json::Null),
        GroupId::Layer(n) => ("layer", n.into()),
        GroupId::Output => ("output", Json::Null),
    }
}

/// A registered group: `{ kind, layer, bytes, memory, offset, tensors }`.
pub fn group(g: &RegisteredGroup) -> Json {
    let (kind, layer) = group_kind(g.id);
    Json::Obj(vec![
        ("kind", kind.into()),
        ("layer", layer),
        ("bytes", g.bytes.into()),
        ("memory", g.memory.into()),
        ("offset", g.offset.into()),
        ("tensors", g.tensors.len().into()),
    ])
}

/// `{ kind, modelBytes, memories: [{ index, bytes, tier, layers: [..], holds: [..] }],
/// workingSetLayers, memoryLimit }`; `tier` is where a memory's bytes live: "main" (the module's own memory),
/// "memory" (a storage memory) or "disk" (the disk tier's file).
pub fn layout(plan: &MemoryPlan) -> Json {
    let memories = plan.memories.iter().map(|m| {
        let (mut layers, mut holds) = (Vec::new(), Vec::new());
        for g in plan.groups_in(m.index) {
            match group_kind(g.id) {
                ("layer", layer) => layers.push(layer),
                (kind, _) => holds.push(kind.into()),
            }
        }
        let tier = match (m.index, plan.kind) {
            (0, _) => "main",
            (_, LayoutKind::Disk) => "disk",
            _ => "memory",
        };
        Json::Obj(vec![
            ("index", m.index.into()),
            ("bytes", m.bytes.into()),
            ("tier", tier.into()),
            ("layers", Json::Arr(layers)),
            ("holds", Json::Arr(holds)),
        ])
    });
    Json::Obj(vec![
        ("kind", plan.kind.name().into()),
        ("modelBytes", plan.model_bytes.into()),
        ("memories", Json::Arr(memories.collect())),
        ("workingSetLayers", plan.working_set.map(|w| w.slots).into()),
        ("memoryLimit", plan.memory_limit.into()),
    ])
}

/// A loaded model: `{ arch, name, nLayers, fileBytes, dataOffset, dataBytes, ggufVersion,
/// alignment, nTensors, parts, layout, chatTemplate }`.
pub fn model_info(m: &LoadedModel) -> Json {
    let h = m.placed.header();
    Json::Obj(vec![
        ("arch", h.architecture().into()),
        ("name", h.metadata.get_str("general.name").into()),
        ("nLayers", h.block_count().into()),
        ("fileBytes", m.file_len.into()),
        ("dataOffset", h.data_offset.into()),
        ("dataBytes", h.data_len.into()),
        ("ggufVersion", h.version.into()),
        ("alignment", h.alignment.into()),
        ("nTensors", m.placed.parts.iter().map(|p| p.tensors.len()).sum::<usize>().into()),
        ("parts", m.placed.parts.len().into()),
        ("layout", layout(&m.placed.plan)),
        ("chatTemplate", chat_template(&ChatSource::of(&h.metadata))),
    ])
}

/// Which chat template prompts get: `{ source: 'file' | 'builtin' | 'none', format: 'jinja' |
/// 'chatml' | 'gemma' | null, error: string | null }`.
pub fn chat_template(c: &ChatSource) -> Json {
    Json::Obj(vec![
        ("source", c.origin.name().into()),
        ("format", c.format.into()),
        ("error", c.error.as_ref().map_or(Json::Null, |e| Json::Str(e.to_string()))),
    ])
}

/// What a header says and the layout it would get under `limits`: `{ ggufVersion, alignment,
/// dataOffset, fileBytes, arch, nLayers, metadata, tensors, config, layout }`; `config` and
/// `layout` are `{ error }` when they cannot be made.
pub fn header(h: &Header, limits: &PlanLimits) -> Json {
    let failure = |message: String| Json::Obj(vec![("error", message.as_str().into())]);
    let plan = Groups::from_header(h).map_err(|e| e.to_string()).and_then(|g| MemoryPlan::new(&g, &limits.with_room_for(h)).map_err(|e| e.to_string()));
    Json::Obj(vec![
        ("ggufVersion", h.version.into()),
        ("alignment", h.alignment.into()),
        ("dataOffset", h.data_offset.into()),
        ("fileBytes", (h.data_offset + h.data_len).into()),
        ("arch", h.architecture().into()),
        ("nLayers", h.block_count().into()),
        ("metadata", Json::Map(h.metadata.iter().map(|(k, v)| (k.to_string(), value(v))).collect())),
        ("tensors", Json::Arr(h.tensors.iter().map(|t| {
            Json::Obj(vec![
                ("name", t.name.as_str().into()),
                ("type", t.ggml_type.name().into()),
                ("shape", Json::Arr(t.dims.iter().map(|&d| d.into()).collect())),
                ("offset", t.offset.into()),
                ("nBytes", t.n_bytes.into()),
            ])
        }).collect())),
        ("config", ModelConfig::from_header(h).map_or_else(|e| failure(e.to_string()), |c| config(&c))),
        ("layout", plan.map_or_else(failure, |p| layout(&p))),
    ])
}

fn config(c: &ModelConfig) -> Json {
    Json::Obj(vec![
        ("arch", c.arch.name().into()),
        ("nLayers", c.n_layers.into()),
        ("nEmbd", c.n_embd.into()),
        ("nHeads", c.n_heads.into()),
        ("nKvHeads", c.n_kv_heads.into()),
        ("headDim", c.head_dim.into()),
        ("nFf", c.n_ff.into()),
        ("nVocab", c.n_vocab.into()),
        ("nCtxTrain", c.n_ctx_train.into()),
        ("ropeBase", f64::from(c.rope_base).into()),
        ("normEps", f64::from(c.norm_eps).into()),
        ("slidingWindow", c.sliding_window.into()),
    ])
}

/// A metadata value: numbers, strings, booleans; arrays (long ones previewed).
fn value(v: &Value) -> Json {
    match v {
        Value::Array(a) => array(a),
        Value::String(s) => s.as_str().into(),
        Value::Bool(b) => (*b).into(),
        Value::F32(x) => f64::from(*x).into(),
        Value::F64(x) => (*x).into(),
        other => other.as_i64().map(|n| Json::Int(n.into())).or(other.as_u64().map(Json::from)).unwrap_or(Json::Null),
    }
}

/// Short arrays whole; long ones as `{ type: "array", count, head: [first ARRAY_HEAD] }`.
fn array(a: &Array) -> Json {
    let n = a.len();
    let shown = if n > ARRAY_PREVIEW { ARRAY_HEAD } else { n };
    let items = Json::Arr((0..shown).map(|i| element(a, i)).collect());
    if n <= ARRAY_PREVIEW {
        return items;
    }
    Json::Obj(vec![("type", "array".into()), ("count", n.into()), ("head", items)])
}

fn element(a: &Array, i: usize) -> Json {
    match a {
        Array::U8(v) => u64::from(v[i]).into(),
        Array::I8(v) => Json::Int(v[i].into()),
        Array::U16(v) => u64::from(v[i]).into(),
        Array::I16(v) => Json::Int(v[i].into()),
        Array::U32(v) => v[i].into(),
        Array::I32(v) => Json::Int(v[i].into()),
        Array::U64(v) => v[i].into(),
        Array::I64(v) => Json::Int(v[i].into()),
        Array::F32(v) => f64::from(v[i]).into(),
        Array::F64(v) => v[i].into(),
        Array::Bool(v) => v[i].into(),
        Array::String(v) => v.get(i).into(),
        Array::Array(v) => array(&v[i]),
    }
}
