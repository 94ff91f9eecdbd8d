//! Which tensors a forward pass reads, how it finds them, and the shapes it checks them against.
//!
//! A `WeightSource` hands out tensor bytes wherever they live: in the main memory, in a paged
//! working-set slot, or in a native buffer. The forward pass brackets each layer with
//! `begin_layer` / `end_layer`, so a paging source can copy the layer in (and pin it) first.

use crate::gguf::GgmlType;

use super::config::{ModelConfig, RopeFactors};
use super::error::ModelError;

/// A tensor of one transformer layer, by its role (the GGUF name is `blk.<n>.<suffix>.weight`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LayerTensor {
    AttnNorm,
    Q,
    K,
    V,
    /// Q, K and V fused (phi3): rows of q, then k, then v.
    Qkv,
    QBias,
    KBias,
    VBias,
    QkvBias,
    QNorm,
    KNorm,
    AttnOutput,
    PostAttnNorm,
    FfnNorm,
    Gate,
    Up,
    Down,
    PostFfnNorm,
}

impl LayerTensor {
    /// Every role.
    pub const ALL: [LayerTensor; 18] = [
        LayerTensor::AttnNorm,
        LayerTensor::Q,
        LayerTensor::K,
        LayerTensor::V,
        LayerTensor::Qkv,
        LayerTensor::QBias,
        LayerTensor::KBias,
        LayerTensor::VBias,
        LayerTensor::QkvBias,
        LayerTensor::QNorm,
        LayerTensor::KNorm,
        LayerTensor::AttnOutput,
        LayerTensor::PostAttnNorm,
        LayerTensor::FfnNorm,
        LayerTensor::Gate,
        LayerTensor::Up,
        LayerTensor::Down,
        LayerTensor::PostFfnNorm,
    ];

    /// The name inside `blk.<n>.`.
    pub fn suffix(self) -> &'static str {
        match self {
            LayerTensor::AttnNorm => "attn_norm.weight",
            LayerTensor::Q => "attn_q.weight",
            LayerTensor::K => "attn_k.weight",
            LayerTensor::V => "attn_v.weight",
            LayerTensor::Qkv => "attn_qkv.weight",
            LayerTensor::QBias => "attn_q.bias",
            LayerTensor::KBias => "attn_k.bias",
            LayerTensor::VBias => "attn_v.bias",
            LayerTensor::QkvBias => "attn_qkv.bias",
            LayerTensor::QNorm => "attn_q_norm.weight",
            LayerTensor::KNorm => "attn_k_norm.weight",
            LayerTensor::AttnOutput => "attn_output.weight",
            LayerTensor::PostAttnNorm => "post_attention_norm.weight",
            LayerTensor::FfnNorm => "ffn_norm.weight",
            LayerTensor::Gate => "ffn_gate.weight",
            LayerTensor::Up => "ffn_up.weight",
            LayerTensor::Down => "ffn_down.weight",
            LayerTensor::PostFfnNorm => "post_ffw_norm.weight",
        }
    }

    /// The shape (ne0, ne1) this tensor must have under `c`; vectors have ne1 = 1.
    pub fn shape(self, c: &ModelConfig) -> [usize; 2] {
        let (e, q, kv, v_out) = (c.n_embd, c.n_heads * c.head_dim, c.n_embd_kv(), c.n_kv_heads * c.head_dim_v);
        match self {
            LayerTensor::AttnNorm | LayerTensor::FfnNorm | LayerTensor::PostAttnNorm | LayerTensor::PostFfnNorm => [e, 1],
            LayerTensor::Q => [e, q],
            LayerTensor::K => [e, kv],
            LayerTensor::V => [e, v_out],
            LayerTensor::Qkv => [e, q + kv + v_out],
            LayerTensor::QBias => [q, 1],
            LayerTensor::KBias => [kv, 1],
            LayerTensor::VBias => [v_out, 1],
            LayerTensor::QkvBias => [q + kv + v_out, 1],
            LayerTensor::QNorm if c.full_width_qk_norm => [q, 1],
            LayerTensor::KNorm if c.full_width_qk_norm => [kv, 1],
            LayerTensor::QNorm | LayerTensor::KNorm => [c.head_dim, 1],
            LayerTensor::AttnOutput => [c.attn_width(), c.embd_rows().len()],
            LayerTensor::Gate => [e, c.n_ff],
            // Fused (phi3): the gate's n_ff rows, then the up projection's.
            LayerTensor::Up => [e, if c.fused_gate_up { 2 * c.n_ff } else { c.n_ff }],
            LayerTensor::Down => [c.ff_width(), c.embd_rows().len()],
        }
    }

    /// The layer tensors architecture `c` reads.
    pub fn required(c: &ModelConfig) -> Vec<LayerTensor> {
        use LayerTensor::*;
        let mut out = if c.pre_norms { vec![AttnNorm] } else { Vec::new() };
        match (c.fused_qkv, c.qkv_bias) {
            (true, true) => out.extend([Qkv, QkvBias]),
            (true, false) => out.push(Qkv),
            (false, true) => out.extend([Q, K, V, QBias, KBias, VBias]),
            (false, false) => out.extend([Q, K, V]),
        }
        if c.qk_norm {
            out.extend([QNorm, KNorm]);
        }
        out.push(AttnOutput);
        if c.pre_norms {
            out.push(FfnNorm);
        }
        out.extend([Up, Down]);
        if !c.fused_gate_up {
            out.push(Gate);
        }
        if c.post_norms {
            out.extend([PostAttnNorm, PostFfnNorm]);
        }
        out
    }
}

