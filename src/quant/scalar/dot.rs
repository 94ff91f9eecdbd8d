//! Reference dot products of one weight row with a quantized activation, rounding as the
//! generic C kernels of llama.cpp (`ggml_vec_dot_<type>_q8_<x>_generic`, the ones a portable
//! x86-64 build runs) do, step for step:
//!
//! * 32-element types: an exact integer sum per block, then one f32 step per block into one
//!   running sum: `sumi * (dw * dx)` (Q5_0, Q8_0, IQ4_NL), `(sumi * dw) * dx` (Q4_0), plus
//!   `mw * sx` (Q4_1, Q5_1).
//! * Q3_K, Q4_K, Q5_K, Q6_K: eight float lanes. Lane `l` gets, per super-block, `d * isum_l`
//!   where `isum_l` is the exact scale-weighted integer sum of the elements `e` with
//!   `e % 8 == l`; Q4_K / Q5_K subtract `dmin * Σ mins · bsums` from a separate running sum,
//!   and the lanes are added to it in order at the end (`lanes`).
//! * Q2_K: one float step per super-block, `d * isum - dmin * summins`.
//! * IQ4_XS: one float step per 32-element sub-block, `(d * (sc - 32)) * sumi`.
//!
//! Callers pass as many activation blocks as weight blocks (checked once by the dispatcher).

use super::unpack;
use crate::quant::blocks::*;

// ---- plain types against f32 activations ----------------------------------------------------
//
// As ggml's scalar `ggml_vec_dot_f32` / `_f16` / `_bf16`: the activation rounded to the weight's
// type (ggml converts it to the matrix's `vec_dot_type`; F32 stays as it is), each product in f32
// (exact for F16 and BF16 pairs), the products summed in f64 in order, the sum rounded to f32.

/// F32 weights · f32 activation.
pub fn vec_dot_f32(w: &[BlockF32], x: &[f32]) -> f32 {
    sum_f64(w.iter().zip(x).map(|(b, &x)| b.get() * x))
}

/// F16 weights · f32 activation (rounded to f16 first).
pub fn vec_dot_f16(w: &[BlockF16], x: &[f32]) -> f32 {
    sum_f64(w.iter().zip(x).map(|(b, &x)| b.get() * f16_le(f16_bytes(x))))
}

/// BF16 weights · f32 activation (rounded to bf16 first).
pub fn vec_dot_bf16(w: &[BlockBF16], x: &[f32]) -> f32 {
    sum_f64(w.iter().zip(x).map(|(b, &x)| b.get() * round_bf16(x)))
}

/// Σ products in f64, in order, rounded to f32.
#[inline(always)]
fn sum_f64(products: impl Iterator<Item = f32>) -> f32 {
    products.fold(0.0f64, |s, p| s + f64::from(p)) as f32
}

/// `x` rounded to bf16 as ggml's `GGML_FP32_TO_BF16` does (to nearest, ties to even; NaNs
/// quieted), as f32.
#[inline(always)]
pub(crate) fn round_bf16(x: f32) -> f32 {
    let u = x.to_bits();
    let h = if u & 0x7FFF_FFFF > 0x7F80_0000 { (u >> 16) | 64 } else { u.wrapping_add(0x7FFF + ((u >> 16) & 1)) >> 16 };
    f32::from_bits(h << 16)
}

// ---- 32-element blocks ----------------------------------------------------------------------

/// Σ a[j] * b[j] over 32 pairs, exact.
#[inline(always)]
fn dot32(a: &[i32; QK], b: &[i8; QK]) -> i32 {
    a.iter().zip(b).map(|(&a, &b)| a * b as i32).sum()
}

/// The 32 quants of a 4-bit block (low nibbles, then high nibbles), minus `centre`.
#[inline(always)]
fn nibbles(qs: &[u8; QK / 2], centre: i32) -> [i32; QK] {
    let mut q = [0i32; QK];
    for (j, &byte) in qs.iter().enumerate() {
        q[j] = (byte & 0x0F) as i32 - centre;
        q[j + QK / 2] = (byte >> 4) as i32 - centre;
    }
    q
}

