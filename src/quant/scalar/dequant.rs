//! Reference dequantization: one function per type, the arithmetic of ggml's
//! `dequantize_row_*` (a product of the block scale and the integer quant, then the offset), so
//! results equal ggml's and Python `gguf.quants` bit for bit. Callers pass `out` with exactly
//! `ELEMENTS` floats per block (checked once by the dispatcher).

use crate::quant::blocks::*;

/// F32 weights.
pub fn dequantize_f32(w: &[BlockF32], out: &mut [f32]) {
    for (o, b) in out.iter_mut().zip(w) {
        *o = b.get();
    }
}

/// F16 weights.
pub fn dequantize_f16(w: &[BlockF16], out: &mut [f32]) {
    for (o, b) in out.iter_mut().zip(w) {
        *o = b.get();
    }
}

/// BF16 weights.
pub fn dequantize_bf16(w: &[BlockBF16], out: &mut [f32]) {
    for (o, b) in out.iter_mut().zip(w) {
        *o = b.get();
    }
}

/// Q4_0 blocks.
pub fn dequantize_q4_0(w: &[BlockQ4_0], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK>().0.iter_mut().zip(w) {
        let d = f16_le(b.d);
        for (j, &q) in b.qs.iter().enumerate() {
            o[j] = ((q & 0x0F) as i32 - 8) as f32 * d;
            o[j + QK / 2] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

/// Q4_1 blocks.
pub fn dequantize_q4_1(w: &[BlockQ4_1], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK>().0.iter_mut().zip(w) {
        let (d, m) = (f16_le(b.d), f16_le(b.m));
        for (j, &q) in b.qs.iter().enumerate() {
            o[j] = (q & 0x0F) as f32 * d + m;
            o[j + QK / 2] = (q >> 4) as f32 * d + m;
        }
    }
}

/// The 5-bit quants (0..32) of a Q5_0 / Q5_1 block, in element order.
#[inline(always)]
pub(crate) fn q5_values(qh: [u8; 4], qs: &[u8; QK / 2]) -> [u8; QK] {
    let qh = u32::from_le_bytes(qh);
    let mut q = [0u8; QK];
    for (j, &byte) in qs.iter().enumerate() {
        q[j] = (byte & 0x0F) | (((qh >> j) & 1) << 4) as u8;
        q[j + QK / 2] = (byte >> 4) | (((qh >> (j + QK / 2)) & 1) << 4) as u8;
    }
    q
}

/// Q5_0 blocks.
pub fn dequantize_q5_0(w: &[BlockQ5_0], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK>().0.iter_mut().zip(w) {
        let d = f16_le(b.d);
        for (o, q) in o.iter_mut().zip(q5_values(b.qh, &b.qs)) {
            *o = (q as i32 - 16) as f32 * d;
        }
    }
}

/// Q5_1 blocks.
pub fn dequantize_q5_1(w: &[BlockQ5_1], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK>().0.iter_mut().zip(w) {
        let (d, m) = (f16_le(b.d), f16_le(b.m));
        for (o, q) in o.iter_mut().zip(q5_values(b.qh, &b.qs)) {
            *o = q as f32 * d + m;
        }
    }
}

/// Q8_0 blocks.
pub fn dequantize_q8_0(w: &[BlockQ8_0], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK>().0.iter_mut().zip(w) {
        let d = f16_le(b.d);
        for (o, &q) in o.iter_mut().zip(&b.qs) {
            *o = q as f32 * d;
        }
    }
}

/// Q2_K super-blocks: per 128-element half, four 32-element groups at bit shifts 0, 2, 4, 6 of
/// the same 32 bytes; a scale byte per 16 elements.
pub fn dequantize_q2_k(w: &[BlockQ2K], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK_K>().0.iter_mut().zip(w) {
        let (d, dmin) = (f16_le(b.d), f16_le(b.dmin));
        for (e, o) in o.iter_mut().enumerate() {
            let (half, group, l) = (e / 128, (e / 32) % 4, e % 32);
            let q = (b.qs[32 * half + l] >> (2 * group)) & 3;
            let sc = b.scales[e / 16];
            let dl = d * (sc & 0x0F) as f32;
            let ml = dmin * (sc >> 4) as f32;
            *o = dl * q as f32 - ml;
        }
    }
}

/// Q3_K super-blocks: 2-bit quants laid out as Q2_K, minus 4 where the hmask bit is clear.
pub fn dequantize_q3_k(w: &[BlockQ3K], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK_K>().0.iter_mut().zip(w) {
        let d = f16_le(b.d);
        let scales = b.scales_i8();
        for (e, o) in o.iter_mut().enumerate() {
            let (half, group, l) = (e / 128, (e / 32) % 4, e % 32);
            let low = ((b.qs[32 * half + l] >> (2 * group)) & 3) as i32;
            let high_clear = (b.hmask[l] >> (e / 32)) & 1 == 0;
            let q = low - if high_clear { 4 } else { 0 };
            let dl = d * scales[e / 16] as f32;
            *o = dl * q as f32;
        }
    }
}

/// Q4_K super-blocks: per 64 elements, 32 bytes whose low nibbles are the first 32 elements and
/// high nibbles the next 32.
pub fn dequantize_q4_k(w: &[BlockQ4K], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK_K>().0.iter_mut().zip(w) {
        let (d, dmin) = (f16_le(b.d), f16_le(b.dmin));
        let (sc, mn) = b.scales_mins();
        for (e, o) in o.iter_mut().enumerate() {
            let (sub, l) = (e / 32, e % 32);
            let byte = b.qs[32 * (sub / 2) + l];
            let q = if sub % 2 == 0 { byte & 0x0F } else { byte >> 4 };
            let d1 = d * sc[sub] as f32;
            let m1 = dmin * mn[sub] as f32;
            *o = d1 * q as f32 - m1;
        }
    }
}

/// Q5_K super-blocks: Q4_K's nibbles plus a fifth bit, bit `sub` of qh[l].
pub fn dequantize_q5_k(w: &[BlockQ5K], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK_K>().0.iter_mut().zip(w) {
        let (d, dmin) = (f16_le(b.d), f16_le(b.dmin));
        let (sc, mn) = b.scales_mins();
        for (e, o) in o.iter_mut().enumerate() {
            let (sub, l) = (e / 32, e % 32);
            let byte = b.qs[32 * (sub / 2) + l];
            let low = if sub % 2 == 0 { byte & 0x0F } else { byte >> 4 };
            let q = low | (((b.qh[l] >> sub) & 1) << 4);
            let d1 = d * sc[sub] as f32;
            let m1 = dmin * mn[sub] as f32;
            *o = d1 * q as f32 - m1;
        }
    }
}

/// The 6-bit quant (0..64) of element `e` of a Q6_K super-block.
#[inline(always)]
pub(crate) fn q6_value(b: &BlockQ6K, e: usize) -> u8 {
    // Within a 128-element half: element 32 k + l takes ql[l + 32 (k % 2)] (low nibble for
    // k < 2, high for k >= 2) and bits 2 k..2 k + 2 of qh[l].
    let (half, k, l) = (e / 128, (e / 32) % 4, e % 32);
    let ql = b.ql[64 * half + l + 32 * (k % 2)];
    let low = if k < 2 { ql & 0x0F } else { ql >> 4 };
    let high = (b.qh[32 * half + l] >> (2 * k)) & 3;
    low | (high << 4)
}

/// Q6_K super-blocks.
pub fn dequantize_q6_k(w: &[BlockQ6K], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK_K>().0.iter_mut().zip(w) {
        let d = f16_le(b.d);
        for (e, o) in o.iter_mut().enumerate() {
            let q = q6_value(b, e) as i32 - 32;
            *o = d * b.scales[e / 16] as f32 * q as f32;
        }
    }
}
