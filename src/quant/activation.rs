//! Quantizing activations the way llama.cpp does before a quantized dot product.
//!
//! * Q8_0 (`quantize_row_q8_0_ref`): per 32 values, d = amax / 127, q = roundf(x / d), i.e.
//!   x * (1 / d) rounded half away from zero; d stored as f16 (round to nearest even).
//! * Q8_1 (`quantize_row_q8_1_ref`): the same d and q, plus s = f16(d * Σq) with the unrounded
//!   d. llama.cpp pairs Q4_1 and Q5_1 weights with Q8_1 (their offset m needs Σx), so we do too.
//! * Q8_K (`quantize_row_q8_K_ref`): per 256 values, with `max` the value of largest magnitude
//!   (the first one on ties), iscale = -127 / max, q = min(127, nearest_int(iscale * x)) where
//!   `nearest_int` rounds half to even, d = 1 / iscale kept in f32, plus the sixteen sums of 16
//!   quants (`bsums`).
//!
//! llama.cpp's SIMD variants of these (x86, ARM) round half to even and compute 127 / amax
//! instead of 1 / d; they can differ from the reference in the last bit of rare ties. We follow
//! the reference.

use super::QuantError;
use super::kernel::q8_block;
use super::blocks::{BlockQ8_0, BlockQ8_1, BlockQ8K, QK, QK_K, f16_bytes};
use crate::gguf::GgmlType;

/// Which activation format a weight type's dot product takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActivationFormat {
    /// Plain f32 (F32, F16, BF16 weights).
    F32,
    /// Q8_0 blocks (Q4_0, Q5_0, Q8_0, IQ4_NL weights).
    Q8_0,
    /// Q8_1 blocks (Q4_1, Q5_1 weights).
    Q8_1,
    /// Q8_K super-blocks (Q2_K ... Q6_K, IQ4_XS weights).
    Q8K,
}

impl ActivationFormat {
    /// The format llama.cpp uses for `weights` (its `vec_dot_type`), or `Unsupported`.
    pub fn for_weights(weights: GgmlType) -> Result<ActivationFormat, QuantError> {
        use GgmlType::*;
        match weights {
            F32 | F16 | BF16 => Ok(ActivationFormat::F32),
            Q4_0 | Q5_0 | Q8_0 | IQ4_NL => Ok(ActivationFormat::Q8_0),
            Q4_1 | Q5_1 => Ok(ActivationFormat::Q8_1),
            Q2_K | Q3_K | Q4_K | Q5_K | Q6_K | IQ4_XS => Ok(ActivationFormat::Q8K),
            other => Err(QuantError::Unsupported(other)),
        }
    }

    /// Elements per block.
    pub fn block_size(self) -> usize {
        match self {
            ActivationFormat::F32 => 1,
            ActivationFormat::Q8_0 | ActivationFormat::Q8_1 => QK,
            ActivationFormat::Q8K => QK_K,
        }
    }
}

/// One activation vector in the format its weights need.
#[derive(Clone, Debug)]
pub enum QuantizedActivation {
    /// Plain values.
    F32(Vec<f32>),
    /// 32-element blocks with an f16 scale.
    Q8_0(Vec<BlockQ8_0>),
    /// 32-element blocks with an f16 scale and scaled sum.
    Q8_1(Vec<BlockQ8_1>),
    /// 256-element blocks with an f32 scale and 16-element sums.
    Q8K(Vec<BlockQ8K>),
}

impl QuantizedActivation {
    /// Quantizes `x` into `format`. Fails if `x` is not a whole number of blocks.
    pub fn quantize(format: ActivationFormat, x: &[f32]) -> Result<QuantizedActivation, QuantError> {
        Ok(match format {
            ActivationFormat::F32 => QuantizedActivation::F32(x.to_vec()),
            ActivationFormat::Q8_0 => QuantizedActivation::Q8_0(quantize_q8_0(x)?),
            ActivationFormat::Q8_1 => QuantizedActivation::Q8_1(quantize_q8_1(x)?),
            ActivationFormat::Q8K => QuantizedActivation::Q8K(quantize_q8_k(x)?),
        })
    }

    /// Quantizes `x` for a dot product with `weights` rows.
    pub fn for_weights(weights: GgmlType, x: &[f32]) -> Result<QuantizedActivation, QuantError> {
        Self::quantize(ActivationFormat::for_weights(weights)?, x)
    }