/// Any tensor the forward pass reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TensorId {
    TokenEmbd,
    OutputNorm,
    /// The output projection (the token embeddings when they are tied).
    Output,
    /// Llama 3's per-dimension RoPE frequency factors (`rope_dims / 2` of them).
    RopeFreqs,
    /// LongRoPE's factors for contexts beyond the original one, and for the others.
    RopeFactorsLong,
    RopeFactorsShort,
    Layer(usize, LayerTensor),
}

impl TensorId {
    /// The GGUF tensor name (for `Output` with tied embeddings, the source maps it itself).
    pub fn name(self) -> String {
        match self {
            TensorId::TokenEmbd => "token_embd.weight".into(),
            TensorId::OutputNorm => "output_norm.weight".into(),
            TensorId::Output => "output.weight".into(),
            TensorId::RopeFreqs => "rope_freqs.weight".into(),
            TensorId::RopeFactorsLong => "rope_factors_long.weight".into(),
            TensorId::RopeFactorsShort => "rope_factors_short.weight".into(),
            TensorId::Layer(il, t) => format!("blk.{il}.{}", t.suffix()),
        }
    }

    /// The shape (ne0, ne1) the tensor must have under `c`.
    pub fn shape(self, c: &ModelConfig) -> [usize; 2] {
        match self {
            TensorId::TokenEmbd => [c.n_embd, c.n_vocab],
            TensorId::Output => [c.n_embd, c.output_rows()],
            TensorId::OutputNorm => [c.n_embd, 1],
            TensorId::RopeFreqs | TensorId::RopeFactorsLong | TensorId::RopeFactorsShort => [c.rope_dims / 2, 1],
            TensorId::Layer(_, t) => t.shape(c),
        }
    }

    /// Which layer's bracket (`begin_layer`) the tensor needs, if any.
    pub fn layer(self) -> Option<usize> {
        match self {
            TensorId::Layer(il, _) => Some(il),
            _ => None,
        }
    }
}

/// A tensor's bytes, in place, with its type and shape.
#[derive(Clone, Copy, Debug)]
pub struct TensorView<'a> {
    pub ty: GgmlType,
    /// ne0 (elements per row), ne1 (rows; 1 for a vector).
    pub dims: [usize; 2],
    pub bytes: &'a [u8],
    /// Whether a matrix's groups of four rows are interleaved (`quant::interleave`), as the
    /// loader stores the types that take them.
    pub interleaved: bool,
}

/// Where the forward pass gets its weights.
pub trait WeightSource {
    /// Makes layer `layer`'s tensors available until `end_layer` (a paging source copies it in
    /// and pins it). Resident sources do nothing.
    fn begin_layer(&mut self, layer: usize) -> Result<(), ModelError> {
        let _ = layer;
        Ok(())
    }

    /// Layer `layer` may be evicted again.
    fn end_layer(&mut self, layer: usize) {
        let _ = layer;
    }

    /// Hints that `layer` will be needed soon (a paging source may copy it in ahead).
    fn prefetch(&mut self, layer: usize) {
        let _ = layer;
    }

