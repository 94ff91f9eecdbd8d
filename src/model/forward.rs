//! The forward pass of the decoder-only transformers gguf64 runs (llama, qwen2, qwen3, phi3,
//! gemma2, gemma3, smollm3, granite, olmo2): a `Session` holds the KV cache and scratch buffers of one conversation and
//! evaluates tokens in batches, reading every weight in place through a `WeightSource`.
//!
//! Per layer, for a batch of T tokens at positions p..p+T (bracketed steps depend on flags of
//! the `ModelConfig`, never on the architecture's name):
//!
//! ```text
//! h = [RMSNorm(x) · attn_norm]                     (olmo2: h = x)
//! q, k, v = h·Wq (+bq), h·Wk (+bk), h·Wv (+bv)      each weight read once for all T tokens;
//!                                                   [fused: rows of one Wqkv]
//! q, k = [RMSNorm per head / whole], [RoPE(position)] interleaved pairs or halves; angles divided by
//!                                                   [frequency factors], [linear / YaRN scaled]
//! cache[p+t] = k, v (f16)
//! s = [softcap](q·k) · scale                        [scale on q instead, before q·k]
//! a = softmax(s, causal / [sliding window]) · v     grouped-query heads share k, v
//! x += [PostNorm](a·Wo) [· residual scale]
//! h = [RMSNorm(x) · ffn_norm]
//! x += [PostNorm](((act(h·Wgate)) ⊙ (h·Wup))·Wdown) [· residual scale]
//!                                                   act: SiLU or GELU; [fused: gate‖up in Wup]
//! ```
//!
//! then the last token's `RMSNorm(x) · output_norm` times the output matrix gives the logits,
//! [divided by the logit scale], [softcapped].

use half::f16;
use half::slice::HalfFloatSliceExt;

use std::ops::Range;

use super::config::{FfnActivation, ModelConfig, RopeFactors};
use super::error::ModelError;
use super::kv_cache::KvCache;
use super::ops::{self, RopeParams};
use super::rope_table::AngleTable;
use super::weights::{LayerTensor, TensorId, TensorView, Trace, WeightSource, f32_values};
use crate::quant::blocks::f16_le;
use crate::quant::{ActivationFormat, QuantizedActivation, WeightMatrix, add_products_rows, dots_columns, matmul, transpose_f16, widen_f16};

/// Tokens evaluated together when a prompt is longer (each weight is read once per batch).
pub const DEFAULT_BATCH: usize = 32;

/// One conversation's state: the KV cache and the buffers a batch needs.
pub struct Session {
    config: ModelConfig,
    kv: KvCache,
    batch: usize,
    rope: RopePlan,
    s: Scratch,
    /// The evaluation under way between `start` and the `advance` that ends it.
    cursor: Option<Cursor>,
}

/// What `Session::advance` stopped for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Advance {
    /// `gather()` must be completed with the other shards' columns before the next `advance`.
    Gather,
    /// The logits are ready.
    Done,
}

/// A result every shard needs whole, `n` rows (tokens) of `width`, of which this shard
/// computed the columns `mine`.
pub struct Gather<'a> {
    pub rows: &'a mut [f32],
    pub n: usize,
    pub width: usize,
    pub mine: Range<usize>,
}

/// Which result is being gathered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gathered {
    /// The attention output, by heads.
    Attention,
    /// The attention or down projection, by rows of the residual stream.
    Output,
    /// The feed-forward hidden state.
    Hidden,
}

/// Where an evaluation stands between stages.
#[derive(Clone, Debug)]
struct Cursor {
    tokens: Vec<u32>,
    /// Index in `tokens` of the current batch's first token.
    batch_start: usize,
    layer: usize,
    stage: Stage,
    /// The layer between `begin_layer` and `end_layer`, if any.
    open_layer: Option<usize>,
    /// What the stage just run left to gather.
    gathering: Option<Gathered>,
}

impl Cursor {
    fn batch_len(&self, batch: usize) -> usize {
        batch.min(self.tokens.len() - self.batch_start)
    }
}

/// The stages of one batch: the embeddings; per layer the attention, its output projection,
/// the feed-forward block to its hidden state, the down projection and the last residual add;
/// then (last batch only) the logits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Embed,
    Attention,
    AttentionOutput,
    FeedForward,
    Down,
    Residual,
    Output,
}

/// What a stage leaves behind.
enum Next {
    Stage,
    Gather,
    Done,
}

/// RoPE settings per kind of layer, and the frequency factors in force for this context.
#[derive(Clone, Copy, Debug)]
struct RopePlan {
    global: RopeParams,
    sliding: RopeParams,
    factors: Option<TensorId>,
}

