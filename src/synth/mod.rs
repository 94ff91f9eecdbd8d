//! Synthetic models of every architecture gguf64 checks against llama.cpp (llama with its
//! RoPE-scaling variants, qwen2, qwen3, phi3, gemma2, gemma3, smollm3, granite, olmo2): deterministic
//! pseudo-random weights in valid ggml blocks, llama.cpp's tensor names, shapes and metadata keys, a
//! SentencePiece vocabulary, written through the streaming `GgufWriter`. They stand in for real
//! models of any size (a 7B-shaped Q4_K file is about 4 GB) in loading tests, and llama.cpp
//! runs them, so its logits are a reference (tools/golden/llamacpp_portable.py).
//!
//! ```no_run
//! use gguf64::synth::{Preset, SynthModel};
//! let model = SynthModel::new(&Preset::Tiny.config(), 1).unwrap();
//! let bytes = model.write_to(Vec::new(), |_, _| {}).unwrap();
//! ```

mod arch;
mod blocks;
mod model;
pub mod rng;
pub mod rope;
pub mod vocab;

use std::fmt;

use crate::gguf::{GgmlType, WriteError};

pub use arch::{Arch, Content};
pub use blocks::{Fill, SUPPORTED, is_supported, pack_scales_k4, unpack_scale_min_k4};
pub use model::{MAX_VOCAB, ModelConfig, Multipliers, QuantPlan, Role, STREAM_BLOCKS, SynthModel, SynthTensor};
pub use rope::RopeScaling;

