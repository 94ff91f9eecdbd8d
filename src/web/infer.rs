//! Inference on a loaded model, for the JS shim: tokenizing, logits for tests, and generation one
//! token per call (the shim streams the pieces and can stop between any two).

use std::sync::Arc;

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;

use super::Model;
use super::error::js_error;
use crate::generate::{Context, GenerateOptions, Generation};
use crate::model::{ModelConfig, ModelError, DEFAULT_BATCH};
use crate::runtime::{PlacedWeights, StorageHost, TensorIndex};
use crate::sample::SamplerConfig;
use crate::tokenizer::{ChatMessage, Tokenizer};

/// Context length when the caller sets none (capped by the model's training context).
const DEFAULT_CONTEXT: usize = 2048;

/// What a model needs for inference, made on first use.
pub(super) struct Inference {
    config: ModelConfig,
    tokenizer: Arc<Tokenizer>,
    index: TensorIndex,
    context: Option<Context>,
    n_ctx: usize,
    generation: Option<Generation>,
}

/// The JS function that copies a layer out of a storage memory: `(memory, src, dst, len)`, if the
/// shim set one (a layout without storage memories never calls it).
struct JsHost<'a>(Option<&'a Function>);

impl StorageHost for JsHost<'_> {
    fn copy_in(&mut self, memory: u32, src: u64, dst: &mut [u8]) -> Result<(), String> {
        let copy = self.0.ok_or("no copy function was set (setCopyIn)")?;
        let args = Array::of4(&memory.into(), &(src as f64).into(), &(dst.as_mut_ptr() as usize as f64).into(), &(dst.len() as f64).into());
        copy.apply(&JsValue::NULL, &args).map(|_| ()).map_err(|e| format!("{e:?}"))
    }
}

fn model_error(e: ModelError) -> JsValue {
    js_error(e.code(), &e.to_string(), &[])
}

/// A number field of an options object, if present and not undefined/null.
fn number(obj: &JsValue, key: &str) -> Option<f64> {
    Reflect::get(obj, &key.into()).ok().and_then(|v| v.as_f64())
}

fn bool_field(obj: &JsValue, key: &str) -> Option<bool> {
    Reflect::get(obj, &key.into()).ok().and_then(|v| v.as_bool())
}

