//! `Model`: a loaded model for the JS shim, a thin wrapper of the core `Engine`. Arguments are
//! converted here and errors mapped (`error`); everything else is the engine's.

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;

use super::error::{engine_error, invalid};
use super::{object, options};
use crate::engine::Engine;
use crate::model::Advance;
use crate::loader::LoadedModel;
use crate::runtime::StorageHost;
use crate::tokenizer::{ChatRequest, ChatValue};

/// The storage memories, which only JS reaches: `copyIn(memory, src, dst, len)` copies `len`
/// bytes from storage memory `memory` at `src` to address `dst` of this module's memory (the
/// multi-memory bridge). A layout without storage memories never calls it.
#[derive(Default)]
struct JsStorage {
    copy_in: Option<Function>,
}

impl StorageHost for JsStorage {
    fn copy_in(&mut self, memory: u32, src: u64, dst: &mut [u8]) -> std::result::Result<(), String> {
        let copy = self.copy_in.as_ref().ok_or("no copy function was set (setCopyIn)")?;
        let args = Array::of4(&memory.into(), &(src as f64).into(), &(dst.as_mut_ptr() as usize as f64).into(), &(dst.len() as f64).into());
        copy.apply(&JsValue::NULL, &args).map(|_| ()).map_err(|e| e.as_string().or_else(|| Reflect::get(&e, &"message".into()).ok()?.as_string()).unwrap_or_else(|| format!("{e:?}")))
    }
}

type Result<T> = std::result::Result<T, JsValue>;

/// A model whose file is completely in memory.
#[wasm_bindgen]
pub struct Model {
    engine: Engine<JsStorage>,
}

impl Model {
    pub(super) fn new(loaded: LoadedModel) -> Model {
        Model { engine: Engine::new(loaded, JsStorage::default()) }
    }

    /// Address of the main weight block in this module's memory.
    fn base(&self) -> f64 {
        self.engine.model().placed.main.as_slice().as_ptr() as usize as f64
    }
}

#[wasm_bindgen]
impl Model {
    /// What the header and the plan say, as JSON (`report::model_info`).
    pub fn info(&self) -> String {
        crate::report::model_info(self.engine.model()).to_string()
    }

    /// The plain-text report of the model and its memory.
    pub fn summary(&self) -> String {
        self.engine.summary()
    }

    /// Sets the function that copies from the storage memories (see `JsStorage`).
    #[wasm_bindgen(js_name = setCopyIn)]
    pub fn set_copy_in(&mut self, copy: Function) {
        self.engine.host_mut().copy_in = Some(copy);
    }

    /// Sets the context length; the length in force already changes nothing.
    #[wasm_bindgen(js_name = setContextLength)]
    pub fn set_context_length(&mut self, n_ctx: f64) -> Result<()> {
        let n = options::whole("contextLength", n_ctx)?;
        self.engine.set_context_length(n as usize).map_err(engine_error)
    }

    #[wasm_bindgen(js_name = contextLength)]
    pub fn context_length(&mut self) -> Result<u32> {
        self.engine.context_length().map(|n| n as u32).map_err(engine_error)
    }

    /// Bytes of the KV cache once made.
    #[wasm_bindgen(js_name = kvCacheBytes)]
    pub fn kv_cache_bytes(&self) -> f64 {
        self.engine.kv_cache_bytes() as f64
    }

    /// How many KV caches were allocated so far (one per context length used).
    #[wasm_bindgen(js_name = contextsMade)]
    pub fn contexts_made(&self) -> u32 {
        self.engine.contexts_made()
    }

    pub fn tokenize(&mut self, text: &str, add_special: bool, parse_special: bool) -> Result<Vec<u32>> {
        self.engine.tokenize(text, add_special, parse_special).map_err(engine_error)
    }

    pub fn detokenize(&mut self, ids: &[u32], special: bool) -> Result<String> {
        self.engine.detokenize(ids, special).map_err(engine_error)
    }

    /// The prompt text of `messages` (`[{ role, content, ... }]`) in the model's chat format, or
    /// in `options.template` (Jinja source) when given. `options`: `{ addGenerationPrompt,
    /// template, tools }`.
    #[wasm_bindgen(js_name = applyChatTemplate)]
    pub fn apply_chat_template(&mut self, messages: &JsValue, options: &JsValue) -> Result<String> {
        if !Array::is_array(messages) {
            return Err(invalid("messages must be an array of { role, content }"));
        }
        let list = Array::from(messages).iter().map(|m| chat_value(&m, 0)).collect::<Result<Vec<_>>>()?;
        let option = |key: &str| {
            if options.is_undefined() || options.is_null() {
                return None;
            }
            Reflect::get(options, &key.into()).ok().filter(|v| !v.is_undefined() && !v.is_null())
        };
        let add_generation_prompt = match option("addGenerationPrompt") {
            None => true,
            Some(v) => v.as_bool().ok_or_else(|| invalid("addGenerationPrompt must be true or false"))?,
        };
        let template = match option("template") {
            None => None,
            Some(v) => Some(v.as_string().ok_or_else(|| invalid("template must be a string of Jinja source"))?),
        };
        let tools = option("tools").map(|v| chat_value(&v, 0)).transpose()?;
        let request = ChatRequest {
            messages: &list,
            tools: tools.as_ref(),
            add_generation_prompt,
            template: template.as_deref(),
            now_unix: None,
        };
        self.engine.render_chat(&request).map_err(engine_error)
    }

