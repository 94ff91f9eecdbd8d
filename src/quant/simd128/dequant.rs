//! SIMD128 dequantization. Each value is the same single float product (and offset) as in the
//! scalar reference, so results are bit for bit identical.

#[cfg(target_arch = "wasm32")]
use core::arch::wasm32::*;
#[cfg(target_arch = "wasm64")]
use core::arch::wasm64::*;

use super::unpack::{f16x4_to_f32, fifth_bits, iq4nl_values, nibbles, q5k_bit, q6_groups};
use super::{emit16, load, load32, store};
use crate::quant::blocks::*;
use crate::quant::scalar;

/// F32 weights: a copy.
pub fn dequantize_f32(w: &[BlockF32], out: &mut [f32]) {
    scalar::dequantize_f32(w, out)
}

/// F16 weights, eight at a time.
pub fn dequantize_f16(w: &[BlockF16], out: &mut [f32]) {
    let (wc, wt) = w.as_chunks::<8>();
    let (oc, ot) = out.as_chunks_mut::<8>();
    for (o, b) in oc.iter_mut().zip(wc) {
        let h = load(bytes16(b));
        let o = o.as_chunks_mut::<4>().0;
        store(&mut o[0], f16x4_to_f32(u32x4_extend_low_u16x8(h)));
        store(&mut o[1], f16x4_to_f32(u32x4_extend_high_u16x8(h)));
    }
    scalar::dequantize_f16(wt, ot)
}

/// BF16 weights, eight at a time.
pub fn dequantize_bf16(w: &[BlockBF16], out: &mut [f32]) {
    let (wc, wt) = w.as_chunks::<8>();
    let (oc, ot) = out.as_chunks_mut::<8>();
    for (o, b) in oc.iter_mut().zip(wc) {
        let h = load(bytes16(b));
        let o = o.as_chunks_mut::<4>().0;
        store(&mut o[0], i32x4_shl(u32x4_extend_low_u16x8(h), 16));
        store(&mut o[1], i32x4_shl(u32x4_extend_high_u16x8(h), 16));
    }
    scalar::dequantize_bf16(wt, ot)
}

/// The 16 bytes of eight 2-byte blocks.
#[inline(always)]
fn bytes16<B: WeightBlock>(b: &[B; 8]) -> &[u8; 16] {
    const { assert!(size_of::<B>() == 2) };
    block_bytes(b).as_chunks::<16>().0.first().unwrap_or(&[0; 16])
}

/// Q4_0 blocks.
pub fn dequantize_q4_0(w: &[BlockQ4_0], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK>().0.iter_mut().zip(w) {
        let d = f32x4_splat(f16_le(b.d));
        let (lo, hi) = nibbles(load(&b.qs));
        let o = o.as_chunks_mut::<16>().0;
        emit16(&mut o[0], i8x16_sub(lo, i8x16_splat(8)), |v| f32x4_mul(v, d));
        emit16(&mut o[1], i8x16_sub(hi, i8x16_splat(8)), |v| f32x4_mul(v, d));
    }
}

/// Q4_1 blocks.
pub fn dequantize_q4_1(w: &[BlockQ4_1], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK>().0.iter_mut().zip(w) {
        let (d, m) = (f32x4_splat(f16_le(b.d)), f32x4_splat(f16_le(b.m)));
        let (lo, hi) = nibbles(load(&b.qs));
        let o = o.as_chunks_mut::<16>().0;
        emit16(&mut o[0], lo, |v| f32x4_add(f32x4_mul(v, d), m));
        emit16(&mut o[1], hi, |v| f32x4_add(f32x4_mul(v, d), m));
    }
}

/// Q5_0 blocks.
pub fn dequantize_q5_0(w: &[BlockQ5_0], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK>().0.iter_mut().zip(w) {
        let d = f32x4_splat(f16_le(b.d));
        let (lo, hi) = nibbles(load(&b.qs));
        let (blo, bhi) = fifth_bits(b.qh);
        let o = o.as_chunks_mut::<16>().0;
        emit16(&mut o[0], i8x16_sub(v128_or(lo, blo), i8x16_splat(16)), |v| f32x4_mul(v, d));
        emit16(&mut o[1], i8x16_sub(v128_or(hi, bhi), i8x16_splat(16)), |v| f32x4_mul(v, d));
    }
}

/// Q5_1 blocks.
pub fn dequantize_q5_1(w: &[BlockQ5_1], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK>().0.iter_mut().zip(w) {
        let (d, m) = (f32x4_splat(f16_le(b.d)), f32x4_splat(f16_le(b.m)));
        let (lo, hi) = nibbles(load(&b.qs));
        let (blo, bhi) = fifth_bits(b.qh);
        let o = o.as_chunks_mut::<16>().0;
        emit16(&mut o[0], v128_or(lo, blo), |v| f32x4_add(f32x4_mul(v, d), m));
        emit16(&mut o[1], v128_or(hi, bhi), |v| f32x4_add(f32x4_mul(v, d), m));
    }
}

