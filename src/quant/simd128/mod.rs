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

mod attention;
mod dequant;
mod dot;
mod pointwise;
mod unpack;
#[cfg(test)]
mod tests;

pub use attention::*;
pub use dequant::*;
pub use dot::*;
pub use pointwise::*;

// Kernels with no SIMD version here: the scalar reference.
pub use super::scalar::{dequantize_q2_k, dequantize_q3_k};

/// 16 bytes of plain data (no padding, every bit pattern valid) that fill one v128.
pub(crate) trait Lanes: Copy {}
impl Lanes for [u8; 16] {}
impl Lanes for [i8; 16] {}
impl Lanes for [f32; 4] {}
impl Lanes for [u16; 8] {}
impl Lanes for [i16; 8] {}
impl Lanes for [f64; 2] {}

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

/// Stores 16 bytes.
#[inline(always)]
pub(crate) fn store<T: Lanes>(out: &mut T, v: v128) {
    const { assert!(size_of::<T>() == 16) };
    // SAFETY: `out` is a live exclusive reference to 16 bytes of plain data (every bit pattern
    // valid); `v128_store` has no alignment requirement.
    unsafe { v128_store((out as *mut T).cast::<v128>(), v) }
}

// ---- integer products: SIMD128, or relaxed SIMD's 8-bit dot products ---------------------------
//
// With `+relaxed-simd` (the relaxed builds), the products of 8-bit weights and activations take
// `i16x8.relaxed_dot_i8x16_i7x16` / `i32x4.relaxed_dot_i8x16_i7x16_add`: one instruction (x86
// `pmaddubsw`, or VNNI `vpdpbusd`; ARM `sdot`) where SIMD128 needs a chain of widening
// multiplies. Their result is only the same on every engine when the second operand is in
// 0..=127 (a 7-bit value: no engine's saturation or sign treatment can then differ), so the
// weights go there unsigned (raw quants), and a centred type's offset is taken off afterwards
// with the activation sums: Σ (u - c)·y = Σ u·y - c·Σ y, all exact integers. Each function below
// has a SIMD128 twin with the same contract, so one kernel source gives the same integers, hence
// the same floats, in both builds (tests.rs checks each build against the scalar kernels).
// Relaxed: Q4_0, Q4_1, Q5_0, Q5_1 (`unsigned32`; the centred types' offsets come off with the
// activation sums, `dot::Centre`), Q4_K, Q5_K and Q6_K (`lanes8_scaled`: weights and activations
// in lane order, so that each pair the dot product adds belongs to one of the scalar kernels'
// eight lanes and one 16-element group; Q6_K's centre comes off the pairs).
// SIMD128 in both builds: Q8_0 and the IQ4 grids (signed weights: |-128| is not 7-bit), and the
// 16-element groups of Q2_K and Q3_K.

/// 32 quants of a sub-block in element order (`a`: 0..16, `b`: 16..32) put in lane order, the
/// order the k-quant tiles read both weights and activations in, as two vectors: bytes 4 k ..
/// 4 k + 4 of the first are elements k, k + 8, k + 16 and k + 24, the four elements of the scalar
/// kernels' float lane k (k < 4), and those of the second the same for lane 4 + k. An 8-bit dot
/// product over adjacent pairs then never mixes two lanes, nor a 16-bit one over the pairs it
/// makes. Built from shuffles V8 lowers to single x86 instructions (`pshufd`, `punpcklbw`,
/// `punpcklwd` / `punpckhwd`): an arbitrary byte shuffle of two vectors costs it several, and
/// with two of those per 32 bytes the Q4_K tiles ran at 13.1 GMAC/s instead of 16.1 (one
/// activation, from the cache, 2026-12-04).
#[inline(always)]
pub(crate) fn in_lane_order(a: v128, b: v128) -> [v128; 2] {
    // Each vector's elements j and j + 8 side by side, then the two vectors' pairs alternating.
    let pairs = |v: v128| i8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(v, i64x2_shuffle::<1, 1>(v, v));
    let (x, y) = (pairs(a), pairs(b));
    [i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(x, y), i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(x, y)]
}

