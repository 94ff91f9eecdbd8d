//! SIMD128 dot products. The quantized kernels compute the scalar reference's exact integer sums
//! and then the same float expressions in the same order (one running sum per block for the
//! 32-element types, IQ4_XS and Q2_K; eight float lanes for Q3_K..Q6_K), so they equal it bit
//! for bit; the plain F32 / F16 / BF16 ones are the scalar kernels themselves (f64 sums).

#[cfg(target_arch = "wasm32")]
use core::arch::wasm32::*;
#[cfg(target_arch = "wasm64")]
use core::arch::wasm64::*;

use super::unpack::{f16x4_to_f32, fifth_bits, iq4nl_values, nibbles, q5k_bit, q6_half};
use super::{halves, hsum_i32, in_lane_order, lane_scales, lanes8_scaled, load, load32, mul_i8_i16, store, unsigned32};
use crate::quant::ActBlock;
use crate::quant::interleave::GROUP_ROWS;
use crate::quant::blocks::*;

// ---- plain types against f32 activations ----------------------------------------------------

// F32, F16 and BF16 weights: the scalar kernels (`scalar::vec_dot_f32` ...). llama.cpp's generic
// kernels sum these products in f64 one after another, which no SIMD reordering reproduces bit
// for bit; no supported real file keeps its matrices in these types.
pub use crate::quant::scalar::{vec_dot_bf16, vec_dot_f16, vec_dot_f32};

// ---- 32-element blocks ----------------------------------------------------------------------

/// The weight rows a 32-element tile reads: `R` rows in file order (one slice each), or the four
/// rows of an interleaved group (`Interleaved`, `crate::quant::interleave`).
pub trait TileRows<'w, B: 'w, const R: usize>: Copy {
    /// Blocks per row.
    fn blocks(self) -> usize;
    /// The same rows cut to their first `nb` blocks (`nb <= blocks()`).
    fn trimmed(self, nb: usize) -> Self;
    /// Block `i` of row `r`.
    fn block(self, r: usize, i: usize) -> &'w B;
}

impl<'w, B, const R: usize> TileRows<'w, B, R> for [&'w [B]; R] {
    #[inline(always)]
    fn blocks(self) -> usize {
        self.iter().map(|w| w.len()).min().unwrap_or(0)
    }
    #[inline(always)]
    fn trimmed(self, nb: usize) -> Self {
        self.map(|w| &w[..nb])
    }
    #[inline(always)]
    fn block(self, r: usize, i: usize) -> &'w B {
        &self[r][i]
    }
}

/// Rows `first .. first + R` of a group of four rows stored interleaved: block `i` of row `r` is
/// `group[i][first + r]` (`crate::quant::interleave`).
pub struct Interleaved<'w, B> {
    pub group: &'w [[B; GROUP_ROWS]],
    pub first: usize,
}

impl<B> Clone for Interleaved<'_, B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<B> Copy for Interleaved<'_, B> {}

impl<'w, B, const R: usize> TileRows<'w, B, R> for Interleaved<'w, B> {
    #[inline(always)]
    fn blocks(self) -> usize {
        self.group.len()
    }
    #[inline(always)]
    fn trimmed(self, nb: usize) -> Self {
        Interleaved { group: &self.group[..nb], ..self }
    }
    #[inline(always)]
    fn block(self, r: usize, i: usize) -> &'w B {
        &self.group[i][self.first + r]
    }
}

