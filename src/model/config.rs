//! Model hyper-parameters from GGUF metadata, for the architectures gguf64 runs.
//!
//! Keys follow llama.cpp's naming (`<arch>.embedding_length`, `<arch>.attention.head_count`, …),
//! and so do the defaults of absent keys. Every value is checked for consistency (heads divide the
//! width, counts are nonzero, sizes fit the caps below) so that later code can size buffers from
//! it without overflow.
//!
//! What differs between architectures is recorded here as data (`ArchTraits`, then the fields of
//! `ModelConfig`), so the forward pass reads flags and never asks which architecture it runs:
//!
//! | arch   | RoPE pairs | FFN                     | extras                                           |
//! |--------|------------|-------------------------|--------------------------------------------------|
//! | llama  | adjacent   | SiLU(gate)·up           | `rope_freqs` (Llama 3) or long/short factors     |
//! | qwen2  | halves     | SiLU(gate)·up           | Q/K/V biases                                     |
//! | qwen3  | halves     | SiLU(gate)·up           | per-head Q/K RMSNorm, head size from key_length  |
//! | phi3   | halves     | fused up = gate‖up      | fused QKV, LongRoPE factors, queries pre-scaled  |
//! | gemma2 | halves     | GELU(gate)·up           | softcapped scores and logits, SWA on even layers |
//! | gemma3 | halves     | GELU(gate)·up           | per-head Q/K norm, SWA 5 of 6 layers, two bases  |
//! | smollm3| adjacent   | SiLU(gate)·up           | no RoPE in every fourth layer (NoPE)             |
//! | granite| adjacent   | SiLU(gate)·up           | embedding, attention, residual and logit scales  |
//! | olmo2  | halves     | SiLU(gate)·up           | post-norms only (no pre-norms), full-width Q/K norm |
//!
//! RoPE scaling (`<arch>.rope.scaling.type`): `linear` divides positions by the factor; `yarn`
//! blends interpolated and extrapolated angles (ext_factor 1, β 32 / 1) and scales cos/sin by
//! `1 + 0.1 ln(factor)` exactly as llama.cpp's context setup and ggml's `rope_yarn` do; `longrope`
//! (and phi3 files, which write no type) use per-dimension factors chosen by the context length.
//! Llama 3's scaling is no type at all: a `rope_freqs.weight` tensor whose factors divide the
//! angle of each dimension.

use std::fmt;
use std::ops::Range;

use crate::gguf::{Array, Header, Value};

use super::libm;
use super::ops::RopeStyle;
use super::shard::{ShardSlice, WholeSizes};

/// The architectures with a forward pass.
pub const SUPPORTED_ARCHS: &[&str] = &["llama", "qwen2", "qwen3", "phi3", "gemma2", "gemma3", "smollm3", "granite", "olmo2"];

/// Caps on hyper-parameters, far above every real model, so that a hostile header cannot make
/// buffer sizes (KV cache, activations) overflow.
const MAX_LAYERS: u64 = 4096;
const MAX_WIDTH: u64 = 1 << 20;
const MAX_HEADS: u64 = 4096;
const MAX_CONTEXT: u64 = 1 << 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    Llama,
    Qwen2,
    Qwen3,
    Phi3,
    Gemma2,
    Gemma3,
    SmolLM3,
    Granite,
    Olmo2,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
            Arch::Phi3 => "phi3",
            Arch::Gemma2 => "gemma2",
            Arch::Gemma3 => "gemma3",
            Arch::SmolLM3 => "smollm3",
            Arch::Granite => "granite",
            Arch::Olmo2 => "olmo2",
        }
    }

    fn from_name(name: &str) -> Option<Arch> {
        [Arch::Llama, Arch::Qwen2, Arch::Qwen3, Arch::Phi3, Arch::Gemma2, Arch::Gemma3, Arch::SmolLM3, Arch::Granite, Arch::Olmo2]
            .into_iter().find(|a| a.name() == name)
    }

    /// The fixed facts of the architecture (llama.cpp's graph builder for it).
    fn traits(self) -> ArchTraits {
        let base = ArchTraits {
            rope_style: RopeStyle::Halves,
            activation: FfnActivation::Silu,
            fused_gate_up: false,
            post_norms: false,
            scaled_embeddings: false,
            scale_queries: false,
            rope_factors: false,
            swa: SwaRule::None,
            attn_softcap_default: None,
            final_softcap_default: None,
            reads_final_softcap: false,
            always_tied: false,
            rope_dims_equal_head: false,
            wide_query_scale_at: None,
            no_rope_period: None,
            multipliers: false,
            pre_norms: true,
            full_width_qk_norm: false,
        };
        match self {
            Arch::Llama => ArchTraits { rope_style: RopeStyle::Interleaved, rope_factors: true, rope_dims_equal_head: true, ..base },
            // llama.cpp's smollm3 graph passes no frequency factors and fixes the NoPE step at 4.
            Arch::SmolLM3 => ArchTraits { rope_style: RopeStyle::Interleaved, rope_dims_equal_head: true, no_rope_period: Some(4), ..base },
            // llama.cpp's olmo2 graph: the block outputs are normed, the inputs are not.
            Arch::Olmo2 => ArchTraits { post_norms: true, pre_norms: false, full_width_qk_norm: true, rope_dims_equal_head: true, ..base },
            Arch::Granite => ArchTraits {
                rope_style: RopeStyle::Interleaved,
                rope_factors: true,
                rope_dims_equal_head: true,
                multipliers: true,
                ..base
            },
            Arch::Qwen2 | Arch::Qwen3 => base,
            Arch::Phi3 => ArchTraits { fused_gate_up: true, scale_queries: true, rope_factors: true, ..base },
            Arch::Gemma2 => ArchTraits {
                activation: FfnActivation::Gelu,
                post_norms: true,
                scaled_embeddings: true,
                scale_queries: true,
                swa: SwaRule::Always { default_window: 4096, default_period: 2 },
                attn_softcap_default: Some(50.0),
                final_softcap_default: Some(30.0),
                reads_final_softcap: true,
                always_tied: true,
                wide_query_scale_at: Some(46),
                ..base
            },
            Arch::Gemma3 => ArchTraits {
                activation: FfnActivation::Gelu,
                post_norms: true,
                scaled_embeddings: true,
                scale_queries: true,
                swa: SwaRule::IfWindow { default_period: 6 },
                reads_final_softcap: true,
                wide_query_scale_at: Some(62),
                ..base
            },
        }
    }
}

