//! The synthetic model: its config, and the writer of its metadata, tensors and data streams
//! (which keys and tensors each architecture has is `arch`'s job).

use std::io::Write;

use super::SynthError;
use super::arch::{self, Arch, Content};
use super::blocks::{fill_blocks, is_supported};
use super::rng::{SplitMix64, derive, fnv1a};
use super::rope::RopeScaling;
use super::vocab::MIN_VOCAB;
use crate::gguf::{GgmlType, GgufWriter, HeaderLayout, Metadata, TensorSpec, WriteError, layout_header};

/// Blocks per random stream. Each stream has its own seed (derived from the model seed, the
/// tensor name and the stream index), so streams can be generated in any order or in parallel
/// and the file stays byte-identical. 8192 Q4_K blocks are 1.2 MB.
pub const STREAM_BLOCKS: u64 = 8192;

/// Bytes generated per write in `SynthModel::write_to`: large enough that writes run at disk
/// speed, small enough to stay cache- and memory-friendly.
const WRITE_CHUNK_BYTES: u64 = 8 << 20;

/// Which types the weight matrices get. Norms are always F32; a matrix whose ne0 is not a
/// whole number of its type's blocks falls back to F32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantPlan {
    /// One type for every matrix.
    Uniform(GgmlType),
    /// Like llama.cpp's Q4_K_M: Q4_K, with Q6_K for `output.weight` and for `attn_v` and
    /// `ffn_down` in the first and last eighth of the layers and every third layer between.
    Q4KMedium,
    /// Every generated type once, so a loader test covers them all: F16 token embeddings,
    /// Q4_K q/output/gate, Q8_0 k/up, Q4_0 v, Q6_K down and `output.weight`.
    Mixed,
    /// The small per-architecture files' mix: F16 token embeddings (Q6_K when tied to the
    /// output), Q4_K q/output/gate, Q8_0 k/up/fused qkv, Q5_0 v, Q6_K down and output.
    Varied,
}

/// The role of a weight matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    TokenEmbd,
    Output,
    AttnQ,
    AttnK,
    AttnV,
    AttnOutput,
    FfnGate,
    FfnUp,
    FfnDown,
    /// Phi-3's fused q|k|v projection.
    AttnQkv,
    /// Token embeddings that are also the output head.
    TiedEmbd,
}

impl QuantPlan {
    /// The planned type of a `role` matrix in layer `layer` of `n_layer` (before the F32
    /// fallback).
    pub fn type_for(self, role: Role, layer: u32, n_layer: u32) -> GgmlType {
        use GgmlType::*;
        match self {
            QuantPlan::Uniform(t) => t,
            QuantPlan::Q4KMedium => match role {
                Role::Output | Role::TiedEmbd => Q6_K,
                Role::AttnV | Role::FfnDown if more_bits(layer, n_layer) => Q6_K,
                _ => Q4_K,
            },
            QuantPlan::Mixed => match role {
                Role::TokenEmbd | Role::TiedEmbd => F16,
                Role::AttnK | Role::FfnUp | Role::AttnQkv => Q8_0,
                Role::AttnV => Q4_0,
                Role::FfnDown | Role::Output => Q6_K,
                Role::AttnQ | Role::AttnOutput | Role::FfnGate => Q4_K,
            },
            QuantPlan::Varied => match role {
                Role::TokenEmbd => F16,
                Role::AttnK | Role::FfnUp | Role::AttnQkv => Q8_0,
                Role::AttnV => Q5_0,
                Role::FfnDown | Role::Output | Role::TiedEmbd => Q6_K,
                Role::AttnQ | Role::AttnOutput | Role::FfnGate => Q4_K,
            },
        }
    }

    /// `general.file_type` (llama.cpp's `llama_ftype`).
    pub fn file_type(self) -> u32 {
        match self {
            QuantPlan::Uniform(GgmlType::F32) => 0,
            QuantPlan::Uniform(GgmlType::F16) => 1,
            QuantPlan::Uniform(GgmlType::Q4_0) => 2,
            QuantPlan::Uniform(GgmlType::Q5_0) => 8,
            QuantPlan::Uniform(GgmlType::Q8_0) => 7,
            QuantPlan::Uniform(GgmlType::Q4_K) => 14,
            QuantPlan::Uniform(GgmlType::Q6_K) => 18,
            QuantPlan::Uniform(GgmlType::IQ4_NL) => 25,
            QuantPlan::Uniform(GgmlType::IQ4_XS) => 30,
            // MOSTLY_Q4_K_M; for the mixed plan the nearest label.
            _ => 15,
        }
    }
}

/// llama.cpp's `use_more_bits` rule for Q4_K_M.
fn more_bits(layer: u32, n_layer: u32) -> bool {
    let eighth = n_layer / 8;
    layer < eighth || layer >= 7 * n_layer / 8 || (layer - eighth) % 3 == 2
}

