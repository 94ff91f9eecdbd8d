//! Quantization kernels: ggml block layouts, dequantization, activation quantization, dot
//! products and matrix-vector products that match llama.cpp.
//!
//! * `blocks`: one `#[repr(C)]` struct per block type, viewed in place over tensor bytes.
//! * `scalar`: the reference kernels. `simd128`: the wasm SIMD128 ones (the only `unsafe` SIMD),
//!   compiled in when the target has `simd128`: every dot product, and the dequantization of all
//!   types but Q2_K and Q3_K (which, like F32's copy, stay scalar).
//! * Supported types: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K,
//!   IQ4_NL, IQ4_XS.
//! * `activation`: Q8_0 / Q8_1 / Q8_K quantization of activations, as llama.cpp does.
//! * `matvec`: rows of a weight matrix times one or several activation vectors.
//! * `interleave`: the order the loader stores the four-row types' matrices in (each group of
//!   four rows interleaved block by block), and the way back to the file's order.
//!
//! This file is the one dispatch point: `Kernels` binds each block type to its activation
//! format and to the kernel set chosen below, and `for_block_type!` turns a runtime
//! `GgmlType` into those types.
//!
//! ```
//! use gguf64::gguf::GgmlType;
//! use gguf64::quant::{QuantizedActivation, WeightMatrix, matvec};
//! // Two rows of 32 Q8_0 weights: d = 1.0 (f16 0x3C00), quants 1 and 2.
//! let mut bytes = Vec::new();
//! for q in [1u8, 2] {
//!     bytes.extend_from_slice(&[0x00, 0x3C]);
//!     bytes.extend_from_slice(&[q; 32]);
//! }
//! let w = WeightMatrix::new(GgmlType::Q8_0, 32, &bytes).unwrap();
//! // 127.0 quantizes exactly (d = 1, q = 127).
//! let x = QuantizedActivation::for_weights(GgmlType::Q8_0, &[127.0; 32]).unwrap();
//! let mut y = [0.0f32; 2];
//! matvec(&w, 0..2, &x, &mut y).unwrap();
//! assert_eq!(y, [32.0 * 127.0, 64.0 * 127.0]);
//! ```

pub mod activation;
pub mod blocks;
mod error;
pub mod interleave;
pub mod matvec;
pub mod scalar;

// The kernel set, chosen once at compile time: SIMD128 when the target has it, else scalar.
#[cfg(all(target_family = "wasm", target_feature = "simd128"))]
pub mod simd128;
#[cfg(not(all(target_family = "wasm", target_feature = "simd128")))]
use scalar as kernel;
#[cfg(all(target_family = "wasm", target_feature = "simd128"))]
use simd128 as kernel;

pub use activation::{ActivationFormat, QuantizedActivation};
pub use error::QuantError;
pub use matvec::{WeightMatrix, matmul, matmul_f32, matvec, matvec_f32};
/// Attention's products with the f16 key/value cache (`scalar::attention`).
pub use kernel::{add_products_rows, dots_columns, transpose_f16, widen_f16};
/// ggml's vector `exp` (one value) and SwiGLU over rows (`scalar::pointwise`).
pub use kernel::swiglu;
pub use scalar::exp_ggml;

use std::borrow::Cow;

use blocks::*;

use crate::gguf::GgmlType;

/// Whether the kernels in use are the SIMD128 ones (`"simd128"`) or the scalar ones.
pub const KERNELS: &str =
    if cfg!(all(target_family = "wasm", target_feature = "simd128")) { "simd128" } else { "scalar" };

/// Whether `ty` has kernels here.
pub fn is_supported(ty: GgmlType) -> bool {
    ActivationFormat::for_weights(ty).is_ok()
}

/// Dequantizes whole blocks of `ty` in `bytes` into `out`, which must hold exactly their
/// elements. Bit for bit as ggml's `dequantize_row_*` and Python `gguf.quants`.
pub fn dequantize(ty: GgmlType, bytes: &[u8], out: &mut [f32]) -> Result<(), QuantError> {
    for_block_type!(ty, |B| dequantize_as::<B>(bytes, out))
}

/// Dequantizes whole blocks of `ty` into a new vector.
pub fn dequantize_to_vec(ty: GgmlType, bytes: &[u8]) -> Result<Vec<f32>, QuantError> {
    for_block_type!(ty, |B| {
        let n = cast_blocks::<B>(bytes)?.len().checked_mul(B::ELEMENTS);
        let mut out = vec![0.0; n.ok_or(QuantError::TooLarge { bytes: bytes.len() })?];
        dequantize_as::<B>(bytes, &mut out).map(|()| out)
    })
}