/// The 32 quants of a 5-bit block, minus `centre`.
#[inline(always)]
fn fives(qh: [u8; 4], qs: &[u8; QK / 2], centre: i32) -> [i32; QK] {
    unpack::q5(qh, qs).map(|q| q as i32 - centre)
}

/// Q4_0 weights · Q8_0 activation.
pub fn vec_dot_q4_0_q8_0(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let sumi = dot32(&nibbles(&b.qs, 8), &a.qs);
        sum += (sumi as f32 * f16_le(b.d)) * f16_le(a.d);
    }
    sum
}

/// Q4_1 weights · Q8_1 activation.
pub fn vec_dot_q4_1_q8_1(w: &[BlockQ4_1], x: &[BlockQ8_1]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let sumi = dot32(&nibbles(&b.qs, 0), &a.qs);
        sum += sumi as f32 * (f16_le(b.d) * f16_le(a.d)) + f16_le(b.m) * f16_le(a.s);
    }
    sum
}

/// Q5_0 weights · Q8_0 activation.
pub fn vec_dot_q5_0_q8_0(w: &[BlockQ5_0], x: &[BlockQ8_0]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let sumi = dot32(&fives(b.qh, &b.qs, 16), &a.qs);
        sum += sumi as f32 * (f16_le(b.d) * f16_le(a.d));
    }
    sum
}

/// Q5_1 weights · Q8_1 activation.
pub fn vec_dot_q5_1_q8_1(w: &[BlockQ5_1], x: &[BlockQ8_1]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let sumi = dot32(&fives(b.qh, &b.qs, 0), &a.qs);
        sum += sumi as f32 * (f16_le(b.d) * f16_le(a.d)) + f16_le(b.m) * f16_le(a.s);
    }
    sum
}

/// Q8_0 weights · Q8_0 activation.
pub fn vec_dot_q8_0_q8_0(w: &[BlockQ8_0], x: &[BlockQ8_0]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let sumi = dot32(&b.qs.map(i32::from), &a.qs);
        sum += sumi as f32 * (f16_le(b.d) * f16_le(a.d));
    }
    sum
}

/// IQ4_NL weights · Q8_0 activation (llama.cpp pairs them so: same 32-element blocks).
pub fn vec_dot_iq4_nl_q8_0(w: &[BlockIQ4NL], x: &[BlockQ8_0]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let sumi = dot32(&unpack::iq4nl(&b.qs).map(i32::from), &a.qs);
        sum += sumi as f32 * (f16_le(b.d) * f16_le(a.d));
    }
    sum
}

// ---- k-quants against Q8_K ------------------------------------------------------------------

/// The eight lanes of a k-quant dot product: lane `l` holds, over the super-blocks so far,
/// `Σ d · isum_l` in f32, and `rest` the running sum the lanes are added to at the end.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LaneSums {
    pub lanes: [f32; 8],
    pub rest: f32,
}

impl LaneSums {
    /// lanes[l] += d * isums[l].
    #[inline(always)]
    pub fn add(&mut self, d: f32, isums: [i32; 8]) {
        for (lane, &i) in self.lanes.iter_mut().zip(&isums) {
            *lane += d * i as f32;
        }
    }

    /// rest, plus lane 0, plus lane 1, ... in that order.
    #[inline(always)]
    pub fn total(self) -> f32 {
        self.lanes.iter().fold(self.rest, |s, &l| s + l)
    }
}

/// Per lane `l`, Σ over the elements `e ≡ l (mod 8)` of `scale(e / G) * q[e] * x[e]`, exact.
#[inline(always)]
fn lane_isums<const G: usize>(q: &[i8; QK_K], x: &[i8; QK_K], scale: impl Fn(usize) -> i32) -> [i32; 8] {
    let mut lanes = [0i32; 8];
    let groups = q.as_chunks::<G>().0.iter().zip(x.as_chunks::<G>().0);
    for (g, (q, x)) in groups.enumerate() {
        let s = scale(g);
        for (q, x) in q.as_chunks::<8>().0.iter().zip(x.as_chunks::<8>().0) {
            for l in 0..8 {
                lanes[l] += s * (q[l] as i32 * x[l] as i32);
            }
        }
    }
    lanes
}