/// The architecture, shape and types of a model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    pub arch: Arch,
    /// `general.name`.
    pub name: String,
    pub n_layer: u32,
    pub n_embd: u64,
    /// Feed-forward width.
    pub n_ff: u64,
    pub n_head: u32,
    pub n_head_kv: u32,
    /// Width of one attention head, written as `attention.key_length`/`value_length`; `None`
    /// for `n_embd / n_head` (then not written).
    pub head_dim: Option<u64>,
    pub n_vocab: u32,
    /// Training context length.
    pub n_ctx: u32,
    pub rope_freq_base: f32,
    /// RoPE base of the sliding-window layers (`rope.freq_base_swa`), if written.
    pub rope_freq_base_swa: Option<f32>,
    pub rope_scaling: RopeScaling,
    /// `attention.sliding_window`, if written.
    pub sliding_window: Option<u32>,
    /// `attention.sliding_window_pattern` (every n-th layer global), if written.
    pub swa_pattern: Option<u32>,
    /// Gemma 2's `attn_logit_softcapping`.
    pub attn_softcap: Option<f32>,
    /// `final_logit_softcapping`.
    pub final_softcap: Option<f32>,
    pub rms_eps: f32,
    pub quant: QuantPlan,
    /// Level of `output_norm.weight`, which scales the logits: at 1 they have about unit
    /// spread, a near-uniform next-token distribution over a small vocabulary; at 2.5 the
    /// entropy is about 3 nats, the regime of a real model.
    pub output_gain: f32,
    /// Spread of the token embeddings in units of 1/sqrt(n_embd). Below 1 for tied models:
    /// there the input token's own embedding, large in the residual stream, would otherwise
    /// win the next-token logits outright.
    pub embd_gain: f32,
    /// Granite's `embedding_scale`, `attention.scale`, `residual_scale` and `logit_scale`, if
    /// written.
    pub multipliers: Option<Multipliers>,
}

/// Granite's hyper-parameters that scale the embeddings, the attention scores, each block's
/// output before its residual add, and (dividing) the logits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Multipliers {
    pub embedding: f32,
    pub attention: f32,
    pub residual: f32,
    pub logit: f32,
}

/// Largest vocabulary: the header parser's default cap on array lengths (2^24).
pub const MAX_VOCAB: u32 = 1 << 24;

impl ModelConfig {
    /// Checks the shape is one llama.cpp can run.
    pub fn validate(&self) -> Result<(), SynthError> {
        let bad = |field, reason| Err(SynthError::BadConfig { field, reason });
        for (field, v) in [
            ("layers", u64::from(self.n_layer)),
            ("embd", self.n_embd),
            ("ff", self.n_ff),
            ("heads", u64::from(self.n_head)),
            ("kv-heads", u64::from(self.n_head_kv)),
            ("ctx", u64::from(self.n_ctx)),
        ] {
            if v == 0 {
                return bad(field, "must be at least 1");
            }
        }
        if self.head_dim.is_none() && !self.n_embd.is_multiple_of(u64::from(self.n_head)) {
            return bad("heads", "must divide embd");
        }
        if self.head_dim == Some(0) {
            return bad("head-dim", "must be at least 1");
        }
        if !self.head_dim().is_multiple_of(2) {
            return bad("heads", "the head width must be even (rotary pairs)");
        }
        if !self.n_head.is_multiple_of(self.n_head_kv) {
            return bad("kv-heads", "must divide heads");
        }
        if !(MIN_VOCAB..=MAX_VOCAB).contains(&self.n_vocab) {
            return bad("vocab", "must be between 260 and 2^24");
        }
        if let QuantPlan::Uniform(t) = self.quant
            && !is_supported(t)
        {
            return Err(SynthError::UnsupportedType(t));
        }
        if !self.rope_scaling_is_valid() {
            return bad("rope-scaling", "needs factors > 0 and an original context >= 2");
        }
        Ok(())
    }

    /// Whether the RoPE scaling's numbers give finite factors (no division by zero, no log 1).
    fn rope_scaling_is_valid(&self) -> bool {
        let positive = |x: f32| x.is_finite() && x > 0.0;
        match self.rope_scaling {
            RopeScaling::None => true,
            RopeScaling::Linear { factor } => positive(factor),
            RopeScaling::Yarn { factor, original_ctx } => positive(factor) && original_ctx >= 2,
            RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_ctx,
            } => {
                positive(factor)
                    && positive(low_freq_factor)
                    && high_freq_factor > low_freq_factor
                    && original_ctx >= 2
            }
            RopeScaling::LongRope { original_ctx } => original_ctx >= 2,
        }
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> u64 {
        self.head_dim.unwrap_or(self.n_embd / u64::from(self.n_head))
    }

    /// Width of the K and V projections.
    pub fn n_embd_kv(&self) -> u64 {
        self.head_dim() * u64::from(self.n_head_kv)
    }
}

/// One tensor of the model and how to fill it.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthTensor {
    pub spec: TensorSpec,
    pub content: Content,
    /// Seed of this tensor's streams.
    seed: u64,
}

/// A synthetic model ready to be written: metadata, tensors and their seeds.
#[derive(Clone, Debug)]
pub struct SynthModel {
    config: ModelConfig,
    metadata: Metadata,
    tensors: Vec<SynthTensor>,
}