impl RopePlan {
    fn new(c: &ModelConfig, n_ctx: usize) -> RopePlan {
        let params = |base: f32, freq_scale: f32| {
            let p = RopeParams { n_dims: c.rope_dims, base, freq_scale, yarn: None, mscale: c.rope_attn_factor };
            match c.yarn {
                Some(y) => p.with_yarn(y.ext_factor, y.beta_fast, y.beta_slow, c.rope_n_ctx_orig),
                None => p,
            }
        };
        // llama.cpp picks the long factors when its context, rounded up to 256 positions,
        // exceeds the original one.
        let long_context = n_ctx.div_ceil(256) * 256 > c.rope_n_ctx_orig;
        let factors = match c.rope_factors {
            RopeFactors::None => None,
            RopeFactors::Freqs => Some(TensorId::RopeFreqs),
            RopeFactors::LongShort { long, .. } if long_context => long.then_some(TensorId::RopeFactorsLong),
            RopeFactors::LongShort { short, .. } => short.then_some(TensorId::RopeFactorsShort),
        };
        RopePlan {
            global: params(c.rope_base, c.rope_freq_scale),
            sliding: params(c.rope_base_local, c.rope_freq_scale_local),
            factors,
        }
    }
}

/// Activations of one batch, row-major by token.
#[derive(Default)]
struct Scratch {
    x: Vec<f32>,
    h: Vec<f32>,
    q: Vec<f32>,
    k: Vec<f32>,
    v: Vec<f32>,
    attn: Vec<f32>,
    out: Vec<f32>,
    gate: Vec<f32>,
    up: Vec<f32>,
    /// A shard's gathered hidden state (a whole model reads `gate`).
    hidden: Vec<f32>,
    /// A shard's rows of a projection, before they go to their columns of `out`.
    rows: Vec<f32>,
    attend: AttendScratch,
    /// RoPE angles of the batch's positions: global layers, sliding-window layers.
    angles: [AngleTable; 2],
}

/// `n` zeros, or `OutOfMemory`.
fn buffer(n: usize) -> Result<Vec<f32>, ModelError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| ModelError::OutOfMemory { bytes: (n as u64).saturating_mul(4) })?;
    v.resize(n, 0.0);
    Ok(v)
}

impl Scratch {
    fn new(c: &ModelConfig, batch: usize, n_ctx: usize) -> Result<Scratch, ModelError> {
        let b = |w: usize| batch.checked_mul(w).ok_or(ModelError::OutOfMemory { bytes: u64::MAX }).and_then(buffer);
        Ok(Scratch {
            x: b(c.n_embd)?,
            h: b(c.n_embd)?,
            q: b(c.n_heads * c.head_dim)?,
            k: b(c.n_embd_kv())?,
            v: b(c.n_kv_heads * c.head_dim_v)?,
            attn: b(c.attn_width())?,
            out: b(c.n_embd)?,
            gate: b(c.n_ff)?,
            up: b(c.n_ff)?,
            hidden: if c.shard.is_some() { b(c.ff_width())? } else { Vec::new() },
            rows: if c.shard.is_some() { b(c.embd_rows().len())? } else { Vec::new() },
            attend: AttendScratch::new(c, n_ctx)?,
            angles: Default::default(),
        })
    }
}