/// A whole, non-negative number option.
fn count(obj: &JsValue, key: &str) -> Result<Option<usize>, JsValue> {
    match number(obj, key) {
        None => Ok(None),
        Some(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 => Ok(Some(v as usize)),
        Some(v) => Err(js_error("INVALID_ARGUMENT", &format!("{key} must be a whole number ≥ 0, got {v}"), &[])),
    }
}

/// Generation options from `{ maxTokens, temperature, topK, topP, minP, repeatPenalty,
/// repeatLastN, seed, stop, ignoreEos }`.
fn generate_options(obj: &JsValue) -> Result<GenerateOptions, JsValue> {
    let mut o = GenerateOptions::default();
    if obj.is_undefined() || obj.is_null() {
        return Ok(o);
    }
    let d = SamplerConfig::default();
    o.max_tokens = count(obj, "maxTokens")?.unwrap_or(o.max_tokens);
    o.sampler = SamplerConfig {
        temperature: number(obj, "temperature").map_or(d.temperature, |v| v as f32),
        top_k: count(obj, "topK")?.unwrap_or(d.top_k),
        top_p: number(obj, "topP").map_or(d.top_p, |v| v as f32),
        min_p: number(obj, "minP").map_or(d.min_p, |v| v as f32),
        repeat_penalty: number(obj, "repeatPenalty").map_or(d.repeat_penalty, |v| v as f32),
        repeat_last_n: count(obj, "repeatLastN")?.unwrap_or(d.repeat_last_n),
        seed: number(obj, "seed").map_or(d.seed, |v| v as u64),
    };
    if let Ok(stop) = Reflect::get(obj, &"stop".into())
        && Array::is_array(&stop)
    {
        o.stop = Array::from(&stop).iter().filter_map(|s| s.as_string()).collect();
    }
    o.stop_at_end_of_generation = !bool_field(obj, "ignoreEos").unwrap_or(false);
    Ok(o)
}

impl Model {
    /// The inference state, made on first use.
    fn inference(&mut self) -> Result<&mut Inference, JsValue> {
        if self.inference.is_none() {
            let header = self.loaded.placed.header();
            let config = ModelConfig::from_header(header).map_err(|e| js_error("MODEL_UNSUPPORTED", &e.to_string(), &[]))?;
            let tokenizer = Tokenizer::from_header(header).map_err(|e| js_error("TOKENIZER_INVALID", &e.to_string(), &[]))?;
            let index = TensorIndex::new(&self.loaded.placed, &config).map_err(model_error)?;
            let n_ctx = DEFAULT_CONTEXT.min(config.n_ctx_train);
            self.inference = Some(Inference { config, tokenizer: Arc::new(tokenizer), index, context: None, n_ctx, generation: None });
        }
        Ok(self.inference.as_mut().expect("made above"))
    }

    /// Runs `f` with the inference state and the weights (the copy function pages layers in).
    fn with_weights<T>(&mut self, f: impl FnOnce(&mut Context, &mut Option<Generation>, &Arc<Tokenizer>, &mut PlacedWeights<'_, JsHost<'_>>) -> Result<T, JsValue>) -> Result<T, JsValue> {
        self.inference()?;
        let Model { loaded, pager, inference, copy_in } = self;
        let inf = inference.as_mut().expect("made above");
        if inf.context.is_none() {
            inf.context = Some(Context::new(&inf.config, inf.n_ctx, DEFAULT_BATCH).map_err(model_error)?);
        }
        let mut host = JsHost(copy_in.as_ref());
        let mut weights = PlacedWeights { model: loaded, pager: pager.as_mut(), index: &inf.index, host: &mut host };
        let ctx = inf.context.as_mut().expect("made above");
        f(ctx, &mut inf.generation, &inf.tokenizer, &mut weights)
    }
}

#[wasm_bindgen]
impl Model {
    /// Sets the function that copies a layer from storage memory `memory` at `src` to the main
    /// memory at `dst`: `(memory, src, dst, len) => void` (the multi-memory bridge).
    #[wasm_bindgen(js_name = setCopyIn)]
    pub fn set_copy_in(&mut self, copy: Function) {
        self.copy_in = Some(copy);
    }

    /// Sets the context length (positions of the KV cache); drops the current conversation.
    #[wasm_bindgen(js_name = setContextLength)]
    pub fn set_context_length(&mut self, n_ctx: u32) -> Result<(), JsValue> {
        let inf = self.inference()?;
        if n_ctx == 0 {
            return Err(js_error("INVALID_ARGUMENT", "contextLength must be at least 1", &[]));
        }
        inf.n_ctx = n_ctx as usize;
        inf.context = None;
        inf.generation = None;
        Ok(())
    }

    #[wasm_bindgen(js_name = contextLength)]
    pub fn context_length(&mut self) -> Result<u32, JsValue> {
        Ok(self.inference()?.n_ctx as u32)
    }

    /// Bytes of the KV cache once made.
    #[wasm_bindgen(js_name = kvCacheBytes)]
    pub fn kv_cache_bytes(&mut self) -> Result<f64, JsValue> {
        Ok(self.inference()?.context.as_ref().map_or(0.0, |c| c.session().kv_bytes() as f64))
    }

    /// Token ids of `text`; `addSpecial` adds BOS/EOS as the model's flags say (default true),
    /// `parseSpecial` turns special-token text like `<|im_start|>` into its id (default true).
    pub fn tokenize(&mut self, text: &str, add_special: Option<bool>, parse_special: Option<bool>) -> Result<Vec<u32>, JsValue> {
        let t = &self.inference()?.tokenizer;
        Ok(t.encode(text, add_special.unwrap_or(true), parse_special.unwrap_or(true)))
    }

    /// The text of `ids`; special tokens are rendered when `special` is set (default false).
    pub fn detokenize(&mut self, ids: &[u32], special: Option<bool>) -> Result<String, JsValue> {
        let t = &self.inference()?.tokenizer;
        if let Some(&bad) = ids.iter().find(|&&id| id as usize >= t.n_vocab()) {
            return Err(js_error("INVALID_ARGUMENT", &format!("token {bad} is outside the vocabulary of {}", t.n_vocab()), &[]));
        }
        Ok(t.decode(ids, special.unwrap_or(false)))
    }

    /// The prompt text of `messages` (`[{ role, content }]`) in the model's chat format.
    #[wasm_bindgen(js_name = applyChatTemplate)]
    pub fn apply_chat_template(&mut self, messages: Array, add_generation_prompt: Option<bool>) -> Result<String, JsValue> {
        let mut list = Vec::new();
        for m in messages.iter() {
            let field = |k: &str| Reflect::get(&m, &k.into()).ok().and_then(|v| v.as_string());
            let (Some(role), Some(content)) = (field("role"), field("content")) else {
                return Err(js_error("INVALID_ARGUMENT", "each message needs a string role and content", &[]));
            };
            list.push(ChatMessage::new(&role, &content));
        }
        let t = &self.inference()?.tokenizer;
        t.apply_chat_template(&list, add_generation_prompt.unwrap_or(true)).map_err(|e| js_error("CHAT_TEMPLATE", &e.to_string(), &[]))
    }

    /// The logits after evaluating `ids` from an empty context (for tests and scoring).
    pub fn logits(&mut self, ids: &[u32]) -> Result<Vec<f32>, JsValue> {
        self.with_weights(|ctx, generation, _, w| {
            *generation = None;
            ctx.clear();
            ctx.prefill(w, ids).map_err(model_error)?;
            Ok(ctx.logits().to_vec())
        })
    }

    /// Evaluates the prompt `ids` (reusing the cached prefix of the previous conversation) and
    /// prepares generation with `options`. Returns the number of tokens evaluated.
    pub fn begin(&mut self, ids: &[u32], options: JsValue) -> Result<u32, JsValue> {
        let options = generate_options(&options)?;
        self.with_weights(|ctx, generation, tokenizer, w| {
            *generation = None;
            let fresh = Generation::new(Arc::clone(tokenizer), options).map_err(|e| js_error("INVALID_ARGUMENT", &e.to_string(), &[]))?;
            let evaluated = ctx.prefill(w, ids).map_err(model_error)?;
            *generation = Some(fresh);
            Ok(evaluated as u32)
        })
    }

    /// Generates one token: `{ token, text }`, or `{ done: true, finish, text }` at the end
    /// (`finish` is "length", "end_of_generation", "stop_string" or "context_full").
    pub fn step(&mut self) -> Result<Object, JsValue> {
        self.with_weights(|ctx, generation, _, w| {
            let Some(generation) = generation.as_mut() else {
                return Err(js_error("INVALID_ARGUMENT", "step() before begin()", &[]));
            };
            let piece = generation.step(ctx, w).map_err(|e| match e {
                crate::generate::GenerateError::Model(m) => model_error(m),
                other => js_error("INTERNAL", &other.to_string(), &[]),
            })?;
            let out = Object::new();
            let set = |k: &str, v: JsValue| {
                let _ = Reflect::set(&out, &k.into(), &v);
            };
            if let Some(p) = piece {
                set("token", p.token.map_or(JsValue::NULL, JsValue::from));
                set("text", p.text.into());
            } else {
                set("text", "".into());
            }
            if let Some(finish) = generation.finish() {
                set("done", true.into());
                set("finish", finish.name().into());
            }
            Ok(out)
        })
    }

    /// Forgets the conversation: the next prompt is evaluated from the start (no prefix reuse).
    #[wasm_bindgen(js_name = resetContext)]
    pub fn reset_context(&mut self) {
        if let Some(inf) = self.inference.as_mut() {
            inf.generation = None;
            if let Some(ctx) = inf.context.as_mut() {
                ctx.clear();
            }
        }
    }

    /// Ids generated by the current generation.
    #[wasm_bindgen(js_name = generatedIds)]
    pub fn generated_ids(&self) -> Vec<u32> {
        self.inference.as_ref().and_then(|i| i.generation.as_ref()).map_or_else(Vec::new, |g| g.generated().to_vec())
    }

    /// End-of-generation token ids of the model.
    #[wasm_bindgen(js_name = endOfGenerationIds)]
    pub fn end_of_generation_ids(&mut self) -> Result<Vec<u32>, JsValue> {
        Ok(self.inference()?.tokenizer.end_of_generation_ids().to_vec())
    }
}