/// What an architecture's graph does, as llama.cpp builds it (src/models/<arch>.cpp).
#[derive(Clone, Copy)]
struct ArchTraits {
    rope_style: RopeStyle,
    activation: FfnActivation,
    /// `ffn_up` holds the gate rows then the up rows (2·n_ff), and there is no `ffn_gate`.
    fused_gate_up: bool,
    /// RMSNorms after the attention and the FFN, before the residual adds.
    post_norms: bool,
    /// Embeddings times sqrt(n_embd).
    scaled_embeddings: bool,
    /// The attention scale multiplies the queries (then the scores are softcapped unscaled).
    scale_queries: bool,
    /// The graph passes RoPE frequency factors (`rope_freqs`, or long/short) when the file has them.
    rope_factors: bool,
    swa: SwaRule,
    /// Attention-score softcapping, on by default with this cap (key `attn_logit_softcapping`).
    attn_softcap_default: Option<f32>,
    /// Final-logit softcapping when the key is absent.
    final_softcap_default: Option<f32>,
    /// The graph reads `final_logit_softcapping` at all.
    reads_final_softcap: bool,
    /// The output projection is always `token_embd`, even if `output.weight` exists.
    always_tied: bool,
    /// llama.cpp refuses `rope.dimension_count` other than the head size.
    rope_dims_equal_head: bool,
    /// At this layer count (the 27B), the query scale is 1/sqrt(n_embd / n_heads).
    wide_query_scale_at: Option<usize>,
    /// Layer `il` applies no RoPE when `(il + 1) % period == 0` (smollm3: 4).
    no_rope_period: Option<usize>,
    /// Granite's multipliers: `embedding_scale`, `attention.scale`, `residual_scale` and
    /// `logit_scale` (required), and RoPE switched off by `rope.scaling.finetuned = false`.
    multipliers: bool,
    /// RMSNorms before the attention and the FFN (`attn_norm`, `ffn_norm`); olmo2 has none.
    pre_norms: bool,
    /// The Q and K norms span all heads' outputs at once (olmo2), not each head.
    full_width_qk_norm: bool,
}

/// When layers attend through a sliding window.
#[derive(Clone, Copy)]
enum SwaRule {
    /// Never (llama.cpp ignores the window of llama, qwen2 and phi3 files).
    None,
    /// Always, with these defaults for absent keys (gemma2).
    Always { default_window: usize, default_period: usize },
    /// Only when `attention.sliding_window` is set and nonzero (gemma3).
    IfWindow { default_period: usize },
}

/// The activation of the gated feed-forward network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FfnActivation {
    /// SiLU(gate) · up.
    Silu,
    /// GELU (tanh approximation, ggml's table) (gate) · up.
    Gelu,
}

/// How RoPE positions are rescaled for contexts longer than the training one, as the file says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RopeScaling {
    None,
    /// Positions divided by `factor`.
    Linear { factor: f32 },
    /// YaRN, with the context length the model was trained on.
    Yarn { factor: f32, original_context: u64 },
    /// LongRoPE: per-dimension factors (`rope_factors_long` / `_short`), positions divided by
    /// `factor` (1 unless the file says otherwise).
    LongRope { factor: f32 },
}

/// YaRN's blend of interpolated and extrapolated angles (llama.cpp's defaults: the graph of
/// llama, qwen and gemma reads no YaRN key but the factor and the original context).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Yarn {
    pub ext_factor: f32,
    pub beta_fast: f32,
    pub beta_slow: f32,
}

/// Per-dimension RoPE frequency factors the file provides (their angles are divided by them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeFactors {
    None,
    /// `rope_freqs.weight` (Llama 3.1 and later), for every context length.
    Freqs,
    /// `rope_factors_long.weight` when the context exceeds `rope_n_ctx_orig`, else
    /// `rope_factors_short.weight`; either may be absent (then no factors).
    LongShort { long: bool, short: bool },
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    pub arch: Arch,
    pub n_layers: usize,
    /// Embedding width (d_model).
    pub n_embd: usize,
    pub n_heads: usize,
    /// Key/value heads (grouped-query attention when fewer than `n_heads`).
    pub n_kv_heads: usize,
    /// Size of one query/key head.
    pub head_dim: usize,
    /// Size of one value head.
    pub head_dim_v: usize,
    /// Feed-forward (hidden) width.
    pub n_ff: usize,
    pub n_vocab: usize,
    /// Context length the model was trained with.
    pub n_ctx_train: usize,
    pub norm_eps: f32,
    /// RoPE base frequency (of the global-attention layers when some slide).
    pub rope_base: f32,
    /// RoPE base of sliding-window layers (gemma3: `rope.freq_base_swa`, default 10 000).
    pub rope_base_local: f32,
    /// Dimensions of each head that RoPE rotates.
    pub rope_dims: usize,
    /// Which dimensions RoPE pairs.
    pub rope_style: RopeStyle,
    pub rope_scaling: RopeScaling,
    /// Angle multiplier of global layers: 1/factor (1 when the scaling type is `none`).
    pub rope_freq_scale: f32,
    /// Angle multiplier of sliding-window layers (gemma3: 1; gemma2: as the global one).
    pub rope_freq_scale_local: f32,
    /// The context length the RoPE scaling refers to (`rope.scaling.original_context_length`,
    /// else the training context).
    pub rope_n_ctx_orig: usize,
    /// YaRN's angle blend, when the scaling type is `yarn`.
    pub yarn: Option<Yarn>,
    /// What cos and sin are multiplied by before YaRN's own magnitude correction (llama.cpp's
    /// `yarn_attn_factor`: `rope.scaling.attn_factor`, times YaRN's mscale and its cancellation).
    pub rope_attn_factor: f32,
    pub rope_factors: RopeFactors,
    /// Sliding-window size for local-attention layers, if the model has them.
    pub sliding_window: Option<usize>,
    /// Which layers use the sliding window (one entry per layer).
    pub swa_layers: Vec<bool>,
    /// Which layers rotate queries and keys (one entry per layer; all but smollm3's NoPE layers).
    pub rope_layers: Vec<bool>,
    /// Scale applied to the scores `q·k` (usually 1/sqrt(head_dim)).
    pub attention_scale: f32,
    /// The attention scale multiplies the queries before attention (gemma, phi3) rather than
    /// the scores; it matters with softcapping, which caps the scores unscaled.
    pub scale_queries: bool,
    /// Attention scores pass through `c * tanh(s / c)` before the softmax if set (gemma2).
    pub attn_logit_softcap: Option<f32>,
    /// Embeddings are multiplied by this before the first layer (gemma: sqrt(n_embd)).
    pub embedding_scale: f32,
    /// Logits pass through `c * tanh(x / c)` if set.
    pub final_logit_softcap: Option<f32>,
    /// The attention and FFN outputs are multiplied by this before the residual adds (granite).
    pub residual_scale: f32,
    /// The logits are multiplied by `1 / logit_scale` (granite's `logit_scale`; else 1).
    pub logit_scale: f32,
    /// The output projection reuses `token_embd.weight` (no `output.weight` tensor).
    pub tied_embeddings: bool,
    /// Q, K and V are one fused `attn_qkv` matrix (phi3), rows q then k then v.
    pub fused_qkv: bool,
    /// Q, K and V projections carry biases (qwen2; `attn_qkv.bias` when fused).
    pub qkv_bias: bool,
    /// Per-head RMSNorm of queries and keys before RoPE (qwen3, gemma3).
    pub qk_norm: bool,
    /// RMSNorms on the attention and FFN outputs before the residual adds (gemma, olmo2).
    pub post_norms: bool,
    /// RMSNorms of the attention and FFN inputs (every architecture but olmo2).
    pub pre_norms: bool,
    /// The Q/K RMSNorm spans the whole projection (olmo2: n_heads · head_dim weights for q),
    /// not each head.
    pub full_width_qk_norm: bool,
    pub ffn_activation: FfnActivation,
    /// `ffn_up` has 2·n_ff rows, the gate's then the up's, and `ffn_gate` is absent (phi3).
    pub fused_gate_up: bool,
    /// The slice of a tensor-parallel model this file holds (`n_heads`, `n_kv_heads` and `n_ff`
    /// above are then the slice's own); `None` for a whole model.
    pub shard: Option<ShardSlice>,
}