    /// A tensor's bytes; layer tensors only between `begin_layer` and `end_layer`.
    fn tensor(&self, id: TensorId) -> Result<TensorView<'_>, ModelError>;

    /// A debugging hook: the forward pass shows it each intermediate result, in order, as `rows`
    /// of `width` values (`src/bin/trace.rs` records them for `tools/golden/trace_compare.py`).
    /// Sources ignore it by default, and then it costs nothing.
    #[inline(always)]
    fn trace(&self, what: Trace, rows: &[f32], width: usize) {
        let _ = (what, rows, width);
    }
}

/// What an intermediate result of the forward pass is, for `WeightSource::trace`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trace {
    /// The token embeddings (scaled, where the model scales them).
    Embeddings,
    /// The rows a norm is about to normalize: the residual stream before `AttnNorm`,
    /// `FfnNorm` and `OutputNorm`.
    NormInput(TensorId),
    /// The rows after RMS normalization and multiplication by this weight.
    Norm(TensorId),
    /// The activation rows this matrix multiplies (traced for the attention output and down
    /// projections: the attention result and the gated FFN activation).
    MatmulInput(TensorId),
    /// The product rows (the part of the matrix used, when it is fused).
    MatmulOutput(TensorId),
}

/// The tensor's elements as f32 (norm weights and biases must be F32 in every model we run).
pub fn f32_values<'a>(id: TensorId, view: &TensorView<'a>) -> Result<&'a [f32], ModelError> {
    if view.ty != GgmlType::F32 {
        return Err(ModelError::UnsupportedType { name: id.name(), ty: view.ty });
    }
    // SAFETY: any 4 bytes are a valid f32; `align_to` only yields the aligned middle part, and
    // the checks below refuse a view whose bytes are not entirely that middle part.
    let (head, values, tail) = unsafe { view.bytes.align_to::<f32>() };
    if !head.is_empty() || !tail.is_empty() || !cfg!(target_endian = "little") {
        return Err(ModelError::Kernel {
            name: id.name(),
            source: crate::quant::QuantError::NotWholeBlocks { ty: GgmlType::F32, bytes: view.bytes.len() },
        });
    }
    Ok(values)
}

/// Checks that `dims` (ne0 first, from the file) equal `expected`, trailing 1s ignored.
pub fn check_shape(id: TensorId, dims: &[u64], expected: [usize; 2]) -> Result<(), ModelError> {
    let mut d = [1u64; 2];
    for (i, &n) in dims.iter().enumerate() {
        if i < 2 {
            d[i] = n;
        } else if n != 1 {
            return Err(ModelError::BadShape { name: id.name(), expected, actual: dims.to_vec() });
        }
    }
    if d != [expected[0] as u64, expected[1] as u64] {
        return Err(ModelError::BadShape { name: id.name(), expected, actual: dims.to_vec() });
    }
    Ok(())
}

/// Every tensor a model with config `c` reads, in the order a forward pass uses them.
pub fn all_tensors(c: &ModelConfig) -> Vec<TensorId> {
    let mut ids = vec![TensorId::TokenEmbd];
    match c.rope_factors {
        RopeFactors::None => {}
        RopeFactors::Freqs => ids.push(TensorId::RopeFreqs),
        RopeFactors::LongShort { long, short } => {
            ids.extend(long.then_some(TensorId::RopeFactorsLong));
            ids.extend(short.then_some(TensorId::RopeFactorsShort));
        }
    }
    for il in 0..c.n_layers {
        ids.extend(LayerTensor::required(c).into_iter().map(|t| TensorId::Layer(il, t)));
    }
    ids.extend([TensorId::OutputNorm, TensorId::Output]);
    ids
}

/// The first tensor config `c`'s forward pass reads whose type has no kernels here, as
/// `UnsupportedType` naming it and its type. `type_of` gives a tensor's type from the header
/// (`None`: not in the file, which `TensorIndex` reports as missing). Runs on the header alone,
/// so a file gguf64 cannot run fails before any weight is fetched.
pub fn check_types(c: &ModelConfig, type_of: impl Fn(&str) -> Option<GgmlType>) -> Result<(), ModelError> {
    for id in all_tensors(c) {
        let name = id.name();
        if let Some(ty) = type_of(&name)
            && !crate::quant::is_supported(ty)
        {
            return Err(ModelError::UnsupportedType { name, ty });
        }
    }
    Ok(())
}
