//! Reference dot products of one weight row with a quantized activation, as llama.cpp's
//! `ggml_vec_dot_<type>_q8_<x>`: exact integer sums per block (per super-block for the
//! k-quants, already weighted by the sub-block scales), then one float step per block:
//! `sumi * (dw * dx)` for the 32-element types (plus `m * s` for Q4_1 / Q5_1) and
//! `dx * dw * sumi - dx * dmin * summins` for the k-quants. Callers pass as many activation
//! blocks as weight blocks (checked once by the dispatcher).

use super::dequant::{q5_values, q6_value};
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
    q5_values(qh, qs).map(|q| q as i32 - centre)
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

// ---- k-quants against Q8_K ------------------------------------------------------------------

/// Σ over the sixteen 16-element groups of `scale[g] * Σ q[e] * x[e]`, exact; `q(e)` gives the
/// integer quant of element `e`.
#[inline(always)]
fn scaled_sum16(x: &BlockQ8K, scales: impl Fn(usize) -> i32, q: impl Fn(usize) -> i32) -> i32 {
    let mut isum = 0i32;
    for (g, xs) in x.qs.as_chunks::<16>().0.iter().enumerate() {
        let s: i32 = xs.iter().enumerate().map(|(l, &v)| q(16 * g + l) * v as i32).sum();
        isum += scales(g) * s;
    }
    isum
}

/// The 2-bit quant of element `e` in the Q2_K / Q3_K layout.
#[inline(always)]
fn q2_at(qs: &[u8; QK_K / 4], e: usize) -> i32 {
    ((qs[32 * (e / 128) + e % 32] >> (2 * ((e / 32) % 4))) & 3) as i32
}

/// Q2_K weights · Q8_K activation.
pub fn vec_dot_q2_k_q8_k(w: &[BlockQ2K], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let summs: i32 = (0..16).map(|g| (b.scales[g] >> 4) as i32 * a.bsums[g] as i32).sum();
        let isum = scaled_sum16(a, |g| (b.scales[g] & 0x0F) as i32, |e| q2_at(&b.qs, e));
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
        let q = |e: usize| q2_at(&b.qs, e) - if (b.hmask[e % 32] >> (e / 32)) & 1 == 0 { 4 } else { 0 };
        let isum = scaled_sum16(a, |g| scales[g] as i32, q);
        sum += f16_le(b.d) * a.d * isum as f32;
    }
    sum
}

/// Σ over the eight 32-element sub-blocks of `sc[s] * Σ q[e] * x[e]`, and Σ `mn[s]` times the
/// sub-block's activation sum (from `bsums`), both exact.
#[inline(always)]
fn k4_sums(x: &BlockQ8K, sc: [u8; 8], mn: [u8; 8], q: impl Fn(usize) -> i32) -> (i32, i32) {
    let mut isum = 0i32;
    for (s, xs) in x.qs.as_chunks::<32>().0.iter().enumerate() {
        let dot: i32 = xs.iter().enumerate().map(|(l, &v)| q(32 * s + l) * v as i32).sum();
        isum += sc[s] as i32 * dot;
    }
    let mins = (0..8).map(|s| mn[s] as i32 * (x.bsums[2 * s] as i32 + x.bsums[2 * s + 1] as i32));
    (isum, mins.sum())
}

/// The 4-bit quant of element `e` in the Q4_K / Q5_K layout.
#[inline(always)]
fn q4k_at(qs: &[u8; QK_K / 2], e: usize) -> i32 {
    let byte = qs[32 * (e / 64) + e % 32];
    (if (e / 32).is_multiple_of(2) { byte & 0x0F } else { byte >> 4 }) as i32
}

/// Q4_K weights · Q8_K activation.
pub fn vec_dot_q4_k_q8_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let (sc, mn) = b.scales_mins();
        let (isum, summs) = k4_sums(a, sc, mn, |e| q4k_at(&b.qs, e));
        let (d, dmin) = (a.d * f16_le(b.d), a.d * f16_le(b.dmin));
        sum += d * isum as f32 - dmin * summs as f32;
    }
    sum
}

/// Q5_K weights · Q8_K activation.
pub fn vec_dot_q5_k_q8_k(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let (sc, mn) = b.scales_mins();
        let q = |e: usize| q4k_at(&b.qs, e) | ((((b.qh[e % 32] >> (e / 32)) & 1) as i32) << 4);
        let (isum, summs) = k4_sums(a, sc, mn, q);
        let (d, dmin) = (a.d * f16_le(b.d), a.d * f16_le(b.dmin));
        sum += d * isum as f32 - dmin * summs as f32;
    }
    sum
}

/// Q6_K weights · Q8_K activation.
pub fn vec_dot_q6_k_q8_k(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let isum = scaled_sum16(a, |g| b.scales[g] as i32, |e| q6_value(b, e) as i32 - 32);
        sum += f16_le(b.d) * a.d * isum as f32;
    }
    sum
}
