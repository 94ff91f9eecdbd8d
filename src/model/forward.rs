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

use std::ops::Range;

use super::config::{FfnActivation, ModelConfig, RopeFactors};
use super::error::ModelError;
use super::kv_cache::KvCache;
use super::ops::{self, RopeParams};
use super::weights::{LayerTensor, TensorId, TensorView, WeightSource, f32_values};
use crate::quant::blocks::f16_le;
use crate::quant::{ActivationFormat, QuantizedActivation, WeightMatrix, matmul};

/// Tokens evaluated together when a prompt is longer (each weight is read once per batch).
pub const DEFAULT_BATCH: usize = 32;

/// One conversation's state: the KV cache and the buffers a batch needs.
pub struct Session {
    config: ModelConfig,
    kv: KvCache,
    batch: usize,
    rope: RopePlan,
    s: Scratch,
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
    scores: Vec<f32>,
    /// One head's attention output.
    head_sum: Vec<f32>,
    angles: Vec<(f32, f32)>,
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
            attn: b(c.n_heads * c.head_dim_v)?,
            out: b(c.n_embd)?,
            gate: b(c.n_ff)?,
            up: b(c.n_ff)?,
            scores: buffer(n_ctx)?,
            head_sum: vec![0.0; c.head_dim_v],
            angles: Vec::with_capacity(c.rope_dims / 2),
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

    /// Forgets every token after the first `len` (0: a fresh conversation).
    pub fn truncate(&mut self, len: usize) {
        self.kv.truncate(len);
    }

    /// Evaluates `tokens` at the next positions and writes the logits of the last one into
    /// `logits` (`n_vocab` floats).
    pub fn eval<W: WeightSource + ?Sized>(&mut self, w: &mut W, tokens: &[u32], logits: &mut [f32]) -> Result<(), ModelError> {
        let c = &self.config;
        if tokens.is_empty() {
            return Err(ModelError::InvalidArgument { what: "token count", value: 0 });
        }
        if logits.len() != c.n_vocab {
            return Err(ModelError::InvalidArgument { what: "logits length", value: logits.len() });
        }
        if let Some(&id) = tokens.iter().find(|&&id| id as usize >= c.n_vocab) {
            return Err(ModelError::TokenOutOfRange { id, n_vocab: c.n_vocab });
        }
        let needed = self.kv.len() + tokens.len();
        if needed > self.kv.n_ctx() {
            return Err(ModelError::ContextFull { needed, n_ctx: self.kv.n_ctx() });
        }
        let n_batches = tokens.len().div_ceil(self.batch);
        for (i, chunk) in tokens.chunks(self.batch).enumerate() {
            self.eval_batch(w, chunk)?;
            if i + 1 == n_batches {
                self.output(w, chunk.len() - 1, logits)?;
            }
        }
        Ok(())
    }