impl Session {
    /// A session of `n_ctx` positions evaluating prompts `batch` tokens at a time.
    pub fn new(config: &ModelConfig, n_ctx: usize, batch: usize) -> Result<Session, ModelError> {
        if batch == 0 {
            return Err(ModelError::InvalidArgument { what: "batch size", value: batch });
        }
        let batch = batch.min(n_ctx);
        Ok(Session {
            config: config.clone(),
            kv: KvCache::new(config, n_ctx)?,
            batch,
            rope: RopePlan::new(config, n_ctx),
            s: Scratch::new(config, batch, n_ctx)?,
            cursor: None,
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Tokens in the cache: the position of the next token.
    pub fn position(&self) -> usize {
        self.kv.len()
    }

    /// Positions the context holds.
    pub fn n_ctx(&self) -> usize {
        self.kv.n_ctx()
    }

    /// Bytes of the KV cache.
    pub fn kv_bytes(&self) -> u64 {
        self.kv.bytes()
    }

    /// Forgets every token after the first `len` (0: a fresh conversation), and any
    /// evaluation under way.
    pub fn truncate(&mut self, len: usize) {
        self.cursor = None;
        self.kv.truncate(len);
    }

    /// Evaluates `tokens` at the next positions and writes the logits of the last one into
    /// `logits` (`n_vocab` floats). A shard of a tensor-parallel model cannot evaluate alone:
    /// its peers drive it through `start` and `advance`.
    pub fn eval<W: WeightSource + ?Sized>(&mut self, w: &mut W, tokens: &[u32], logits: &mut [f32]) -> Result<(), ModelError> {
        if let Some(s) = self.config.shard.as_ref().filter(|s| s.count > 1) {
            return Err(ModelError::ShardAlone { count: s.count });
        }
        self.start(tokens, logits.len())?;
        while self.advance(w, logits)? == Advance::Gather {}
        Ok(())
    }

    /// Starts evaluating `tokens` at the next positions; `advance` runs it. Checks what `eval`
    /// checks (`logits_len`: the buffer `advance` will be given).
    pub fn start(&mut self, tokens: &[u32], logits_len: usize) -> Result<(), ModelError> {
        let c = &self.config;
        if tokens.is_empty() {
            return Err(ModelError::InvalidArgument { what: "token count", value: 0 });
        }
        if logits_len != c.n_vocab {
            return Err(ModelError::InvalidArgument { what: "logits length", value: logits_len });
        }
        if let Some(&id) = tokens.iter().find(|&&id| id as usize >= c.n_vocab) {
            return Err(ModelError::TokenOutOfRange { id, n_vocab: c.n_vocab });
        }
        let needed = self.kv.len() + tokens.len();
        if needed > self.kv.n_ctx() {
            return Err(ModelError::ContextFull { needed, n_ctx: self.kv.n_ctx() });
        }
        self.cursor = Some(Cursor { tokens: tokens.to_vec(), batch_start: 0, layer: 0, stage: Stage::Embed, open_layer: None, gathering: None });
        Ok(())
    }

    /// Runs the evaluation begun by `start` up to its next gathering point or its end. At
    /// `Advance::Gather`, `gather()` names a result of which this shard computed some columns
    /// (`mine`); the other shards' columns must be copied in before the next call. A whole
    /// model never stops there. At `Advance::Done`, `logits` holds the last token's logits (a
    /// shard: its vocabulary rows). After an error the evaluation is abandoned; tokens of
    /// finished batches stay cached.
    pub fn advance<W: WeightSource + ?Sized>(&mut self, w: &mut W, logits: &mut [f32]) -> Result<Advance, ModelError> {
        let mut cursor = self.cursor.take().ok_or(ModelError::InvalidArgument { what: "evaluation in progress", value: 0 })?;
        let sharded = self.config.shard.as_ref().is_some_and(|s| s.count > 1);
        loop {
            match self.stage(w, &mut cursor, logits) {
                Ok(Next::Done) => return Ok(Advance::Done),
                Ok(Next::Gather) if sharded => {
                    self.cursor = Some(cursor);
                    return Ok(Advance::Gather);
                }
                Ok(Next::Gather | Next::Stage) => {}
                Err(e) => {
                    if let Some(il) = cursor.open_layer {
                        w.end_layer(il);
                    }
                    return Err(e);
                }
            }
        }
    }

    /// The result being gathered at an `Advance::Gather` (see `advance`): `None` otherwise.
    pub fn gather(&mut self) -> Option<Gather<'_>> {
        let cur = self.cursor.as_ref()?;
        let what = cur.gathering?;
        let n = cur.batch_len(self.batch);
        let mine = gathered(&self.config, what);
        let c = &self.config;
        let (buffer, width) = match what {
            Gathered::Attention => (&mut self.s.attn, c.attn_width()),
            Gathered::Output => (&mut self.s.out, c.n_embd),
            Gathered::Hidden => (&mut self.s.hidden, c.ff_width()),
        };
        Some(Gather { rows: &mut buffer[..n * width], n, width, mine })
    }

    /// One stage of the evaluation; `Gather` after the stages that leave this model's slice of
    /// a result every shard needs whole.
    fn stage<W: WeightSource + ?Sized>(&mut self, w: &mut W, cur: &mut Cursor, logits: &mut [f32]) -> Result<Next, ModelError> {
        let n = cur.batch_len(self.batch);
        let batch = cur.batch_start..cur.batch_start + n;
        let (il, pos0) = (cur.layer, self.kv.len());
        let gather = |cur: &mut Cursor, what: Gathered| {
            cur.gathering = Some(what);
            Ok(Next::Gather)
        };
        cur.gathering = None;
        match cur.stage {
            Stage::Embed => {
                self.embed(&*w, &cur.tokens[batch])?;
                cur.stage = Stage::Attention;
                Ok(Next::Stage)
            }
            Stage::Attention => {
                w.begin_layer(il)?;
                cur.open_layer = Some(il);
                if il + 1 < self.config.n_layers {
                    w.prefetch(il + 1);
                }
                self.attention(&*w, il, n, pos0)?;
                cur.stage = Stage::AttentionOutput;
                gather(cur, Gathered::Attention)
            }
            Stage::AttentionOutput => {
                self.attention_output(&*w, il, n)?;
                cur.stage = Stage::FeedForward;
                gather(cur, Gathered::Output)
            }
            Stage::FeedForward => {
                self.residual(&*w, il, n, LayerTensor::PostAttnNorm)?;
                self.feed_forward(&*w, il, n)?;
                cur.stage = Stage::Down;
                gather(cur, Gathered::Hidden)
            }
            Stage::Down => {
                self.down(&*w, il, n)?;
                cur.stage = Stage::Residual;
                gather(cur, Gathered::Output)
            }
            Stage::Residual => {
                self.residual(&*w, il, n, LayerTensor::PostFfnNorm)?;
                w.end_layer(il);
                cur.open_layer = None;
                cur.layer += 1;
                if cur.layer < self.config.n_layers {
                    cur.stage = Stage::Attention;
                    return Ok(Next::Stage);
                }
                self.kv.set_len(pos0 + n);
                cur.layer = 0;
                if batch.end == cur.tokens.len() {
                    cur.stage = Stage::Output;
                } else {
                    cur.batch_start = batch.end;
                    cur.stage = Stage::Embed;
                }
                Ok(Next::Stage)
            }
            Stage::Output => {
                self.output(&*w, n - 1, logits)?;
                Ok(Next::Done)
            }
        }
    }

}

/// The columns of a gathered result a model computes itself: all of them for a whole model.
fn gathered(c: &ModelConfig, what: Gathered) -> Range<usize> {
    {
        match (&c.shard, what) {
            (None, Gathered::Attention) => 0..c.attn_width(),
            (None, Gathered::Output) => 0..c.n_embd,
            (None, Gathered::Hidden) => 0..c.n_ff,
            (Some(s), Gathered::Attention) => s.q_heads.start * c.head_dim_v..s.q_heads.end * c.head_dim_v,
            (Some(s), Gathered::Output) => s.embd.clone(),
            (Some(s), Gathered::Hidden) => s.ff.clone(),
        }
    }
}

impl Session {
    /// x[t] = embedding of tokens[t] (times the embedding scale).
    fn embed<W: WeightSource + ?Sized>(&mut self, w: &W, tokens: &[u32]) -> Result<(), ModelError> {
        let e = self.config.n_embd;
        let table = matrix(w, TensorId::TokenEmbd, &self.config)?;
        for (t, &id) in tokens.iter().enumerate() {
            let row = &mut self.s.x[t * e..(t + 1) * e];
            table.dequantize_row(id as usize, row).map_err(|source| kernel(TensorId::TokenEmbd, source))?;
            if self.config.embedding_scale != 1.0 {
                row.iter_mut().for_each(|v| *v *= self.config.embedding_scale);
            }
        }
        w.trace(Trace::Embeddings, &self.s.x[..tokens.len() * e], e);
        Ok(())
    }

    /// Layer `il`'s attention over the batch of `n` tokens at `pos0`, up to the output
    /// projection: `out` = this shard's part of `a·Wo`.
    fn attention<W: WeightSource + ?Sized>(&mut self, w: &W, il: usize, n: usize, pos0: usize) -> Result<(), ModelError> {
        let c = &self.config;
        let id = |t| TensorId::Layer(il, t);
        let (e, nq, nkv, nv) = (c.n_embd, c.n_heads * c.head_dim, c.n_embd_kv(), c.n_kv_heads * c.head_dim_v);
        let s = &mut self.s;

        // Attention block.
        pre_norm(w, c.pre_norms.then_some(id(LayerTensor::AttnNorm)), &s.x[..n * e], &mut s.h[..n * e], e, c.norm_eps)?;
        let mut acts = Activations::new(&s.h[..n * e], e);
        let (q, k, v) = (&mut s.q[..n * nq], &mut s.k[..n * nkv], &mut s.v[..n * nv]);
        project_qkv(w, c, il, &mut acts, [q, k, v])?;
        if c.qk_norm {
            // Per-head RMSNorm (every head_dim-wide row shares one weight), or over each token's
            // whole projection (olmo2).
            let (wq, wk) = if c.full_width_qk_norm { (nq, nkv) } else { (c.head_dim, c.head_dim) };
            norm_rows_in_place(w, id(LayerTensor::QNorm), &mut s.q[..n * nq], wq, c.norm_eps)?;
            norm_rows_in_place(w, id(LayerTensor::KNorm), &mut s.k[..n * nkv], wk, c.norm_eps)?;
        }
        let sliding = c.is_sliding(il);
        let rope = if sliding { &self.rope.sliding } else { &self.rope.global };
        let factors = match self.rope.factors {
            Some(fid) => Some(vector(w, fid, c.rope_dims / 2)?),
            None => None,
        };
        let roped = c.uses_rope(il);
        let angles = &mut s.angles[usize::from(sliding)];
        if roped {
            angles.fill(pos0, n, rope, factors);
        }
        for t in 0..n {
            if roped {
                let angles = angles.position(t);
                for head in s.q[t * nq..(t + 1) * nq].chunks_exact_mut(c.head_dim) {
                    ops::rope(head, angles, c.rope_style);
                }
                for head in s.k[t * nkv..(t + 1) * nkv].chunks_exact_mut(c.head_dim) {
                    ops::rope(head, angles, c.rope_style);
                }
            }
            self.kv.store(il, pos0 + t, &s.k[t * nkv..(t + 1) * nkv], &s.v[t * nv..(t + 1) * nv]);
        }
        // Where llama.cpp's graph scales the queries before attention, so does this (with
        // softcapping the two are not the same); else the scale multiplies the scores.
        let kq_scale = if c.scale_queries {
            s.q[..n * nq].iter_mut().for_each(|v| *v *= c.attention_scale);
            1.0
        } else {
            c.attention_scale
        };
        let window = if sliding { c.sliding_window } else { None };
        // This model's heads write their columns of the whole attention output (a shard's
        // heads are a slice of every shard's; the others gather theirs in).
        let (na, mine) = (c.attn_width(), gathered(c, Gathered::Attention));
        for t in 0..n {
            let pos = pos0 + t;
            let first = window.map_or(0, |w| (pos + 1).saturating_sub(w));
            let (q, out) = (&s.q[t * nq..(t + 1) * nq], &mut s.attn[t * na + mine.start..t * na + mine.end]);
            let span = Span { layer: il, positions: first..pos + 1, scale: kq_scale, softcap: c.attn_logit_softcap };
            attend(c, &self.kv, span, q, &mut s.attend, out);
        }
        Ok(())
    }

    /// `out` = the attention output projection of the gathered attention output (this model's
    /// rows of it).
    fn attention_output<W: WeightSource + ?Sized>(&mut self, w: &W, il: usize, n: usize) -> Result<(), ModelError> {
        let (c, s) = (&self.config, &mut self.s);
        let na = c.attn_width();
        let mut acts = Activations::new(&s.attn[..n * na], na);
        project_columns(w, c, TensorId::Layer(il, LayerTensor::AttnOutput), &mut acts, (&mut s.out[..n * c.n_embd], c.embd_rows()), &mut s.rows)
    }

    /// x += [PostNorm](out), `out` whole (gathered from every shard).
    fn residual<W: WeightSource + ?Sized>(&mut self, w: &W, il: usize, n: usize, post_norm: LayerTensor) -> Result<(), ModelError> {
        let (c, s) = (&self.config, &mut self.s);
        let e = c.n_embd;
        if c.post_norms {
            norm_rows_in_place(w, TensorId::Layer(il, post_norm), &mut s.out[..n * e], e, c.norm_eps)?;
        }
        scale(&mut s.out[..n * e], c.residual_scale);
        add(&mut s.x[..n * e], &s.out[..n * e]);
        Ok(())
    }

    /// Layer `il`'s feed-forward block up to the hidden state: this model's columns of
    /// `act(h·Wgate) ⊙ (h·Wup)` in `hidden` (`gate` itself for a whole model).
    fn feed_forward<W: WeightSource + ?Sized>(&mut self, w: &W, il: usize, n: usize) -> Result<(), ModelError> {
        let (c, s) = (&self.config, &mut self.s);
        let id = |t| TensorId::Layer(il, t);
        let (e, f) = (c.n_embd, c.n_ff);
        pre_norm(w, c.pre_norms.then_some(id(LayerTensor::FfnNorm)), &s.x[..n * e], &mut s.h[..n * e], e, c.norm_eps)?;
        let mut acts = Activations::new(&s.h[..n * e], e);
        if c.fused_gate_up {
            project_rows(w, c, id(LayerTensor::Up), 0..f, &mut acts, &mut s.gate[..n * f])?;
            project_rows(w, c, id(LayerTensor::Up), f..2 * f, &mut acts, &mut s.up[..n * f])?;
        } else {
            project(w, c, id(LayerTensor::Gate), &mut acts, &mut s.gate[..n * f])?;
            project(w, c, id(LayerTensor::Up), &mut acts, &mut s.up[..n * f])?;
        }
        match c.ffn_activation {
            FfnActivation::Gelu => ops::geglu(&mut s.gate[..n * f], &s.up[..n * f]),
            FfnActivation::Silu => ops::swiglu(&mut s.gate[..n * f], &s.up[..n * f], f),
        }
        if c.shard.is_some() {
            let (fw, mine) = (c.ff_width(), c.shard.as_ref().map_or(0..f, |sh| sh.ff.clone()));
            for t in 0..n {
                s.hidden[t * fw + mine.start..t * fw + mine.end].copy_from_slice(&s.gate[t * f..(t + 1) * f]);
            }
        }
        Ok(())
    }

    /// `out` = the down projection of the gathered hidden state (this model's rows of it).
    fn down<W: WeightSource + ?Sized>(&mut self, w: &W, il: usize, n: usize) -> Result<(), ModelError> {
        let (c, s) = (&self.config, &mut self.s);
        let fw = c.ff_width();
        let hidden = if c.shard.is_some() { &s.hidden[..n * fw] } else { &s.gate[..n * fw] };
        let mut acts = Activations::new(hidden, fw);
        project_columns(w, c, TensorId::Layer(il, LayerTensor::Down), &mut acts, (&mut s.out[..n * c.n_embd], c.embd_rows()), &mut s.rows)
    }

    /// Logits of batch row `t`: the final norm and the output projection.
    fn output<W: WeightSource + ?Sized>(&mut self, w: &W, t: usize, logits: &mut [f32]) -> Result<(), ModelError> {
        let c = &self.config;
        let e = c.n_embd;
        let s = &mut self.s;
        norm_rows(w, TensorId::OutputNorm, &s.x[t * e..(t + 1) * e], &mut s.h[..e], e, c.norm_eps)?;
        // A shard computes its vocabulary rows: rows of the tied embeddings, or all rows of
        // its own slice of the output matrix.
        let mine = c.logit_rows();
        let (out_id, rows) = if c.tied_embeddings { (TensorId::TokenEmbd, mine.clone()) } else { (TensorId::Output, 0..mine.len()) };
        let mut acts = Activations::new(&s.h[..e], e);
        let logits = &mut logits[mine];
        project_rows(w, c, out_id, rows, &mut acts, logits)?;
        scale(logits, 1.0 / c.logit_scale);
        if let Some(cap) = c.final_logit_softcap {
            ops::softcap(logits, cap);
        }
        Ok(())
    }
}

/// `out = RMSNorm(x) · weight` row by row, or a plain copy where the architecture has no
/// pre-norm (olmo2).
fn pre_norm<W: WeightSource + ?Sized>(w: &W, weight: Option<TensorId>, x: &[f32], out: &mut [f32], width: usize, eps: f32) -> Result<(), ModelError> {
    match weight {
        Some(id) => norm_rows(w, id, x, out, width, eps),
        None => {
            out.copy_from_slice(x);
            Ok(())
        }
    }
}

/// `x *= k`, skipped for 1 (every architecture but granite).
fn scale(x: &mut [f32], k: f32) {
    if k != 1.0 {
        x.iter_mut().for_each(|v| *v *= k);
    }
}

/// A batch of activation rows and their quantized forms, made once per format.
struct Activations<'x> {
    rows: &'x [f32],
    cols: usize,
    quantized: Vec<(ActivationFormat, Vec<QuantizedActivation>)>,
}

impl<'x> Activations<'x> {
    fn new(rows: &'x [f32], cols: usize) -> Self {
        Activations { rows, cols, quantized: Vec::new() }
    }