/// `v`'s i16 lanes 2 k and 2 k + 1 (k < 4: the first and second scales of a sub-block) laid out
/// as `lanes8_scaled` takes them: one shuffle with constant lanes.
#[inline(always)]
pub(crate) fn lane_scales(v: v128, k: usize) -> v128 {
    // Relaxed: one scale per adjacent pair of bytes (i16 lanes first, second, first, ...).
    #[cfg(target_feature = "relaxed-simd")]
    return match k {
        0 => i32x4_shuffle::<0, 0, 0, 0>(v, v),
        1 => i32x4_shuffle::<1, 1, 1, 1>(v, v),
        2 => i32x4_shuffle::<2, 2, 2, 2>(v, v),
        _ => i32x4_shuffle::<3, 3, 3, 3>(v, v),
    };
    // SIMD128: one per byte (i16 lanes first, first, second, second, ...).
    #[cfg(not(target_feature = "relaxed-simd"))]
    match k {
        0 => i16x8_shuffle::<0, 0, 1, 1, 0, 0, 1, 1>(v, v),
        1 => i16x8_shuffle::<2, 2, 3, 3, 2, 2, 3, 3>(v, v),
        2 => i16x8_shuffle::<4, 4, 5, 5, 4, 4, 5, 5>(v, v),
        _ => i16x8_shuffle::<6, 6, 7, 7, 6, 6, 7, 7>(v, v),
    }
}

/// The scalar kernels' eight i32 lanes (0..4, 4..8) for the 32 weights `q` of a sub-block and
/// 32 activation quants `y`, both in lane order (`in_lane_order`), less `centre` from each
/// weight, weighted by the sub-block's first scale (elements k, k + 8: its first 16-element
/// group) and second (k + 16, k + 24) as `lane_scales` lays them out: lane k = Σ_m scale · (q[k + 8 m] - centre) ·
/// y[k + 8 m]; `centre` is a constant at every call. Weights are raw quants in 0..64 (the relaxed dot product's 7-bit operand).
/// Exact: a pair's sum is within 2 · 64 · 128 = 2^14 and the scaled sums within 2^22. The
/// relaxed version is two instructions per half (x86 `pmaddubsw`, `pmaddwd`), and one more with
/// a centre (the activation pairs' sums times it, off before the scales).
#[inline(always)]
pub(crate) fn lanes8_scaled(q: [v128; 2], y: [v128; 2], scales: v128, centre: i8) -> [v128; 2] {
    #[cfg(target_feature = "relaxed-simd")]
    return [0, 1].map(|h| {
        let mut pairs = i16x8_relaxed_dot_i8x16_i7x16(y[h], q[h]);
        if centre != 0 {
            pairs = i16x8_sub(pairs, i16x8_relaxed_dot_i8x16_i7x16(y[h], i8x16_splat(centre)));
        }
        i32x4_dot_i16x8(pairs, scales)
    });
    #[cfg(not(target_feature = "relaxed-simd"))]
    [0, 1].map(|h| {
        let q = i8x16_sub(q[h], i8x16_splat(centre));
        // Bytes 0..8 and 8..16 weighted and summed in pairs: lanes 2 k and 2 k + 1 of the two
        // results hold lane k's halves.
        let lo = i32x4_dot_i16x8(i16x8_extmul_low_i8x16(y[h], q), scales);
        let hi = i32x4_dot_i16x8(i16x8_extmul_high_i8x16(y[h], q), scales);
        i32x4_add(i32x4_shuffle::<0, 2, 4, 6>(lo, hi), i32x4_shuffle::<1, 3, 5, 7>(lo, hi))
    })
}

/// The i32x4 sums (in no particular lane order) of 32 weights in 0..32 (`lo`: elements 0..16,
/// `hi`: 16..32) times 32 activation quants. (The SIMD128 version also takes -32 < w < 32.)
#[inline(always)]
pub(crate) fn unsigned32(lo: v128, hi: v128, y: &[i8; 32]) -> v128 {
    let (y0, y1) = halves(y);
    #[cfg(target_feature = "relaxed-simd")]
    return i32x4_relaxed_dot_i8x16_i7x16_add(y1, hi, i32x4_relaxed_dot_i8x16_i7x16_add(y0, lo, i32x4_splat(0)));
    // Four products per i16 lane stay within 31 · 128 · 4 < 2^15.
    #[cfg(not(target_feature = "relaxed-simd"))]
    i32x4_extadd_pairwise_i16x8(i16x8_add(mul_i8_i16(lo, y0), mul_i8_i16(hi, y1)))
}

/// Lane-wise `a[k] * b[k] + a[k + 8] * b[k + 8]` as i16, for 16 i8 pairs. Exact when
/// `|a| <= 64` (|b| <= 128): two products stay within 2^14.
#[inline(always)]
pub(crate) fn mul_i8_i16(a: v128, b: v128) -> v128 {
    i16x8_add(i16x8_extmul_low_i8x16(a, b), i16x8_extmul_high_i8x16(a, b))
}

/// Lane-wise sums of four products each, as i32, for 16 arbitrary i8 pairs (exact). The
/// relaxed build's `full32` needs none.
#[cfg(not(target_feature = "relaxed-simd"))]
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
