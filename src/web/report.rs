//! Plain JS objects describing a model, its layout and its registered groups.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::loader::LoadedModel;
use crate::memory::plan::MemoryPlan;
use crate::memory::{GroupId, RegisteredGroup};

fn set(obj: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(obj, &key.into(), &value.into());
}

fn num(n: u64) -> JsValue {
    JsValue::from(n as f64)
}

/// `{ kind, layer }` for a group: `("embeddings", null)`, `("layer", 3)`, `("output", null)`.
fn group_kind(id: GroupId) -> (&'static str, JsValue) {
    match id {
        GroupId::Embeddings => ("embeddings", JsValue::NULL),
        GroupId::Layer(n) => ("layer", JsValue::from(n)),
        GroupId::Output => ("output", JsValue::NULL),
    }
}

/// A registered group: `{ kind, layer, bytes, memory, offset, tensors }`.
pub fn group(g: &RegisteredGroup) -> Object {
    let obj = Object::new();
    let (kind, layer) = group_kind(g.id);
    set(&obj, "kind", kind);
    set(&obj, "layer", layer);
    set(&obj, "bytes", num(g.bytes));
    set(&obj, "memory", g.memory);
    set(&obj, "offset", num(g.offset));
    set(&obj, "tensors", g.tensors.len() as u32);
    obj
}

/// `{ kind, modelBytes, memories: [{ index, bytes, layers: [..], holds: [..] }], workingSetLayers }`.
pub fn layout(plan: &MemoryPlan) -> Object {
    let obj = Object::new();
    set(&obj, "kind", plan.kind.name());
    set(&obj, "modelBytes", num(plan.model_bytes));
    let memories = Array::new();
    for m in &plan.memories {
        let mem = Object::new();
        set(&mem, "index", m.index);
        set(&mem, "bytes", num(m.bytes));
        let layers = Array::new();
        let holds = Array::new();
        for g in plan.groups_in(m.index) {
            let (kind, layer) = group_kind(g.id);
            if kind == "layer" {
                layers.push(&layer);
            } else {
                holds.push(&kind.into());
            }
        }
        set(&mem, "layers", layers);
        set(&mem, "holds", holds);
        memories.push(&mem);
    }
    set(&obj, "memories", memories);
    set(&obj, "workingSetLayers", plan.working_set.map_or(JsValue::NULL, |w| JsValue::from(w.slots as u32)));
    obj
}

/// What the header and the plan say: `{ arch, name, nLayers, nTensors, fileBytes, dataOffset,
/// dataBytes, ggufVersion, alignment, layout }`.
pub fn model_info(m: &LoadedModel) -> Object {
    let h = m.placed.header();
    let obj = Object::new();
    set(&obj, "arch", h.architecture().map_or(JsValue::NULL, JsValue::from));
    set(&obj, "name", h.metadata.get_str("general.name").map_or(JsValue::NULL, JsValue::from));
    set(&obj, "nLayers", h.block_count().map_or(JsValue::NULL, num));
    set(&obj, "fileBytes", num(m.file_len));
    set(&obj, "dataOffset", num(h.data_offset));
    set(&obj, "dataBytes", num(h.data_len));
    set(&obj, "ggufVersion", h.version);
    set(&obj, "alignment", num(h.alignment));
    set(&obj, "nTensors", m.placed.parts.iter().map(|p| p.tensors.len() as u32).sum::<u32>());
    set(&obj, "parts", m.placed.parts.len() as u32);
    set(&obj, "layout", layout(&m.placed.plan));
    obj
}
