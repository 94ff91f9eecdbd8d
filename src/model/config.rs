//! Model hyper-parameters from GGUF metadata, for the architectures gguf64 runs.
//!
//! Keys follow llama.cpp's naming (`<arch>.embedding_length`, `<arch>.attention.head_count`, …).
//! Every value is checked for consistency (heads divide the width, counts are nonzero, sizes fit
//! the caps below) so that later code can size buffers from it without overflow.

use std::fmt;

use crate::gguf::{Header, Value};

/// The architectures with a forward pass.
pub const SUPPORTED_ARCHS: &[&str] = &["llama", "qwen2", "gemma3"];

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
    Gemma3,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
            Arch::Gemma3 => "gemma3",
        }
    }
}

/// How RoPE positions are rescaled for contexts longer than the training one.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RopeScaling {
    None,
    /// Positions divided by `factor`.
    Linear { factor: f32 },
    /// YaRN, with the context length the model was trained on.
    Yarn { factor: f32, original_context: u64 },
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
    /// RoPE base frequency (for gemma3: of the global-attention layers).
    pub rope_base: f32,
    /// RoPE base of sliding-window layers (gemma3 uses 10 000 there).
    pub rope_base_local: f32,
    /// Dimensions of each head that RoPE rotates.
    pub rope_dims: usize,
    pub rope_scaling: RopeScaling,
    /// Sliding-window size for local-attention layers, if the model has them.
    pub sliding_window: Option<usize>,
    /// Every `n`-th layer attends globally; the others use the sliding window (gemma3: 6).
    pub sliding_window_pattern: usize,
    /// Scale applied to the scores `q·k` (usually 1/sqrt(head_dim)).
    pub attention_scale: f32,
    /// Embeddings are multiplied by this before the first layer (gemma: sqrt(n_embd)).
    pub embedding_scale: f32,
    /// Logits pass through `c * tanh(x / c)` if set.
    pub final_logit_softcap: Option<f32>,
    /// The output projection reuses `token_embd.weight` (no `output.weight` tensor).
    pub tied_embeddings: bool,
    /// Q, K and V projections carry biases (qwen2).
    pub qkv_bias: bool,
    /// Per-head RMSNorm of queries and keys (gemma3).
    pub qk_norm: bool,
}

impl ModelConfig {
    /// Reads and checks the config of a supported architecture.
    pub fn from_header(h: &Header) -> Result<ModelConfig, ConfigError> {
        let arch_name = h.architecture().ok_or(ConfigError::MissingKey { key: "general.architecture".into() })?;
        let arch = match arch_name {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            "gemma3" => Arch::Gemma3,
            other => return Err(ConfigError::UnsupportedArch { arch: other.to_string() }),
        };
        let keys = Keys { h, arch: arch_name };
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
        let head_dim_v = keys.count_or("attention.value_length", head_dim, MAX_WIDTH)?;
        if head_dim == 0 || head_dim_v == 0 {
            return Err(keys.invalid("attention.head_count", n_heads, "must divide embedding_length"));
        }
        let rope_dims = keys.count_or("rope.dimension_count", head_dim, MAX_WIDTH)?;
        if rope_dims > head_dim || rope_dims % 2 != 0 {
            return Err(keys.invalid("rope.dimension_count", rope_dims, "must be even and at most the head size"));
        }
        let n_vocab = vocab_size(h, &keys)?;
        let gemma = arch == Arch::Gemma3;
        let sliding_window = keys.optional_count("attention.sliding_window", MAX_CONTEXT)?;
        let rope_base = keys.float_or("rope.freq_base", 10_000.0)?;
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
            n_ctx_train: keys.count_or("context_length", 4096, MAX_CONTEXT)?,
            norm_eps: keys.float_or("attention.layer_norm_rms_epsilon", 1e-5)?,
            rope_base,
            rope_base_local: if gemma { 10_000.0 } else { rope_base },
            rope_dims,
            rope_scaling: rope_scaling(&keys)?,
            sliding_window: if gemma { sliding_window } else { None },
            sliding_window_pattern: if gemma { keys.count_or("attention.sliding_window_pattern", 6, MAX_LAYERS)? } else { 1 },
            attention_scale: 1.0 / (head_dim as f32).sqrt(),
            embedding_scale: if gemma { (n_embd as f32).sqrt() } else { 1.0 },
            final_logit_softcap: keys.optional_float("final_logit_softcapping")?,
            tied_embeddings: h.tensor("output.weight").is_none(),
            qkv_bias: h.tensor("blk.0.attn_q.bias").is_some(),
            qk_norm: h.tensor("blk.0.attn_q_norm.weight").is_some(),
        })
    }

    /// Whether layer `il` attends through the sliding window (else globally).
    pub fn is_sliding(&self, il: usize) -> bool {
        self.sliding_window.is_some() && !(il + 1).is_multiple_of(self.sliding_window_pattern)
    }

    /// Width of the key (and value) projections: `n_kv_heads * head_dim`.
    pub fn n_embd_kv(&self) -> usize {
        self.n_kv_heads * self.head_dim
    }
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

fn rope_scaling(keys: &Keys) -> Result<RopeScaling, ConfigError> {
    let kind = keys.h.metadata.get_str(&keys.key("rope.scaling.type")).unwrap_or("none");
    let factor = keys.float_or("rope.scaling.factor", 1.0)?;
    Ok(match kind {
        "linear" if factor != 1.0 => RopeScaling::Linear { factor },
        "yarn" => RopeScaling::Yarn {
            factor,
            original_context: keys.count_or("rope.scaling.original_context_length", 4096, MAX_CONTEXT)? as u64,
        },
        "none" | "linear" => RopeScaling::None,
        other => {
            return Err(ConfigError::Invalid {
                key: keys.key("rope.scaling.type"),
                value: other.to_string(),
                reason: "unknown RoPE scaling (expected none, linear or yarn)",
            });
        }
    })
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

    /// A positive count no larger than `max`, if the key is present.
    fn optional_count(&self, name: &str, max: u64) -> Result<Option<usize>, ConfigError> {
        let key = self.key(name);
        let Some(value) = self.h.metadata.get(&key) else { return Ok(None) };
        let n = value.as_u64().ok_or_else(|| ConfigError::WrongType { key: key.clone(), expected: "an integer" })?;
        if n == 0 || n > max {
            return Err(ConfigError::Invalid { key, value: n.to_string(), reason: "out of range" });
        }
        Ok(Some(n as usize))
    }

    fn count(&self, name: &str, max: u64) -> Result<usize, ConfigError> {
        self.optional_count(name, max)?.ok_or_else(|| ConfigError::MissingKey { key: self.key(name) })
    }

    fn count_or(&self, name: &str, default: usize, max: u64) -> Result<usize, ConfigError> {
        Ok(self.optional_count(name, max)?.unwrap_or(default))
    }

    fn optional_float(&self, name: &str) -> Result<Option<f32>, ConfigError> {
        let key = self.key(name);
        let Some(value) = self.h.metadata.get(&key) else { return Ok(None) };
        let x = value.as_f32().ok_or_else(|| ConfigError::WrongType { key: key.clone(), expected: "a float" })?;
        if !x.is_finite() || x <= 0.0 {
            return Err(ConfigError::Invalid { key, value: x.to_string(), reason: "must be positive and finite" });
        }
        Ok(Some(x))
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
        }
    }
}

impl std::error::Error for ConfigError {}