/// Rows × activations of 32-element blocks: `out[r][t] = w[r] · x[t]`. Each weight block is
/// unpacked once (`unpack`: quants 0..16 and 16..32 as i8 lanes, and the block's raw f16 `d` and
/// `m`) and used for all `N` activations; each activation block is loaded once for all `R` rows.
/// Per (row, activation) the arithmetic is the scalar kernel's: the block's exact integer sum
/// (`sum` gives it in four i32 lanes, added up exactly), then `term` (the scalar kernel's float
/// expression for that type) added to one running f32 sum in block order. So every tile shape
/// gives the scalar result, bit for bit.
///
/// Four (row, activation) pairs at a time share one f32x4 for those last steps: the four rows of
/// a decoding tile (`R` = 4, `N` = 1), or the four activations of a prompt tile (`N` = 4). Lane k
/// then computes pair k's scalar expression (IEEE f32 operations, no fused multiply-add), so the
/// lanes are bit for bit the scalar sums, and the horizontal sums, the f16 scale conversions
/// and the float steps cost a quarter.
#[inline(always)]
fn tile32<'w, B: 'w, A: ActBlock + Act32, const R: usize, const N: usize>(
    w: impl TileRows<'w, B, R>,
    x: [&[A]; N],
    s: [&[[f32; 2]]; N],
    unpack: impl Fn(&B) -> (v128, v128, [[u8; 2]; 2]),
    sum: impl Fn(v128, v128, &[i8; 32]) -> v128,
    centre: Centre,
    term: BlockTerm,
) -> [[f32; N]; R] {
    let nb = x.iter().map(|x| x.len()).fold(w.blocks(), usize::min);
    let (w, x) = (w.trimmed(nb), x.map(|x| &x[..nb]));
    // Precomputed activation scales, or converted here (a single dot product).
    let given = s.iter().all(|s| s.len() >= nb);
    let act_scales = |t: usize, i: usize| if given { s[t][i] } else { x[t][i].scales() };
    if N == 4 {
        // Lanes: the four activations, one accumulator per row.
        let mut acc = [f32x4_splat(0.0); R];
        for i in 0..nb {
            let xs = core::array::from_fn::<[f32; 2], 4, _>(|t| act_scales(t, i));
            let xd = f32x4(xs[0][0], xs[1][0], xs[2][0], xs[3][0]);
            let xm = f32x4(xs[0][1], xs[1][1], xs[2][1], xs[3][1]);
            let offset = centre.lanes(xm);
            for (r, acc) in acc.iter_mut().enumerate() {
                let (lo, hi, wd) = unpack(w.block(r, i));
                let sums = i32x4_sub(hsum4(core::array::from_fn(|t| sum(lo, hi, x[t][i].qs()))), offset);
                let wd = [f32x4_splat(f16_le(wd[0])), f32x4_splat(f16_le(wd[1]))];
                *acc = f32x4_add(*acc, term.lanes(sums, wd, [xd, xm]));
            }
        }
        return core::array::from_fn(|r| {
            let mut lanes = [0.0f32; 4];
            store(&mut lanes, acc[r]);
            core::array::from_fn(|t| lanes[t])
        });
    }
    if R == 4 && N == 1 {
        // Lanes: the four rows.
        let mut acc = f32x4_splat(0.0);
        for i in 0..nb {
            let xs = act_scales(0, i);
            let (q, raw): ([(v128, v128); 4], [[[u8; 2]; 2]; 4]) = {
                let u = core::array::from_fn::<_, 4, _>(|r| unpack(w.block(r, i)));
                (u.map(|(lo, hi, _)| (lo, hi)), u.map(|(_, _, d)| d))
            };
            let sums = i32x4_sub(hsum4(q.map(|(lo, hi)| sum(lo, hi, x[0][i].qs()))), i32x4_splat(centre.scalar(xs[1])));
            let wd = match term {
                BlockTerm::ScaleAndMin => scale_pairs(raw),
                _ => [halves_to_f32x4(raw.map(|d| d[0])), f32x4_splat(0.0)],
            };
            acc = f32x4_add(acc, term.lanes(sums, wd, [f32x4_splat(xs[0]), f32x4_splat(xs[1])]));
        }
        let mut lanes = [0.0f32; 4];
        store(&mut lanes, acc);
        return core::array::from_fn(|r| core::array::from_fn(|_| lanes[r]));
    }
    let mut acc = [[0.0f32; N]; R];
    for i in 0..nb {
        let xs = core::array::from_fn::<[f32; 2], N, _>(|t| act_scales(t, i));
        for (r, acc) in acc.iter_mut().enumerate() {
            let (lo, hi, wd) = unpack(w.block(r, i));
            let wd = [f16_le(wd[0]), f16_le(wd[1])];
            for ((acc, x), xs) in acc.iter_mut().zip(&x).zip(xs) {
                *acc += term.scalar(hsum_i32(sum(lo, hi, x[i].qs())) - centre.scalar(xs[1]), wd, xs);
            }
        }
    }
    acc
}

/// The offset of a centred type's raw quants (Q4_0: u - 8, Q5_0: u - 16), taken off the block's
/// integer sum with the activation block's quant sum: Σ (u - c)·y = Σ u·y - c·Σ y, all exact
/// integers. The sum comes with the activation's scales (`ActBlock::scales`: Q8_0's second one,
/// computed once per matmul), so the kernels multiply raw unsigned quants, which relaxed SIMD's
/// 8-bit dot products take as they are.
#[derive(Clone, Copy)]
enum Centre {
    /// Unsigned or signed quants as they are.
    None,
    /// Raw quants minus `1 << shift`.
    Shift(u32),
}

impl Centre {
    /// `c · Σ y` from the activation block's quant sum `qsum` (an integer, exact in f32).
    #[inline(always)]
    fn scalar(self, qsum: f32) -> i32 {
        match self {
            Centre::None => 0,
            Centre::Shift(k) => (qsum as i32) << k,
        }
    }

    /// `scalar` in each of four lanes.
    #[inline(always)]
    fn lanes(self, qsum: v128) -> v128 {
        match self {
            Centre::None => i32x4_splat(0),
            Centre::Shift(k) => i32x4_shl(i32x4_trunc_sat_f32x4(qsum), k),
        }
    }
}

/// The float expression that turns a 32-element block's integer sum into its term, from the
/// weight block's scales `w` (d, m) and the activation block's `x` (d, s).
#[derive(Clone, Copy)]
enum BlockTerm {
    /// `(sumi * dw) * dx`: Q4_0 (llama.cpp's Q4_0 kernel multiplies in that order).
    ThenScale,
    /// `sumi * (dw * dx)`: Q5_0, Q8_0 and IQ4_NL.
    Scale,
    /// `sumi * (dw * dx) + mw * sx`: Q4_1 and Q5_1.
    ScaleAndMin,
}

impl BlockTerm {
    #[inline(always)]
    fn scalar(self, sumi: i32, w: [f32; 2], x: [f32; 2]) -> f32 {
        match self {
            BlockTerm::ThenScale => (sumi as f32 * w[0]) * x[0],
            BlockTerm::Scale => sumi as f32 * (w[0] * x[0]),
            BlockTerm::ScaleAndMin => sumi as f32 * (w[0] * x[0]) + w[1] * x[1],
        }
    }

    /// `scalar` in each of four lanes: `sumi` i32x4, the others f32x4.
    #[inline(always)]
    fn lanes(self, sumi: v128, w: [v128; 2], x: [v128; 2]) -> v128 {
        let f = f32x4_convert_i32x4(sumi);
        match self {
            BlockTerm::ThenScale => f32x4_mul(f32x4_mul(f, w[0]), x[0]),
            BlockTerm::Scale => f32x4_mul(f, f32x4_mul(w[0], x[0])),
            BlockTerm::ScaleAndMin => f32x4_add(f32x4_mul(f, f32x4_mul(w[0], x[0])), f32x4_mul(w[1], x[1])),
        }
    }
}