/// Ready-made model shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// 2 layers, 256 wide, 4 heads (2 KV), ff 512, vocab 512, every generated type once
    /// (about 1.6 MB). 256 wide, not narrower, so the k-quants (256-element blocks) fit.
    Tiny,
    /// `Tiny` with Llama 3.1 RoPE scaling (`rope_freqs.weight`, base 500000). Its original
    /// context is 64, not 8192, so the scaled low frequencies turn visibly within 64 positions.
    TinyLlama3,
    /// `Tiny` with YaRN scaling, factor 4 over an original context of 64.
    TinyLlamaYarn,
    /// `Tiny` with linear scaling, factor 4.
    TinyLlamaLinear,
    /// Qwen2 shape: biases on q, k, v; base 1e6.
    TinyQwen2,
    /// Qwen3 shape: q/k norms, 4 heads of 128 (wider than embd / heads, as in Qwen3).
    TinyQwen3,
    /// Phi-3 shape: fused qkv and gate|up, LongRoPE over an original context of 256 in a
    /// 8192 context, so a llama.cpp context of 512 selects the long factors.
    TinyPhi3,
    /// Gemma 2 shape: heads of 128, post norms, a window of 8 on every other layer, soft caps
    /// of 5 (attention) and 8 (final), far below the real 50 and 30 so that capping changes
    /// these small random logits by more than the test tolerance.
    TinyGemma2,
    /// Gemma 3 shape: heads of 128, q/k and post norms, window 8 with pattern 2 (layer 0
    /// sliding, layer 1 global), bases 1e6 global and 10000 local.
    TinyGemma3,
    /// SmolLM3 shape: llama's, with 4 layers so that layer 3 is one llama.cpp runs without
    /// RoPE, and a base of 2e6.
    TinySmolLM3,
    /// Granite shape: llama's, with Granite 3's embedding (12) and residual (0.22) multipliers,
    /// an attention scale of 1/16 (not 1/sqrt(64)) and logits divided by 2 (from an output norm
    /// twice as large).
    TinyGranite,
    /// OLMo 2 shape: llama's, with post-norms instead of pre-norms and full-width q/k norms.
    TinyOlmo2,
    /// Llama-2-7B shapes in Q4_K_M (about 4.1 GB).
    Llama7bQ4K,
    /// Llama-2-13B shapes in Q4_K_M (about 7.9 GB).
    Llama13bQ4K,
    /// Llama-2-13B widths with 96 layers instead of 40: 17.3 GiB (18.5 GB) in Q4_K_M, more than
    /// one 16 GiB memory holds, for the layouts beyond 16 GiB (`npm run example -- memory64
    /// --preset llama-17g`).
    Llama17g,
    /// Llama-3.1-8B shapes in Q4_K_M (about 4.9 GB): GQA 32/8, vocab 128256, base 500000,
    /// Llama 3.1 RoPE scaling (factor 8 over 8192).
    Llama3_8bQ4K,
    /// Qwen2.5-7B shapes in Q4_K_M (about 4.7 GB): 28 layers, 3584 wide, GQA 28/4, QKV biases.
    Qwen25_7bQ4K,
    /// Gemma-2-9B shapes in Q4_K_M (about 5.8 GB): 42 layers, 3584 wide, heads of 256.
    Gemma2_9bQ4K,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 18] = [
        Preset::Tiny,
        Preset::TinyLlama3,
        Preset::TinyLlamaYarn,
        Preset::TinyLlamaLinear,
        Preset::TinyQwen2,
        Preset::TinyQwen3,
        Preset::TinyPhi3,
        Preset::TinyGemma2,
        Preset::TinyGemma3,
        Preset::TinySmolLM3,
        Preset::TinyGranite,
        Preset::TinyOlmo2,
        Preset::Llama7bQ4K,
        Preset::Llama13bQ4K,
        Preset::Llama17g,
        Preset::Llama3_8bQ4K,
        Preset::Qwen25_7bQ4K,
        Preset::Gemma2_9bQ4K,
    ];

    /// The small presets, one per architecture or RoPE variant, that are checked against
    /// llama.cpp.
    pub const SMALL: [Preset; 12] = [
        Preset::Tiny,
        Preset::TinyLlama3,
        Preset::TinyLlamaYarn,
        Preset::TinyLlamaLinear,
        Preset::TinyQwen2,
        Preset::TinyQwen3,
        Preset::TinyPhi3,
        Preset::TinyGemma2,
        Preset::TinyGemma3,
        Preset::TinySmolLM3,
        Preset::TinyGranite,
        Preset::TinyOlmo2,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Tiny => "tiny",
            Preset::TinyLlama3 => "tiny-llama3",
            Preset::TinyLlamaYarn => "tiny-llama-yarn",
            Preset::TinyLlamaLinear => "tiny-llama-linear",
            Preset::TinyQwen2 => "tiny-qwen2",
            Preset::TinyQwen3 => "tiny-qwen3",
            Preset::TinyPhi3 => "tiny-phi3",
            Preset::TinyGemma2 => "tiny-gemma2",
            Preset::TinyGemma3 => "tiny-gemma3",
            Preset::TinySmolLM3 => "tiny-smollm3",
            Preset::TinyGranite => "tiny-granite",
            Preset::TinyOlmo2 => "tiny-olmo2",
            Preset::Llama7bQ4K => "llama-7b-q4_k",
            Preset::Llama13bQ4K => "llama-13b-q4_k",
            Preset::Llama17g => "llama-17g",
            Preset::Llama3_8bQ4K => "llama3-8b-q4_k",
            Preset::Qwen25_7bQ4K => "qwen2.5-7b-q4_k",
            Preset::Gemma2_9bQ4K => "gemma2-9b-q4_k",
        }
    }

    /// The preset called `name`.
    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The model shape.
    pub fn config(self) -> ModelConfig {
        let llama7b = ModelConfig {
            arch: Arch::Llama,
            // Not "phi3": llama.cpp gives a model whose general.name contains it Phi-3's token
            // attributes, and needs Phi-3's `<|endoftext|>` token for that.
            name: format!("synth-{}", self.name()).replace("phi3", "phi"),
            n_layer: 32,
            n_embd: 4096,
            n_ff: 11008,
            n_head: 32,
            n_head_kv: 32,
            head_dim: None,
            n_vocab: 32000,
            n_ctx: 4096,
            rope_freq_base: 10000.0,
            rope_freq_base_swa: None,
            rope_scaling: RopeScaling::None,
            sliding_window: None,
            swa_pattern: None,
            attn_softcap: None,
            final_softcap: None,
            rms_eps: 1e-5,
            quant: QuantPlan::Q4KMedium,
            output_gain: 1.0,
            embd_gain: 1.0,
            multipliers: None,
        };
        let tiny = ModelConfig {
            n_layer: 2,
            n_embd: 256,
            n_ff: 512,
            n_head: 4,
            n_head_kv: 2,
            n_vocab: 512,
            n_ctx: 512,
            quant: QuantPlan::Mixed,
            ..llama7b.clone()
        };
        let tiny_varied = ModelConfig {
            quant: QuantPlan::Varied,
            rms_eps: 1e-6,
            output_gain: 2.5,
            ..tiny.clone()
        };
        match self {
            Preset::Tiny => tiny,
            Preset::TinyLlama3 => ModelConfig {
                n_ctx: 131_072,
                rope_freq_base: 500_000.0,
                rope_scaling: RopeScaling::Llama3 {
                    factor: 8.0,
                    low_freq_factor: 1.0,
                    high_freq_factor: 4.0,
                    original_ctx: 64,
                },
                ..tiny_varied
            },
            Preset::TinyLlamaYarn => ModelConfig {
                n_ctx: 256,
                rope_scaling: RopeScaling::Yarn {
                    factor: 4.0,
                    original_ctx: 64,
                },
                ..tiny_varied
            },
            Preset::TinyLlamaLinear => ModelConfig {
                n_ctx: 2048,
                rope_scaling: RopeScaling::Linear { factor: 4.0 },
                ..tiny_varied
            },
            Preset::TinyQwen2 => ModelConfig {
                arch: Arch::Qwen2,
                n_ctx: 32_768,
                rope_freq_base: 1_000_000.0,
                ..tiny_varied
            },
            Preset::TinyQwen3 => ModelConfig {
                arch: Arch::Qwen3,
                head_dim: Some(128),
                n_ctx: 40_960,
                rope_freq_base: 1_000_000.0,
                ..tiny_varied
            },
            Preset::TinyPhi3 => ModelConfig {
                arch: Arch::Phi3,
                n_ctx: 8192,
                rope_scaling: RopeScaling::LongRope { original_ctx: 256 },
                // Phi-3-mini-128k's value; llama.cpp turns Phi-3 sliding windows off.
                sliding_window: Some(262_144),
                ..tiny_varied
            },
            Preset::TinyGemma2 => ModelConfig {
                arch: Arch::Gemma2,
                embd_gain: 0.25,
                output_gain: 10.0,
                head_dim: Some(128),
                n_ctx: 8192,
                sliding_window: Some(8),
                attn_softcap: Some(5.0),
                final_softcap: Some(8.0),
                ..tiny_varied
            },
            Preset::TinyGemma3 => ModelConfig {
                arch: Arch::Gemma3,
                embd_gain: 0.25,
                output_gain: 10.0,
                head_dim: Some(128),
                n_ctx: 32_768,
                rope_freq_base: 1_000_000.0,
                rope_freq_base_swa: Some(10_000.0),
                sliding_window: Some(8),
                swa_pattern: Some(2),
                ..tiny_varied
            },
            Preset::TinySmolLM3 => ModelConfig {
                arch: Arch::SmolLM3,
                n_layer: 4,
                n_ctx: 65_536,
                rope_freq_base: 2_000_000.0,
                ..tiny_varied
            },
            Preset::TinyGranite => ModelConfig {
                arch: Arch::Granite,
                multipliers: Some(Multipliers { embedding: 12.0, attention: 0.0625, residual: 0.22, logit: 2.0 }),
                // Twice the others' gain, which the logit scale halves again.
                output_gain: 5.0,
                ..tiny_varied
            },
            Preset::TinyOlmo2 => ModelConfig {
                arch: Arch::Olmo2,
                n_ctx: 4096,
                rope_freq_base: 500_000.0,
                ..tiny_varied
            },
            Preset::Llama7bQ4K => llama7b,
            Preset::Llama13bQ4K => ModelConfig {
                n_layer: 40,
                n_embd: 5120,
                n_ff: 13824,
                n_head: 40,
                n_head_kv: 40,
                ..llama7b
            },
            Preset::Llama17g => ModelConfig {
                n_layer: 96,
                ..Preset::Llama13bQ4K.config()
            },
            Preset::Llama3_8bQ4K => ModelConfig {
                output_gain: 2.5,
                n_ff: 14336,
                n_head_kv: 8,
                n_vocab: 128_256,
                n_ctx: 131_072,
                rope_freq_base: 500_000.0,
                rope_scaling: RopeScaling::Llama3 {
                    factor: 8.0,
                    low_freq_factor: 1.0,
                    high_freq_factor: 4.0,
                    original_ctx: 8192,
                },
                ..llama7b
            },
            Preset::Qwen25_7bQ4K => ModelConfig {
                arch: Arch::Qwen2,
                output_gain: 2.5,
                n_layer: 28,
                n_embd: 3584,
                n_ff: 18944,
                n_head: 28,
                n_head_kv: 4,
                n_vocab: 152_064,
                n_ctx: 32_768,
                rope_freq_base: 1_000_000.0,
                rms_eps: 1e-6,
                ..llama7b
            },
            Preset::Gemma2_9bQ4K => ModelConfig {
                arch: Arch::Gemma2,
                embd_gain: 0.25,
                output_gain: 10.0,
                n_layer: 42,
                n_embd: 3584,
                n_ff: 14336,
                n_head: 16,
                n_head_kv: 8,
                head_dim: Some(256),
                n_vocab: 256_000,
                n_ctx: 8192,
                sliding_window: Some(4096),
                attn_softcap: Some(50.0),
                final_softcap: Some(30.0),
                rms_eps: 1e-6,
                ..llama7b
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
