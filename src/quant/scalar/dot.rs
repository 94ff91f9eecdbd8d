//! Reference dot products of one weight row with a quantized activation, as llama.cpp's
//! `ggml_vec_dot_<type>_q8_<x>`: exact integer sums per block (per super-block for the
//! k-quants, already weighted by the sub-block scales), then one float step per block:
//! `sumi * (dw * dx)` for the 32-element types (plus `m * s` for Q4_1 / Q5_1) and
//! `dx * dw * sumi - dx * dmin * summins` for the k-quants. Callers pass as many activation
//! blocks as weight blocks (checked once by the dispatcher).

use super::unpack;
use crate::quant::blocks::*;

// ---- plain types against f32 activations ----------------------------------------------------

/// F32 weights · f32 activation.
pub fn vec_dot_f32(w: &[BlockF32], x: &[f32]) -> f32 {
    w.iter().zip(x).map(|(b, &x)| b.get() * x).fold(0.0, |s, p| s + p)
}

/// F16 weights · f32 activation.
pub fn vec_dot_f16(w: &[BlockF16], x: &[f32]) -> f32 {
    w.iter().zip(x).map(|(b, &x)| b.get() * x).fold(0.0, |s, p| s + p)
}

/// BF16 weights · f32 activation.
pub fn vec_dot_bf16(w: &[BlockBF16], x: &[f32]) -> f32 {
    w.iter().zip(x).map(|(b, &x)| b.get() * x).fold(0.0, |s, p| s + p)
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
        sum += sumi as f32 * (f16_le(b.d) * f16_le(a.d));
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

/// Σ over the `G`-element groups of `scale(g) * Σ q[e] * x[e]`, exact.
#[inline(always)]
fn scaled_dot<const G: usize>(q: &[i8; QK_K], x: &[i8; QK_K], scale: impl Fn(usize) -> i32) -> i32 {
    let groups = q.as_chunks::<G>().0.iter().zip(x.as_chunks::<G>().0);
    groups
        .enumerate()
        .map(|(g, (q, x))| scale(g) * q.iter().zip(x).map(|(&q, &x)| q as i32 * x as i32).sum::<i32>())
        .sum()
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
        let isum = scaled_dot::<16>(&unpack::q2k(&b.qs), &a.qs, |g| (b.scales[g] & 0x0F) as i32);
        let (d, dmin) = (a.d * f16_le(b.d), a.d * f16_le(b.dmin));
        sum += d * isum as f32 - dmin * summs as f32;
    }
    sum
}

/// Q3_K weights · Q8_K activation.
pub fn vec_dot_q3_k_q8_k(w: &[BlockQ3K], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let scales = b.scales_i8();
        let isum = scaled_dot::<16>(&unpack::q3k(b), &a.qs, |g| scales[g] as i32);
        sum += f16_le(b.d) * a.d * isum as f32;
    }
    sum
}

/// Q4_K weights · Q8_K activation.
pub fn vec_dot_q4_k_q8_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let (sc, mn) = b.scales_mins();
        let isum = scaled_dot::<32>(&unpack::q4k(&b.qs), &a.qs, |s| sc[s] as i32);
        let (d, dmin) = (a.d * f16_le(b.d), a.d * f16_le(b.dmin));
        sum += d * isum as f32 - dmin * mins_sum(mn, &a.bsums) as f32;
    }
    sum
}

/// Q5_K weights · Q8_K activation.
pub fn vec_dot_q5_k_q8_k(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let (sc, mn) = b.scales_mins();
        let isum = scaled_dot::<32>(&unpack::q5k(b), &a.qs, |s| sc[s] as i32);
        let (d, dmin) = (a.d * f16_le(b.d), a.d * f16_le(b.dmin));
        sum += d * isum as f32 - dmin * mins_sum(mn, &a.bsums) as f32;
    }
    sum
}

/// Q6_K weights · Q8_K activation.
pub fn vec_dot_q6_k_q8_k(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let isum = scaled_dot::<16>(&unpack::q6k(b), &a.qs, |g| b.scales[g] as i32);
        sum += f16_le(b.d) * a.d * isum as f32;
    }
    sum
}

/// IQ4_XS weights · Q8_K activation. The sub-block scales (sc - 32) weight exact integer sums
/// (|Σ| <= 256 · 127 · 127 · 32 < 2^31), so each super-block takes one float step, as the
/// k-quants do; llama.cpp's generic kernel instead adds one float term per 32 elements, which
/// differs from this only by rounding.
pub fn vec_dot_iq4_xs_q8_k(w: &[BlockIQ4XS], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let scales = b.scales_i8();
        let isum = scaled_dot::<QK>(&unpack::iq4xs(&b.qs), &a.qs, |s| scales[s] as i32);
        sum += f16_le(b.d) * a.d * isum as f32;
    }
    sum
}