impl ModelConfig {
    /// Reads and checks the config of a supported architecture.
    pub fn from_header(h: &Header) -> Result<ModelConfig, ConfigError> {
        let arch_name = h.architecture().ok_or(ConfigError::MissingKey { key: "general.architecture".into() })?;
        let arch = Arch::from_name(arch_name).ok_or_else(|| ConfigError::UnsupportedArch { arch: arch_name.to_string() })?;
        let traits = arch.traits();
        let keys = Keys { h, arch: arch_name };
        refuse_unsupported(h, &keys)?;
        if arch == Arch::Olmo2 && keys.optional_u64("attention.sliding_window")?.is_some_and(|w| w > 0) {
            // llama.cpp then runs OLMo 3's pattern (3 of 4 layers sliding, their own RoPE).
            return Err(ConfigError::Unsupported { key: keys.key("attention.sliding_window"), feature: "OLMo 3's sliding-window layers" });
        }
        let n_layers = keys.count("block_count", MAX_LAYERS)?;
        let n_embd = keys.count("embedding_length", MAX_WIDTH)?;
        let n_ff = keys.count("feed_forward_length", MAX_WIDTH)?;
        let n_heads = keys.count("attention.head_count", MAX_HEADS)?;
        let n_kv_heads = keys.count_or("attention.head_count_kv", n_heads, MAX_HEADS)?;
        if n_heads % n_kv_heads != 0 {
            return Err(keys.invalid("attention.head_count_kv", n_kv_heads, "must divide attention.head_count"));
        }
        let default_head = if n_embd % n_heads == 0 { n_embd / n_heads } else { 0 };
        let head_dim = keys.count_or("attention.key_length", default_head, MAX_WIDTH)?;
        let head_dim_v = keys.count_or("attention.value_length", default_head, MAX_WIDTH)?;
        if head_dim == 0 || head_dim_v == 0 {
            return Err(keys.invalid("attention.head_count", n_heads, "must divide embedding_length"));
        }
        let rope_dims = keys.count_or("rope.dimension_count", head_dim, MAX_WIDTH)?;
        if rope_dims > head_dim || rope_dims % 2 != 0 {
            return Err(keys.invalid("rope.dimension_count", rope_dims, "must be even and at most the head size"));
        }
        if traits.rope_dims_equal_head && rope_dims != head_dim {
            return Err(keys.invalid("rope.dimension_count", rope_dims, "must equal the head size for this architecture"));
        }
        let n_ctx_train = keys.count_or("context_length", 4096, MAX_CONTEXT)?;
        let rope = rope_config(&keys, &traits, n_ctx_train)?;
        let (sliding_window, swa_layers) = sliding_window(&keys, &traits, n_layers)?;
        let attention_scale = match traits.wide_query_scale_at {
            Some(layers) if layers == n_layers => 1.0 / ((n_embd / n_heads) as f32).sqrt(),
            _ => 1.0 / (head_dim as f32).sqrt(),
        };
        let final_logit_softcap = if traits.reads_final_softcap {
            keys.optional_float("final_logit_softcapping")?.or(traits.final_softcap_default)
        } else {
            None
        };
        let attn_logit_softcap = match traits.attn_softcap_default {
            Some(default) => Some(keys.float_or("attn_logit_softcapping", default)?),
            None => None,
        };
        let scales = if traits.multipliers { granite_scales(&keys)? } else { Scales::default() };
        let attention_scale = scales.attention.unwrap_or(attention_scale);
        let fused_qkv = h.tensor("blk.0.attn_qkv.weight").is_some();
        let bias_name = if fused_qkv { "blk.0.attn_qkv.bias" } else { "blk.0.attn_q.bias" };
        let n_vocab = vocab_size(h, &keys)?;
        // Everything above is derived from the whole model's sizes; a shard then narrows its
        // head counts and feed-forward width to its own slice.
        let shard = ShardSlice::from_header(h, WholeSizes { n_embd, n_heads, n_kv_heads, n_ff, n_vocab })?;
        let (n_heads, n_kv_heads, n_ff) = match &shard {
            Some(s) => (s.q_heads.len(), s.kv_heads.len(), s.ff.len()),
            None => (n_heads, n_kv_heads, n_ff),
        };
        Ok(ModelConfig {
            arch,
            n_layers,
            n_embd,
            n_heads,
            n_kv_heads,
            head_dim,
            head_dim_v,
            n_ff,
            n_vocab,
            n_ctx_train,
            norm_eps: keys.float_or("attention.layer_norm_rms_epsilon", 1e-5)?,
            rope_base: rope.base,
            rope_base_local: rope.base_local,
            rope_dims,
            rope_style: traits.rope_style,
            rope_scaling: rope.scaling,
            rope_freq_scale: rope.freq_scale,
            rope_freq_scale_local: rope.freq_scale_local,
            rope_n_ctx_orig: rope.n_ctx_orig,
            yarn: rope.yarn,
            rope_attn_factor: rope.attn_factor,
            rope_factors: if traits.rope_factors { rope_factors(h, &rope.scaling) } else { RopeFactors::None },
            sliding_window,
            swa_layers,
            rope_layers: (0..n_layers).map(|il| scales.rope && traits.no_rope_period.is_none_or(|p| (il + 1) % p != 0)).collect(),
            attention_scale,
            scale_queries: traits.scale_queries,
            attn_logit_softcap,
            embedding_scale: match scales.embedding {
                Some(scale) => scale,
                None if traits.scaled_embeddings => (n_embd as f32).sqrt(),
                None => 1.0,
            },
            final_logit_softcap,
            residual_scale: scales.residual,
            logit_scale: scales.logit,
            tied_embeddings: traits.always_tied || h.tensor("output.weight").is_none(),
            fused_qkv,
            qkv_bias: h.tensor(bias_name).is_some(),
            qk_norm: h.tensor("blk.0.attn_q_norm.weight").is_some(),
            post_norms: traits.post_norms,
            pre_norms: traits.pre_norms,
            full_width_qk_norm: traits.full_width_qk_norm,
            ffn_activation: traits.activation,
            fused_gate_up: traits.fused_gate_up,
            shard,
        })
    }

