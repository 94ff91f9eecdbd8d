//! SIMD128 dot products. The k-quant kernels compute the scalar reference's exact integer sums
//! and then the same float expression, so they equal it bit for bit; the others accumulate f32
//! per lane (see the module notes).

#[cfg(target_arch = "wasm32")]
use core::arch::wasm32::*;
#[cfg(target_arch = "wasm64")]
use core::arch::wasm64::*;

use super::unpack::{f16x4_to_f32, fifth_bits, iq4nl_values, nibbles, q5k_bit, q6_groups};
use super::{dot_i8_i32, halves, hsum_f32, hsum_i32, load, load32, mul_i8_i16};
use crate::quant::ActBlock;
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

/// Rows × activations of 32-element blocks: `out[r][t] = w[r] · x[t]`. Each weight block is
/// unpacked once (`unpack`: quants 0..16 and 16..32 as i8 lanes) and used for all `N`
/// activations; each activation block is loaded once for all `R` rows. Per (row, activation)
/// the arithmetic is that of a single dot product: per block the exact integer sums (`sum`,
/// i32x4 with lane k holding elements 2k, 2k+1, 2k+8, 2k+9 and the same plus 16) times
/// `d_w * d_x`, one f32 partial sum per lane, then `hsum_f32`. So every tile shape gives the
/// same bits as `R × N` calls with `R = N = 1`.
#[inline(always)]
fn tile32<B, A: ActBlock + Act32, const R: usize, const N: usize>(
    w: [&[B]; R],
    x: [&[A]; N],
    s: [&[[f32; 2]]; N],
    unpack: impl Fn(&B) -> (v128, v128, [u8; 2]),
    sum: impl Fn(v128, v128, &[i8; 32]) -> v128,
) -> [[f32; N]; R] {
    let nb = w.iter().map(|w| w.len()).chain(x.iter().map(|x| x.len())).min().unwrap_or(0);
    let (w, x) = (w.map(|w| &w[..nb]), x.map(|x| &x[..nb]));
    // Precomputed activation scales, or converted here (a single dot product).
    let given = s.iter().all(|s| s.len() >= nb);
    let mut acc = [[f32x4_splat(0.0); N]; R];
    for i in 0..nb {
        let xd = core::array::from_fn::<f32, N, _>(|t| if given { s[t][i][0] } else { x[t][i].scales()[0] });
        for (acc, w) in acc.iter_mut().zip(&w) {
            let (lo, hi, d) = unpack(&w[i]);
            let d = f16_le(d);
            for ((acc, x), xd) in acc.iter_mut().zip(&x).zip(xd) {
                let sumi = sum(lo, hi, x[i].qs());
                *acc = f32x4_add(*acc, f32x4_mul(f32x4_convert_i32x4(sumi), f32x4_splat(d * xd)));
            }
        }
    }
    acc.map(|row| row.map(hsum_f32))
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

/// Σ over blocks of m_w * s_x (the Q4_1 / Q5_1 offset term), summed in block order; `s` holds
/// the activation's scales if precomputed.
#[inline(always)]
fn offsets<B>(w: &[B], x: &[BlockQ8_1], s: &[[f32; 2]], m: impl Fn(&B) -> [u8; 2]) -> f32 {
    if s.len() >= w.len().min(x.len()) {
        w.iter().zip(s).fold(0.0f32, |acc, (b, s)| acc + f16_le(m(b)) * s[1])
    } else {
        w.iter().zip(x).fold(0.0f32, |acc, (b, a)| acc + f16_le(m(b)) * f16_le(a.s))
    }
}

/// The i32x4 sums of 32 small quants (`lo`, `hi`: elements 0..16 and 16..32, |q| <= 31) times
/// 32 activation quants. Four products per i16 lane stay within 31 · 128 · 4 < 2^15.
#[inline(always)]
fn small32(lo: v128, hi: v128, y: &[i8; 32]) -> v128 {
    let (y0, y1) = halves(y);
    i32x4_extadd_pairwise_i16x8(i16x8_add(mul_i8_i16(lo, y0), mul_i8_i16(hi, y1)))
}

/// The i32x4 sums of 32 arbitrary i8 weights times 32 activation quants.
#[inline(always)]
fn full32(w0: v128, w1: v128, y: &[i8; 32]) -> v128 {
    let (y0, y1) = halves(y);
    i32x4_add(dot_i8_i32(w0, y0), dot_i8_i32(w1, y1))
}

/// Q4_0 weights · Q8_0 activations, `R` rows by `N` activations.
pub fn tile_q4_0_q8_0<const R: usize, const N: usize>(
    w: [&[BlockQ4_0]; R],
    x: [&[BlockQ8_0]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockQ4_0| {
        let (lo, hi) = nibbles(load(&b.qs));
        let eight = i8x16_splat(8);
        (i8x16_sub(lo, eight), i8x16_sub(hi, eight), b.d)
    };
    tile32(w, x, s, unpack, small32)
}

/// Q4_1 weights · Q8_1 activations, `R` rows by `N` activations.
pub fn tile_q4_1_q8_1<const R: usize, const N: usize>(
    w: [&[BlockQ4_1]; R],
    x: [&[BlockQ8_1]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockQ4_1| {
        let (lo, hi) = nibbles(load(&b.qs));
        (lo, hi, b.d)
    };
    let mut out = tile32(w, x, s, unpack, small32);
    for (out, w) in out.iter_mut().zip(&w) {
        for ((o, x), s) in out.iter_mut().zip(&x).zip(&s) {
            *o += offsets(w, x, s, |b| b.m);
        }
    }
    out
}

/// Q5_0 weights · Q8_0 activations, `R` rows by `N` activations.
pub fn tile_q5_0_q8_0<const R: usize, const N: usize>(
    w: [&[BlockQ5_0]; R],
    x: [&[BlockQ8_0]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockQ5_0| {
        let (lo, hi) = nibbles(load(&b.qs));
        let (blo, bhi) = fifth_bits(b.qh);
        let sixteen = i8x16_splat(16);
        (i8x16_sub(v128_or(lo, blo), sixteen), i8x16_sub(v128_or(hi, bhi), sixteen), b.d)
    };
    tile32(w, x, s, unpack, small32)
}

/// Q5_1 weights · Q8_1 activations, `R` rows by `N` activations.
pub fn tile_q5_1_q8_1<const R: usize, const N: usize>(
    w: [&[BlockQ5_1]; R],
    x: [&[BlockQ8_1]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockQ5_1| {
        let (lo, hi) = nibbles(load(&b.qs));
        let (blo, bhi) = fifth_bits(b.qh);
        (v128_or(lo, blo), v128_or(hi, bhi), b.d)
    };
    let mut out = tile32(w, x, s, unpack, small32);
    for (out, w) in out.iter_mut().zip(&w) {
        for ((o, x), s) in out.iter_mut().zip(&x).zip(&s) {
            *o += offsets(w, x, s, |b| b.m);
        }
    }
    out
}

/// Q8_0 weights · Q8_0 activations, `R` rows by `N` activations.
pub fn tile_q8_0_q8_0<const R: usize, const N: usize>(
    w: [&[BlockQ8_0]; R],
    x: [&[BlockQ8_0]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockQ8_0| {
        let (w0, w1) = halves(&b.qs);
        (w0, w1, b.d)
    };
    tile32(w, x, s, unpack, full32)
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
pub fn tile_iq4_nl_q8_0<const R: usize, const N: usize>(
    w: [&[BlockIQ4NL]; R],
    x: [&[BlockQ8_0]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockIQ4NL| {
        let (lo, hi) = iq4nl_values(load(&b.qs));
        (lo, hi, b.d)
    };
    tile32(w, x, s, unpack, grid32)
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
/// super-block is unpacked once (`unpack`) for all `N` activations; `isum` gives the exact
/// integer sum of an unpacked block with an activation block and `scale` turns it into the
/// block's float term, added to a running f32 sum in block order, exactly as a single dot
/// product does.
#[inline(always)]
fn tile_k<B, U, const R: usize, const N: usize>(
    w: [&[B]; R],
    x: [&[BlockQ8K]; N],
    unpack: impl Fn(&B) -> U,
    isum: impl Fn(&U, &BlockQ8K) -> i32,
    scale: impl Fn(&B, &U, &BlockQ8K, i32) -> f32,
) -> [[f32; N]; R] {
    let nb = w.iter().map(|w| w.len()).chain(x.iter().map(|x| x.len())).min().unwrap_or(0);
    let (w, x) = (w.map(|w| &w[..nb]), x.map(|x| &x[..nb]));
    let mut sum = [[0.0f32; N]; R];
    for i in 0..nb {
        for (sum, w) in sum.iter_mut().zip(&w) {
            let (b, u) = (&w[i], unpack(&w[i]));
            for (s, x) in sum.iter_mut().zip(&x) {
                let a = &x[i];
                *s += scale(b, &u, a, isum(&u, a));
            }
        }
    }
    sum
}

/// Σ mn[s] * (bsums[2 s] + bsums[2 s + 1]): the activation sum of each sub-block times its min.
#[inline(always)]
fn mins_sum(mn: [u8; 8], bsums: &[i16; 16]) -> i32 {
    (0..8).map(|s| mn[s] as i32 * (bsums[2 * s] as i32 + bsums[2 * s + 1] as i32)).sum()
}

/// A Q4_K / Q5_K super-block unpacked: for each 64-element chunk j, the quants of elements
/// 64 j + (0..16, 16..32, 32..48, 48..64), and the sub-block scales and mins.
struct UnpackedK4 {
    q: [[v128; 4]; 4],
    sc: [u8; 8],
    mn: [u8; 8],
}

/// The exact integer sum of an unpacked Q4_K / Q5_K super-block with a Q8_K block.
#[inline(always)]
fn isum_k4(u: &UnpackedK4, a: &BlockQ8K) -> i32 {
    let y = a.qs.as_chunks::<16>().0;
    let mut acc = i32x4_splat(0);
    for (j, q) in u.q.iter().enumerate() {
        let lo = i16x8_add(mul_i8_i16(q[0], load(&y[4 * j])), mul_i8_i16(q[1], load(&y[4 * j + 1])));
        let hi = i16x8_add(mul_i8_i16(q[2], load(&y[4 * j + 2])), mul_i8_i16(q[3], load(&y[4 * j + 3])));
        acc = i32x4_add(acc, i32x4_dot_i16x8(lo, i16x8_splat(u.sc[2 * j] as i16)));
        acc = i32x4_add(acc, i32x4_dot_i16x8(hi, i16x8_splat(u.sc[2 * j + 1] as i16)));
    }
    hsum_i32(acc)
}

/// A Q4_K / Q5_K super-block's float term: d * isum - dmin * Σ mins · bsums.
#[inline(always)]
fn scale_k4(bd: [u8; 2], bdmin: [u8; 2], u: &UnpackedK4, a: &BlockQ8K, isum: i32) -> f32 {
    let summs = mins_sum(u.mn, &a.bsums);
    let (d, dmin) = (a.d * f16_le(bd), a.d * f16_le(bdmin));
    d * isum as f32 - dmin * summs as f32
}

/// Q4_K weights · Q8_K activations, `R` rows by `N` activations.
pub fn tile_q4_k_q8_k<const R: usize, const N: usize>(
    w: [&[BlockQ4K]; R],
    x: [&[BlockQ8K]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockQ4K| {
        let (sc, mn) = b.scales_mins();
        let q = b.qs.as_chunks::<16>().0;
        let q = core::array::from_fn(|j| {
            // 32 bytes: low nibbles sub-block 2 j, high nibbles 2 j + 1.
            let ((l0, h0), (l1, h1)) = (nibbles(load(&q[2 * j])), nibbles(load(&q[2 * j + 1])));
            [l0, l1, h0, h1]
        });
        UnpackedK4 { q, sc, mn }
    };
    {
        let _ = s;
        tile_k(w, x, unpack, isum_k4, |b, u, a, i| scale_k4(b.d, b.dmin, u, a, i))
    }
}

/// Q4_K weights · Q8_K activation.
pub fn vec_dot_q4_k_q8_k(w: &[BlockQ4K], x: &[BlockQ8K]) -> f32 {
    tile_q4_k_q8_k([w], [x], [&[]])[0][0]
}

/// Q5_K weights · Q8_K activations, `R` rows by `N` activations.
pub fn tile_q5_k_q8_k<const R: usize, const N: usize>(
    w: [&[BlockQ5K]; R],
    x: [&[BlockQ8K]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockQ5K| {
        let (sc, mn) = b.scales_mins();
        let q = b.qs.as_chunks::<16>().0;
        let h = load32(&b.qh);
        let q = core::array::from_fn(|j| {
            let s = 2 * j as u32;
            let ((l0, h0), (l1, h1)) = (nibbles(load(&q[2 * j])), nibbles(load(&q[2 * j + 1])));
            let (l0, l1) = (v128_or(l0, q5k_bit(h[0], s)), v128_or(l1, q5k_bit(h[1], s)));
            let (h0, h1) = (v128_or(h0, q5k_bit(h[0], s + 1)), v128_or(h1, q5k_bit(h[1], s + 1)));
            [l0, l1, h0, h1]
        });
        UnpackedK4 { q, sc, mn }
    };
    {
        let _ = s;
        tile_k(w, x, unpack, isum_k4, |b, u, a, i| scale_k4(b.d, b.dmin, u, a, i))
    }
}

/// Q5_K weights · Q8_K activation.
pub fn vec_dot_q5_k_q8_k(w: &[BlockQ5K], x: &[BlockQ8K]) -> f32 {
    tile_q5_k_q8_k([w], [x], [&[]])[0][0]
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

/// The exact integer sum of sixteen 16-element weight groups, each with an i16 scale, with a
/// Q8_K block.
#[inline(always)]
fn isum_groups(groups: &[v128; 16], scales: impl Fn(usize) -> i16, a: &BlockQ8K) -> i32 {
    let y = a.qs.as_chunks::<16>().0;
    let mut acc = i32x4_splat(0);
    for (g, q) in groups.iter().enumerate() {
        let p = mul_i8_i16(*q, load(&y[g]));
        acc = i32x4_add(acc, i32x4_dot_i16x8(p, i16x8_splat(scales(g))));
    }
    hsum_i32(acc)
}

/// Q6_K weights · Q8_K activations, `R` rows by `N` activations.
pub fn tile_q6_k_q8_k<const R: usize, const N: usize>(
    w: [&[BlockQ6K]; R],
    x: [&[BlockQ8K]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockQ6K| (q6_groups(b), b.scales.map(|s| s as i16));
    let isum = |u: &([v128; 16], [i16; 16]), a: &BlockQ8K| isum_groups(&u.0, |g| u.1[g], a);
    {
        let _ = s;
        tile_k(w, x, unpack, isum, |b, _, a, i| f16_le(b.d) * a.d * i as f32)
    }
}

/// Q6_K weights · Q8_K activation.
pub fn vec_dot_q6_k_q8_k(w: &[BlockQ6K], x: &[BlockQ8K]) -> f32 {
    tile_q6_k_q8_k([w], [x], [&[]])[0][0]
}

/// An IQ4_XS super-block unpacked: the grid values of each 32-element sub-block (elements
/// 0..16 and 16..32) and its centred scale.
struct UnpackedIQ4XS {
    q: [[v128; 2]; 8],
    sc: [i8; 8],
}

/// The exact integer sum of an unpacked IQ4_XS super-block with a Q8_K block: per sub-block,
/// two products per i16 lane (within 2 · 127 · 128 < 2^15), weighted by the scale and
/// pair-summed into i32 by `i32x4.dot`; the total stays below 2^31 (see the scalar kernel).
#[inline(always)]
fn isum_iq4_xs(u: &UnpackedIQ4XS, a: &BlockQ8K) -> i32 {
    let y = a.qs.as_chunks::<16>().0;
    let mut acc = i32x4_splat(0);
    for (s, q) in u.q.iter().enumerate() {
        let sc = i16x8_splat(u.sc[s] as i16);
        acc = i32x4_add(acc, i32x4_dot_i16x8(mul_i8_i16(q[0], load(&y[2 * s])), sc));
        acc = i32x4_add(acc, i32x4_dot_i16x8(mul_i8_i16(q[1], load(&y[2 * s + 1])), sc));
    }
    hsum_i32(acc)
}

/// IQ4_XS weights · Q8_K activations, `R` rows by `N` activations.
pub fn tile_iq4_xs_q8_k<const R: usize, const N: usize>(
    w: [&[BlockIQ4XS]; R],
    x: [&[BlockQ8K]; N],
    s: [&[[f32; 2]]; N],
) -> [[f32; N]; R] {
    let unpack = |b: &BlockIQ4XS| {
        let raw = b.qs.as_chunks::<16>().0;
        let q = core::array::from_fn(|s| {
            let (lo, hi) = iq4nl_values(load(&raw[s]));
            [lo, hi]
        });
        UnpackedIQ4XS { q, sc: b.scales_i8() }
    };
    let _ = s;
    tile_k(w, x, unpack, isum_iq4_xs, |b, _, a, i| f16_le(b.d) * a.d * i as f32)
}

/// IQ4_XS weights · Q8_K activation.
pub fn vec_dot_iq4_xs_q8_k(w: &[BlockIQ4XS], x: &[BlockQ8K]) -> f32 {
    tile_iq4_xs_q8_k([w], [x], [&[]])[0][0]
}