    fn get(&mut self, format: ActivationFormat) -> Result<&[QuantizedActivation], crate::quant::QuantError> {
        if let Some(i) = self.quantized.iter().position(|(f, _)| *f == format) {
            return Ok(&self.quantized[i].1);
        }
        let rows = self.rows.chunks_exact(self.cols).map(|r| QuantizedActivation::quantize(format, r)).collect::<Result<Vec<_>, _>>()?;
        self.quantized.push((format, rows));
        Ok(&self.quantized[self.quantized.len() - 1].1)
    }
}

fn kernel(id: TensorId, source: crate::quant::QuantError) -> ModelError {
    ModelError::Kernel { name: id.name(), source }
}

/// A weight matrix, its shape checked against the config.
fn matrix<'w, W: WeightSource + ?Sized>(w: &'w W, id: TensorId, c: &ModelConfig) -> Result<WeightMatrix<'w>, ModelError> {
    let view = w.tensor(id)?;
    let expected = id.shape(c);
    check_view(id, &view, expected)?;
    let w = if view.interleaved { WeightMatrix::as_stored(view.ty, view.dims[0], view.bytes) } else { WeightMatrix::new(view.ty, view.dims[0], view.bytes) };
    w.map_err(|source| kernel(id, source))
}

fn check_view(id: TensorId, view: &TensorView<'_>, expected: [usize; 2]) -> Result<(), ModelError> {
    if view.dims != expected {
        return Err(ModelError::BadShape { name: id.name(), expected, actual: view.dims.iter().map(|&d| d as u64).collect() });
    }
    Ok(())
}