/// Σ mn[s] * (bsums[2 s] + bsums[2 s + 1]): each 32-element sub-block's activation sum times its
/// min, exact.
#[inline(always)]
fn mins_sum(mn: [u8; 8], bsums: &[i16; QK_K / 16]) -> i32 {
    (0..8).map(|s| mn[s] as i32 * (bsums[2 * s] as i32 + bsums[2 * s + 1] as i32)).sum()
}

/// Q2_K weights · Q8_K activation.
pub fn vec_dot_q2_k_q8_k(w: &[BlockQ2K], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let summs: i32 = (0..16).map(|g| (b.scales[g] >> 4) as i32 * a.bsums[g] as i32).sum();
        let q = unpack::q2k(&b.qs);
        let isum: i32 = lane_isums::<16>(&q, &a.qs, |g| (b.scales[g] & 0x0F) as i32).iter().sum();
        let (d, dmin) = (a.d * f16_le(b.d), a.d * f16_le(b.dmin));
        sum += d * isum as f32 - dmin * summs as f32;
    }
    sum
}

/// Q3_K weights · Q8_K activation.
pub fn vec_dot_q3_k_q8_k(w: &[BlockQ3K], x: &[BlockQ8K]) -> f32 {
    let mut acc = LaneSums::default();
    for (b, a) in w.iter().zip(x) {
        let scales = b.scales_i8();
        acc.add(f16_le(b.d) * a.d, lane_isums::<16>(&unpack::q3k(b), &a.qs, |g| scales[g] as i32));
    }
    acc.total()
}

/// Q4_K weights · Q8_K activation.
pub fn vec_dot_q4_k_q8_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    let mut acc = LaneSums::default();
    for (b, a) in w.iter().zip(x) {
        let (sc, mn) = b.scales_mins();
        acc.add(f16_le(b.d) * a.d, lane_isums::<32>(&unpack::q4k(&b.qs), &a.qs, |s| sc[s] as i32));
        acc.rest -= f16_le(b.dmin) * a.d * mins_sum(mn, &a.bsums) as f32;
    }
    acc.total()
}

/// Q5_K weights · Q8_K activation.
pub fn vec_dot_q5_k_q8_k(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    let mut acc = LaneSums::default();
    for (b, a) in w.iter().zip(x) {
        let (sc, mn) = b.scales_mins();
        acc.add(f16_le(b.d) * a.d, lane_isums::<32>(&unpack::q5k(b), &a.qs, |s| sc[s] as i32));
        acc.rest -= f16_le(b.dmin) * a.d * mins_sum(mn, &a.bsums) as f32;
    }
    acc.total()
}

/// Q6_K weights · Q8_K activation.
pub fn vec_dot_q6_k_q8_k(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    let mut acc = LaneSums::default();
    for (b, a) in w.iter().zip(x) {
        acc.add(f16_le(b.d) * a.d, lane_isums::<16>(&unpack::q6k(b), &a.qs, |g| b.scales[g] as i32));
    }
    acc.total()
}

/// IQ4_XS weights · Q8_K activation: per 32-element sub-block an exact integer sum times
/// `d * (sc - 32)`, added to one running sum.
pub fn vec_dot_iq4_xs_q8_k(w: &[BlockIQ4XS], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let d = f16_le(b.d) * a.d;
        let (scales, q) = (b.scales_i8(), unpack::iq4xs(&b.qs));
        for ((s, q), x) in scales.iter().zip(q.as_chunks::<QK>().0).zip(a.qs.as_chunks::<QK>().0) {
            let sumi = dot32(&q.map(i32::from), x);
            sum += (d * *s as f32) * sumi as f32;
        }
    }
    sum
}