    /// The format.
    pub fn format(&self) -> ActivationFormat {
        match self {
            QuantizedActivation::F32(_) => ActivationFormat::F32,
            QuantizedActivation::Q8_0(_) => ActivationFormat::Q8_0,
            QuantizedActivation::Q8_1(_) => ActivationFormat::Q8_1,
            QuantizedActivation::Q8K(_) => ActivationFormat::Q8K,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            QuantizedActivation::F32(v) => v.len(),
            QuantizedActivation::Q8_0(v) => v.len() * QK,
            QuantizedActivation::Q8_1(v) => v.len() * QK,
            QuantizedActivation::Q8K(v) => v.len() * QK_K,
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Checks that `n` values make whole blocks of `block` elements.
fn whole(n: usize, block: usize, ty: GgmlType) -> Result<(), QuantError> {
    if n.is_multiple_of(block) { Ok(()) } else { Err(QuantError::NotWholeElements { ty, elements: n }) }
}

/// llama.cpp's `quantize_row_q8_0_ref` into `out` (one block per 32 values).
pub fn quantize_row_q8_0(x: &[f32], out: &mut [BlockQ8_0]) -> Result<(), QuantError> {
    whole(x.len(), QK, GgmlType::Q8_0)?;
    if out.len() != x.len() / QK {
        return Err(QuantError::LengthMismatch { expected: x.len() / QK, actual: out.len() });
    }
    for (b, xs) in out.iter_mut().zip(x.as_chunks::<QK>().0) {
        let (d, qs) = q8_block(xs);
        b.d = f16_bytes(d);
        b.qs = qs;
    }
    Ok(())
}

/// llama.cpp's `quantize_row_q8_1_ref` into `out` (one block per 32 values).
pub fn quantize_row_q8_1(x: &[f32], out: &mut [BlockQ8_1]) -> Result<(), QuantError> {
    whole(x.len(), QK, GgmlType::Q8_1)?;
    if out.len() != x.len() / QK {
        return Err(QuantError::LengthMismatch { expected: x.len() / QK, actual: out.len() });
    }
    for (b, xs) in out.iter_mut().zip(x.as_chunks::<QK>().0) {
        let (d, qs) = q8_block(xs);
        b.d = f16_bytes(d);
        b.qs = qs;
        let sum: i32 = b.qs.iter().map(|&q| q as i32).sum();
        b.s = f16_bytes(sum as f32 * d);
    }
    Ok(())
}

/// llama.cpp's `quantize_row_q8_K_ref` into `out` (one block per 256 values).
pub fn quantize_row_q8_k(x: &[f32], out: &mut [BlockQ8K]) -> Result<(), QuantError> {
    whole(x.len(), QK_K, GgmlType::Q8_K)?;
    if out.len() != x.len() / QK_K {
        return Err(QuantError::LengthMismatch { expected: x.len() / QK_K, actual: out.len() });
    }
    for (b, xs) in out.iter_mut().zip(x.as_chunks::<QK_K>().0) {
        // The signed value of largest magnitude; the first wins a tie, as in llama.cpp.
        let (mut amax, mut max) = (0.0f32, 0.0f32);
        for &v in xs {
            if v.abs() > amax {
                (amax, max) = (v.abs(), v);
            }
        }
        if amax == 0.0 {
            *b = BlockQ8K { d: 0.0, qs: [0; QK_K], bsums: [0; QK_K / 16] };
            continue;
        }
        let iscale = -127.0 / max;
        b.qs = xs.map(|v| (iscale * v).round_ties_even().min(127.0) as i8);
        for (s, qs) in b.bsums.iter_mut().zip(b.qs.as_chunks::<16>().0) {
            *s = qs.iter().map(|&q| q as i16).sum();
        }
        b.d = 1.0 / iscale;
    }
    Ok(())
}

/// Allocating form of `quantize_row_q8_0`.
pub fn quantize_q8_0(x: &[f32]) -> Result<Vec<BlockQ8_0>, QuantError> {
    let mut out = vec![BlockQ8_0 { d: [0; 2], qs: [0; QK] }; x.len() / QK];
    quantize_row_q8_0(x, &mut out)?;
    Ok(out)
}

/// Allocating form of `quantize_row_q8_1`.
pub fn quantize_q8_1(x: &[f32]) -> Result<Vec<BlockQ8_1>, QuantError> {
    let mut out = vec![BlockQ8_1 { d: [0; 2], s: [0; 2], qs: [0; QK] }; x.len() / QK];
    quantize_row_q8_1(x, &mut out)?;
    Ok(out)
}

/// Allocating form of `quantize_row_q8_k`.
pub fn quantize_q8_k(x: &[f32]) -> Result<Vec<BlockQ8K>, QuantError> {
    let zero = BlockQ8K { d: 0.0, qs: [0; QK_K], bsums: [0; QK_K / 16] };
    let mut out = vec![zero; x.len() / QK_K];
    quantize_row_q8_k(x, &mut out)?;
    Ok(out)
}