/// out (T × rows) = acts (T × cols) · Wᵀ.
fn project<W: WeightSource + ?Sized>(w: &W, c: &ModelConfig, id: TensorId, acts: &mut Activations<'_>, out: &mut [f32]) -> Result<(), ModelError> {
    let rows = id.shape(c)[1];
    project_rows(w, c, id, 0..rows, acts, out)
}

/// out (T × rows.len()) = acts (T × cols) · W[rows]ᵀ: a slice of the matrix's rows (the q, k or
/// v part of a fused QKV matrix, the gate or up half of a fused FFN matrix).
fn project_rows<W: WeightSource + ?Sized>(
    w: &W,
    c: &ModelConfig,
    id: TensorId,
    rows: Range<usize>,
    acts: &mut Activations<'_>,
    out: &mut [f32],
) -> Result<(), ModelError> {
    let m = matrix(w, id, c)?;
    let format = ActivationFormat::for_weights(m.ty()).map_err(|source| kernel(id, source))?;
    if matches!(id, TensorId::Layer(_, LayerTensor::AttnOutput | LayerTensor::Down)) {
        w.trace(Trace::MatmulInput(id), acts.rows, acts.cols);
    }
    let width = rows.len();
    let xs = acts.get(format).map_err(|source| kernel(id, source))?;
    matmul(&m, rows, xs, out).map_err(|source| kernel(id, source))?;
    w.trace(Trace::MatmulOutput(id), out, width);
    Ok(())
}

