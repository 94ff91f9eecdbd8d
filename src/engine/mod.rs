//! The engine: one loaded model, ready to answer everything a program asks of it. It owns the
//! weights (in place in the main memory, or paged into working-set slots through the host that
//! owns the storage memories), the tokenizer, the KV cache and the generation under way. The
//! browser boundary (`web`) only converts arguments and errors around it; native tests and tools
//! drive the very same type.
//!
//! The tokenizer, tensor index and KV cache are made on first use, so a model whose architecture
//! gguf64 does not run still loads, reports and hashes. The KV cache is made once per context
//! length and reused by every later prompt, which evaluates only what differs from the tokens
//! already cached.

mod error;

use std::sync::Arc;

pub use error::EngineError;

use crate::digest::Sha256;
use crate::generate::{Context, Finish, GenerateOptions, Generation};
use crate::loader::LoadedModel;
use crate::memory::pager::{Pager, PagerStats};
use crate::memory::GroupId;
use crate::memory::registry::RegisteredTensor;
use crate::quant::interleave;
use crate::model::{Advance, DEFAULT_BATCH, Gather, ModelConfig, ModelError, ShardSlice, WeightSource};
use crate::runtime::{PlacedWeights, StorageHost, TensorIndex};
use crate::tokenizer::{ChatMessage, ChatRequest, ChatValue, Tokenizer, TokenizerError};

/// Context length when the caller sets none (capped by the model's training context).
pub use crate::model::kv_cache::DEFAULT_CONTEXT;

/// What `begin` did with a prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Begun {
    /// Prompt tokens evaluated now.
    pub evaluated: usize,
    /// Prompt tokens taken from the KV cache of the previous conversation.
    pub reused: usize,
}

/// One generation step: the token sampled (none when the step only flushed text), the text it
/// released, and why generation ended if it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub token: Option<u32>,
    pub text: String,
    pub finish: Option<Finish>,
}

/// A layer made usable from the main memory by `acquire_layer`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LayerAccess {
    /// It was already there (resident, or in a slot).
    pub hit: bool,
    /// Where its bytes start, as an offset in the main weight block.
    pub offset: u64,
    pub bytes: u64,
}

/// A whole generation: what `generate` returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    pub begun: Begun,
    pub ids: Vec<u32>,
    pub text: String,
    pub finish: Finish,
}

/// What inference needs besides the weights, made on first use.
struct Inference {
    config: ModelConfig,
    tokenizer: Arc<Tokenizer>,
    index: TensorIndex,
    n_ctx: usize,
    context: Option<Context>,
    generation: Option<Generation>,
}

/// A loaded model and everything that runs it. `H` copies layers out of the storage memories.
pub struct Engine<H: StorageHost> {
    model: LoadedModel,
    pager: Option<Pager>,
    host: H,
    inference: Option<Inference>,
    contexts_made: u32,
}

impl<H: StorageHost> Engine<H> {
    pub fn new(model: LoadedModel, host: H) -> Engine<H> {
        let pager = model.placed.plan.working_set.map(Pager::new);
        Engine { model, pager, host, inference: None, contexts_made: 0 }
    }

    pub fn model(&self) -> &LoadedModel {
        &self.model
    }

    pub fn host_mut(&mut self) -> &mut H {
        &mut self.host
    }

    /// The model's hyper-parameters (an error if gguf64 does not run its architecture).
    pub fn config(&mut self) -> Result<&ModelConfig, EngineError> {
        Ok(&self.inference()?.config)
    }

    /// The plain-text report of the model and its memory: size and quantization, layers, hidden
    /// size, vocabulary, the layout and where every group lives.
    pub fn summary(&self) -> String {
        let placed = &self.model.placed;
        let config = ModelConfig::from_header(placed.header()).ok();
        let dominant = crate::memory::summary::dominant_type(placed.parts.iter().flat_map(|h| &h.tensors));
        crate::memory::summary::summary(&placed.plan, config.as_ref(), dominant)
    }

    fn inference(&mut self) -> Result<&mut Inference, EngineError> {
        if self.inference.is_none() {
            let header = self.model.placed.header();
            let config = ModelConfig::from_header(header).map_err(EngineError::Config)?;
            let tokenizer = Tokenizer::from_header(header).map_err(EngineError::Tokenizer)?;
            let index = TensorIndex::new(&self.model.placed, &config)?;
            let n_ctx = DEFAULT_CONTEXT.min(config.n_ctx_train);
            self.inference = Some(Inference { config, tokenizer: Arc::new(tokenizer), index, n_ctx, context: None, generation: None });
        }
        Ok(self.inference.as_mut().expect("made above"))
    }