    /// Rows of the output projection in this file: the vocabulary, or a shard's part of it when
    /// the projection is its own (untied) tensor.
    pub fn output_rows(&self) -> usize {
        match &self.shard {
            Some(s) if !self.tied_embeddings => s.vocab.len(),
            _ => self.n_vocab,
        }
    }

    /// The logits this model computes: all of them, or a shard's vocabulary rows.
    pub fn logit_rows(&self) -> Range<usize> {
        self.shard.as_ref().map_or(0..self.n_vocab, |s| s.vocab.clone())
    }

    /// Width of the whole attention output (every shard's heads), which the attention output
    /// projection reads.
    pub fn attn_width(&self) -> usize {
        self.shard.as_ref().map_or(self.n_heads, |s| s.whole.n_heads) * self.head_dim_v
    }

    /// The whole feed-forward width, which the down projection reads.
    pub fn ff_width(&self) -> usize {
        self.shard.as_ref().map_or(self.n_ff, |s| s.whole.n_ff)
    }

    /// Rows of the attention output and down projections this file holds.
    pub fn embd_rows(&self) -> Range<usize> {
        self.shard.as_ref().map_or(0..self.n_embd, |s| s.embd.clone())
    }

    /// Whether layer `il` attends through the sliding window (else globally).
    pub fn is_sliding(&self, il: usize) -> bool {
        self.sliding_window.is_some() && self.swa_layers.get(il).copied().unwrap_or(false)
    }

    /// Whether layer `il` rotates its queries and keys (RoPE).
    pub fn uses_rope(&self, il: usize) -> bool {
        self.rope_layers.get(il).copied().unwrap_or(true)
    }

    /// Width of the key (and value) projections: `n_kv_heads * head_dim`.
    pub fn n_embd_kv(&self) -> usize {
        self.n_kv_heads * self.head_dim
    }
}

/// Refuses files whose graph needs what gguf64 does not run (mixture of experts, biases on
/// the attention output or the FFN), rather than running them without it.
fn refuse_unsupported(h: &Header, keys: &Keys) -> Result<(), ConfigError> {
    if keys.optional_u64("expert_count")?.is_some_and(|n| n > 0) {
        return Err(ConfigError::Unsupported { key: keys.key("expert_count"), feature: "mixture of experts" });
    }
    for name in ["blk.0.attn_output.bias", "blk.0.ffn_up.bias", "blk.0.ffn_gate.bias", "blk.0.ffn_down.bias", "output.bias"] {
        if h.tensor(name).is_some() {
            return Err(ConfigError::Unsupported { key: name.to_string(), feature: "biases outside Q, K and V" });
        }
    }
    Ok(())
}

/// Granite's multipliers, or none of them (every other architecture).
struct Scales {
    /// Replaces the embedding scale, if set and nonzero.
    embedding: Option<f32>,
    /// Replaces 1/sqrt(head_dim), if set and nonzero.
    attention: Option<f32>,
    residual: f32,
    logit: f32,
    /// Whether the layers apply RoPE at all.
    rope: bool,
}

impl Default for Scales {
    fn default() -> Scales {
        Scales { embedding: None, attention: None, residual: 1.0, logit: 1.0, rope: true }
    }
}

/// llama.cpp's granite hyper-parameters: a key of 0 (or none) leaves that step out, except
/// `logit_scale`, which llama.cpp requires; `rope.scaling.finetuned = false` turns RoPE off.
fn granite_scales(keys: &Keys) -> Result<Scales, ConfigError> {
    if keys.h.metadata.get(&keys.key("deepstack_mapping")).is_some() {
        return Err(ConfigError::Unsupported { key: keys.key("deepstack_mapping"), feature: "Granite Vision's deepstack inputs" });
    }
    let nonzero = |x: Option<f32>| x.filter(|&v| v != 0.0);
    // Positive: it divides the logits.
    let logit = keys.optional_float("logit_scale")?.ok_or_else(|| ConfigError::MissingKey { key: keys.key("logit_scale") })?;
    let finetuned_key = keys.key("rope.scaling.finetuned");
    let rope = match keys.h.metadata.get(&finetuned_key) {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(ConfigError::WrongType { key: finetuned_key, expected: "a bool" }),
    };
    Ok(Scales {
        embedding: nonzero(keys.optional_nonnegative_float("embedding_scale")?),
        attention: nonzero(keys.optional_nonnegative_float("attention.scale")?),
        residual: nonzero(keys.optional_nonnegative_float("residual_scale")?).unwrap_or(1.0),
        logit,
        rope,
    })
}