    /// The logits after evaluating `ids` from an empty context.
    pub fn logits(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        self.engine.logits(ids).map_err(engine_error)
    }

    /// Evaluates the prompt `ids` (reusing the cached prefix) and prepares generation with
    /// `options` (see `options::generate_options`). Returns `{ evaluated, reused }`.
    pub fn begin(&mut self, ids: &[u32], generate: &JsValue) -> Result<Object> {
        let begun = self.engine.begin(ids, options::generate_options(generate)?).map_err(engine_error)?;
        Ok(object(&[("evaluated", (begun.evaluated as f64).into()), ("reused", (begun.reused as f64).into())]))
    }

    /// Generates one token: `{ token, text, done, finish }` (`finish` once done: "length",
    /// "end_of_generation", "stop_string" or "context_full").
    pub fn step(&mut self) -> Result<Object> {
        let step = self.engine.step().map_err(engine_error)?;
        Ok(object(&[
            ("token", step.token.map_or(JsValue::NULL, JsValue::from)),
            ("text", step.text.into()),
            ("done", step.finish.is_some().into()),
            ("finish", step.finish.map_or(JsValue::NULL, |f| f.name().into())),
        ]))
    }

    // ---- one shard of a model split over workers (./shards.js drives these) ----------------

    /// `{ index, count, qHeads, kvHeads, ff, embd, vocab }` (ranges as [start, end]) when this
    /// model is a shard of several, else `undefined`.
    pub fn shard(&mut self) -> Result<Option<Object>> {
        let Some(s) = self.engine.shard().map_err(engine_error)? else { return Ok(None) };
        let range = |r: &std::ops::Range<usize>| Array::of2(&(r.start as f64).into(), &(r.end as f64).into()).into();
        Ok(Some(object(&[
            ("index", (s.index as f64).into()),
            ("count", (s.count as f64).into()),
            ("qHeads", range(&s.q_heads)),
            ("kvHeads", range(&s.kv_heads)),
            ("ff", range(&s.ff)),
            ("embd", range(&s.embd)),
            ("vocab", range(&s.vocab)),
        ])))
    }

    /// Keeps the first `keep` cached tokens and starts evaluating `ids` after them.
    #[wasm_bindgen(js_name = evalStart)]
    pub fn eval_start(&mut self, keep: f64, ids: &[u32]) -> Result<()> {
        let keep = options::whole("keep", keep)? as usize;
        self.engine.eval_start(keep, ids).map_err(engine_error)
    }

    /// Runs the evaluation to its next gathering point (true: `gatherInfo` says what to fill
    /// in) or its end (false: the logits are ready).
    pub fn advance(&mut self) -> Result<bool> {
        Ok(self.engine.advance().map_err(engine_error)? == Advance::Gather)
    }

    /// The result being gathered: `{ address, rows, width, start, end }`, `rows` × `width`
    /// floats at `address` of this module's memory, of which columns `start..end` are this
    /// shard's; `undefined` when nothing is being gathered.
    #[wasm_bindgen(js_name = gatherInfo)]
    pub fn gather_info(&mut self) -> Option<Object> {
        let g = self.engine.gather()?;
        let n = |v: usize| JsValue::from(v as f64);
        Some(object(&[
            ("address", (g.rows.as_ptr() as usize as f64).into()),
            ("rows", n(g.n)),
            ("width", n(g.width)),
            ("start", n(g.mine.start)),
            ("end", n(g.mine.end)),
        ]))
    }

    /// `{ address, length }` of the logits buffer (`length` floats) in this module's memory.
    #[wasm_bindgen(js_name = logitsInfo)]
    pub fn logits_info(&mut self) -> Object {
        let l = self.engine.logits_buffer();
        object(&[("address", (l.as_ptr() as usize as f64).into()), ("length", (l.len() as f64).into())])
    }

    /// `begin` without the evaluation: `{ keep, ids, reused }`, what every shard evaluates.
    #[wasm_bindgen(js_name = beginDeferred)]
    pub fn begin_deferred(&mut self, ids: &[u32], generate: &JsValue) -> Result<Object> {
        let (keep, rest) = self.engine.begin_deferred(ids, options::generate_options(generate)?).map_err(engine_error)?;
        Ok(object(&[("keep", (keep as f64).into()), ("ids", js_sys::Uint32Array::from(&rest[..]).into()), ("reused", (keep as f64).into())]))
    }