/// Lane k: the sum of `v[k]`'s four i32 lanes (exact, as `hsum_i32`: integer sums wrap the same
/// in any order).
#[inline(always)]
fn hsum4(v: [v128; 4]) -> v128 {
    // Pairs (0, 1) and (2, 3): lanes a0+a2, b0+b2, a1+a3, b1+b3.
    let pair = |a: v128, b: v128| i32x4_add(i32x4_shuffle::<0, 4, 1, 5>(a, b), i32x4_shuffle::<2, 6, 3, 7>(a, b));
    let (p, q) = (pair(v[0], v[1]), pair(v[2], v[3]));
    // Lanes: v0, v1, v2, v3 whole.
    i32x4_add(i32x4_shuffle::<0, 1, 4, 5>(p, q), i32x4_shuffle::<2, 3, 6, 7>(p, q))
}

/// Four little-endian IEEE halves as f32x4, exactly as `f16_le`: where none is an infinity or
/// a NaN, by its finite branch in four lanes (the magnitude shifted into place and scaled by
/// 2^112, which also makes subnormals exact, then the sign); else by `f16x4_to_f32`.
#[inline(always)]
fn halves_to_f32x4(h: [[u8; 2]; 4]) -> v128 {
    let h = h.map(|b| u16::from_le_bytes(b) as u32);
    let v = u32x4(h[0], h[1], h[2], h[3]);
    let exponent = u32x4_splat(0x7C00);
    if v128_any_true(i32x4_eq(v128_and(v, exponent), exponent)) {
        return f16x4_to_f32(v);
    }
    let magnitude = i32x4_shl(v128_and(v, u32x4_splat(0x7FFF)), 13);
    v128_or(f32x4_mul(magnitude, f32x4_splat(F16_RESCALE)), i32x4_shl(v128_and(v, u32x4_splat(0x8000)), 16))
}

/// Four rows' (d, m) halves as two f32x4, exactly as `f16_le` (as `halves_to_f32x4`): each row's
/// pair read as one u32 lane (d low, m high), so the four pairs take four loads, and widened in
/// place by shifts, masks and one multiply each.
#[inline(always)]
fn scale_pairs(raw: [[[u8; 2]; 2]; 4]) -> [v128; 2] {
    let w = raw.map(|[d, m]| u32::from_le_bytes([d[0], d[1], m[0], m[1]]));
    let v = u32x4(w[0], w[1], w[2], w[3]);
    let exponent = i16x8_splat(0x7C00);
    if v128_any_true(i16x8_eq(v128_and(v, exponent), exponent)) {
        return [halves_to_f32x4(raw.map(|p| p[0])), halves_to_f32x4(raw.map(|p| p[1]))];
    }
    let (rescale, sign) = (f32x4_splat(F16_RESCALE), u32x4_splat(0x8000_0000));
    // d: bits 0..15 (magnitude 0..14 to 13..27 after << 17 >> 4); m: bits 16..31 (>> 3).
    let d = v128_or(f32x4_mul(u32x4_shr(i32x4_shl(v, 17), 4), rescale), v128_and(i32x4_shl(v, 16), sign));
    let m = v128_or(f32x4_mul(u32x4_shr(v128_and(v, u32x4_splat(0x7FFF_0000)), 3), rescale), v128_and(v, sign));
    [d, m]
}

/// A 32-element activation block (Q8_0 or Q8_1): its quants.
trait Act32 {
    fn qs(&self) -> &[i8; 32];
}

impl Act32 for BlockQ8_0 {
    #[inline(always)]
    fn qs(&self) -> &[i8; 32] {
        &self.qs
    }
}

impl Act32 for BlockQ8_1 {
    #[inline(always)]
    fn qs(&self) -> &[i8; 32] {
        &self.qs
    }
}

/// The i32x4 sums of 32 arbitrary i8 weights times 32 activation quants in -127..=127 (what
/// `quantize_row_q8_0` writes: `round(v · 127 / amax)`).
///
/// With relaxed SIMD: the relaxed dot product is exact and the same on every engine only while
/// its second operand is in 0..=127, and these weights may be -128. So the activations go in
/// split, `y = p - n` with `p = max(y, 0)` and `n = p - y`, both in 0..=127: two dot products
/// (single instructions with VNNI) instead of four widening multiplies and their additions.
#[inline(always)]
fn full32(w0: v128, w1: v128, y: &[i8; 32]) -> v128 {
    let (y0, y1) = halves(y);
    #[cfg(target_feature = "relaxed-simd")]
    {
        let zero = i8x16_splat(0);
        let (p0, p1) = (i8x16_max(y0, zero), i8x16_max(y1, zero));
        let (n0, n1) = (i8x16_sub(p0, y0), i8x16_sub(p1, y1));
        let positive = i32x4_relaxed_dot_i8x16_i7x16_add(w1, p1, i32x4_relaxed_dot_i8x16_i7x16_add(w0, p0, zero));
        let negative = i32x4_relaxed_dot_i8x16_i7x16_add(w1, n1, i32x4_relaxed_dot_i8x16_i7x16_add(w0, n0, zero));
        i32x4_sub(positive, negative)
    }
    #[cfg(not(target_feature = "relaxed-simd"))]
    i32x4_add(super::dot_i8_i32(w0, y0), super::dot_i8_i32(w1, y1))
}

