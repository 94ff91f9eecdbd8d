//! SIMD128 dot products. The k-quant kernels compute the scalar reference's exact integer sums
//! and then the same float expression, so they equal it bit for bit; the others accumulate f32
//! per lane (see the module notes).

#[cfg(target_arch = "wasm32")]
use core::arch::wasm32::*;
#[cfg(target_arch = "wasm64")]
use core::arch::wasm64::*;

use super::dequant::{f16x4_to_f32, q6_groups};
use super::{dot_i8_i32, fifth_bits, halves, hsum_f32, hsum_i32, load, load32, mul_i8_i16, nibbles};
use crate::quant::blocks::*;
use crate::quant::scalar;

// ---- plain types against f32 activations ----------------------------------------------------

/// Dot product of `n` weights, eight at a time through `widen` (16 weight bytes -> two f32x4),
/// with two accumulators; the remainder by `tail`.
#[inline(always)]
fn dot_plain8<B: WeightBlock>(
    w: &[B],
    x: &[f32],
    widen: impl Fn(&[u8; 16]) -> (v128, v128),
    tail: impl Fn(&[B], &[f32]) -> f32,
) -> f32 {
    let per = 16 / size_of::<B>();
    let n = w.len().min(x.len()) / 8 * 8;
    let (bytes, xs) = (block_bytes(&w[..n]), &x[..n]);
    let (mut a0, mut a1) = (f32x4_splat(0.0), f32x4_splat(0.0));
    let xc = xs.as_chunks::<4>().0;
    for (i, wb) in bytes.as_chunks::<16>().0.iter().enumerate() {
        let (w0, w1) = widen(wb);
        // 16 weight bytes are `per` weights: 4 (F32, one vector) or 8 (F16 / BF16, two).
        let j = i * per / 4;
        a0 = f32x4_add(a0, f32x4_mul(w0, load(&xc[j])));
        if per == 8 {
            a1 = f32x4_add(a1, f32x4_mul(w1, load(&xc[j + 1])));
        }
    }
    hsum_f32(f32x4_add(a0, a1)) + tail(&w[n..], &x[n..])
}

/// F32 weights · f32 activation.
pub fn vec_dot_f32(w: &[BlockF32], x: &[f32]) -> f32 {
    dot_plain8(w, x, |b| (load(b), f32x4_splat(0.0)), scalar::vec_dot_f32)
}

/// F16 weights · f32 activation.
pub fn vec_dot_f16(w: &[BlockF16], x: &[f32]) -> f32 {
    let widen = |b: &[u8; 16]| {
        let h = load(b);
        (f16x4_to_f32(u32x4_extend_low_u16x8(h)), f16x4_to_f32(u32x4_extend_high_u16x8(h)))
    };
    dot_plain8(w, x, widen, scalar::vec_dot_f16)
}

/// BF16 weights · f32 activation.
pub fn vec_dot_bf16(w: &[BlockBF16], x: &[f32]) -> f32 {
    let widen = |b: &[u8; 16]| {
        let h = load(b);
        (i32x4_shl(u32x4_extend_low_u16x8(h), 16), i32x4_shl(u32x4_extend_high_u16x8(h), 16))
    };
    dot_plain8(w, x, widen, scalar::vec_dot_bf16)
}

// ---- 32-element blocks ----------------------------------------------------------------------

/// Σ over blocks of `sumi * scale`, one f32 partial sum per lane; each item is a block's exact
/// integer sums (i32x4) and its float scale.
#[inline(always)]
fn blocks_sum(blocks: impl Iterator<Item = (v128, f32)>) -> f32 {
    let mut acc = f32x4_splat(0.0);
    for (sumi, scale) in blocks {
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(sumi), f32x4_splat(scale)));
    }
    hsum_f32(acc)
}

/// The i32x4 sums of 32 small quants (`lo`, `hi`: elements 0..16 and 16..32, |q| <= 31) times
/// 32 activation quants. Four products per i16 lane stay within 31 · 128 · 4 < 2^15.
#[inline(always)]
fn small32(lo: v128, hi: v128, y: &[i8; 32]) -> v128 {
    let (y0, y1) = halves(y);
    i32x4_extadd_pairwise_i16x8(i16x8_add(mul_i8_i16(lo, y0), mul_i8_i16(hi, y1)))
}

/// Q4_0 weights · Q8_0 activation.
pub fn vec_dot_q4_0_q8_0(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    blocks_sum(w.iter().zip(x).map(|(b, a)| {
        let (lo, hi) = nibbles(load(&b.qs));
        let eight = i8x16_splat(8);
        let sumi = small32(i8x16_sub(lo, eight), i8x16_sub(hi, eight), &a.qs);
        (sumi, f16_le(b.d) * f16_le(a.d))
    }))
}