/// The dot product of one row of `ty` weights (whole blocks) with an activation of the same
/// length, quantized for `ty` (`QuantizedActivation::for_weights`).
pub fn vec_dot(ty: GgmlType, row: &[u8], x: &QuantizedActivation) -> Result<f32, QuantError> {
    for_block_type!(ty, |B| {
        let w = cast_blocks::<B>(row)?;
        Ok(B::dot(w, activation_for::<B>(x, w.len().saturating_mul(B::ELEMENTS))?))
    })
}

fn dequantize_as<B: Kernels>(bytes: &[u8], out: &mut [f32]) -> Result<(), QuantError> {
    let w = cast_blocks::<B>(bytes)?;
    if !out.len().is_multiple_of(B::ELEMENTS) || out.len() / B::ELEMENTS != w.len() {
        return Err(QuantError::LengthMismatch { expected: w.len().saturating_mul(B::ELEMENTS), actual: out.len() });
    }
    B::dequantize(w, out);
    Ok(())
}

/// The blocks of `x` if it is in `B`'s activation format and has `elements` elements.
fn activation_for<B: Kernels>(x: &QuantizedActivation, elements: usize) -> Result<&[B::Act], QuantError> {
    let wrong = || QuantError::WrongActivation { weights: B::TYPE, expected: B::Act::FORMAT, actual: x.format() };
    let blocks = B::Act::view(x).ok_or_else(wrong)?;
    if x.len() != elements {
        return Err(QuantError::LengthMismatch { expected: elements, actual: x.len() });
    }
    Ok(blocks)
}

// ---- the dispatch table ---------------------------------------------------------------------

/// An activation block type: its format and how to find it in a `QuantizedActivation`.
pub(crate) trait ActBlock: Sized + Clone + 'static {
    const FORMAT: ActivationFormat;
    /// Whether blocks carry f16 scales (`d`, and `s` for Q8_1) that `scales` converts.
    const F16_SCALES: bool = false;
    fn view(x: &QuantizedActivation) -> Option<&[Self]>;
    /// The block's f16 scale `d` as f32, then Q8_1's scaled sum `s` as f32, or Q8_0's sum of
    /// quants (an integer, |Σ| <= 32 · 127: exact), 0 where absent.
    #[inline(always)]
    fn scales(&self) -> [f32; 2] {
        [0.0; 2]
    }
}