/// Q4_0 weights · Q8_0 activations, `R` rows by `N` activations.
pub fn tile_q4_0_q8_0<'w, const R: usize, const N: usize>(
    w: impl TileRows<'w, BlockQ4_0, R>,
    x: [&[BlockQ8_0]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockQ4_0| {
        let (lo, hi) = nibbles(load(&b.qs));
        (lo, hi, [b.d, [0; 2]])
    };
    // Quants n - 8.
    tile32(w, x, s, unpack, unsigned32, Centre::Shift(3), BlockTerm::ThenScale)
}

/// Q4_1 weights · Q8_1 activations, `R` rows by `N` activations.
pub fn tile_q4_1_q8_1<'w, const R: usize, const N: usize>(
    w: impl TileRows<'w, BlockQ4_1, R>,
    x: [&[BlockQ8_1]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockQ4_1| {
        let (lo, hi) = nibbles(load(&b.qs));
        (lo, hi, [b.d, b.m])
    };
    tile32(w, x, s, unpack, unsigned32, Centre::None, BlockTerm::ScaleAndMin)
}

/// Q5_0 weights · Q8_0 activations, `R` rows by `N` activations.
pub fn tile_q5_0_q8_0<'w, const R: usize, const N: usize>(
    w: impl TileRows<'w, BlockQ5_0, R>,
    x: [&[BlockQ8_0]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockQ5_0| {
        let (lo, hi) = nibbles(load(&b.qs));
        let (blo, bhi) = fifth_bits(b.qh);
        (v128_or(lo, blo), v128_or(hi, bhi), [b.d, [0; 2]])
    };
    // Quants n - 16.
    tile32(w, x, s, unpack, unsigned32, Centre::Shift(4), BlockTerm::Scale)
}

/// Q5_1 weights · Q8_1 activations, `R` rows by `N` activations.
pub fn tile_q5_1_q8_1<'w, const R: usize, const N: usize>(
    w: impl TileRows<'w, BlockQ5_1, R>,
    x: [&[BlockQ8_1]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockQ5_1| {
        let (lo, hi) = nibbles(load(&b.qs));
        let (blo, bhi) = fifth_bits(b.qh);
        (v128_or(lo, blo), v128_or(hi, bhi), [b.d, b.m])
    };
    tile32(w, x, s, unpack, unsigned32, Centre::None, BlockTerm::ScaleAndMin)
}

/// Q8_0 weights · Q8_0 activations, `R` rows by `N` activations.
pub fn tile_q8_0_q8_0<'w, const R: usize, const N: usize>(
    w: impl TileRows<'w, BlockQ8_0, R>,
    x: [&[BlockQ8_0]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockQ8_0| {
        let (w0, w1) = halves(&b.qs);
        (w0, w1, [b.d, [0; 2]])
    };
    tile32(w, x, s, unpack, full32, Centre::None, BlockTerm::Scale)
}

/// The i32x4 sums of 32 IQ4 grid values (`lo`, `hi`: elements 0..16 and 16..32, |v| <= 127)
/// times 32 activation quants: two products per i16 lane stay within 2 · 127 · 128 < 2^15,
/// then widen. Cheaper than `full32`, which does not know |v| < 128.
#[inline(always)]
fn grid32(lo: v128, hi: v128, y: &[i8; 32]) -> v128 {
    let (y0, y1) = halves(y);
    let (p0, p1) = (mul_i8_i16(lo, y0), mul_i8_i16(hi, y1));
    i32x4_add(i32x4_extadd_pairwise_i16x8(p0), i32x4_extadd_pairwise_i16x8(p1))
}

/// IQ4_NL weights · Q8_0 activations, `R` rows by `N` activations.
pub fn tile_iq4_nl_q8_0<'w, const R: usize, const N: usize>(
    w: impl TileRows<'w, BlockIQ4NL, R>,
    x: [&[BlockQ8_0]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockIQ4NL| {
        let (lo, hi) = iq4nl_values(load(&b.qs));
        (lo, hi, [b.d, [0; 2]])
    };
    tile32(w, x, s, unpack, grid32, Centre::None, BlockTerm::Scale)
}

/// IQ4_NL weights · Q8_0 activation.
pub fn vec_dot_iq4_nl_q8_0(w: &[BlockIQ4NL], x: &[BlockQ8_0]) -> f32 {
    tile_iq4_nl_q8_0([w], [x], [&[]])[0][0]
}

/// Q4_0 weights · Q8_0 activation.
pub fn vec_dot_q4_0_q8_0(w: &[BlockQ4_0], x: &[BlockQ8_0]) -> f32 {
    tile_q4_0_q8_0([w], [x], [&[]])[0][0]
}

/// Q4_1 weights · Q8_1 activation.
pub fn vec_dot_q4_1_q8_1(w: &[BlockQ4_1], x: &[BlockQ8_1]) -> f32 {
    tile_q4_1_q8_1([w], [x], [&[]])[0][0]
}

/// Q5_0 weights · Q8_0 activation.
pub fn vec_dot_q5_0_q8_0(w: &[BlockQ5_0], x: &[BlockQ8_0]) -> f32 {
    tile_q5_0_q8_0([w], [x], [&[]])[0][0]
}

/// Q5_1 weights · Q8_1 activation.
pub fn vec_dot_q5_1_q8_1(w: &[BlockQ5_1], x: &[BlockQ8_1]) -> f32 {
    tile_q5_1_q8_1([w], [x], [&[]])[0][0]
}