/// `out` (T × its width) gets columns `cols` = acts · Wᵀ, W holding exactly those rows: in place
/// when they are all of `out`'s columns, else through `tmp`.
fn project_columns<W: WeightSource + ?Sized>(
    w: &W,
    c: &ModelConfig,
    id: TensorId,
    acts: &mut Activations<'_>,
    (out, cols): (&mut [f32], Range<usize>),
    tmp: &mut [f32],
) -> Result<(), ModelError> {
    let width = c.n_embd;
    if cols.len() == width {
        return project(w, c, id, acts, out);
    }
    let n = out.len() / width;
    let tmp = &mut tmp[..n * cols.len()];
    project(w, c, id, acts, tmp)?;
    for (row, part) in out.chunks_exact_mut(width).zip(tmp.chunks_exact(cols.len())) {
        row[cols.clone()].copy_from_slice(part);
    }
    Ok(())
}

/// q, k, v = h·Wq, h·Wk, h·Wv plus their biases: from three matrices, or from the row ranges of
/// one fused matrix (and its fused bias).
fn project_qkv<W: WeightSource + ?Sized>(w: &W, c: &ModelConfig, il: usize, acts: &mut Activations<'_>, out: [&mut [f32]; 3]) -> Result<(), ModelError> {
    let id = |t| TensorId::Layer(il, t);
    let widths = [c.n_heads * c.head_dim, c.n_embd_kv(), c.n_kv_heads * c.head_dim_v];
    let ranges = [0..widths[0], widths[0]..widths[0] + widths[1], widths[0] + widths[1]..widths.iter().sum()];
    let [q, k, v] = out;
    if c.fused_qkv {
        for (part, range) in [&mut *q, &mut *k, &mut *v].into_iter().zip(ranges.clone()) {
            project_rows(w, c, id(LayerTensor::Qkv), range, acts, part)?;
        }
        if c.qkv_bias {
            let bias = vector(w, id(LayerTensor::QkvBias), ranges[2].end)?;
            for (part, range) in [q, k, v].into_iter().zip(ranges) {
                add_rows(part, &bias[range]);
            }
        }
        return Ok(());
    }
    let parts = [(LayerTensor::Q, LayerTensor::QBias), (LayerTensor::K, LayerTensor::KBias), (LayerTensor::V, LayerTensor::VBias)];
    for ((weight, bias), (part, width)) in parts.into_iter().zip([q, k, v].into_iter().zip(widths)) {
        project(w, c, id(weight), acts, part)?;
        if c.qkv_bias {
            add_rows(part, vector(w, id(bias), width)?);
        }
    }
    Ok(())
}

