//! `inspect(url)`: the header alone, read through Range requests, turned into a JS report of the
//! metadata, the tensors and the layout the model would get, without downloading the weights.

use js_sys::{Array as JsArray, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::error_code::ErrorCode;
use crate::gguf::{Array, Header, HeaderParser, Limits, Step, Value};
use crate::memory::plan::MemoryPlan;
use crate::memory::Groups;
use crate::model::ModelConfig;

use super::{error, report};

/// Arrays longer than this are reported as `{ type, count, head }`, not element by element.
const ARRAY_PREVIEW: usize = 16;

/// Collects header bytes from offset 0 on and says how many it needs.
#[wasm_bindgen]
pub struct HeaderInspector {
    parser: HeaderParser,
    prefix: Vec<u8>,
    file_len: Option<u64>,
    header: Option<Header>,
}

#[wasm_bindgen]
impl HeaderInspector {
    #[wasm_bindgen(constructor)]
    pub fn new(file_len: Option<f64>) -> Result<HeaderInspector, JsValue> {
        let file_len = file_len.map(|n| super::byte_count("fileLen", n)).transpose()?;
        Ok(HeaderInspector { parser: HeaderParser::new(Limits::default()), prefix: Vec::new(), file_len, header: None })
    }

    /// Appends the next bytes; returns the prefix length the parser needs next, or 0 once the
    /// header is complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<f64, JsValue> {
        if self.header.is_some() {
            return Ok(0.0);
        }
        let max = Limits::default().max_header_bytes as usize;
        let room = max.saturating_sub(self.prefix.len());
        self.prefix.extend_from_slice(&bytes[..bytes.len().min(room)]);
        let step = self.parser.advance(&self.prefix, self.file_len).map_err(|e| error::load_error(e.into()))?;
        match step {
            Step::NeedMore { .. } if self.prefix.len() >= max => {
                Err(error::load_error(crate::loader::LoadError::HeaderTooLarge { limit: max as u64 }))
            }
            Step::NeedMore { total } => Ok(total as f64),
            Step::Done(h) => {
                self.header = Some(h);
                self.prefix = Vec::new();
                Ok(0.0)
            }
        }
    }

    /// The report: `{ ggufVersion, alignment, dataOffset, fileBytes, metadata, tensors, config,
    /// layout }`; `config` and `layout` are `{ error }` objects when they cannot be made.
    /// `plan`: `{ shardCap, memoryBudget, layout, workingSetLayers }`, as for a load.
    pub fn report(&self, plan: &JsValue) -> Result<Object, JsValue> {
        let h = self.header.as_ref().ok_or_else(|| error::js_error(ErrorCode::Internal, "the header is not complete yet", &[]))?;
        let limits = super::options::plan_limits(plan)?;
        let obj = Object::new();
        set(&obj, "ggufVersion", h.version.into());
        set(&obj, "alignment", (h.alignment as f64).into());
        set(&obj, "dataOffset", (h.data_offset as f64).into());
        set(&obj, "fileBytes", ((h.data_offset + h.data_len) as f64).into());
        set(&obj, "arch", h.architecture().map_or(JsValue::NULL, JsValue::from));
        set(&obj, "nLayers", h.block_count().map_or(JsValue::NULL, |n| (n as f64).into()));
        set(&obj, "metadata", metadata(h).into());
        set(&obj, "tensors", tensors(h).into());
        set(&obj, "config", ModelConfig::from_header(h).map_or_else(|e| failure(&e.to_string()), |c| config(&c).into()));
        let plan = Groups::from_header(h).map_err(|e| e.to_string()).and_then(|g| MemoryPlan::new(&g, &limits).map_err(|e| e.to_string()));
        set(&obj, "layout", plan.map_or_else(|e| failure(&e), |p| report::layout(&p).into()));
        Ok(obj)
    }
}

fn set(obj: &Object, key: &str, value: JsValue) {
    let _ = Reflect::set(obj, &key.into(), &value);
}