/// Q8_0 weights · Q8_0 activation.
pub fn vec_dot_q8_0_q8_0(w: &[BlockQ8_0], x: &[BlockQ8_0]) -> f32 {
    tile_q8_0_q8_0([w], [x], [&[]])[0][0]
}

// ---- k-quants against Q8_K ------------------------------------------------------------------

/// Rows × activations of k-quant super-blocks: `out[r][t] = w[r] · x[t]`. Each weight
/// super-block is unpacked once (`unpack`) for all `N` activations; `step` adds one
/// super-block's terms to a (row, activation)'s accumulator exactly as the scalar kernel does,
/// and `finish` turns the accumulator into the result. So every tile shape gives the scalar
/// result, bit for bit.
#[inline(always)]
fn tile_k<B, U, S: Copy, const R: usize, const N: usize>(
    w: [&[B]; R],
    x: [&[BlockQ8K]; N],
    unpack: impl Fn(&B) -> U,
    init: S,
    step: impl Fn(&mut S, &B, &U, &BlockQ8K),
    finish: impl Fn(S) -> f32,
) -> [[f32; N]; R] {
    let nb = w.iter().map(|w| w.len()).chain(x.iter().map(|x| x.len())).min().unwrap_or(0);
    let (w, x) = (w.map(|w| &w[..nb]), x.map(|x| &x[..nb]));
    let mut acc = [[init; N]; R];
    for i in 0..nb {
        for (acc, w) in acc.iter_mut().zip(&w) {
            let (b, u) = (&w[i], unpack(&w[i]));
            for (s, x) in acc.iter_mut().zip(&x) {
                step(s, b, &u, &x[i]);
            }
        }
    }
    acc.map(|row| row.map(&finish))
}

/// The eight float lanes of a Q3_K..Q6_K dot product (the scalar `LaneSums`): lanes 0..4 and
/// 4..8 as two f32x4, and the running sum they are added to, in lane order, at the end.
#[derive(Clone, Copy)]
struct LaneAcc {
    lanes: [v128; 2],
    rest: f32,
}

impl LaneAcc {
    fn new() -> LaneAcc {
        LaneAcc { lanes: [f32x4_splat(0.0); 2], rest: 0.0 }
    }

    /// lanes[l] += d * isums[l] (`isums`: i32 lanes 0..4 and 4..8).
    #[inline(always)]
    fn add(&mut self, d: f32, isums: [v128; 2]) {
        let d = f32x4_splat(d);
        for (lane, i) in self.lanes.iter_mut().zip(isums) {
            *lane = f32x4_add(*lane, f32x4_mul(d, f32x4_convert_i32x4(i)));
        }
    }

    /// rest + lane 0 + lane 1 + ... + lane 7, in that order.
    #[inline(always)]
    fn total(self) -> f32 {
        let mut lanes = [[0.0f32; 4]; 2];
        store(&mut lanes[0], self.lanes[0]);
        store(&mut lanes[1], self.lanes[1]);
        lanes.as_flattened().iter().fold(self.rest, |s, &l| s + l)
    }
}

/// Adds `p` (i16x8 whose lane k holds products of elements ≡ k mod 8) times `scale` to the
/// eight i32 lanes `acc` (0..4, 4..8), exactly: |p · scale| < 2^15 · 2^7.
#[inline(always)]
fn add_scaled(acc: &mut [v128; 2], p: v128, scale: i16) {
    let s = i16x8_splat(scale);
    acc[0] = i32x4_add(acc[0], i32x4_extmul_low_i16x8(p, s));
    acc[1] = i32x4_add(acc[1], i32x4_extmul_high_i16x8(p, s));
}

/// Q8_K activation blocks with the quants of every 32-element sub-block in lane order
/// (`in_lane_order`), as the Q4_K, Q5_K and Q6_K tiles read them; `d` and `bsums` unchanged.
/// Made once per matmul (`Kernels::tile_acts`).
pub fn q8_k_in_lane_order(x: &[BlockQ8K]) -> Vec<BlockQ8K> {
    x.iter()
        .map(|b| {
            let mut out = *b;
            for (to, from) in out.qs.as_chunks_mut::<32>().0.iter_mut().zip(b.qs.as_chunks::<32>().0) {
                let (y0, y1) = halves(from);
                let [a, c] = in_lane_order(y0, y1);
                let to = to.as_chunks_mut::<16>().0;
                store(&mut to[0], a);
                store(&mut to[1], c);
            }
            out
        })
        .collect()
}

/// A k-quant type whose tiles read it in lane order (`in_lane_order`): per super-block a head
/// (`LaneHead`: its scales, d and whatever its quants need), then its quants a half (four
/// 32-element sub-blocks) at a time, each half used for every activation of the tile as soon as
/// it is unpacked: the vectors live at once stay few enough for the registers.
trait LaneBlock {
    /// Subtracted from every raw quant (`lanes8_scaled`'s centre).
    const CENTRE: i8;
    type Head: LaneHead;
    fn head(&self) -> Self::Head;
    /// Sub-blocks 4 h .. 4 h + 4 (h = 0, 1), raw quants in lane order.
    fn half(&self, head: &Self::Head, h: usize) -> [[v128; 2]; 4];
}

/// What a lane-order super-block's head gives its tile.
trait LaneHead {
    /// Sub-block `s`'s scales (`lane_scales`).
    fn scales(&self, s: usize) -> v128;
    /// Adds the super-block's eight integer lane sums and any other terms to the float lanes: the
    /// scalar kernel's expressions, in its order.
    fn finish(&self, acc: &mut LaneAcc, isums: [v128; 2], a: &BlockQ8K);
}