/// A vector weight (norm, bias) as f32, of length `len`.
fn vector<W: WeightSource + ?Sized>(w: &W, id: TensorId, len: usize) -> Result<&[f32], ModelError> {
    let view = w.tensor(id)?;
    check_view(id, &view, [len, 1])?;
    f32_values(id, &view)
}

/// dst[t] = RMSNorm(src[t]) · weight for each row of `width`.
fn norm_rows<W: WeightSource + ?Sized>(w: &W, id: TensorId, src: &[f32], dst: &mut [f32], width: usize, eps: f32) -> Result<(), ModelError> {
    w.trace(Trace::NormInput(id), src, width);
    dst.copy_from_slice(src);
    norm_rows_in_place(w, id, dst, width, eps)
}

fn norm_rows_in_place<W: WeightSource + ?Sized>(w: &W, id: TensorId, x: &mut [f32], width: usize, eps: f32) -> Result<(), ModelError> {
    let weight = vector(w, id, width)?;
    x.chunks_exact_mut(width).for_each(|row| ops::rms_norm(row, weight, eps));
    w.trace(Trace::Norm(id), x, width);
    Ok(())
}

/// Adds `bias` to every row of `x` (rows of `bias.len()`).
fn add_rows(x: &mut [f32], bias: &[f32]) {
    for row in x.chunks_exact_mut(bias.len()) {
        add(row, bias);
    }
}

fn add(x: &mut [f32], y: &[f32]) {
    x.iter_mut().zip(y).for_each(|(a, b)| *a += b);
}

/// The cached positions one query attends to, in layer `layer`, the scale of its scores and the
/// cap applied to them before scaling.
struct Span {
    layer: usize,
    positions: Range<usize>,
    scale: f32,
    softcap: Option<f32>,
}

/// Attention of one token's query heads over the cached positions of `span`:
/// `out[h] = Σ_j softmax_j(cap(q_h · k_j) · scale) v_j`, head h reading KV head h / (heads per
/// KV head), `cap(s) = c·tanh(s/c)` when softcapping (llama.cpp caps `kq`, then its softmax
/// applies the scale).
///
/// Rounded as llama.cpp's CPU path with flash attention off does (its reference build runs
/// ggml's scalar `ggml_vec_dot_f16`): the query and, after the softmax, the probabilities are
/// rounded to f16 (ggml converts the f32 side of a product with the f16 cache), the f16 × f16
/// products (exact in f32) are summed in f64, and each sum is rounded to f32.
///
/// The heads that share a KV head share its cache: up to `ATTEND_CHUNK` positions of its keys,
/// then of its values, are widened to f32 (exactly) once for all of them, the keys transposed
/// so that the kernels sum several keys' chains side by side. Each sum keeps its order.
fn attend(c: &ModelConfig, kv: &KvCache, span: Span, q: &[f32], a: &mut AttendScratch, out: &mut [f32]) {
    let Span { layer: il, positions: range, scale, softcap } = span;
    let (hd, hdv, n) = (c.head_dim, c.head_dim_v, range.len());
    let group = c.n_heads / c.n_kv_heads;
    if n == 0 {
        return;
    }
    let chunks = || (range.start..range.end).step_by(ATTEND_CHUNK).map(|j| j..(j + ATTEND_CHUNK).min(range.end));
    for kvh in 0..c.n_kv_heads {
        let heads = kvh * group..(kvh + 1) * group;
        for (r, &v) in a.queries[..group * hd].iter_mut().zip(&q[heads.start * hd..heads.end * hd]) {
            *r = round_f16(v);
        }
        for js in chunks() {
            let m = js.len();
            let keys = &kv.keys_from(il, js.start)[kvh * hd..];
            transpose_f16(keys.reinterpret_cast(), kv.k_width(), m, hd, &mut a.cache[..m * hd]);
            for g in 0..group {
                let scores = &mut a.scores[g * n + js.start - range.start..][..m];
                dots_columns(&a.queries[g * hd..(g + 1) * hd], &a.cache[..m * hd], m, scores);
            }
        }
        for scores in a.scores[..group * n].chunks_exact_mut(n) {
            if let Some(cap) = softcap {
                ops::softcap(scores, cap);
            }
            scores.iter_mut().for_each(|s| *s *= scale);
            ops::softmax(scores, range.start);
            scores.iter_mut().for_each(|p| *p = round_f16(*p));
        }
        a.sums[..group * hdv].fill(0.0);
        for js in chunks() {
            let m = js.len();
            let values: &[u16] = kv.values_from(il, js.start).reinterpret_cast();
            for (j, row) in a.cache[..m * hdv].chunks_exact_mut(hdv).enumerate() {
                widen_f16(&values[j * kv.v_width() + kvh * hdv..][..hdv], row);
            }
            for g in 0..group {
                let p = &a.scores[g * n + js.start - range.start..][..m];
                add_products_rows(&mut a.sums[g * hdv..(g + 1) * hdv], p, &a.cache[..m * hdv]);
            }
        }
        for (o, &sum) in out[heads.start * hdv..heads.end * hdv].iter_mut().zip(&a.sums) {
            *o = sum as f32;
        }
    }
}