macro_rules! act_block {
    ($block:ty, $variant:ident) => {
        impl ActBlock for $block {
            const FORMAT: ActivationFormat = ActivationFormat::$variant;
            fn view(x: &QuantizedActivation) -> Option<&[Self]> {
                match x {
                    QuantizedActivation::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    };
    ($block:ty, $variant:ident, |$b:ident| $scales:expr) => {
        impl ActBlock for $block {
            const FORMAT: ActivationFormat = ActivationFormat::$variant;
            const F16_SCALES: bool = true;
            fn view(x: &QuantizedActivation) -> Option<&[Self]> {
                match x {
                    QuantizedActivation::$variant(v) => Some(v),
                    _ => None,
                }
            }
            #[inline(always)]
            fn scales(&self) -> [f32; 2] {
                let $b = self;
                $scales
            }
        }
    };
}

/// The sum of a Q8_0 block's quants as f32. Out of line: the kernels take it precomputed, and
/// inlined into their loops its code cost the prompt tiles a quarter of their speed.
#[inline(never)]
fn quant_sum(qs: &[i8; 32]) -> f32 {
    qs.iter().map(|&q| q as i32).sum::<i32>() as f32
}

act_block!(f32, F32);
act_block!(BlockQ8_0, Q8_0, |b| [f16_le(b.d), quant_sum(&b.qs)]);
act_block!(BlockQ8_1, Q8_1, |b| [f16_le(b.d), f16_le(b.s)]);
act_block!(BlockQ8K, Q8K);

/// A weight block type with its activation block and kernels. Callers guarantee matching
/// lengths: `x` has `w.len() * ELEMENTS` elements, `out` has `w.len() * ELEMENTS` floats.
pub(crate) trait Kernels: WeightBlock {
    type Act: ActBlock;
    fn dot(w: &[Self], x: &[Self::Act]) -> f32;
    fn dequantize(w: &[Self], out: &mut [f32]);
    /// `out[r][t] = dot(w[r], x[t])` for `R` rows and `N` activations, bit for bit; kernels with
    /// a tiled version unpack each weight block once for all `N` activations. `s[t]` holds the
    /// `ActBlock::scales` of `x[t]`'s blocks when `Act::F16_SCALES` (else it may be empty).
    #[inline]
    fn dot_tile<const R: usize, const N: usize>(
        w: [&[Self]; R],
        x: [&[Self::Act]; N],
        s: [&[[f32; 2]]; N],
    ) -> [[f32; N]; R] {
        let _ = s;
        w.map(|w| x.map(|x| Self::dot(w, x)))
    }
    /// The activation blocks as `dot_tile` and `dot_tile_interleaved` read them: `x` itself, or
    /// a rearranged copy made once per matmul (the SIMD Q4_K, Q5_K and Q6_K tiles read Q8_K
    /// quants in lane order: `simd128::q8_k_in_lane_order`).
    #[inline]
    fn tile_acts(x: &[Self::Act]) -> Cow<'_, [Self::Act]> {
        Cow::Borrowed(x)
    }
    /// Whether `dot_tile_interleaved` reads the interleaved order in place; where it does not (the
    /// scalar build, the types that do not interleave) it copies the rows out, and callers gather
    /// them once instead.
    const READS_INTERLEAVED: bool = false;
    /// `dot_tile` over rows `first .. first + R` of a group of four rows stored interleaved
    /// (`interleave`: `g[4 * i + r]` is block `i` of row `r`), bit for bit. `first + R <= 4`.
    #[inline]
    fn dot_tile_interleaved<const R: usize, const N: usize>(
        g: &[Self],
        first: usize,
        x: [&[Self::Act]; N],
        s: [&[[f32; 2]]; N],
    ) -> [[f32; N]; R] {
        let rows: [Vec<Self>; R] = std::array::from_fn(|r| g.iter().skip(first + r).step_by(interleave::GROUP_ROWS).copied().collect());
        Self::dot_tile(rows.each_ref().map(|r| r.as_slice()), x, s)
    }
}

macro_rules! kernels {
    ($block:ty, $act:ty, $dot:ident, $dequantize:ident) => {
        impl Kernels for $block {
            type Act = $act;
            #[inline]
            fn dot(w: &[Self], x: &[$act]) -> f32 {
                kernel::$dot(w, x)
            }
            #[inline]
            fn dequantize(w: &[Self], out: &mut [f32]) {
                kernel::$dequantize(w, out)
            }
        }
    };
    ($block:ty, $act:ty, $dot:ident, $dequantize:ident, $tile:ident, interleaved) => {
        #[cfg(all(target_family = "wasm", target_feature = "simd128"))]
        kernels!(@tiled $block, $act, $dot, $dequantize, $tile,
            const READS_INTERLEAVED: bool = true;
            #[inline]
            fn dot_tile_interleaved<const R: usize, const N: usize>(
                g: &[Self],
                first: usize,
                x: [&[$act]; N],
                s: [&[[f32; 2]]; N],
            ) -> [[f32; N]; R] {
                simd128::$tile(simd128::Interleaved { group: g.as_chunks().0, first }, x, s)
            }
        );
        #[cfg(not(all(target_family = "wasm", target_feature = "simd128")))]
        kernels!(@tiled $block, $act, $dot, $dequantize, $tile,);
    };
    ($block:ty, $act:ty, $dot:ident, $dequantize:ident, $tile:ident, lane_order) => {
        #[cfg(all(target_family = "wasm", target_feature = "simd128"))]
        kernels!(@tiled $block, $act, $dot, $dequantize, $tile,
            #[inline]
            fn tile_acts(x: &[$act]) -> Cow<'_, [$act]> {
                Cow::Owned(simd128::q8_k_in_lane_order(x))
            }
        );
        #[cfg(not(all(target_family = "wasm", target_feature = "simd128")))]
        kernels!(@tiled $block, $act, $dot, $dequantize, $tile,);
    };
    ($block:ty, $act:ty, $dot:ident, $dequantize:ident, $tile:ident) => {
        kernels!(@tiled $block, $act, $dot, $dequantize, $tile,);
    };
    (@tiled $block:ty, $act:ty, $dot:ident, $dequantize:ident, $tile:ident, $($extra:tt)*) => {
        impl Kernels for $block {
            type Act = $act;
            #[inline]
            fn dot(w: &[Self], x: &[$act]) -> f32 {
                kernel::$dot(w, x)
            }
            #[inline]
            fn dequantize(w: &[Self], out: &mut [f32]) {
                kernel::$dequantize(w, out)
            }
            #[inline]
            fn dot_tile<const R: usize, const N: usize>(
                w: [&[Self]; R],
                x: [&[$act]; N],
                s: [&[[f32; 2]]; N],
            ) -> [[f32; N]; R] {
                #[cfg(all(target_family = "wasm", target_feature = "simd128"))]
                return simd128::$tile(w, x, s);
                #[cfg(not(all(target_family = "wasm", target_feature = "simd128")))]
                let _ = s;
                #[cfg(not(all(target_family = "wasm", target_feature = "simd128")))]
                return w.map(|w| x.map(|x| Self::dot(w, x)));
            }
            $($extra)*
        }
    };
}

kernels!(BlockF32, f32, vec_dot_f32, dequantize_f32);
kernels!(BlockF16, f32, vec_dot_f16, dequantize_f16);
kernels!(BlockBF16, f32, vec_dot_bf16, dequantize_bf16);
kernels!(BlockQ4_0, BlockQ8_0, vec_dot_q4_0_q8_0, dequantize_q4_0, tile_q4_0_q8_0, interleaved);
kernels!(BlockQ4_1, BlockQ8_1, vec_dot_q4_1_q8_1, dequantize_q4_1, tile_q4_1_q8_1, interleaved);
kernels!(BlockQ5_0, BlockQ8_0, vec_dot_q5_0_q8_0, dequantize_q5_0, tile_q5_0_q8_0, interleaved);
kernels!(BlockQ5_1, BlockQ8_1, vec_dot_q5_1_q8_1, dequantize_q5_1, tile_q5_1_q8_1, interleaved);
kernels!(BlockQ8_0, BlockQ8_0, vec_dot_q8_0_q8_0, dequantize_q8_0, tile_q8_0_q8_0, interleaved);
kernels!(BlockQ2K, BlockQ8K, vec_dot_q2_k_q8_k, dequantize_q2_k);
kernels!(BlockQ3K, BlockQ8K, vec_dot_q3_k_q8_k, dequantize_q3_k);
kernels!(BlockQ4K, BlockQ8K, vec_dot_q4_k_q8_k, dequantize_q4_k, tile_q4_k_q8_k, lane_order);
kernels!(BlockQ5K, BlockQ8K, vec_dot_q5_k_q8_k, dequantize_q5_k, tile_q5_k_q8_k, lane_order);
kernels!(BlockQ6K, BlockQ8K, vec_dot_q6_k_q8_k, dequantize_q6_k, tile_q6_k_q8_k, lane_order);
kernels!(BlockIQ4NL, BlockQ8_0, vec_dot_iq4_nl_q8_0, dequantize_iq4_nl, tile_iq4_nl_q8_0, interleaved);
kernels!(BlockIQ4XS, BlockQ8K, vec_dot_iq4_xs_q8_k, dequantize_iq4_xs, tile_iq4_xs_q8_k);

/// Runs `$body` with `$B` bound to the block type of the runtime type `$ty`; types without
/// kernels give `Err(QuantError::Unsupported)`.
#[rustfmt::skip]
macro_rules! for_block_type {
    ($ty:expr, |$B:ident| $body:expr) => {{
        use $crate::gguf::GgmlType as T;
        use $crate::quant::blocks::*;
        match $ty {
            T::F32 => { type $B = BlockF32; $body }
            T::F16 => { type $B = BlockF16; $body }
            T::BF16 => { type $B = BlockBF16; $body }
            T::Q4_0 => { type $B = BlockQ4_0; $body }
            T::Q4_1 => { type $B = BlockQ4_1; $body }
            T::Q5_0 => { type $B = BlockQ5_0; $body }
            T::Q5_1 => { type $B = BlockQ5_1; $body }
            T::Q8_0 => { type $B = BlockQ8_0; $body }
            T::Q2_K => { type $B = BlockQ2K; $body }
            T::Q3_K => { type $B = BlockQ3K; $body }
            T::Q4_K => { type $B = BlockQ4K; $body }
            T::Q5_K => { type $B = BlockQ5K; $body }
            T::Q6_K => { type $B = BlockQ6K; $body }
            T::IQ4_NL => { type $B = BlockIQ4NL; $body }
            T::IQ4_XS => { type $B = BlockIQ4XS; $body }
            other => Err($crate::quant::QuantError::Unsupported(other)),
        }
    }};
}
pub(crate) use for_block_type;
