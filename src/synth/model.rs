//! The llama-shaped synthetic model: its config, tensor list, metadata and data streams.

use std::io::Write;

use super::SynthError;
use super::blocks::{Fill, fill_blocks, is_supported};
use super::rng::{SplitMix64, derive, fnv1a};
use super::vocab::{MIN_VOCAB, add_spm_vocab};
use crate::gguf::{
    GgmlType, GgufWriter, HeaderLayout, Metadata, TensorSpec, Value, WriteError, layout_header,
};

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
}

impl QuantPlan {
    /// The planned type of a `role` matrix in layer `layer` of `n_layer` (before the F32
    /// fallback).
    pub fn type_for(self, role: Role, layer: u32, n_layer: u32) -> GgmlType {
        use GgmlType::*;
        match self {
            QuantPlan::Uniform(t) => t,
            QuantPlan::Q4KMedium => match role {
                Role::Output => Q6_K,
                Role::AttnV | Role::FfnDown if more_bits(layer, n_layer) => Q6_K,
                _ => Q4_K,
            },
            QuantPlan::Mixed => match role {
                Role::TokenEmbd => F16,
                Role::AttnK | Role::FfnUp => Q8_0,
                Role::AttnV => Q4_0,
                Role::FfnDown | Role::Output => Q6_K,
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

/// The shape and types of a llama-architecture model.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelConfig {
    /// `general.name`.
    pub name: String,
    pub n_layer: u32,
    pub n_embd: u64,
    /// Feed-forward width.
    pub n_ff: u64,
    pub n_head: u32,
    pub n_head_kv: u32,
    pub n_vocab: u32,
    /// Training context length.
    pub n_ctx: u32,
    pub rope_freq_base: f32,
    pub rms_eps: f32,
    pub quant: QuantPlan,
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
        if !self.n_embd.is_multiple_of(u64::from(self.n_head)) {
            return bad("heads", "must divide embd");
        }
        if !self.head_dim().is_multiple_of(2) {
            return bad("heads", "embd / heads must be even (rotary pairs)");
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
        Ok(())
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> u64 {
        self.n_embd / u64::from(self.n_head)
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
    pub fill: Fill,
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
        let metadata = build_metadata(config).map_err(|_| SynthError::BadConfig {
            field: "metadata",
            reason: "duplicate key",
        })?;
        let tensors = tensor_plan(config)
            .into_iter()
            .map(|(spec, fill)| {
                let seed = derive(seed, fnv1a(spec.name.as_bytes()));
                SynthTensor { spec, fill, seed }
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
        for (k, piece) in out.chunks_mut(chunk).enumerate() {
            let mut rng = SplitMix64::new(derive(t.seed, first_stream + k as u64));
            if !fill_blocks(ty, t.fill, &mut rng, piece) {
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

/// The `general.*`, `llama.*` and tokenizer keys.
fn build_metadata(c: &ModelConfig) -> Result<Metadata, Value> {
    let mut md = Metadata::new();
    let s = |v: &str| Value::String(v.to_owned());
    let u32_of = |v: u64| Value::U32(u32::try_from(v).unwrap_or(u32::MAX));
    md.insert("general.architecture".into(), s("llama"))?;
    md.insert("general.name".into(), s(&c.name))?;
    md.insert("general.alignment".into(), Value::U32(32))?;
    md.insert("general.file_type".into(), Value::U32(c.quant.file_type()))?;
    md.insert("general.quantization_version".into(), Value::U32(2))?;
    md.insert("llama.context_length".into(), Value::U32(c.n_ctx))?;
    md.insert("llama.embedding_length".into(), u32_of(c.n_embd))?;
    md.insert("llama.block_count".into(), Value::U32(c.n_layer))?;
    md.insert("llama.feed_forward_length".into(), u32_of(c.n_ff))?;
    md.insert("llama.attention.head_count".into(), Value::U32(c.n_head))?;
    md.insert(
        "llama.attention.head_count_kv".into(),
        Value::U32(c.n_head_kv),
    )?;
    md.insert("llama.rope.dimension_count".into(), u32_of(c.head_dim()))?;
    md.insert("llama.rope.freq_base".into(), Value::F32(c.rope_freq_base))?;
    md.insert(
        "llama.attention.layer_norm_rms_epsilon".into(),
        Value::F32(c.rms_eps),
    )?;
    md.insert("llama.vocab_size".into(), Value::U32(c.n_vocab))?;
    add_spm_vocab(&mut md, c.n_vocab)?;
    Ok(md)
}

/// Every tensor in file order: token embeddings, each layer, the output norm and head.
fn tensor_plan(c: &ModelConfig) -> Vec<(TensorSpec, Fill)> {
    let (embd, ff, kv, vocab) = (c.n_embd, c.n_ff, c.n_embd_kv(), u64::from(c.n_vocab));
    let mut out = Vec::with_capacity(9 * c.n_layer as usize + 3);
    let matrix = |name: String, role: Role, layer: u32, ne0: u64, ne1: u64| {
        let planned = c.quant.type_for(role, layer, c.n_layer);
        let ty = if ne0.is_multiple_of(planned.block_size()) {
            planned
        } else {
            GgmlType::F32
        };
        // Unit-variance inputs give unit-variance outputs.
        let sigma = 1.0 / (ne0 as f32).sqrt();
        (
            TensorSpec {
                name,
                dims: vec![ne0, ne1],
                ggml_type: ty,
            },
            Fill::Weights { sigma },
        )
    };
    let norm = |name: String| {
        (
            TensorSpec {
                name,
                dims: vec![embd],
                ggml_type: GgmlType::F32,
            },
            Fill::Norm,
        )
    };
    out.push(matrix(
        "token_embd.weight".into(),
        Role::TokenEmbd,
        0,
        embd,
        vocab,
    ));
    for l in 0..c.n_layer {
        let n = |part: &str| format!("blk.{l}.{part}.weight");
        out.push(norm(n("attn_norm")));
        out.push(matrix(n("attn_q"), Role::AttnQ, l, embd, embd));
        out.push(matrix(n("attn_k"), Role::AttnK, l, embd, kv));
        out.push(matrix(n("attn_v"), Role::AttnV, l, embd, kv));
        out.push(matrix(n("attn_output"), Role::AttnOutput, l, embd, embd));
        out.push(norm(n("ffn_norm")));
        out.push(matrix(n("ffn_gate"), Role::FfnGate, l, embd, ff));
        out.push(matrix(n("ffn_up"), Role::FfnUp, l, embd, ff));
        out.push(matrix(n("ffn_down"), Role::FfnDown, l, ff, embd));
    }
    out.push(norm("output_norm.weight".into()));
    out.push(matrix("output.weight".into(), Role::Output, 0, embd, vocab));
    out
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