/// Positions of one KV head's cache widened at a time by `attend`.
const ATTEND_CHUNK: usize = 256;

/// `attend`'s buffers: the rounded queries and the scores of the heads that share a KV head,
/// up to `ATTEND_CHUNK` positions of its cache widened to f32, and the heads' f64 value sums.
#[derive(Default)]
struct AttendScratch {
    queries: Vec<f32>,
    scores: Vec<f32>,
    cache: Vec<f32>,
    sums: Vec<f64>,
}

impl AttendScratch {
    fn new(c: &ModelConfig, n_ctx: usize) -> Result<AttendScratch, ModelError> {
        let group = c.n_heads / c.n_kv_heads.max(1);
        let widest = c.head_dim.max(c.head_dim_v);
        let sized = |a: usize, b: usize| a.checked_mul(b).ok_or(ModelError::OutOfMemory { bytes: u64::MAX }).and_then(buffer);
        Ok(AttendScratch {
            queries: sized(group, c.head_dim)?,
            scores: sized(group, n_ctx)?,
            cache: sized(ATTEND_CHUNK.min(n_ctx), widest)?,
            sums: vec![0.0; group * c.head_dim_v],
        })
    }
}

#[inline(always)]
fn half_to_f32(h: f16) -> f32 {
    f16_le(h.to_bits().to_le_bytes())
}

/// `v` rounded to the nearest f16 (ties to even), as f32.
#[inline(always)]
fn round_f16(v: f32) -> f32 {
    half_to_f32(f16::from_f32(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::Value;
    use crate::model::config::tests::header;

    #[test]
    fn longrope_factors_follow_the_context_rounded_up_to_256_positions() {
        // Original context 300: llama.cpp rounds its context up to a multiple of 256 and takes
        // the long factors when that exceeds 300. 256 → 256: short; 257 → 512: long; so is
        // 290 → 512, although 290 < 300.
        let keys = [("rope.scaling.original_context_length", Value::U32(300))];
        let h = header("phi3", &keys, &[("blk.0.attn_qkv.weight", &[256, 512]), ("rope_factors_long.weight", &[32]), ("rope_factors_short.weight", &[32])]);
        let c = ModelConfig::from_header(&h).unwrap();
        let factors = |n_ctx| RopePlan::new(&c, n_ctx).factors;
        assert_eq!(factors(256), Some(TensorId::RopeFactorsShort));
        assert_eq!(factors(257), Some(TensorId::RopeFactorsLong));
        assert_eq!(factors(290), Some(TensorId::RopeFactorsLong));
        // Without the short tensor, short contexts get no factors at all.
        let h = header("phi3", &keys, &[("blk.0.attn_qkv.weight", &[256, 512]), ("rope_factors_long.weight", &[32])]);
        let c = ModelConfig::from_header(&h).unwrap();
        assert_eq!(RopePlan::new(&c, 256).factors, None);
    }

    #[test]
    fn sliding_layers_use_their_own_rope_base_and_scale() {
        // gemma3 with linear scaling 8 on its global layers: the sliding ones keep scale 1 and
        // base rope.freq_base_swa (llama.cpp's rope_freq_scale_train_swa defaults to 1).
        let keys = [
            ("attention.sliding_window", Value::U32(512)),
            ("rope.freq_base", Value::F32(1_000_000.0)),
            ("rope.scaling.type", Value::String("linear".into())),
            ("rope.scaling.factor", Value::F32(8.0)),
        ];
        let c = ModelConfig::from_header(&header("gemma3", &keys, &[])).unwrap();
        let plan = RopePlan::new(&c, 1024);
        assert_eq!((plan.global.base, plan.global.freq_scale), (1_000_000.0, 0.125));
        assert_eq!((plan.sliding.base, plan.sliding.freq_scale), (10_000.0, 1.0));
    }
}