/// Rows × activations of a lane-order k-quant type: `out[r][t] = w[r] · x[t]` with `x` in lane
/// order (`q8_k_in_lane_order`), bit for bit the scalar kernel's result for every tile shape.
#[inline(always)]
fn tile_lanes<B: LaneBlock, const R: usize, const N: usize>(w: [&[B]; R], x: [&[BlockQ8K]; N]) -> [[f32; N]; R] {
    let nb = w.iter().map(|w| w.len()).chain(x.iter().map(|x| x.len())).min().unwrap_or(0);
    let (w, x) = (w.map(|w| &w[..nb]), x.map(|x| &x[..nb]));
    let mut acc = [[LaneAcc::new(); N]; R];
    for i in 0..nb {
        for (acc, w) in acc.iter_mut().zip(&w) {
            let b = &w[i];
            let head = b.head();
            let mut isums = [[i32x4_splat(0); 2]; N];
            for h in 0..2 {
                let q = b.half(&head, h);
                for (sums, x) in isums.iter_mut().zip(&x) {
                    let y = x[i].qs.as_chunks::<16>().0;
                    for (k, q) in q.iter().enumerate() {
                        let s = 4 * h + k;
                        let l = lanes8_scaled(*q, [load(&y[2 * s]), load(&y[2 * s + 1])], head.scales(s), B::CENTRE);
                        *sums = [i32x4_add(sums[0], l[0]), i32x4_add(sums[1], l[1])];
                    }
                }
            }
            for ((acc, sums), x) in acc.iter_mut().zip(isums).zip(&x) {
                head.finish(acc, sums, &x[i]);
            }
        }
    }
    acc.map(|row| row.map(LaneAcc::total))
}

/// The eight 6-bit scales (bytes 0..8) and mins (bytes 8..16) of a Q4_K / Q5_K super-block from
/// its 12 packed bytes, as `BlockQ4K::scales_mins` unpacks them: scales and mins 0..4 are the
/// low six bits of bytes 0..4 and 4..8; scales 4..8 are the low nibbles of bytes 8..12 and mins
/// 4..8 their high nibbles, each with its top two bits from the top of bytes 0..4 (scales) or
/// 4..8 (mins). Beside them, each scale twice as i16 lanes (scales 0..4, then 4..8): a
/// sub-block's first and second scales are the same.
struct K4Scales {
    packed: v128,
    pairs: [v128; 2],
}

impl K4Scales {
    #[inline(always)]
    fn unpack(packed: &[u8; K_SCALE_SIZE]) -> K4Scales {
        // Four bytes at a time in scalar words: SIMD byte shuffles with arbitrary lanes cost V8
        // several instructions each on x86, these a few plain ones.
        let word = |i: usize| u32::from_le_bytes([packed[i], packed[i + 1], packed[i + 2], packed[i + 3]]);
        let (w0, w1, w2) = (word(0), word(4), word(8));
        let (six, four, top) = (0x3F3F_3F3F, 0x0F0F_0F0F, 0x0303_0303);
        let scales_high = (w2 & four) | ((w0 >> 6) & top) << 4;
        let mins_high = ((w2 >> 4) & four) | ((w1 >> 6) & top) << 4;
        let packed = u32x4(w0 & six, scales_high, w1 & six, mins_high);
        let scales = u16x8_extend_low_u8x16(packed);
        let pairs = [i16x8_shuffle::<0, 0, 1, 1, 2, 2, 3, 3>(scales, scales), i16x8_shuffle::<4, 4, 5, 5, 6, 6, 7, 7>(scales, scales)];
        K4Scales { packed, pairs }
    }

    /// Sub-block `s`'s scale as `lanes8_scaled` takes it (`lane_scales`).
    #[inline(always)]
    fn scale(&self, s: usize) -> v128 {
        lane_scales(self.pairs[s / 4], s % 4)
    }

    /// Σ mn[s] · (bsums[2 s] + bsums[2 s + 1]): each sub-block's activation sum times its min,
    /// exact (|Σ| <= 16 · 63 · 2032 < 2^21). The mins as i16 lanes, each twice, weigh the
    /// sixteen group sums.
    #[inline(always)]
    fn mins_sum(&self, bsums: &[i16; QK_K / 16]) -> i32 {
        let mins = u16x8_extend_high_u8x16(self.packed);
        let (lo, hi) = (i16x8_shuffle::<0, 0, 1, 1, 2, 2, 3, 3>(mins, mins), i16x8_shuffle::<4, 4, 5, 5, 6, 6, 7, 7>(mins, mins));
        let b = bsums.as_chunks::<8>().0;
        hsum_i32(i32x4_add(i32x4_dot_i16x8(lo, load(&b[0])), i32x4_dot_i16x8(hi, load(&b[1]))))
    }
}

/// The head of a Q4_K / Q5_K super-block: scales and mins, d and dmin, and (Q5_K) the fifth bits
/// in lane order.
struct K4Head {
    scales: K4Scales,
    d: [f32; 2],
    fifth: [v128; 2],
}

impl K4Head {
    #[inline(always)]
    fn new(packed: &[u8; K_SCALE_SIZE], d: [u8; 2], dmin: [u8; 2], fifth: [v128; 2]) -> K4Head {
        K4Head { scales: K4Scales::unpack(packed), d: [f16_le(d), f16_le(dmin)], fifth }
    }
}