fn failure(message: &str) -> JsValue {
    let obj = Object::new();
    set(&obj, "error", message.into());
    obj.into()
}

fn metadata(h: &Header) -> Object {
    let obj = Object::new();
    for (key, value) in h.metadata.iter() {
        set(&obj, key, value_js(value));
    }
    obj
}

fn value_js(v: &Value) -> JsValue {
    match v {
        Value::Array(a) => array_js(a),
        Value::String(s) => s.as_str().into(),
        Value::Bool(b) => (*b).into(),
        Value::F32(x) => f64::from(*x).into(),
        Value::F64(x) => (*x).into(),
        // Integers beyond 2^53 lose precision as JS numbers; metadata integers are counts and ids.
        other => other.as_i64().map(|n| n as f64).or(other.as_u64().map(|n| n as f64)).map_or(JsValue::NULL, JsValue::from),
    }
}

/// Short arrays as JS arrays; long ones as `{ type: 'array', count, head: [first 8] }`.
fn array_js(a: &Array) -> JsValue {
    let n = a.len();
    let shown = n.min(if n > ARRAY_PREVIEW { 8 } else { n });
    let items = JsArray::new();
    for i in 0..shown {
        items.push(&element_js(a, i));
    }
    if n <= ARRAY_PREVIEW {
        return items.into();
    }
    let obj = Object::new();
    set(&obj, "type", "array".into());
    set(&obj, "count", (n as f64).into());
    set(&obj, "head", items.into());
    obj.into()
}

fn element_js(a: &Array, i: usize) -> JsValue {
    let num = |x: f64| JsValue::from(x);
    match a {
        Array::U8(v) => num(f64::from(v[i])),
        Array::I8(v) => num(f64::from(v[i])),
        Array::U16(v) => num(f64::from(v[i])),
        Array::I16(v) => num(f64::from(v[i])),
        Array::U32(v) => num(f64::from(v[i])),
        Array::I32(v) => num(f64::from(v[i])),
        Array::U64(v) => num(v[i] as f64),
        Array::I64(v) => num(v[i] as f64),
        Array::F32(v) => num(f64::from(v[i])),
        Array::F64(v) => num(v[i]),
        Array::Bool(v) => v[i].into(),
        Array::String(v) => v.get(i).map_or(JsValue::NULL, JsValue::from),
        Array::Array(v) => array_js(&v[i]),
    }
}

/// `[{ name, type, shape, offset, nBytes }]`, offsets relative to the tensor data.
fn tensors(h: &Header) -> JsArray {
    let out = JsArray::new();
    for t in &h.tensors {
        let obj = Object::new();
        set(&obj, "name", t.name.as_str().into());
        set(&obj, "type", t.ggml_type.name().into());
        let shape = JsArray::new();
        for &d in &t.dims {
            shape.push(&(d as f64).into());
        }
        set(&obj, "shape", shape.into());
        set(&obj, "offset", (t.offset as f64).into());
        set(&obj, "nBytes", (t.n_bytes as f64).into());
        out.push(&obj);
    }
    out
}

fn config(c: &ModelConfig) -> Object {
    let obj = Object::new();
    set(&obj, "arch", c.arch.name().into());
    for (key, value) in [
        ("nLayers", c.n_layers),
        ("nEmbd", c.n_embd),
        ("nHeads", c.n_heads),
        ("nKvHeads", c.n_kv_heads),
        ("headDim", c.head_dim),
        ("nFf", c.n_ff),
        ("nVocab", c.n_vocab),
        ("nCtxTrain", c.n_ctx_train),
    ] {
        set(&obj, key, (value as f64).into());
    }
    set(&obj, "ropeBase", f64::from(c.rope_base).into());
    set(&obj, "normEps", f64::from(c.norm_eps).into());
    set(&obj, "slidingWindow", c.sliding_window.map_or(JsValue::NULL, |w| (w as f64).into()));
    obj
}
