//! The quants of a block as v128 lanes, one function per packing (and the f16 widening); shared
//! by the SIMD128 dequantization and dot products, as `scalar::unpack` is by the scalar ones.

#[cfg(target_arch = "wasm32")]
use core::arch::wasm32::*;
#[cfg(target_arch = "wasm64")]
use core::arch::wasm64::*;

use super::{in_lane_order, load};
use crate::quant::blocks::*;

/// Low nibbles and high nibbles of 16 bytes, as unsigned lanes 0..16.
///
/// Shifts here are 16-bit shifts whose bits crossing between bytes the mask drops: x86 has no
/// byte shift, and V8 builds one from a 16-bit shift and a mask it makes on the spot, several
/// instructions where these take two.
#[inline(always)]
pub(crate) fn nibbles(raw: v128) -> (v128, v128) {
    let m4 = u8x16_splat(0x0F);
    (v128_and(raw, m4), v128_and(u16x8_shr(raw, 4), m4))
}

/// The fifth bits of a Q5 block as 0x10 / 0 byte lanes: elements 0..16 and 16..32 (bit j of
/// `qh` belongs to element j).
#[inline(always)]
pub(crate) fn fifth_bits(qh: [u8; 4]) -> (v128, v128) {
    let v = u32x4_splat(u32::from_le_bytes(qh));
    let lo = i8x16_shuffle::<0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1>(v, v);
    let hi = i8x16_shuffle::<2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3>(v, v);
    let bit = u8x16(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
    let select = |x: v128| v128_and(i8x16_eq(v128_and(x, bit), bit), u8x16_splat(0x10));
    (select(lo), select(hi))
}

/// The fifth bit of sub-block `s` of a Q5_K super-block, from 16 bytes of qh, as 0x10 / 0 lanes.
#[inline(always)]
pub(crate) fn q5k_bit(h: v128, s: u32) -> v128 {
    // Bit s of each byte to bit 4; bits from the other byte of a 16-bit lane never reach it.
    let moved = if s <= 4 { u16x8_shl(h, 4 - s) } else { u16x8_shr(h, s - 4) };
    v128_and(moved, u8x16_splat(0x10))
}

/// The sixteen 16-element groups of a Q6_K super-block as centred i8 lanes (q - 32), in
/// element order.
#[inline(always)]
pub(crate) fn q6_groups(b: &BlockQ6K) -> [v128; 16] {
    let ql = b.ql.as_chunks::<16>().0;
    let qh = b.qh.as_chunks::<16>().0;
    let (m4, m2, c32) = (u8x16_splat(0x0F), u8x16_splat(0x30), i8x16_splat(32));
    let mut g = [i8x16_splat(0); 16];
    for half in 0..2 {
        for c in 0..2 {
            // Elements 128 half + 32 k + 16 c + (0..16), k = 0..4.
            let h = load(&qh[2 * half + c]);
            let (la, lb) = (load(&ql[4 * half + c]), load(&ql[4 * half + 2 + c]));
            let q = [
                v128_or(v128_and(la, m4), v128_and(u16x8_shl(h, 4), m2)),
                v128_or(v128_and(lb, m4), v128_and(u16x8_shl(h, 2), m2)),
                v128_or(v128_and(u16x8_shr(la, 4), m4), v128_and(h, m2)),
                v128_or(v128_and(u16x8_shr(lb, 4), m4), v128_and(u16x8_shr(h, 2), m2)),
            ];
            for (k, q) in q.into_iter().enumerate() {
                g[8 * half + 2 * k + c] = i8x16_sub(q, c32);
            }
        }
    }
    g
}

/// The raw 6-bit quants (0..64) of half `n` of a Q6_K super-block: sub-blocks 4 n .. 4 n + 4,
/// each in lane order (`in_lane_order`). Sub-block 4 n + c, elements 128 n + 32 c + (0..32):
/// element l takes its low four bits from byte l of ql's run 2 n + c % 2 (the low nibble for
/// c < 2, the high one after) and its top two from bits 2 c of byte l of qh's run n; rearranging
/// the three runs of 32 bytes once serves all four sub-blocks.
#[inline(always)]
pub(crate) fn q6_half(b: &BlockQ6K, n: usize) -> [[v128; 2]; 4] {
    let ql = b.ql.as_chunks::<16>().0;
    let qh = b.qh.as_chunks::<16>().0;
    let (m4, m2) = (u8x16_splat(0x0F), u8x16_splat(0x30));
    let la = in_lane_order(load(&ql[4 * n]), load(&ql[4 * n + 1]));
    let lb = in_lane_order(load(&ql[4 * n + 2]), load(&ql[4 * n + 3]));
    let h = in_lane_order(load(&qh[2 * n]), load(&qh[2 * n + 1]));
    let mut out = [[i8x16_splat(0); 2]; 4];
    for k in 0..2 {
        let (la, lb, h) = (la[k], lb[k], h[k]);
        out[0][k] = v128_or(v128_and(la, m4), v128_and(u16x8_shl(h, 4), m2));
        out[1][k] = v128_or(v128_and(lb, m4), v128_and(u16x8_shl(h, 2), m2));
        out[2][k] = v128_or(v128_and(u16x8_shr(la, 4), m4), v128_and(h, m2));
        out[3][k] = v128_or(v128_and(u16x8_shr(lb, 4), m4), v128_and(u16x8_shr(h, 2), m2));
    }
    out
}

/// Four f16 bit patterns (u32 lanes) as f32, exactly as `f16_le` (and `half`) converts them:
/// finite values by one exact power-of-two product, infinities kept, NaNs quieted.
#[inline(always)]
pub(crate) fn f16x4_to_f32(h: v128) -> v128 {
    let sign = i32x4_shl(v128_and(h, u32x4_splat(0x8000)), 16);
    let abs = v128_and(h, u32x4_splat(0x7FFF));
    let shifted = i32x4_shl(abs, 13);
    let finite = f32x4_mul(shifted, f32x4_splat(F16_RESCALE));
    let nan = i32x4_gt(abs, u32x4_splat(0x7C00));
    let special = v128_or(v128_or(shifted, u32x4_splat(0x7F80_0000)), v128_and(nan, u32x4_splat(0x0040_0000)));
    let is_special = i32x4_ge(abs, u32x4_splat(0x7C00));
    v128_or(v128_bitselect(special, finite, is_special), sign)
}

/// 16 bytes of 4-bit indices as IQ4_NL grid values (i8 lanes): elements 0..16 from the low
/// nibbles, 16..32 from the high ones. `i8x16_swizzle` is the table lookup: every index is in
/// 0..16, so no lane reads past the table.
#[inline(always)]
pub(crate) fn iq4nl_values(raw: v128) -> (v128, v128) {
    let grid = load(&KVALUES_IQ4NL);
    let (lo, hi) = nibbles(raw);
    (i8x16_swizzle(grid, lo), i8x16_swizzle(grid, hi))
}
