//! WebAssembly SIMD128 kernels: the same symbols as `scalar`, with the scalar reference as the
//! fallback where there is no SIMD version (Q2_K and Q3_K dequantization, used only for
//! embedding lookups).
//!
//! The integer parts are exact, as in the scalar kernels: 8-bit products are widened to i16
//! (`extmul`), pairs summed (`extadd_pairwise`) or weighted by a sub-block scale (`i32x4.dot`).
//! The float steps after them are the scalar kernels' expressions in the scalar kernels' order
//! (one running sum per block, or llama.cpp's eight lanes for Q3_K..Q6_K), so every quantized dot
//! product and every dequantization equals the scalar result bit for bit; the plain F32 / F16 /
//! BF16 dot products are the scalar ones (llama.cpp sums them in f64, in order). The only
//! `unsafe` code is `load` / `store`.

#[cfg(target_arch = "wasm32")]
use core::arch::wasm32::*;
#[cfg(target_arch = "wasm64")]
use core::arch::wasm64::*;

mod dequant;
mod dot;
mod unpack;
#[cfg(test)]
mod tests;

pub use dequant::*;
pub use dot::*;

// Kernels with no SIMD version here: the scalar reference.
pub use super::scalar::{dequantize_q2_k, dequantize_q3_k};

/// 16 bytes of plain data (no padding, every bit pattern valid) that fill one v128.
pub(crate) trait Lanes: Copy {}
impl Lanes for [u8; 16] {}
impl Lanes for [i8; 16] {}
impl Lanes for [f32; 4] {}

/// Loads 16 bytes.
#[inline(always)]
pub(crate) fn load<T: Lanes>(v: &T) -> v128 {
    const { assert!(size_of::<T>() == 16) };
    // SAFETY: `v` is a live reference to 16 bytes of plain data (size asserted above, `Lanes`
    // types have no padding); `v128_load` has no alignment requirement.
    unsafe { v128_load((v as *const T).cast::<v128>()) }
}

/// Loads 32 bytes as two vectors.
#[inline(always)]
pub(crate) fn load32(b: &[u8; 32]) -> [v128; 2] {
    let c = b.as_chunks::<16>().0;
    [load(&c[0]), load(&c[1])]
}

/// Stores four floats.
#[inline(always)]
pub(crate) fn store(out: &mut [f32; 4], v: v128) {
    // SAFETY: `out` is a live exclusive reference to 16 bytes; `v128_store` has no alignment
    // requirement.
    unsafe { v128_store(out.as_mut_ptr().cast::<v128>(), v) }
}

/// Lane-wise `a[k] * b[k] + a[k + 8] * b[k + 8]` as i16, for 16 i8 pairs. Exact when
/// `|a| <= 64` (|b| <= 128): two products stay within 2^14.
#[inline(always)]
pub(crate) fn mul_i8_i16(a: v128, b: v128) -> v128 {
    i16x8_add(i16x8_extmul_low_i8x16(a, b), i16x8_extmul_high_i8x16(a, b))
}

/// Lane-wise sums of four products each, as i32, for 16 arbitrary i8 pairs (exact).
#[inline(always)]
pub(crate) fn dot_i8_i32(a: v128, b: v128) -> v128 {
    let lo = i32x4_extadd_pairwise_i16x8(i16x8_extmul_low_i8x16(a, b));
    i32x4_add(lo, i32x4_extadd_pairwise_i16x8(i16x8_extmul_high_i8x16(a, b)))
}

/// The sum of the four i32 lanes.
#[inline(always)]
pub(crate) fn hsum_i32(v: v128) -> i32 {
    let v = i32x4_add(v, i32x4_shuffle::<2, 3, 0, 1>(v, v));
    let v = i32x4_add(v, i32x4_shuffle::<1, 0, 3, 2>(v, v));
    i32x4_extract_lane::<0>(v)
}

/// The low and high 16 quants of a 32-byte array.
#[inline(always)]
pub(crate) fn halves(qs: &[i8; 32]) -> (v128, v128) {
    let c = qs.as_chunks::<16>().0;
    (load(&c[0]), load(&c[1]))
}

/// Converts 16 i8 lanes to f32, maps each group of four through `f`, stores the 16 floats.
#[inline(always)]
pub(crate) fn emit16(out: &mut [f32; 16], q: v128, f: impl Fn(v128) -> v128) {
    let (lo, hi) = (i16x8_extend_low_i8x16(q), i16x8_extend_high_i8x16(q));
    let parts = [
        i32x4_extend_low_i16x8(lo),
        i32x4_extend_high_i16x8(lo),
        i32x4_extend_low_i16x8(hi),
        i32x4_extend_high_i16x8(hi),
    ];
    for (o, p) in out.as_chunks_mut::<4>().0.iter_mut().zip(parts) {
        store(o, f(f32x4_convert_i32x4(p)));
    }
}