impl LaneHead for K4Head {
    #[inline(always)]
    fn scales(&self, s: usize) -> v128 {
        self.scales.scale(s)
    }

    /// d · lane sums, and dmin · Σ mins · bsums taken from the running sum (the scalar kernel's
    /// expressions).
    #[inline(always)]
    fn finish(&self, acc: &mut LaneAcc, isums: [v128; 2], a: &BlockQ8K) {
        acc.add(self.d[0] * a.d, isums);
        acc.rest -= self.d[1] * a.d * self.scales.mins_sum(&a.bsums) as f32;
    }
}

/// Sub-blocks 4 h .. 4 h + 4 of a Q4_K / Q5_K super-block's 4-bit quants, in lane order: the 32
/// bytes of 64-element chunk j hold sub-block 2 j in their low nibbles and 2 j + 1 in their high
/// ones, so one rearrangement of the bytes serves both.
#[inline(always)]
fn k4_half(qs: &[u8; QK_K / 2], h: usize) -> [[v128; 2]; 4] {
    let q = qs.as_chunks::<16>().0;
    let mut out = [[i8x16_splat(0); 2]; 4];
    for j in 0..2 {
        let [a, b] = in_lane_order(load(&q[4 * h + 2 * j]), load(&q[4 * h + 2 * j + 1]));
        let ((la, ha), (lb, hb)) = (nibbles(a), nibbles(b));
        out[2 * j] = [la, lb];
        out[2 * j + 1] = [ha, hb];
    }
    out
}

impl LaneBlock for BlockQ4K {
    const CENTRE: i8 = 0;
    type Head = K4Head;
    #[inline(always)]
    fn head(&self) -> K4Head {
        K4Head::new(&self.scales, self.d, self.dmin, [i8x16_splat(0); 2])
    }
    #[inline(always)]
    fn half(&self, _: &K4Head, h: usize) -> [[v128; 2]; 4] {
        k4_half(&self.qs, h)
    }
}

impl LaneBlock for BlockQ5K {
    const CENTRE: i8 = 0;
    type Head = K4Head;
    #[inline(always)]
    fn head(&self) -> K4Head {
        // Bit s of qh byte i is the fifth bit of element i of sub-block s: the same
        // rearrangement puts it beside its element.
        let h = load32(&self.qh);
        K4Head::new(&self.scales, self.d, self.dmin, in_lane_order(h[0], h[1]))
    }
    #[inline(always)]
    fn half(&self, head: &K4Head, h: usize) -> [[v128; 2]; 4] {
        let mut q = k4_half(&self.qs, h);
        for (k, q) in q.iter_mut().enumerate() {
            let s = (4 * h + k) as u32;
            *q = [0, 1].map(|l| v128_or(q[l], q5k_bit(head.fifth[l], s)));
        }
        q
    }
}

/// Q4_K weights · Q8_K activations in lane order (`q8_k_in_lane_order`), `R` rows by `N`
/// activations.
pub fn tile_q4_k_q8_k<const R: usize, const N: usize>(
    w: [&[BlockQ4K]; R],
    x: [&[BlockQ8K]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let _ = s;
    tile_lanes(w, x)
}

/// Q4_K weights · Q8_K activation.
pub fn vec_dot_q4_k_q8_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    tile_q4_k_q8_k([w], [&q8_k_in_lane_order(x)], [&[]])[0][0]
}