/// Q8_0 blocks.
pub fn dequantize_q8_0(w: &[BlockQ8_0], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK>().0.iter_mut().zip(w) {
        let d = f32x4_splat(f16_le(b.d));
        let q = b.qs.as_chunks::<16>().0;
        for (o, q) in o.as_chunks_mut::<16>().0.iter_mut().zip(q) {
            emit16(o, load(q), |v| f32x4_mul(v, d));
        }
    }
}

/// Q4_K super-blocks.
pub fn dequantize_q4_k(w: &[BlockQ4K], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK_K>().0.iter_mut().zip(w) {
        let (d, dmin) = (f16_le(b.d), f16_le(b.dmin));
        let (sc, mn) = b.scales_mins();
        let o = o.as_chunks_mut::<16>().0;
        // Chunk c of 16 bytes holds elements 64 (c / 2) + 16 (c % 2) (low nibbles, sub-block
        // 2 (c / 2)) and 32 more (high nibbles, the next sub-block).
        for (c, raw) in b.qs.as_chunks::<16>().0.iter().enumerate() {
            let (lo, hi) = nibbles(load(raw));
            let (s, first) = (2 * (c / 2), 4 * (c / 2) + c % 2);
            let (d1, m1) = (f32x4_splat(d * sc[s] as f32), f32x4_splat(dmin * mn[s] as f32));
            emit16(&mut o[first], lo, |v| f32x4_sub(f32x4_mul(v, d1), m1));
            let (d2, m2) = (f32x4_splat(d * sc[s + 1] as f32), f32x4_splat(dmin * mn[s + 1] as f32));
            emit16(&mut o[first + 2], hi, |v| f32x4_sub(f32x4_mul(v, d2), m2));
        }
    }
}

/// Q5_K super-blocks: Q4_K's layout plus the fifth bits.
pub fn dequantize_q5_k(w: &[BlockQ5K], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK_K>().0.iter_mut().zip(w) {
        let (d, dmin) = (f16_le(b.d), f16_le(b.dmin));
        let (sc, mn) = b.scales_mins();
        let h = load32(&b.qh);
        let o = o.as_chunks_mut::<16>().0;
        for (c, raw) in b.qs.as_chunks::<16>().0.iter().enumerate() {
            let (lo, hi) = nibbles(load(raw));
            let (s, first) = (2 * (c / 2), 4 * (c / 2) + c % 2);
            let lo = v128_or(lo, q5k_bit(h[c % 2], s as u32));
            let hi = v128_or(hi, q5k_bit(h[c % 2], s as u32 + 1));
            let (d1, m1) = (f32x4_splat(d * sc[s] as f32), f32x4_splat(dmin * mn[s] as f32));
            emit16(&mut o[first], lo, |v| f32x4_sub(f32x4_mul(v, d1), m1));
            let (d2, m2) = (f32x4_splat(d * sc[s + 1] as f32), f32x4_splat(dmin * mn[s + 1] as f32));
            emit16(&mut o[first + 2], hi, |v| f32x4_sub(f32x4_mul(v, d2), m2));
        }
    }
}

/// Q6_K super-blocks.
pub fn dequantize_q6_k(w: &[BlockQ6K], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK_K>().0.iter_mut().zip(w) {
        let d = f16_le(b.d);
        let groups = q6_groups(b);
        for ((o, q), &sc) in o.as_chunks_mut::<16>().0.iter_mut().zip(groups).zip(&b.scales) {
            let ds = f32x4_splat(d * sc as f32);
            emit16(o, q, |v| f32x4_mul(ds, v));
        }
    }
}

/// IQ4_NL blocks: the grid values by table lookup, times d.
pub fn dequantize_iq4_nl(w: &[BlockIQ4NL], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK>().0.iter_mut().zip(w) {
        let d = f32x4_splat(f16_le(b.d));
        let (lo, hi) = iq4nl_values(load(&b.qs));
        let o = o.as_chunks_mut::<16>().0;
        emit16(&mut o[0], lo, |v| f32x4_mul(d, v));
        emit16(&mut o[1], hi, |v| f32x4_mul(d, v));
    }
}

/// IQ4_XS super-blocks: per 32-element sub-block, IQ4_NL's lookup times `d * (sc - 32)`.
pub fn dequantize_iq4_xs(w: &[BlockIQ4XS], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK_K>().0.iter_mut().zip(w) {
        let d = f16_le(b.d);
        let subs = o.as_chunks_mut::<QK>().0.iter_mut().zip(b.qs.as_chunks::<16>().0);
        for ((o, raw), sc) in subs.zip(b.scales_i8()) {
            let dl = f32x4_splat(d * sc as f32);
            let (lo, hi) = iq4nl_values(load(raw));
            let o = o.as_chunks_mut::<16>().0;
            emit16(&mut o[0], lo, |v| f32x4_mul(dl, v));
            emit16(&mut o[1], hi, |v| f32x4_mul(dl, v));
        }
    }
}
