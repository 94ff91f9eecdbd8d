//! The quants of a block in element order, one function per packing; shared by the scalar
//! dequantization and dot products (plain loops over whole arrays, which compilers vectorize).

use crate::quant::blocks::*;

/// Q5_0 / Q5_1: nibble | fifth bit << 4, in 0..32.
#[inline(always)]
pub(crate) fn q5(qh: [u8; 4], qs: &[u8; QK / 2]) -> [u8; QK] {
    let qh = u32::from_le_bytes(qh);
    let mut q = [0u8; QK];
    for (j, &byte) in qs.iter().enumerate() {
        q[j] = (byte & 0x0F) | (((qh >> j) & 1) << 4) as u8;
        q[j + QK / 2] = (byte >> 4) | (((qh >> (j + QK / 2)) & 1) << 4) as u8;
    }
    q
}

/// Q2_K's 2-bit quants, 0..4: in each 128-element half, 32-element group g is bits 2 g of the
/// half's 32 bytes.
#[inline(always)]
pub(crate) fn q2k(qs: &[u8; QK_K / 4]) -> [i8; QK_K] {
    let mut q = [0i8; QK_K];
    for (bytes, half) in qs.as_chunks::<32>().0.iter().zip(q.as_chunks_mut::<128>().0) {
        for (g, out) in half.as_chunks_mut::<32>().0.iter_mut().enumerate() {
            for (o, &b) in out.iter_mut().zip(bytes) {
                *o = ((b >> (2 * g)) & 3) as i8;
            }
        }
    }
    q
}

/// Q3_K's quants, -4..4: the 2-bit part as in Q2_K, minus 4 where the hmask bit (bit g of byte l
/// for element 32 g + l) is clear.
#[inline(always)]
pub(crate) fn q3k(b: &BlockQ3K) -> [i8; QK_K] {
    let mut q = q2k(&b.qs);
    for (g, out) in q.as_chunks_mut::<32>().0.iter_mut().enumerate() {
        for (o, &h) in out.iter_mut().zip(&b.hmask) {
            *o -= 4 * (((h >> g) & 1) ^ 1) as i8;
        }
    }
    q
}

/// Q4_K's nibbles, 0..16: per 64 elements, 32 bytes whose low nibbles come first.
#[inline(always)]
pub(crate) fn q4k(qs: &[u8; QK_K / 2]) -> [i8; QK_K] {
    let mut q = [0i8; QK_K];
    for (bytes, out) in qs.as_chunks::<32>().0.iter().zip(q.as_chunks_mut::<64>().0) {
        for (l, &b) in bytes.iter().enumerate() {
            out[l] = (b & 0x0F) as i8;
            out[l + 32] = (b >> 4) as i8;
        }
    }
    q
}

/// Q5_K's quants, 0..32: Q4_K's nibbles plus bit g of qh[l] as bit 4 of element 32 g + l.
#[inline(always)]
pub(crate) fn q5k(b: &BlockQ5K) -> [i8; QK_K] {
    let mut q = q4k(&b.qs);
    for (g, out) in q.as_chunks_mut::<32>().0.iter_mut().enumerate() {
        for (o, &h) in out.iter_mut().zip(&b.qh) {
            *o |= (((h >> g) & 1) << 4) as i8;
        }
    }
    q
}

/// Q6_K's quants, centred: -32..32. In each 128-element half, element 32 k + l takes the low
/// (k < 2) or high nibble of ql[l + 32 (k % 2)] and bits 2 k, 2 k + 1 of qh[l].
#[inline(always)]
pub(crate) fn q6k(b: &BlockQ6K) -> [i8; QK_K] {
    let mut q = [0i8; QK_K];
    let halves = b.ql.as_chunks::<64>().0.iter().zip(b.qh.as_chunks::<32>().0);
    for ((ql, qh), out) in halves.zip(q.as_chunks_mut::<128>().0) {
        for l in 0..32 {
            let (a, c, h) = (ql[l], ql[l + 32], qh[l]);
            out[l] = ((a & 0x0F) | ((h & 3) << 4)) as i8 - 32;
            out[l + 32] = ((c & 0x0F) | (((h >> 2) & 3) << 4)) as i8 - 32;
            out[l + 64] = ((a >> 4) | (((h >> 4) & 3) << 4)) as i8 - 32;
            out[l + 96] = ((c >> 4) | (((h >> 6) & 3) << 4)) as i8 - 32;
        }
    }
    q
}

/// IQ4_NL's (and each IQ4_XS sub-block's) 32 values from the non-linear grid: the low nibbles of
/// the 16 bytes index elements 0..16, the high nibbles 16..32.
#[inline(always)]
pub(crate) fn iq4nl(qs: &[u8; QK / 2]) -> [i8; QK] {
    let mut q = [0i8; QK];
    for (j, &byte) in qs.iter().enumerate() {
        q[j] = KVALUES_IQ4NL[(byte & 0x0F) as usize];
        q[j + QK / 2] = KVALUES_IQ4NL[(byte >> 4) as usize];
    }
    q
}

/// IQ4_XS's 256 grid values: eight 32-element sub-blocks of 16 bytes, each packed as IQ4_NL.
#[inline(always)]
pub(crate) fn iq4xs(qs: &[u8; QK_K / 2]) -> [i8; QK_K] {
    let mut q = [0i8; QK_K];
    for (q, qs) in q.as_chunks_mut::<QK>().0.iter_mut().zip(qs.as_chunks::<{ QK / 2 }>().0) {
        *q = iq4nl(qs);
    }
    q
}