/// The vocabulary size: `<arch>.vocab_size`, else the token list, else the embedding rows.
fn vocab_size(h: &Header, keys: &Keys) -> Result<usize, ConfigError> {
    if let Some(n) = keys.optional_count("vocab_size", MAX_WIDTH * 16)? {
        return Ok(n);
    }
    if let Some(Value::Array(tokens)) = h.metadata.get("tokenizer.ggml.tokens") {
        return Ok(tokens.len());
    }
    match h.tensor("token_embd.weight") {
        Some(t) if t.dims.len() == 2 => Ok(t.dims[1] as usize),
        _ => Err(ConfigError::MissingKey { key: "tokenizer.ggml.tokens".into() }),
    }
}

/// RoPE settings derived from the metadata, before they are spread into `ModelConfig`.
struct RopeConfig {
    base: f32,
    base_local: f32,
    scaling: RopeScaling,
    freq_scale: f32,
    freq_scale_local: f32,
    n_ctx_orig: usize,
    yarn: Option<Yarn>,
    attn_factor: f32,
}

/// llama.cpp's RoPE setup (`load_hparams`, then the context's `yarn_*` parameters).
fn rope_config(keys: &Keys, traits: &ArchTraits, n_ctx_train: usize) -> Result<RopeConfig, ConfigError> {
    let base = keys.float_or("rope.freq_base", 10_000.0)?;
    // A factor of 0 (or none) means no scaling; the legacy key `rope.scale_linear` is the fallback.
    let factor = match keys.optional_nonnegative_float("rope.scaling.factor")? {
        Some(f) => f,
        None => keys.optional_nonnegative_float("rope.scale_linear")?.unwrap_or(0.0),
    };
    let freq_scale_train = if factor == 0.0 { 1.0 } else { 1.0 / factor };
    let n_ctx_orig = keys.count_or("rope.scaling.original_context_length", n_ctx_train, MAX_CONTEXT)?;
    let factor_or_one = if factor == 0.0 { 1.0 } else { factor };
    // Files without the key are "linear" (with no factor: no scaling), as in llama.cpp.
    let type_key = keys.key("rope.scaling.type");
    let kind = match keys.h.metadata.get(&type_key) {
        None => "linear",
        Some(v) => v.as_str().ok_or(ConfigError::WrongType { key: type_key.clone(), expected: "a string" })?,
    };
    let scaling = match kind {
        "none" => RopeScaling::None,
        "linear" if factor_or_one == 1.0 => RopeScaling::None,
        "linear" => RopeScaling::Linear { factor },
        "yarn" => RopeScaling::Yarn { factor: factor_or_one, original_context: n_ctx_orig as u64 },
        "longrope" => RopeScaling::LongRope { factor: factor_or_one },
        other => {
            return Err(ConfigError::Invalid {
                key: type_key,
                value: other.to_string(),
                reason: "unknown RoPE scaling (expected none, linear, yarn or longrope)",
            });
        }
    };
    let freq_scale = if kind == "none" { 1.0 } else { freq_scale_train };
    let yarn = matches!(scaling, RopeScaling::Yarn { .. }).then_some(Yarn { ext_factor: 1.0, beta_fast: 32.0, beta_slow: 1.0 });
    let mut attn_factor = 1.0f32;
    if yarn.is_some() {
        // llama.cpp sets YaRN's mscale (1 + 0.1 ln factor), then cancels it because ggml's
        // rope_yarn multiplies by it again; both steps are kept for the same f32 rounding.
        let factor = 1.0 / freq_scale;
        attn_factor = if factor <= 1.0 { 1.0 } else { 0.1 * libm::logf(factor) + 1.0 };
        attn_factor *= 1.0 / (1.0 + 0.1 * libm::logf(factor));
    }
    attn_factor *= keys.float_or("rope.scaling.attn_factor", 1.0)?;
    let (base_local, freq_scale_local) = match traits.swa {
        SwaRule::None => (base, freq_scale),
        SwaRule::Always { .. } => (keys.float_or("rope.freq_base_swa", base)?, freq_scale_train),
        SwaRule::IfWindow { .. } => (keys.float_or("rope.freq_base_swa", 10_000.0)?, 1.0),
    };
    Ok(RopeConfig { base, base_local, scaling, freq_scale, freq_scale_local, n_ctx_orig, yarn, attn_factor })
}

/// Which frequency-factor tensors apply: `rope_freqs` unless the scaling is LongRoPE (llama), the
/// long/short pair for LongRoPE and for phi3, whose files name no scaling type.
fn rope_factors(h: &Header, scaling: &RopeScaling) -> RopeFactors {
    let long = h.tensor("rope_factors_long.weight").is_some();
    let short = h.tensor("rope_factors_short.weight").is_some();
    let freqs = h.tensor("rope_freqs.weight").is_some();
    let longrope = matches!(scaling, RopeScaling::LongRope { .. });
    if freqs && !longrope {
        RopeFactors::Freqs
    } else if long || short {
        RopeFactors::LongShort { long, short }
    } else {
        RopeFactors::None
    }
}

/// The window size and which layers use it. The pattern key is a period `n` (layer `il` slides
/// unless `il % n == n - 1`) or one boolean per layer.
fn sliding_window(keys: &Keys, traits: &ArchTraits, n_layers: usize) -> Result<(Option<usize>, Vec<bool>), ConfigError> {
    let (window, default_period) = match traits.swa {
        SwaRule::None => return Ok((None, vec![false; n_layers])),
        SwaRule::Always { default_window, default_period } => {
            (Some(keys.optional_count_or_zero("attention.sliding_window", MAX_CONTEXT)?.unwrap_or(default_window)), default_period)
        }
        SwaRule::IfWindow { default_period } => (keys.optional_count_or_zero("attention.sliding_window", MAX_CONTEXT)?, default_period),
    };
    let Some(window) = window.filter(|&w| w > 0) else { return Ok((None, vec![false; n_layers])) };
    let key = keys.key("attention.sliding_window_pattern");
    let layers = match keys.h.metadata.get(&key) {
        Some(Value::Array(Array::Bool(flags))) if flags.len() == n_layers => flags.clone(),
        Some(Value::Array(a)) => {
            return Err(ConfigError::Invalid { key, value: format!("{} entries", a.len()), reason: "must be one boolean per layer" });
        }
        _ => {
            let period = keys.count_or("attention.sliding_window_pattern", default_period, MAX_LAYERS)?;
            (0..n_layers).map(|il| il % period < period - 1).collect()
        }
    };
    Ok((Some(window), layers))
}

/// Typed reads of `<arch>.<name>` keys.
struct Keys<'a> {
    h: &'a Header,
    arch: &'a str,
}