/// Q4_1 weights · Q8_1 activation.
pub fn vec_dot_q4_1_q8_1(w: &[BlockQ4_1], x: &[BlockQ8_1]) -> f32 {
    let offsets = w.iter().zip(x).fold(0.0f32, |s, (b, a)| s + f16_le(b.m) * f16_le(a.s));
    blocks_sum(w.iter().zip(x).map(|(b, a)| {
        let (lo, hi) = nibbles(load(&b.qs));
        (small32(lo, hi, &a.qs), f16_le(b.d) * f16_le(a.d))
    })) + offsets
}

/// Q5_0 weights · Q8_0 activation.
pub fn vec_dot_q5_0_q8_0(w: &[BlockQ5_0], x: &[BlockQ8_0]) -> f32 {
    blocks_sum(w.iter().zip(x).map(|(b, a)| {
        let (lo, hi) = nibbles(load(&b.qs));
        let (blo, bhi) = fifth_bits(b.qh);
        let sixteen = i8x16_splat(16);
        let (lo, hi) = (i8x16_sub(v128_or(lo, blo), sixteen), i8x16_sub(v128_or(hi, bhi), sixteen));
        (small32(lo, hi, &a.qs), f16_le(b.d) * f16_le(a.d))
    }))
}

/// Q5_1 weights · Q8_1 activation.
pub fn vec_dot_q5_1_q8_1(w: &[BlockQ5_1], x: &[BlockQ8_1]) -> f32 {
    let offsets = w.iter().zip(x).fold(0.0f32, |s, (b, a)| s + f16_le(b.m) * f16_le(a.s));
    blocks_sum(w.iter().zip(x).map(|(b, a)| {
        let (lo, hi) = nibbles(load(&b.qs));
        let (blo, bhi) = fifth_bits(b.qh);
        (small32(v128_or(lo, blo), v128_or(hi, bhi), &a.qs), f16_le(b.d) * f16_le(a.d))
    })) + offsets
}

/// Q8_0 weights · Q8_0 activation.
pub fn vec_dot_q8_0_q8_0(w: &[BlockQ8_0], x: &[BlockQ8_0]) -> f32 {
    blocks_sum(w.iter().zip(x).map(|(b, a)| {
        let ((w0, w1), (y0, y1)) = (halves(&b.qs), halves(&a.qs));
        (i32x4_add(dot_i8_i32(w0, y0), dot_i8_i32(w1, y1)), f16_le(b.d) * f16_le(a.d))
    }))
}

// ---- k-quants against Q8_K ------------------------------------------------------------------

/// Σ mn[s] * (bsums[2 s] + bsums[2 s + 1]): the activation sum of each sub-block times its min.
#[inline(always)]
fn mins_sum(mn: [u8; 8], bsums: &[i16; 16]) -> i32 {
    (0..8).map(|s| mn[s] as i32 * (bsums[2 * s] as i32 + bsums[2 * s + 1] as i32)).sum()
}

/// Q4_K weights · Q8_K activation.
pub fn vec_dot_q4_k_q8_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let (sc, mn) = b.scales_mins();
        let (q, y) = (b.qs.as_chunks::<16>().0, a.qs.as_chunks::<16>().0);
        let mut acc = i32x4_splat(0);
        for j in 0..4 {
            // 64 elements: 32 bytes, low nibbles sub-block 2 j, high nibbles 2 j + 1.
            let ((l0, h0), (l1, h1)) = (nibbles(load(&q[2 * j])), nibbles(load(&q[2 * j + 1])));
            let lo = i16x8_add(mul_i8_i16(l0, load(&y[4 * j])), mul_i8_i16(l1, load(&y[4 * j + 1])));
            let hi = i16x8_add(mul_i8_i16(h0, load(&y[4 * j + 2])), mul_i8_i16(h1, load(&y[4 * j + 3])));
            acc = i32x4_add(acc, i32x4_dot_i16x8(lo, i16x8_splat(sc[2 * j] as i16)));
            acc = i32x4_add(acc, i32x4_dot_i16x8(hi, i16x8_splat(sc[2 * j + 1] as i16)));
        }
        let (isum, summs) = (hsum_i32(acc), mins_sum(mn, &a.bsums));
        let (d, dmin) = (a.d * f16_le(b.d), a.d * f16_le(b.dmin));
        sum += d * isum as f32 - dmin * summs as f32;
    }
    sum
}

/// The fifth bit of sub-block `s` of a Q5_K super-block, from 16 bytes of qh, as 0x10 / 0 lanes.
#[inline(always)]
pub(crate) fn q5k_bit(h: v128, s: u32) -> v128 {
    v128_and(i8x16_shl(u8x16_shr(h, s), 4), u8x16_splat(0x10))
}