    /// Token ids of `text`: `add_special` adds BOS/EOS as the model's flags say, `parse_special`
    /// turns special-token text like `<|im_start|>` into its id.
    pub fn tokenize(&mut self, text: &str, add_special: bool, parse_special: bool) -> Result<Vec<u32>, EngineError> {
        Ok(self.inference()?.tokenizer.encode(text, add_special, parse_special))
    }

    /// The text of `ids`; special tokens are rendered when `special` is set.
    pub fn detokenize(&mut self, ids: &[u32], special: bool) -> Result<String, EngineError> {
        let t = &self.inference()?.tokenizer;
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= t.n_vocab()) {
            return Err(ModelError::TokenOutOfRange { id, n_vocab: t.n_vocab() }.into());
        }
        Ok(t.decode(ids, special))
    }

    /// The prompt text of `messages` in the model's chat format.
    pub fn apply_chat_template(&mut self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String, EngineError> {
        let values: Vec<ChatValue> = messages.iter().map(ChatMessage::to_value).collect();
        self.render_chat(&ChatRequest { messages: &values, add_generation_prompt, ..ChatRequest::default() })
    }

    /// The prompt text of a chat request (messages of any shape, tools, an override template).
    pub fn render_chat(&mut self, request: &ChatRequest) -> Result<String, EngineError> {
        let t = &self.inference()?.tokenizer;
        t.render_chat(request).map_err(|e| match e {
            TokenizerError::ChatTemplate(_) | TokenizerError::ChatRoles { .. } => EngineError::Chat(e),
            other => EngineError::Tokenizer(other),
        })
    }

    /// End-of-generation token ids of the model.
    pub fn end_of_generation_ids(&mut self) -> Result<Vec<u32>, EngineError> {
        Ok(self.inference()?.tokenizer.end_of_generation_ids().to_vec())
    }

    /// The context length (positions of the KV cache) now in force.
    pub fn context_length(&mut self) -> Result<usize, EngineError> {
        Ok(self.inference()?.n_ctx)
    }

    /// Sets the context length. The same length as now changes nothing (the cached conversation
    /// stays); another drops the KV cache, which is made anew on the next prompt. A length of 0
    /// or beyond the model's training context is an error.
    pub fn set_context_length(&mut self, n_ctx: usize) -> Result<(), EngineError> {
        let inf = self.inference()?;
        let trained = inf.config.n_ctx_train;
        if n_ctx == 0 || n_ctx > trained {
            return Err(EngineError::ContextLength { requested: n_ctx, trained });
        }
        if n_ctx != inf.n_ctx {
            inf.n_ctx = n_ctx;
            inf.context = None;
            inf.generation = None;
        }
        Ok(())
    }

    /// How many KV caches were allocated so far (one per context length used).
    pub fn contexts_made(&self) -> u32 {
        self.contexts_made
    }

    /// Bytes of the KV cache, once made.
    pub fn kv_cache_bytes(&self) -> u64 {
        self.inference.as_ref().and_then(|i| i.context.as_ref()).map_or(0, |c| c.session().kv_bytes())
    }

    /// Tokens held in the KV cache (the conversation so far).
    pub fn cached_tokens(&self) -> &[u32] {
        self.inference.as_ref().and_then(|i| i.context.as_ref()).map_or(&[], |c| c.tokens())
    }

    /// Runs `f` with the context (made if need be), the generation slot, the tokenizer and the
    /// weights.
    fn run<T>(
        &mut self,
        f: impl FnOnce(&mut Context, &mut Option<Generation>, &Arc<Tokenizer>, &mut PlacedWeights<'_, H>) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        self.inference()?;
        let Engine { model, pager, host, inference, contexts_made } = self;
        let inf = inference.as_mut().expect("made above");
        if inf.context.is_none() {
            inf.context = Some(Context::new(&inf.config, inf.n_ctx, DEFAULT_BATCH)?);
            *contexts_made += 1;
        }
        let ctx = inf.context.as_mut().expect("made above");
        let mut weights = PlacedWeights { model, pager: pager.as_mut(), index: &inf.index, host };
        f(ctx, &mut inf.generation, &inf.tokenizer, &mut weights)
    }

    /// The logits after evaluating `ids`, as from an empty context (for tests and scoring). A
    /// prefix of `ids` already in the KV cache is not evaluated again: no position's arithmetic
    /// depends on how the sequence is split into batches, so the logits equal a fresh
    /// evaluation's bit for bit, and scoring a sequence position by position (teacher forcing)
    /// costs one token per call.
    pub fn logits(&mut self, ids: &[u32]) -> Result<Vec<f32>, EngineError> {
        self.run(|ctx, generation, _, w| {
            *generation = None;
            ctx.prefill(w, ids)?;
            Ok(ctx.logits().to_vec())
        })
    }

    /// Evaluates the prompt `ids`, reusing the longest prefix already in the KV cache, and
    /// prepares a generation with `options`.
    pub fn begin(&mut self, ids: &[u32], options: GenerateOptions) -> Result<Begun, EngineError> {
        self.run(|ctx, generation, tokenizer, w| {
            *generation = None;
            let fresh = Generation::new(Arc::clone(tokenizer), options)?;
            let evaluated = ctx.prefill(w, ids)?;
            *generation = Some(fresh);
            Ok(Begun { evaluated, reused: ids.len() - evaluated })
        })
    }

    /// Generates one token.
    pub fn step(&mut self) -> Result<Step, EngineError> {
        self.run(|ctx, generation, _, w| {
            let generation = generation.as_mut().ok_or(EngineError::NotBegun)?;
            let piece = generation.step(ctx, w)?;
            let (token, text) = piece.map_or((None, String::new()), |p| (p.token, p.text));
            Ok(Step { token, text, finish: generation.finish() })
        })
    }

    /// `begin`, then `step` until the generation ends.
    pub fn generate(&mut self, ids: &[u32], options: GenerateOptions) -> Result<Generated, EngineError> {
        let begun = self.begin(ids, options)?;
        let mut text = String::new();
        loop {
            let step = self.step()?;
            text.push_str(&step.text);
            if let Some(finish) = step.finish {
                return Ok(Generated { begun, ids: self.generated_ids().to_vec(), text, finish });
            }
        }
    }

    /// Ids generated by the current (or last) generation.
    pub fn generated_ids(&self) -> &[u32] {
        self.inference.as_ref().and_then(|i| i.generation.as_ref()).map_or(&[], |g| g.generated())
    }

    /// Forgets the conversation: the next prompt is evaluated from the start.
    pub fn reset_context(&mut self) {
        if let Some(inf) = self.inference.as_mut() {
            inf.generation = None;
            if let Some(ctx) = inf.context.as_mut() {
                ctx.clear();
            }
        }
    }

    // ---- one shard of a model split over workers (`crate::parallel`) ----------------------
    //
    // Every shard runs the same sequence: `eval_start`, then `advance` until `Advance::Done`,
    // with `gather()` completed with the other shards' columns at each `Advance::Gather`. The
    // leader (shard 0) also generates: `begin_deferred` and `step_deferred` say what the
    // shards evaluate, and its logits are completed with the other shards' rows before each
    // `step_deferred`.

    /// The slice of the whole model this engine holds, if it is a shard.
    pub fn shard(&mut self) -> Result<Option<ShardSlice>, EngineError> {
        Ok(self.inference()?.config.shard.clone())
    }

    /// Keeps the first `keep` cached tokens and starts evaluating `tokens` after them.
    pub fn eval_start(&mut self, keep: usize, tokens: &[u32]) -> Result<(), EngineError> {
        self.run(|ctx, _, _, _| Ok(ctx.start(keep, tokens)?))
    }

    /// Runs the evaluation to its next gathering point or its end.
    pub fn advance(&mut self) -> Result<Advance, EngineError> {
        self.run(|ctx, _, _, w| Ok(ctx.advance(w)?))
    }

    /// The result being gathered, at `Advance::Gather`.
    pub fn gather(&mut self) -> Option<Gather<'_>> {
        self.inference.as_mut()?.context.as_mut()?.session_mut().gather()
    }

    /// The logits buffer (a shard fills its own rows; the leader receives the others').
    pub fn logits_buffer(&mut self) -> &mut [f32] {
        match self.inference.as_mut().and_then(|i| i.context.as_mut()) {
            Some(ctx) => ctx.logits_mut(),
            None => &mut [],
        }
    }

    /// `begin` without the evaluation: prepares the generation and returns what every shard
    /// evaluates (`eval_start(keep, tokens)`).
    pub fn begin_deferred(&mut self, ids: &[u32], options: GenerateOptions) -> Result<(usize, Vec<u32>), EngineError> {
        self.run(|ctx, generation, tokenizer, _| {
            *generation = None;
            let fresh = Generation::new(Arc::clone(tokenizer), options)?;
            let keep = ctx.reusable(ids)?;
            *generation = Some(fresh);
            Ok((keep, ids[keep..].to_vec()))
        })
    }

    /// `step` without the evaluation: the step, and what every shard evaluates next (keep the
    /// cached tokens, add the token) if generation goes on.
    pub fn step_deferred(&mut self) -> Result<(Step, Option<(usize, u32)>), EngineError> {
        self.run(|ctx, generation, _, _| {
            let generation = generation.as_mut().ok_or(EngineError::NotBegun)?;
            let (piece, next) = generation.choose(ctx)?;
            let (token, text) = piece.map_or((None, String::new()), |p| (p.token, p.text));
            let step = Step { token, text, finish: generation.finish() };
            Ok((step, next.map(|t| (ctx.tokens().len(), t))))
        })
    }

    /// Drops the generation under way (before `logits`-style evaluations on shards).
    pub fn end_generation(&mut self) {
        if let Some(inf) = self.inference.as_mut() {
            inf.generation = None;
        }
    }

    /// Makes layer `layer` usable from the main memory, paging it in if its home is a storage
    /// memory, and pins it until `release_layer`. The same paging the forward pass uses.
    pub fn acquire_layer(&mut self, layer: u32) -> Result<LayerAccess, EngineError> {
        let home = self.model.placed.plan.placement(GroupId::Layer(layer)).ok_or(EngineError::NoSuchLayer { layer })?;
        let (bytes, resident_at) = (home.bytes, (home.home.memory == 0).then_some(home.home.offset));
        if let Some(offset) = resident_at {
            return Ok(LayerAccess { hit: true, offset, bytes });
        }
        let misses = self.pager_stats().map_or(0, |s| s.misses);
        let Engine { model, pager, host, .. } = self;
        let index = TensorIndex::default();
        let mut weights = PlacedWeights { model, pager: pager.as_mut(), index: &index, host };
        weights.begin_layer(layer as usize)?;
        let pager = self.pager.as_ref().expect("begin_layer paged the layer in");
        let slot = pager.resident(layer).expect("begin_layer pinned the layer");
        Ok(LayerAccess { hit: pager.stats().misses == misses, offset: pager.slot_offset(slot), bytes })
    }

    /// Unpins layer `layer` (its slot may be reused).
    pub fn release_layer(&mut self, layer: u32) {
        if let Some(p) = &mut self.pager {
            p.release(layer);
        }
    }

    /// The pager's counters, for a layout that pages.
    pub fn pager_stats(&self) -> Option<PagerStats> {
        self.pager.as_ref().map(Pager::stats)
    }

    /// SHA-256 (hex) of `len` bytes at `offset` of the main weight block.
    pub fn main_sha256(&self, offset: u64, len: u64) -> Result<String, EngineError> {
        let outside = EngineError::OutsideWeights { offset, len };
        let start = usize::try_from(offset).map_err(|_| outside.clone())?;
        let end = usize::try_from(offset.saturating_add(len)).map_err(|_| outside.clone())?;
        let bytes = self.model.placed.main.as_slice().get(start..end).ok_or(outside)?;
        let mut h = Sha256::new();
        h.update(bytes);
        Ok(h.finish_hex())
    }

    /// SHA-256 (hex) over the bytes of every tensor, in header order, read back from wherever
    /// it lives (equal to hashing the file's tensor data in order).
    pub fn tensor_sha256(&mut self) -> Result<String, EngineError> {
        const PIECE: u64 = 16 << 20;
        let placed = &self.model.placed;
        let mut hasher = Sha256::new();
        let mut buf = Vec::new();
        for t in placed.parts.iter().flat_map(|h| &h.tensors) {
            let reg = placed.registry.tensor(&t.name).ok_or_else(|| EngineError::Unregistered { name: t.name.clone() })?;
            if reg.memory == 0 {
                let bytes = &placed.main.as_slice()[reg.offset as usize..(reg.offset + reg.n_bytes) as usize];
                hash_file_order(&mut hasher, reg, bytes);
                continue;
            }
            let mut at = 0;
            while at < reg.n_bytes {
                let len = PIECE.min(reg.n_bytes - at);
                buf.resize(len as usize, 0);
                let failed = |reason| EngineError::ReadBack { name: t.name.clone(), reason };
                self.host.copy_in(reg.memory, reg.offset + at, &mut buf).map_err(failed)?;
                hasher.update(&buf);
                at += len;
            }
        }
        Ok(hasher.finish_hex())
    }
}

/// Feeds a main-memory tensor's bytes to `hasher` in file order: row by row, gathered from
/// their groups, where the loader stored it interleaved (`quant::interleave`).
fn hash_file_order(hasher: &mut Sha256, t: &RegisteredTensor, bytes: &[u8]) {
    let Some((row, block)) = t.dims.first().and_then(|&cols| interleave::row_shape(t.ggml_type, cols)) else {
        hasher.update(bytes);
        return;
    };
    let mut out = vec![0; row];
    for r in 0..bytes.len() / row {
        if interleave::gather_row(bytes, row, block, r, &mut out).is_some() {
            hasher.update(&out);
        }
    }
    hasher.update(&bytes[bytes.len() / row * row..]);
}

#[cfg(test)]
mod tests;