impl Keys<'_> {
    fn key(&self, name: &str) -> String {
        format!("{}.{}", self.arch, name)
    }

    fn invalid(&self, name: &str, value: usize, reason: &'static str) -> ConfigError {
        ConfigError::Invalid { key: self.key(name), value: value.to_string(), reason }
    }

    /// Any non-negative integer, if the key is present.
    fn optional_u64(&self, name: &str) -> Result<Option<u64>, ConfigError> {
        let key = self.key(name);
        let Some(value) = self.h.metadata.get(&key) else { return Ok(None) };
        value.as_u64().map(Some).ok_or(ConfigError::WrongType { key, expected: "a non-negative integer" })
    }

    /// A count no larger than `max` (0 allowed: it means "off" for this key), if present.
    fn optional_count_or_zero(&self, name: &str, max: u64) -> Result<Option<usize>, ConfigError> {
        let Some(n) = self.optional_u64(name)? else { return Ok(None) };
        if n > max {
            return Err(ConfigError::Invalid { key: self.key(name), value: n.to_string(), reason: "out of range" });
        }
        Ok(Some(n as usize))
    }

    /// A positive count no larger than `max`, if the key is present.
    fn optional_count(&self, name: &str, max: u64) -> Result<Option<usize>, ConfigError> {
        match self.optional_count_or_zero(name, max)? {
            Some(0) => Err(ConfigError::Invalid { key: self.key(name), value: "0".into(), reason: "out of range" }),
            n => Ok(n),
        }
    }

    fn count(&self, name: &str, max: u64) -> Result<usize, ConfigError> {
        self.optional_count(name, max)?.ok_or_else(|| ConfigError::MissingKey { key: self.key(name) })
    }

    fn count_or(&self, name: &str, default: usize, max: u64) -> Result<usize, ConfigError> {
        Ok(self.optional_count(name, max)?.unwrap_or(default))
    }

    /// A finite float that is at least 0, if the key is present.
    fn optional_nonnegative_float(&self, name: &str) -> Result<Option<f32>, ConfigError> {
        let key = self.key(name);
        let Some(value) = self.h.metadata.get(&key) else { return Ok(None) };
        let x = value.as_f32().ok_or_else(|| ConfigError::WrongType { key: key.clone(), expected: "a float" })?;
        if !x.is_finite() || x < 0.0 {
            return Err(ConfigError::Invalid { key, value: x.to_string(), reason: "must be finite and not negative" });
        }
        Ok(Some(x))
    }

    fn optional_float(&self, name: &str) -> Result<Option<f32>, ConfigError> {
        match self.optional_nonnegative_float(name)? {
            Some(x) if x == 0.0 => {
                Err(ConfigError::Invalid { key: self.key(name), value: x.to_string(), reason: "must be positive and finite" })
            }
            x => Ok(x),
        }
    }

    fn float_or(&self, name: &str, default: f32) -> Result<f32, ConfigError> {
        Ok(self.optional_float(name)?.unwrap_or(default))
    }
}