/// Q5_K weights · Q8_K activations in lane order (`q8_k_in_lane_order`), `R` rows by `N`
/// activations.
pub fn tile_q5_k_q8_k<const R: usize, const N: usize>(
    w: [&[BlockQ5K]; R],
    x: [&[BlockQ8K]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let _ = s;
    tile_lanes(w, x)
}

/// Q5_K weights · Q8_K activation.
pub fn vec_dot_q5_k_q8_k(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    tile_q5_k_q8_k([w], [&q8_k_in_lane_order(x)], [&[]])[0][0]
}

/// The 2-bit quants of a Q2_K / Q3_K super-block as sixteen 16-element groups (element order):
/// group 8 n + 2 j + c is bits 2 j of bytes 32 n + 16 c + (0..16).
#[inline(always)]
fn q2_groups(qs: &[u8; QK_K / 4]) -> [v128; 16] {
    let chunks = qs.as_chunks::<16>().0;
    let mut groups = [i8x16_splat(0); 16];
    for (i, g) in groups.iter_mut().enumerate() {
        let (n, j, c) = (i / 8, (i / 2) % 4, i % 2);
        // A 16-bit shift: the bits it moves across bytes land above the mask.
        *g = v128_and(u16x8_shr(load(&chunks[2 * n + c]), 2 * j as u32), u8x16_splat(3));
    }
    groups
}

/// Q2_K weights · Q8_K activation: one float step per super-block (as llama.cpp's Q2_K kernel,
/// which has no lanes).
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

/// The eight lane sums of sixteen 16-element weight groups, each with an i16 scale, with a
/// Q8_K block (|q| <= 32: two products per i16 lane stay within 2^13). Each group has its own
/// scale, so lanes k and k + 8 of one group must share an i16 lane: SIMD128's `mul_i8_i16`
/// (a relaxed dot product would need a byte shuffle per operand, which cost more than it saved).
#[inline(always)]
fn isums_groups(groups: &[v128; 16], scales: &[i16; 16], a: &BlockQ8K) -> [v128; 2] {
    let y = a.qs.as_chunks::<16>().0;
    let mut acc = [i32x4_splat(0); 2];
    for (g, q) in groups.iter().enumerate() {
        add_scaled(&mut acc, mul_i8_i16(*q, load(&y[g])), scales[g]);
    }
    acc
}

/// A Q3_K super-block unpacked: its sixteen groups (centred quants), their scales, and d.
type UnpackedGroups = ([v128; 16], [i16; 16], f32);

/// Q3_K weights · Q8_K activations, `R` rows by `N` activations.
pub fn tile_q3_k_q8_k<const R: usize, const N: usize>(w: [&[BlockQ3K]; R], x: [&[BlockQ8K]; N]) -> [[f32; N]; R] {
    let unpack = |b: &BlockQ3K| -> UnpackedGroups {
        let h = load32(&b.hmask);
        let mut groups = q2_groups(&b.qs);
        for (g, low) in groups.iter_mut().enumerate() {
            // Group g = 8 n + 2 j + c: high bit 4 n + j of hmask[16 c + (0..16)]; clear means -4.
            let bit = u8x16_splat(1 << (g / 2));
            let clear = i8x16_eq(v128_and(h[g % 2], bit), i8x16_splat(0));
            *low = i8x16_sub(*low, v128_and(clear, u8x16_splat(4)));
        }
        (groups, b.scales_i8().map(i16::from), f16_le(b.d))
    };
    let step = |acc: &mut LaneAcc, _: &BlockQ3K, u: &UnpackedGroups, a: &BlockQ8K| acc.add(u.2 * a.d, isums_groups(&u.0, &u.1, a));
    tile_k(w, x, unpack, LaneAcc::new(), step, LaneAcc::total)
}

/// Q3_K weights · Q8_K activation.
pub fn vec_dot_q3_k_q8_k(w: &[BlockQ3K], x: &[BlockQ8K]) -> f32 {
    tile_q3_k_q8_k([w], [x])[0][0]
}

/// The head of a Q6_K super-block: its sixteen group scales as i16 lanes (groups 0..8, 8..16),
/// and d.
struct Q6Head {
    scales: [v128; 2],
    d: f32,
}

impl LaneBlock for BlockQ6K {
    /// The raw 6-bit quants are centred on 32.
    const CENTRE: i8 = 32;
    type Head = Q6Head;
    #[inline(always)]
    fn head(&self) -> Q6Head {
        let sc: &[i8; 16] = &self.scales;
        let v = load(sc);
        Q6Head { scales: [i16x8_extend_low_i8x16(v), i16x8_extend_high_i8x16(v)], d: f16_le(self.d) }
    }
    #[inline(always)]
    fn half(&self, _: &Q6Head, h: usize) -> [[v128; 2]; 4] {
        q6_half(self, h)
    }
}

impl LaneHead for Q6Head {
    /// Sub-block s holds groups 2 s and 2 s + 1.
    #[inline(always)]
    fn scales(&self, s: usize) -> v128 {
        lane_scales(self.scales[s / 4], s % 4)
    }
    #[inline(always)]
    fn finish(&self, acc: &mut LaneAcc, isums: [v128; 2], a: &BlockQ8K) {
        acc.add(self.d * a.d, isums);
    }
}

/// Q6_K weights · Q8_K activations in lane order (`q8_k_in_lane_order`), `R` rows by `N`
/// activations.
pub fn tile_q6_k_q8_k<const R: usize, const N: usize>(
    w: [&[BlockQ6K]; R],
    x: [&[BlockQ8K]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let _ = s;
    tile_lanes(w, x)
}

/// Q6_K weights · Q8_K activation.
pub fn vec_dot_q6_k_q8_k(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    tile_q6_k_q8_k([w], [&q8_k_in_lane_order(x)], [&[]])[0][0]
}

/// An IQ4_XS super-block unpacked: the grid values of each 32-element sub-block (elements
/// 0..16 and 16..32), its centred scale, and d.
struct UnpackedIQ4XS {
    q: [[v128; 2]; 8],
    sc: [i8; 8],
    d: f32,
}

/// One IQ4_XS super-block into the running sum: per sub-block, its exact integer sum times
/// `d * (sc - 32)` (the scalar kernel's expression).
#[inline(always)]
fn step_iq4_xs(sum: &mut f32, u: &UnpackedIQ4XS, a: &BlockQ8K) {
    let d = u.d * a.d;
    for ((q, &sc), y) in u.q.iter().zip(&u.sc).zip(a.qs.as_chunks::<32>().0) {
        *sum += (d * sc as f32) * hsum_i32(grid32(q[0], q[1], y)) as f32;
    }
}

/// IQ4_XS weights · Q8_K activations, `R` rows by `N` activations.
pub fn tile_iq4_xs_q8_k<const R: usize, const N: usize>(
    w: [&[BlockIQ4XS]; R],
    x: [&[BlockQ8K]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let _ = s;
    let unpack = |b: &BlockIQ4XS| {
        let raw = b.qs.as_chunks::<16>().0;
        let q = core::array::from_fn(|s| {
            let (lo, hi) = iq4nl_values(load(&raw[s]));
            [lo, hi]
        });
        UnpackedIQ4XS { q, sc: b.scales_i8(), d: f16_le(b.d) }
    };
    tile_k(w, x, unpack, 0.0f32, |sum, _, u, a| step_iq4_xs(sum, u, a), |sum| sum)
}

/// IQ4_XS weights · Q8_K activation.
pub fn vec_dot_iq4_xs_q8_k(w: &[BlockIQ4XS], x: &[BlockQ8K]) -> f32 {
    tile_iq4_xs_q8_k([w], [x], [&[]])[0][0]
}
