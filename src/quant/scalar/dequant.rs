//! Reference dequantization: one function per type, the arithmetic of ggml's
//! `dequantize_row_*` (a product of the block scale and the integer quant, then the offset), so
//! results equal ggml's and Python `gguf.quants` bit for bit. Callers pass `out` with exactly
//! `ELEMENTS` floats per block (checked once by the dispatcher).

use super::unpack;
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

/// Q5_0 blocks.
pub fn dequantize_q5_0(w: &[BlockQ5_0], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK>().0.iter_mut().zip(w) {
        let d = f16_le(b.d);
        for (o, q) in o.iter_mut().zip(unpack::q5(b.qh, &b.qs)) {
            *o = (q as i32 - 16) as f32 * d;
        }
    }
}

/// Q5_1 blocks.
pub fn dequantize_q5_1(w: &[BlockQ5_1], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK>().0.iter_mut().zip(w) {
        let (d, m) = (f16_le(b.d), f16_le(b.m));
        for (o, q) in o.iter_mut().zip(unpack::q5(b.qh, &b.qs)) {
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

/// Q2_K super-blocks: a scale byte (scale, min) per 16 elements.
pub fn dequantize_q2_k(w: &[BlockQ2K], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK_K>().0.iter_mut().zip(w) {
        let (d, dmin, q) = (f16_le(b.d), f16_le(b.dmin), unpack::q2k(&b.qs));
        let groups = o.as_chunks_mut::<16>().0.iter_mut().zip(q.as_chunks::<16>().0);
        for ((o, q), &sc) in groups.zip(&b.scales) {
            let (dl, ml) = (d * (sc & 0x0F) as f32, dmin * (sc >> 4) as f32);
            for (o, &q) in o.iter_mut().zip(q) {
                *o = dl * q as f32 - ml;
            }
        }
    }
}

/// Q3_K super-blocks: a centred 6-bit scale per 16 elements.
pub fn dequantize_q3_k(w: &[BlockQ3K], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK_K>().0.iter_mut().zip(w) {
        let (d, q) = (f16_le(b.d), unpack::q3k(b));
        let groups = o.as_chunks_mut::<16>().0.iter_mut().zip(q.as_chunks::<16>().0);
        for ((o, q), sc) in groups.zip(b.scales_i8()) {
            let dl = d * sc as f32;
            for (o, &q) in o.iter_mut().zip(q) {
                *o = dl * q as f32;
            }
        }
    }
}

/// Q4_K and Q5_K super-blocks from their unpacked quants: a (scale, min) pair per 32 elements.
#[inline(always)]
fn k4(o: &mut [f32; QK_K], q: &[i8; QK_K], (d, dmin): (f32, f32), (sc, mn): ([u8; 8], [u8; 8])) {
    let subs = o.as_chunks_mut::<32>().0.iter_mut().zip(q.as_chunks::<32>().0);
    for (s, (o, q)) in subs.enumerate() {
        let (d1, m1) = (d * sc[s] as f32, dmin * mn[s] as f32);
        for (o, &q) in o.iter_mut().zip(q) {
            *o = d1 * q as f32 - m1;
        }
    }
}

/// Q4_K super-blocks.
pub fn dequantize_q4_k(w: &[BlockQ4K], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK_K>().0.iter_mut().zip(w) {
        k4(o, &unpack::q4k(&b.qs), (f16_le(b.d), f16_le(b.dmin)), b.scales_mins());
    }
}

/// Q5_K super-blocks.
pub fn dequantize_q5_k(w: &[BlockQ5K], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK_K>().0.iter_mut().zip(w) {
        k4(o, &unpack::q5k(b), (f16_le(b.d), f16_le(b.dmin)), b.scales_mins());
    }
}

/// Q6_K super-blocks: an i8 scale per 16 elements.
pub fn dequantize_q6_k(w: &[BlockQ6K], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK_K>().0.iter_mut().zip(w) {
        let (d, q) = (f16_le(b.d), unpack::q6k(b));
        let groups = o.as_chunks_mut::<16>().0.iter_mut().zip(q.as_chunks::<16>().0);
        for ((o, q), &sc) in groups.zip(&b.scales) {
            for (o, &q) in o.iter_mut().zip(q) {
                *o = d * sc as f32 * q as f32;
            }
        }
    }
}

/// IQ4_NL blocks: the block scale times the grid value.
pub fn dequantize_iq4_nl(w: &[BlockIQ4NL], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK>().0.iter_mut().zip(w) {
        let d = f16_le(b.d);
        for (o, q) in o.iter_mut().zip(unpack::iq4nl(&b.qs)) {
            *o = d * q as f32;
        }
    }
}

/// IQ4_XS super-blocks: `d * (sc - 32)` per 32 elements (rounded once, as ggml and Python
/// `gguf` do), times the grid value.
pub fn dequantize_iq4_xs(w: &[BlockIQ4XS], out: &mut [f32]) {
    for (o, b) in out.as_chunks_mut::<QK_K>().0.iter_mut().zip(w) {
        let d = f16_le(b.d);
        let subs = o.as_chunks_mut::<QK>().0.iter_mut().zip(b.qs.as_chunks::<{ QK / 2 }>().0);
        for ((o, qs), sc) in subs.zip(b.scales_i8()) {
            let dl = d * sc as f32;
            for (o, q) in o.iter_mut().zip(unpack::iq4nl(qs)) {
                *o = dl * q as f32;
            }
        }
    }
}