impl SynthModel {
    /// Plans the model for `config`; `seed` decides every weight.
    pub fn new(config: &ModelConfig, seed: u64) -> Result<SynthModel, SynthError> {
        config.validate()?;
        let metadata = arch::metadata(config).map_err(|_| SynthError::BadConfig {
            field: "metadata",
            reason: "duplicate key",
        })?;
        let tensors = arch::tensors(config)
            .into_iter()
            .map(|(spec, content)| {
                let seed = derive(seed, fnv1a(spec.name.as_bytes()));
                SynthTensor {
                    spec,
                    content,
                    seed,
                }
            })
            .collect();
        Ok(SynthModel {
            config: config.clone(),
            metadata,
            tensors,
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    pub fn tensors(&self) -> &[SynthTensor] {
        &self.tensors
    }

    /// The tensor specs in file order.
    pub fn specs(&self) -> Vec<TensorSpec> {
        self.tensors.iter().map(|t| t.spec.clone()).collect()
    }

    /// The header layout (its bytes, every tensor's offset, the file length).
    pub fn layout(&self) -> Result<HeaderLayout, WriteError> {
        layout_header(&self.metadata, &self.specs())
    }

    /// Bytes in one full stream of tensor `index`.
    pub fn stream_bytes(&self, index: usize) -> Option<u64> {
        Some(STREAM_BLOCKS * self.tensors.get(index)?.spec.ggml_type.type_size())
    }

    /// Fills `out` with tensor `index`'s data from the start of stream `first_stream` on:
    /// `out` covers whole streams, except that the last may end early at a block boundary.
    /// The result depends only on the seed, the tensor and the position, never on how the
    /// data is split into calls.
    pub fn fill(&self, index: usize, first_stream: u64, out: &mut [u8]) -> Result<(), SynthError> {
        let t = self
            .tensors
            .get(index)
            .ok_or(SynthError::BadRange { tensor: index })?;
        let ty = t.spec.ggml_type;
        let stream_bytes = STREAM_BLOCKS * ty.type_size();
        let chunk =
            usize::try_from(stream_bytes).map_err(|_| SynthError::BadRange { tensor: index })?;
        let fill = match &t.content {
            Content::Random(fill) => *fill,
            Content::Fixed(values) => return fill_fixed(values, first_stream, out, index),
        };
        for (k, piece) in out.chunks_mut(chunk).enumerate() {
            let mut rng = SplitMix64::new(derive(t.seed, first_stream + k as u64));
            if !fill_blocks(ty, fill, &mut rng, piece) {
                return Err(SynthError::BadRange { tensor: index });
            }
        }
        Ok(())
    }

    /// Writes the whole file to `out`, generating the data in 8 MB pieces; `on_tensor` is
    /// called after each tensor with its index and the bytes written so far.
    pub fn write_to<W: Write>(
        &self,
        out: W,
        mut on_tensor: impl FnMut(usize, u64),
    ) -> Result<W, SynthError> {
        let mut w = GgufWriter::with_layout(out, self.layout()?)?;
        let mut buf = Vec::new();
        for (i, t) in self.tensors.iter().enumerate() {
            let n_bytes = w.next_tensor().map_or(0, |info| info.n_bytes);
            let stream_bytes = STREAM_BLOCKS * t.spec.ggml_type.type_size();
            let streams_per_chunk = (WRITE_CHUNK_BYTES / stream_bytes).max(1);
            w.begin_tensor(&t.spec.name)?;
            let (mut done, mut stream) = (0u64, 0u64);
            while done < n_bytes {
                let len = (streams_per_chunk * stream_bytes).min(n_bytes - done);
                buf.resize(len as usize, 0);
                self.fill(i, stream, &mut buf)?;
                w.write_data(&buf)?;
                (done, stream) = (done + len, stream + streams_per_chunk);
            }
            w.end_tensor()?;
            on_tensor(i, w.bytes_written());
        }
        Ok(w.finish()?)
    }
}

/// Copies F32 `values` from stream `first_stream` on (one F32 is one block) into `out`.
fn fill_fixed(values: &[f32], first_stream: u64, out: &mut [u8], tensor: usize) -> Result<(), SynthError> {
    let bad = SynthError::BadRange { tensor };
    let start = usize::try_from(first_stream.saturating_mul(STREAM_BLOCKS)).map_err(|_| bad)?;
    let (slots, tail) = out.as_chunks_mut::<4>();
    let source = values.get(start..).unwrap_or(&[]);
    if !tail.is_empty() || slots.len() > source.len() {
        return Err(SynthError::BadRange { tensor });
    }
    for (slot, v) in slots.iter_mut().zip(source) {
        *slot = v.to_le_bytes();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q4_k_m_rule_matches_llama_cpp_for_32_layers() {
        let more: Vec<u32> = (0..32).filter(|&l| more_bits(l, 32)).collect();
        assert_eq!(
            more,
            [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]
        );
    }
}