/// Why metadata does not describe a model gguf64 can run.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    MissingKey { key: String },
    WrongType { key: String, expected: &'static str },
    Invalid { key: String, value: String, reason: &'static str },
    UnsupportedArch { arch: String },
    /// The key or tensor `key` asks for a feature gguf64 does not run.
    Unsupported { key: String, feature: &'static str },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::MissingKey { key } => write!(f, "metadata key {key} is missing"),
            ConfigError::WrongType { key, expected } => write!(f, "metadata key {key} should be {expected}"),
            ConfigError::Invalid { key, value, reason } => write!(f, "metadata key {key} = {value}: {reason}"),
            ConfigError::UnsupportedArch { arch } => write!(
                f,
                "architecture \"{arch}\" is not supported (supported: {})",
                SUPPORTED_ARCHS.join(", ")
            ),
            ConfigError::Unsupported { key, feature } => write!(f, "{key}: {feature} is not supported"),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::gguf::{GgmlType, Metadata, TensorSpec, layout_header, parse_header};

    /// A header of architecture `arch` (2 layers, 256 wide, 4 heads, 2 KV heads, ff 512, vocab
    /// 512; the first four can be overridden) with `extra` keys (without the `<arch>.` prefix)
    /// and the given tensors, each shaped [256, 512] unless it is a vector.
    pub(in crate::model) fn header(arch: &str, extra: &[(&str, Value)], tensors: &[(&str, &[u64])]) -> Header {
        let mut m = Metadata::new();
        let mut put = |k: String, v: Value| m.insert(k, v).unwrap();
        put("general.architecture".into(), Value::String(arch.into()));
        // `extra` may override these.
        for (k, v) in [("block_count", 2u32), ("embedding_length", 256), ("feed_forward_length", 512), ("attention.head_count", 4)] {
            if !extra.iter().any(|(e, _)| *e == k) {
                put(format!("{arch}.{k}"), Value::U32(v));
            }
        }
        put(format!("{arch}.attention.head_count_kv"), Value::U32(2));
        put(format!("{arch}.vocab_size"), Value::U32(512));
        for (k, v) in extra {
            put(format!("{arch}.{k}"), v.clone());
        }
        let mut specs = vec![TensorSpec::new("token_embd.weight", &[256, 512], GgmlType::F16)];
        specs.extend(tensors.iter().map(|(name, dims)| TensorSpec::new(name, dims, GgmlType::F32)));
        let layout = layout_header(&m, &specs).unwrap();
        parse_header(&layout.bytes, None).unwrap()
    }

    #[test]
    fn qwen3_takes_its_head_size_from_key_length_and_norms_q_and_k() {
        let h = header(
            "qwen3",
            &[("attention.key_length", Value::U32(128)), ("attention.value_length", Value::U32(128))],
            &[("blk.0.attn_q_norm.weight", &[128])],
        );
        let c = ModelConfig::from_header(&h).unwrap();
        // 256 / 4 = 64 would be the default; the key says 128.
        assert_eq!((c.head_dim, c.head_dim_v, c.rope_dims), (128, 128, 128));
        assert!(c.qk_norm && !c.qkv_bias && !c.fused_qkv && !c.post_norms);
        assert_eq!((c.rope_style, c.ffn_activation), (RopeStyle::Halves, FfnActivation::Silu));
        assert_eq!(c.attention_scale, 1.0 / 128f32.sqrt());
    }

    #[test]
    fn smollm3_skips_rope_in_every_fourth_layer_and_is_llama_otherwise() {
        let h = header("smollm3", &[("block_count", Value::U32(8))], &[("rope_freqs.weight", &[32])]);
        let c = ModelConfig::from_header(&h).unwrap();
        // llama.cpp: layer il has RoPE unless (il + 1) % 4 == 0.
        assert_eq!(c.rope_layers, [true, true, true, false, true, true, true, false]);
        assert!(c.uses_rope(0) && !c.uses_rope(3) && !c.uses_rope(7));
        // Adjacent pairs as llama, but its graph passes no frequency factors even if a file has them.
        assert_eq!((c.rope_style, c.rope_factors), (RopeStyle::Interleaved, RopeFactors::None));
        assert!(!c.qk_norm && !c.post_norms && c.sliding_window.is_none());
        // Every other architecture ropes every layer.
        let llama = ModelConfig::from_header(&header("llama", &[("block_count", Value::U32(8))], &[])).unwrap();
        assert!((0..8).all(|il| llama.uses_rope(il)));
    }

    #[test]
    fn granite_reads_its_multipliers_and_refuses_what_it_cannot_run() {
        let keys = [
            ("logit_scale", Value::F32(8.0)),
            ("embedding_scale", Value::F32(12.0)),
            ("attention.scale", Value::F32(0.015_625)),
            ("residual_scale", Value::F32(0.22)),
        ];
        let c = ModelConfig::from_header(&header("granite", &keys, &[])).unwrap();
        assert_eq!((c.embedding_scale, c.attention_scale, c.residual_scale, c.logit_scale), (12.0, 0.015_625, 0.22, 8.0));
        assert_eq!((c.rope_style, c.rope_layers.clone()), (RopeStyle::Interleaved, vec![true, true]));
        // Zero (llama.cpp's default) leaves a step out; logit_scale is required, and not 0.
        let zeros = [("logit_scale", Value::F32(1.0)), ("embedding_scale", Value::F32(0.0)), ("residual_scale", Value::F32(0.0))];
        let c = ModelConfig::from_header(&header("granite", &zeros, &[])).unwrap();
        assert_eq!((c.embedding_scale, c.attention_scale, c.residual_scale), (1.0, 0.125, 1.0));
        let err = |extra: &[(&str, Value)]| ModelConfig::from_header(&header("granite", extra, &[])).unwrap_err();
        assert_eq!(err(&[]), ConfigError::MissingKey { key: "granite.logit_scale".into() });
        assert!(matches!(err(&[("logit_scale", Value::F32(0.0))]), ConfigError::Invalid { .. }));
        // RoPE switched off by rope.scaling.finetuned = false; Granite Vision refused.
        let off = [("logit_scale", Value::F32(1.0)), ("rope.scaling.finetuned", Value::Bool(false))];
        assert_eq!(ModelConfig::from_header(&header("granite", &off, &[])).unwrap().rope_layers, [false, false]);
        let vision = [("logit_scale", Value::F32(1.0)), ("deepstack_mapping", Value::U32(0))];
        assert!(matches!(err(&vision), ConfigError::Unsupported { .. }));
        // Other architectures keep their own scales.
        let llama = ModelConfig::from_header(&header("llama", &[("logit_scale", Value::F32(8.0))], &[])).unwrap();
        assert_eq!((llama.residual_scale, llama.logit_scale, llama.embedding_scale), (1.0, 1.0, 1.0));
    }

    #[test]
    fn olmo2_has_post_norms_only_and_full_width_qk_norms_and_refuses_sliding_windows() {
        let c = ModelConfig::from_header(&header("olmo2", &[], &[("blk.0.attn_q_norm.weight", &[256])])).unwrap();
        assert!(c.post_norms && !c.pre_norms && c.qk_norm && c.full_width_qk_norm);
        assert_eq!((c.rope_style, c.rope_factors), (RopeStyle::Halves, RopeFactors::None));
        // OLMo 3's sliding-window layers (their own RoPE settings) are refused, not run globally.
        let swa = ModelConfig::from_header(&header("olmo2", &[("attention.sliding_window", Value::U32(4096))], &[])).unwrap_err();
        assert!(matches!(swa, ConfigError::Unsupported { key, .. } if key == "olmo2.attention.sliding_window"));
        assert!(ModelConfig::from_header(&header("olmo2", &[("attention.sliding_window", Value::U32(0))], &[])).is_ok());
        // Every other architecture norms its inputs, and qwen3's q/k norms are per head.
        let qwen3 = ModelConfig::from_header(&header("qwen3", &[], &[("blk.0.attn_q_norm.weight", &[64])])).unwrap();
        assert!(qwen3.pre_norms && qwen3.qk_norm && !qwen3.full_width_qk_norm);
    }

    #[test]
    fn phi3_fuses_qkv_and_gate_up_and_ignores_its_sliding_window() {
        let h = header(
            "phi3",
            &[
                ("attention.sliding_window", Value::U32(0)),
                ("context_length", Value::U32(131_072)),
                ("rope.scaling.original_context_length", Value::U32(4096)),
                ("rope.scaling.attn_factor", Value::F32(1.190_239)),
            ],
            &[("blk.0.attn_qkv.weight", &[256, 512]), ("rope_factors_long.weight", &[32]), ("rope_factors_short.weight", &[32])],
        );
        let c = ModelConfig::from_header(&h).unwrap();
        assert!(c.fused_qkv && c.fused_gate_up && c.scale_queries && c.sliding_window.is_none());
        assert_eq!(c.rope_factors, RopeFactors::LongShort { long: true, short: true });
        // No scaling type: "linear" without a factor, so no YaRN and the file's attention factor.
        assert_eq!((c.rope_scaling, c.yarn, c.rope_freq_scale), (RopeScaling::None, None, 1.0));
        assert_eq!((c.rope_attn_factor, c.rope_n_ctx_orig), (1.190_239, 4096));
    }

    #[test]
    fn gemma2_slides_on_even_layers_and_softcaps_with_llama_cpp_defaults() {
        let h = header("gemma2", &[("attention.key_length", Value::U32(128)), ("attention.value_length", Value::U32(128))], &[("output.weight", &[256, 512])]);
        let c = ModelConfig::from_header(&h).unwrap();
        // Period 2: layer il slides when il % 2 < 1; the window defaults to 4096.
        assert_eq!((c.sliding_window, c.swa_layers.clone()), (Some(4096), vec![true, false]));
        assert!(c.is_sliding(0) && !c.is_sliding(1));
        assert_eq!((c.attn_logit_softcap, c.final_logit_softcap), (Some(50.0), Some(30.0)));
        // Always tied, even with output.weight in the file; queries scaled by 1/sqrt(head_dim).
        assert!(c.tied_embeddings && c.scale_queries && c.post_norms);
        assert_eq!((c.ffn_activation, c.embedding_scale), (FfnActivation::Gelu, 16.0));
        assert_eq!(c.attention_scale, 1.0 / 128f32.sqrt());
        // The sliding layers share the global base and scale unless rope.freq_base_swa is set.
        assert_eq!((c.rope_base_local, c.rope_freq_scale_local), (10_000.0, 1.0));
    }

    #[test]
    fn gemma2_keys_override_the_defaults() {
        let keys = [
            ("attention.sliding_window", Value::U32(8)),
            ("attn_logit_softcapping", Value::F32(5.0)),
            ("final_logit_softcapping", Value::F32(8.0)),
            ("attention.sliding_window_pattern", Value::Array(Array::Bool(vec![false, true]))),
        ];
        let c = ModelConfig::from_header(&header("gemma2", &keys, &[])).unwrap();
        assert_eq!((c.sliding_window, c.attn_logit_softcap, c.final_logit_softcap), (Some(8), Some(5.0), Some(8.0)));
        assert!(!c.is_sliding(0) && c.is_sliding(1));
    }

    #[test]
    fn llama3_reads_rope_freqs_and_yarn_sets_llama_cpp_factors() {
        let c = ModelConfig::from_header(&header("llama", &[], &[("rope_freqs.weight", &[32])])).unwrap();
        assert_eq!((c.rope_factors, c.rope_style, c.rope_scaling), (RopeFactors::Freqs, RopeStyle::Interleaved, RopeScaling::None));
        let yarn = [
            ("rope.scaling.type", Value::String("yarn".into())),
            ("rope.scaling.factor", Value::F32(4.0)),
            ("rope.scaling.original_context_length", Value::U32(64)),
        ];
        let c = ModelConfig::from_header(&header("llama", &yarn, &[])).unwrap();
        assert_eq!(c.rope_scaling, RopeScaling::Yarn { factor: 4.0, original_context: 64 });
        assert_eq!((c.rope_freq_scale, c.rope_n_ctx_orig), (0.25, 64));
        assert_eq!(c.yarn, Some(Yarn { ext_factor: 1.0, beta_fast: 32.0, beta_slow: 1.0 }));
        // mscale (1 + 0.1 ln 4) times its cancellation 1 / (1 + 0.1 ln 4): 1 within rounding.
        assert!((c.rope_attn_factor - 1.0).abs() < 1e-6, "{}", c.rope_attn_factor);
        let linear = [("rope.scaling.type", Value::String("linear".into())), ("rope.scaling.factor", Value::F32(2.0))];
        let c = ModelConfig::from_header(&header("llama", &linear, &[])).unwrap();
        assert_eq!((c.rope_scaling, c.rope_freq_scale, c.yarn), (RopeScaling::Linear { factor: 2.0 }, 0.5, None));
    }

    #[test]
    fn unsupported_files_are_typed_errors() {
        let bad_type = [("rope.scaling.type", Value::String("llama3".into()))];
        let err = ModelConfig::from_header(&header("llama", &bad_type, &[])).unwrap_err();
        assert!(matches!(&err, ConfigError::Invalid { key, value, .. } if key == "llama.rope.scaling.type" && value == "llama3"), "{err:?}");
        let moe = [("expert_count", Value::U32(8))];
        let err = ModelConfig::from_header(&header("llama", &moe, &[])).unwrap_err();
        assert!(matches!(&err, ConfigError::Unsupported { key, .. } if key == "llama.expert_count"), "{err:?}");
        let err = ModelConfig::from_header(&header("qwen3", &[], &[("blk.0.ffn_up.bias", &[512])])).unwrap_err();
        assert!(matches!(&err, ConfigError::Unsupported { key, .. } if key == "blk.0.ffn_up.bias"), "{err:?}");
        // llama.cpp refuses a llama file whose RoPE does not cover the whole head.
        let err = ModelConfig::from_header(&header("llama", &[("rope.dimension_count", Value::U32(32))], &[])).unwrap_err();
        assert!(matches!(&err, ConfigError::Invalid { key, .. } if key == "llama.rope.dimension_count"), "{err:?}");
        let pattern = [("attention.sliding_window", Value::U32(8)), ("attention.sliding_window_pattern", Value::Array(Array::Bool(vec![true])))];
        let err = ModelConfig::from_header(&header("gemma2", &pattern, &[])).unwrap_err();
        assert!(matches!(&err, ConfigError::Invalid { key, .. } if key == "gemma2.attention.sliding_window_pattern"), "{err:?}");
        let huge = [("attention.sliding_window", Value::U64(u64::MAX))];
        assert!(matches!(ModelConfig::from_header(&header("gemma3", &huge, &[])), Err(ConfigError::Invalid { .. })));
    }

    #[test]
    fn phi3_tensors_are_declared_with_fused_shapes() {
        use crate::model::weights::{LayerTensor, TensorId, all_tensors, check_shape};
        use crate::model::ModelError;
        let h = header("phi3", &[], &[("blk.0.attn_qkv.weight", &[256, 512]), ("rope_factors_long.weight", &[32])]);
        let c = ModelConfig::from_header(&h).unwrap();
        // q 4·64 + k 2·64 + v 2·64 = 512 rows; gate‖up = 2·512 rows; factors n_rot / 2 = 32.
        let qkv = TensorId::Layer(0, LayerTensor::Qkv);
        assert_eq!((qkv.shape(&c), TensorId::Layer(0, LayerTensor::Up).shape(&c)), ([256, 512], [256, 1024]));
        assert_eq!(TensorId::RopeFactorsLong.shape(&c), [32, 1]);
        let ids = all_tensors(&c);
        assert!(ids.contains(&TensorId::RopeFactorsLong) && !ids.contains(&TensorId::RopeFactorsShort));
        assert!(ids.contains(&qkv) && !ids.iter().any(|id| matches!(id, TensorId::Layer(_, LayerTensor::Q | LayerTensor::Gate))));
        let err = check_shape(qkv, &[256, 768], qkv.shape(&c)).unwrap_err();
        assert!(matches!(&err, ModelError::BadShape { name, .. } if name == "blk.0.attn_qkv.weight"), "{err:?}");
    }
}