    /// `step` without the evaluation: as `step`, plus `next` = `{ keep, token }`, what every
    /// shard evaluates next, or null.
    #[wasm_bindgen(js_name = stepDeferred)]
    pub fn step_deferred(&mut self) -> Result<Object> {
        let (step, next) = self.engine.step_deferred().map_err(engine_error)?;
        let next = next.map_or(JsValue::NULL, |(keep, token)| object(&[("keep", (keep as f64).into()), ("token", token.into())]).into());
        Ok(object(&[
            ("token", step.token.map_or(JsValue::NULL, JsValue::from)),
            ("text", step.text.into()),
            ("done", step.finish.is_some().into()),
            ("finish", step.finish.map_or(JsValue::NULL, |f| f.name().into())),
            ("next", next),
        ]))
    }

    /// Drops the generation under way (before `logits` on shards).
    #[wasm_bindgen(js_name = endGeneration)]
    pub fn end_generation(&mut self) {
        self.engine.end_generation();
    }

    /// Forgets the conversation: the next prompt is evaluated from the start.
    #[wasm_bindgen(js_name = resetContext)]
    pub fn reset_context(&mut self) {
        self.engine.reset_context();
    }

    #[wasm_bindgen(js_name = generatedIds)]
    pub fn generated_ids(&self) -> Vec<u32> {
        self.engine.generated_ids().to_vec()
    }

    #[wasm_bindgen(js_name = endOfGenerationIds)]
    pub fn end_of_generation_ids(&mut self) -> Result<Vec<u32>> {
        self.engine.end_of_generation_ids().map_err(engine_error)
    }

    /// Makes layer `layer` usable from the main memory and pins it until `releaseLayer`:
    /// `{ hit, address, bytes }`, `address` in this module's memory.
    #[wasm_bindgen(js_name = acquireLayer)]
    pub fn acquire_layer(&mut self, layer: u32) -> Result<Object> {
        let a = self.engine.acquire_layer(layer).map_err(engine_error)?;
        Ok(object(&[("hit", a.hit.into()), ("address", (self.base() + a.offset as f64).into()), ("bytes", (a.bytes as f64).into())]))
    }

    #[wasm_bindgen(js_name = releaseLayer)]
    pub fn release_layer(&mut self, layer: u32) {
        self.engine.release_layer(layer);
    }

    /// `{ hits, misses, prefetches, evictions, bytesPaged }`, or `undefined` when nothing pages.
    #[wasm_bindgen(js_name = pagerStats)]
    pub fn pager_stats(&self) -> Option<Object> {
        let s = self.engine.pager_stats()?;
        let n = |v: u64| JsValue::from(v as f64);
        Some(object(&[("hits", n(s.hits)), ("misses", n(s.misses)), ("prefetches", n(s.prefetches)), ("evictions", n(s.evictions)), ("bytesPaged", n(s.bytes_paged))]))
    }

    /// SHA-256 of `len` bytes at `address` of this module's memory, inside the model's weights.
    #[wasm_bindgen(js_name = mainSha256)]
    pub fn main_sha256(&self, address: f64, len: f64) -> Result<String> {
        let offset = options::whole("address", address - self.base())?;
        self.engine.main_sha256(offset, options::whole("len", len)?).map_err(engine_error)
    }

    /// SHA-256 over the bytes of every tensor, in header order, read back from where they live.
    #[wasm_bindgen(js_name = tensorSha256)]
    pub fn tensor_sha256(&mut self) -> Result<String> {
        self.engine.tensor_sha256().map_err(engine_error)
    }
}

/// Nesting deeper than any message needs; also stops a cyclic object.
const MAX_CHAT_DEPTH: usize = 64;

/// A JS value (JSON-like: null, boolean, number, string, array, plain object) as template data.
fn chat_value(v: &JsValue, depth: usize) -> Result<ChatValue> {
    if depth > MAX_CHAT_DEPTH {
        return Err(invalid("a message is nested too deeply (or refers to itself)"));
    }
    if v.is_null() || v.is_undefined() {
        return Ok(ChatValue::Null);
    }
    if let Some(b) = v.as_bool() {
        return Ok(ChatValue::Bool(b));
    }
    if let Some(x) = v.as_f64() {
        // A whole JS number is an int to the template (Python's json.loads would make it one).
        let whole = x.fract() == 0.0 && x.abs() < 2f64.powi(53);
        return Ok(if whole { ChatValue::Int(x as i64) } else { ChatValue::Float(x) });
    }
    if let Some(s) = v.as_string() {
        return Ok(ChatValue::String(s));
    }
    if Array::is_array(v) {
        return Array::from(v).iter().map(|item| chat_value(&item, depth + 1)).collect::<Result<_>>().map(ChatValue::List);
    }
    if v.is_object() && !v.is_function() {
        let mut pairs = Vec::new();
        for entry in Object::entries(&Object::from(v.clone())).iter() {
            let entry = Array::from(&entry);
            let key = entry.get(0).as_string().unwrap_or_default();
            pairs.push((key, chat_value(&entry.get(1), depth + 1)?));
        }
        return Ok(ChatValue::Map(pairs));
    }
    Err(invalid("messages and tools may hold only null, booleans, numbers, strings, arrays and plain objects"))
}