    /// Runs every layer over one batch and appends it to the cache.
    fn eval_batch<W: WeightSource + ?Sized>(&mut self, w: &mut W, tokens: &[u32]) -> Result<(), ModelError> {
        self.embed(&*w, tokens)?;
        let pos0 = self.kv.len();
        for il in 0..self.config.n_layers {
            w.begin_layer(il)?;
            if il + 1 < self.config.n_layers {
                w.prefetch(il + 1);
            }
            let done = self.layer(&*w, il, tokens.len(), pos0);
            w.end_layer(il);
            done?;
        }
        self.kv.set_len(pos0 + tokens.len());
        Ok(())
    }

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
        Ok(())
    }

    fn layer<W: WeightSource + ?Sized>(&mut self, w: &W, il: usize, n: usize, pos0: usize) -> Result<(), ModelError> {
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
        for t in 0..n {
            if roped {
                ops::rope_angles(pos0 + t, rope, factors, &mut s.angles);
                for head in s.q[t * nq..(t + 1) * nq].chunks_exact_mut(c.head_dim) {
                    ops::rope(head, &s.angles, c.rope_style);
                }
                for head in s.k[t * nkv..(t + 1) * nkv].chunks_exact_mut(c.head_dim) {
                    ops::rope(head, &s.angles, c.rope_style);
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
        let na = c.n_heads * c.head_dim_v;
        for t in 0..n {
            let pos = pos0 + t;
            let first = window.map_or(0, |w| (pos + 1).saturating_sub(w));
            let (q, out) = (&s.q[t * nq..(t + 1) * nq], &mut s.attn[t * na..(t + 1) * na]);
            let span = Span { layer: il, positions: first..pos + 1, scale: kq_scale, softcap: c.attn_logit_softcap };
            attend(c, &self.kv, span, q, (&mut s.scores, &mut s.head_sum), out);
        }
        let mut acts = Activations::new(&s.attn[..n * na], na);
        project(w, c, id(LayerTensor::AttnOutput), &mut acts, &mut s.out[..n * e])?;
        if c.post_norms {
            norm_rows_in_place(w, id(LayerTensor::PostAttnNorm), &mut s.out[..n * e], e, c.norm_eps)?;
        }
        scale(&mut s.out[..n * e], c.residual_scale);
        add(&mut s.x[..n * e], &s.out[..n * e]);

        // Feed-forward block.
        let f = c.n_ff;
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
        let mut acts = Activations::new(&s.gate[..n * f], f);
        project(w, c, id(LayerTensor::Down), &mut acts, &mut s.out[..n * e])?;
        if c.post_norms {
            norm_rows_in_place(w, id(LayerTensor::PostFfnNorm), &mut s.out[..n * e], e, c.norm_eps)?;
        }
        scale(&mut s.out[..n * e], c.residual_scale);
        add(&mut s.x[..n * e], &s.out[..n * e]);
        Ok(())
    }

    /// Logits of batch row `t`: the final norm and the output projection.
    fn output<W: WeightSource + ?Sized>(&mut self, w: &W, t: usize, logits: &mut [f32]) -> Result<(), ModelError> {
        let c = &self.config;
        let e = c.n_embd;
        let s = &mut self.s;
        norm_rows(w, TensorId::OutputNorm, &s.x[t * e..(t + 1) * e], &mut s.h[..e], e, c.norm_eps)?;
        let out_id = if c.tied_embeddings { TensorId::TokenEmbd } else { TensorId::Output };
        let mut acts = Activations::new(&s.h[..e], e);
        project(w, c, out_id, &mut acts, logits)?;
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
    WeightMatrix::new(view.ty, view.dims[0], view.bytes).map_err(|source| kernel(id, source))
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
    let xs = acts.get(format).map_err(|source| kernel(id, source))?;
    matmul(&m, rows, xs, out).map_err(|source| kernel(id, source))
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
    dst.copy_from_slice(src);
    norm_rows_in_place(w, id, dst, width, eps)
}

fn norm_rows_in_place<W: WeightSource + ?Sized>(w: &W, id: TensorId, x: &mut [f32], width: usize, eps: f32) -> Result<(), ModelError> {
    let weight = vector(w, id, width)?;
    x.chunks_exact_mut(width).for_each(|row| ops::rms_norm(row, weight, eps));
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
/// Products with the f16 cache are summed in f32 (ggml sums them in f64; doing so, with ggml's
/// softmax exponentials, moved the wasm build past the node-llama-cpp agreement rule on two
/// prompts, so both wait for the kernel change below); queries and probabilities stay f32. llama.cpp's CPU path (flash attention off) rounds both to f16 first
/// (ggml converts the f32 side of an f16 product). Doing that too made gguf64 equal the portable
/// llama.cpp build (1e-5 on every position) on SmolLM2 and, together with ggml's eight-lane
/// float sums in the Q4_K/Q6_K dot products (src/quant, not changed here), on Qwen2.5-Coder and
/// every quantized synthetic file; without the dot-product change it flips a near-tie of
/// Qwen2.5's French prompt against the node-llama-cpp reference of tests/inference_llamacpp.rs.
/// So the rounding waits for that change.
fn attend(c: &ModelConfig, kv: &KvCache, span: Span, q: &[f32], buffers: (&mut [f32], &mut [f32]), out: &mut [f32]) {
    let (scores, head_sum) = buffers;
    let Span { layer: il, positions: range, scale, softcap } = span;
    let (hd, hdv) = (c.head_dim, c.head_dim_v);
    let group = c.n_heads / c.n_kv_heads;
    let scores = &mut scores[..range.len()];
    for h in 0..c.n_heads {
        let kvh = h / group;
        let qh = &q[h * hd..(h + 1) * hd];
        for (s, j) in scores.iter_mut().zip(range.clone()) {
            *s = dot_f16(qh, &kv.key(il, j)[kvh * hd..(kvh + 1) * hd]);
        }
        if let Some(cap) = softcap {
            ops::softcap(scores, cap);
        }
        scores.iter_mut().for_each(|s| *s *= scale);
        ops::softmax(scores, range.start);
        head_sum.fill(0.0);
        for (&p, j) in scores.iter().zip(range.clone()) {
            for (o, &v) in head_sum.iter_mut().zip(&kv.value(il, j)[kvh * hdv..(kvh + 1) * hdv]) {
                *o += p * half_to_f32(v);
            }
        }
        for (o, &sum) in out[h * hdv..(h + 1) * hdv].iter_mut().zip(head_sum.iter()) {
            *o = sum;
        }
    }
}

#[inline(always)]
fn half_to_f32(h: f16) -> f32 {
    f16_le(h.to_bits().to_le_bytes())
}

/// q · k in f32 (ggml's scalar `vec_dot_f16` sums in f64: see `attend`).
fn dot_f16(q: &[f32], k: &[f16]) -> f32 {
    q.iter().zip(k).map(|(&a, &b)| a * half_to_f32(b)).sum()
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