/// Q5_K weights · Q8_K activation.
pub fn vec_dot_q5_k_q8_k(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let (sc, mn) = b.scales_mins();
        let (q, y) = (b.qs.as_chunks::<16>().0, a.qs.as_chunks::<16>().0);
        let h = load32(&b.qh);
        let mut acc = i32x4_splat(0);
        for j in 0..4 {
            let s = 2 * j as u32;
            let ((l0, h0), (l1, h1)) = (nibbles(load(&q[2 * j])), nibbles(load(&q[2 * j + 1])));
            let (l0, l1) = (v128_or(l0, q5k_bit(h[0], s)), v128_or(l1, q5k_bit(h[1], s)));
            let (h0, h1) = (v128_or(h0, q5k_bit(h[0], s + 1)), v128_or(h1, q5k_bit(h[1], s + 1)));
            let lo = i16x8_add(mul_i8_i16(l0, load(&y[4 * j])), mul_i8_i16(l1, load(&y[4 * j + 1])));
            let hi = i16x8_add(mul_i8_i16(h0, load(&y[4 * j + 2])), mul_i8_i16(h1, load(&y[4 * j + 3])));
            acc = i32x4_add(acc, i32x4_dot_i16x8(lo, i16x8_splat(sc[2 * j] as i16)));
            acc = i32x4_add(acc, i32x4_dot_i16x8(hi, i16x8_splat(sc[2 * j + 1] as i16)));
        }
        let (isum, summs) = (hsum_i32(acc), mins_sum(mn, &a.bsums));
        let (d, dmin) = (a.d * f16_le(b.d), a.d * f16_le(b.dmin));
        sum += d * isum as f32 - dmin * summs as f32;
    }
    sum
}

/// The 2-bit quants of a Q2_K / Q3_K super-block as sixteen 16-element groups (element order):
/// group 8 n + 2 j + c is bits 2 j of bytes 32 n + 16 c + (0..16).
#[inline(always)]
fn q2_groups(qs: &[u8; QK_K / 4]) -> [v128; 16] {
    let chunks = qs.as_chunks::<16>().0;
    let mut groups = [i8x16_splat(0); 16];
    for (i, g) in groups.iter_mut().enumerate() {
        let (n, j, c) = (i / 8, (i / 2) % 4, i % 2);
        *g = v128_and(u8x16_shr(load(&chunks[2 * n + c]), 2 * j as u32), u8x16_splat(3));
    }
    groups
}

/// Q2_K weights · Q8_K activation.
pub fn vec_dot_q2_k_q8_k(w: &[BlockQ2K], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let y = a.qs.as_chunks::<16>().0;
        let mut acc = i32x4_splat(0);
        for (g, q) in q2_groups(&b.qs).into_iter().enumerate() {
            let p = mul_i8_i16(q, load(&y[g]));
            acc = i32x4_add(acc, i32x4_dot_i16x8(p, i16x8_splat((b.scales[g] & 0x0F) as i16)));
        }
        let summs: i32 = (0..16).map(|g| (b.scales[g] >> 4) as i32 * a.bsums[g] as i32).sum();
        let (d, dmin) = (a.d * f16_le(b.d), a.d * f16_le(b.dmin));
        sum += d * hsum_i32(acc) as f32 - dmin * summs as f32;
    }
    sum
}

/// Q3_K weights · Q8_K activation.
pub fn vec_dot_q3_k_q8_k(w: &[BlockQ3K], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let (y, scales) = (a.qs.as_chunks::<16>().0, b.scales_i8());
        let h = load32(&b.hmask);
        let mut acc = i32x4_splat(0);
        for (g, low) in q2_groups(&b.qs).into_iter().enumerate() {
            // Group g = 8 n + 2 j + c: high bit 4 n + j of hmask[16 c + (0..16)]; clear means -4.
            let bit = u8x16_splat(1 << (g / 2));
            let clear = i8x16_eq(v128_and(h[g % 2], bit), i8x16_splat(0));
            let q = i8x16_sub(low, v128_and(clear, u8x16_splat(4)));
            let p = mul_i8_i16(q, load(&y[g]));
            acc = i32x4_add(acc, i32x4_dot_i16x8(p, i16x8_splat(scales[g] as i16)));
        }
        sum += f16_le(b.d) * a.d * hsum_i32(acc) as f32;
    }
    sum
}

/// Q6_K weights · Q8_K activation.
pub fn vec_dot_q6_k_q8_k(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    let mut sum = 0.0f32;
    for (b, a) in w.iter().zip(x) {
        let y = a.qs.as_chunks::<16>().0;
        let mut acc = i32x4_splat(0);
        for (g, q) in q6_groups(b).into_iter().enumerate() {
            let p = mul_i8_i16(q, load(&y[g]));
            acc = i32x4_add(acc, i32x4_dot_i16x8(p, i16x8_splat(b.scales[g] as i16)));
        }
        sum += f16_le(b.d) * a.d * hsum_i32(acc) as f32;
    }
    sum
}
