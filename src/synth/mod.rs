//! Synthetic llama-architecture models: deterministic pseudo-random weights in valid ggml
//! blocks, real llama.cpp tensor names and shapes, a SentencePiece vocabulary, written through
//! the streaming `GgufWriter`. They stand in for real models of any size (a 7B-shaped Q4_K file
//! is about 4 GB) in loading tests, and llama.cpp runs them, so its logits are a reference.
//!
//! ```no_run
//! use gguf64::synth::{Preset, SynthModel};
//! let model = SynthModel::new(&Preset::Tiny.config(), 1).unwrap();
//! let bytes = model.write_to(Vec::new(), |_, _| {}).unwrap();
//! ```

mod blocks;
mod model;
pub mod rng;
pub mod vocab;

use std::fmt;

use crate::gguf::{GgmlType, WriteError};

pub use blocks::{Fill, SUPPORTED, is_supported, pack_scales_k4, unpack_scale_min_k4};
pub use model::{MAX_VOCAB, ModelConfig, QuantPlan, Role, STREAM_BLOCKS, SynthModel, SynthTensor};

/// Ready-made model shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// 2 layers, 256 wide, 4 heads (2 KV), ff 512, vocab 512, every generated type once
    /// (about 1.6 MB). 256 wide, not narrower, so the k-quants (256-element blocks) fit.
    Tiny,
    /// Llama-2-7B shapes in Q4_K_M (about 4.1 GB).
    Llama7bQ4K,
    /// Llama-2-13B shapes in Q4_K_M (about 7.9 GB).
    Llama13bQ4K,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 3] = [Preset::Tiny, Preset::Llama7bQ4K, Preset::Llama13bQ4K];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Tiny => "tiny",
            Preset::Llama7bQ4K => "llama-7b-q4_k",
            Preset::Llama13bQ4K => "llama-13b-q4_k",
        }
    }

    /// The preset called `name`.
    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The model shape.
    pub fn config(self) -> ModelConfig {
        let base = ModelConfig {
            name: format!("synth-{}", self.name()),
            n_layer: 32,
            n_embd: 4096,
            n_ff: 11008,
            n_head: 32,
            n_head_kv: 32,
            n_vocab: 32000,
            n_ctx: 4096,
            rope_freq_base: 10000.0,
            rms_eps: 1e-5,
            quant: QuantPlan::Q4KMedium,
        };
        match self {
            Preset::Tiny => ModelConfig {
                n_layer: 2,
                n_embd: 256,
                n_ff: 512,
                n_head: 4,
                n_head_kv: 2,
                n_vocab: 512,
                n_ctx: 512,
                quant: QuantPlan::Mixed,
                ..base
            },
            Preset::Llama7bQ4K => base,
            Preset::Llama13bQ4K => ModelConfig {
                n_layer: 40,
                n_embd: 5120,
                n_ff: 13824,
                n_head: 40,
                n_head_kv: 40,
                ..base
            },
        }
    }
}

/// Everything that can go wrong while planning or writing a synthetic model.
#[non_exhaustive]
#[derive(Debug)]
pub enum SynthError {
    /// A config field out of range: `field` is the command-line name.
    BadConfig {
        field: &'static str,
        reason: &'static str,
    },
    /// A tensor type the generator cannot produce (see `SUPPORTED`).
    UnsupportedType(GgmlType),
    /// A fill request for a tensor that does not exist, or not of whole blocks.
    BadRange { tensor: usize },
    /// The writer failed.
    Write(WriteError),
}

impl fmt::Display for SynthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SynthError::BadConfig { field, reason } => {
                write!(f, "bad model config: {field} {reason}")
            }
            SynthError::UnsupportedType(t) => write!(f, "cannot generate tensors of type {t}"),
            SynthError::BadRange { tensor } => write!(f, "bad fill range for tensor {tensor}"),
            SynthError::Write(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SynthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SynthError::Write(e) => Some(e),
            _ => None,
        }
    }
}

impl From<WriteError> for SynthError {
    fn from(e: WriteError) -> SynthError {
        SynthError::Write(e)
    }
}
