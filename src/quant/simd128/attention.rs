//! SIMD128 versions of `scalar::attention`. Halves are widened to f32 eight at a time
//! (`f16x4_to_f32`, exact) and multiplied in f32x4 (each product exact, as in the scalar kernel);
//! only the f64 additions keep the scalar order. The keys come transposed, so four keys' element
//! `d` sit in one f32x4 and their four dependent chains of additions run as two f64x2 chains,
//! sixteen keys at a time to keep several chains in flight; the value sums are independent per
//! element, sixteen elements' sums held in registers across the positions.

#[cfg(target_arch = "wasm32")]
use core::arch::wasm32::*;
#[cfg(target_arch = "wasm64")]
use core::arch::wasm64::*;

use super::unpack::f16x4_to_f32;
use super::{load, store};
use crate::quant::scalar;

/// Eight halves (bits) as two f32x4, exactly.
#[inline(always)]
fn widen8(h: &[u16]) -> [v128; 2] {
    let h = load::<[u16; 8]>(h[..8].try_into().expect("eight halves"));
    [f16x4_to_f32(u32x4_extend_low_u16x8(h)), f16x4_to_f32(u32x4_extend_high_u16x8(h))]
}

/// The four f32 lanes of `v` as two f64x2 (lanes 0, 1 and 2, 3).
#[inline(always)]
fn promote(v: v128) -> [v128; 2] {
    [f64x2_promote_low_f32x4(v), f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 2, 3>(v, v))]
}

/// `scalar::transpose_f16`: four rows by eight elements at a time, widened and transposed in
/// registers; the edges (rows past a multiple of four, elements past a multiple of eight) by
/// the scalar kernel's formula.
pub fn transpose_f16(src: &[u16], stride: usize, m: usize, hd: usize, out: &mut [f32]) {
    let (rows4, whole) = (m / 4 * 4, hd / 8 * 8);
    for j in (0..rows4).step_by(4) {
        for d in (0..whole).step_by(8) {
            let r: [[v128; 2]; 4] = core::array::from_fn(|i| widen8(&src[(j + i) * stride + d..]));
            for half in 0..2 {
                let [a, b, c, e] = [r[0][half], r[1][half], r[2][half], r[3][half]];
                let (t0, t1) = (i32x4_shuffle::<0, 4, 1, 5>(a, b), i32x4_shuffle::<2, 6, 3, 7>(a, b));
                let (t2, t3) = (i32x4_shuffle::<0, 4, 1, 5>(c, e), i32x4_shuffle::<2, 6, 3, 7>(c, e));
                let columns = [
                    i32x4_shuffle::<0, 1, 4, 5>(t0, t2),
                    i32x4_shuffle::<2, 3, 6, 7>(t0, t2),
                    i32x4_shuffle::<0, 1, 4, 5>(t1, t3),
                    i32x4_shuffle::<2, 3, 6, 7>(t1, t3),
                ];
                for (k, col) in columns.into_iter().enumerate() {
                    let at = (d + 4 * half + k) * m + j;
                    store::<[f32; 4]>((&mut out[at..at + 4]).try_into().expect("four floats"), col);
                }
            }
        }
    }
    let half = |bits: u16| crate::quant::blocks::f16_le(bits.to_le_bytes());
    for j in 0..m {
        let elements = if j < rows4 { whole..hd } else { 0..hd };
        for d in elements {
            out[d * m + j] = half(src[j * stride + d]);
        }
    }
}

/// `scalar::widen_f16`.
pub fn widen_f16(src: &[u16], out: &mut [f32]) {
    let n = src.len().min(out.len());
    let whole = n / 8 * 8;
    for i in (0..whole).step_by(8) {
        let [lo, hi] = widen8(&src[i..]);
        store::<[f32; 4]>((&mut out[i..i + 4]).try_into().expect("four floats"), lo);
        store::<[f32; 4]>((&mut out[i + 4..i + 8]).try_into().expect("four floats"), hi);
    }
    scalar::widen_f16(&src[whole..n], &mut out[whole..n]);
}

/// Keys `j .. j + 4V` of `dots_columns`: `V` f32x4 columns per element, `2V` f64x2 chains.
#[inline(always)]
fn column_sums<const V: usize>(q: &[f32], keys: &[f32], m: usize, j: usize) -> [[v128; 2]; V] {
    let mut acc = [[f64x2_splat(0.0); 2]; V];
    for (d, &qd) in q.iter().enumerate() {
        let qv = f32x4_splat(qd);
        for (v, acc) in acc.iter_mut().enumerate() {
            let at = d * m + j + 4 * v;
            let k = load::<[f32; 4]>((&keys[at..at + 4]).try_into().expect("four floats"));
            let [lo, hi] = promote(f32x4_mul(qv, k));
            *acc = [f64x2_add(acc[0], lo), f64x2_add(acc[1], hi)];
        }
    }
    acc
}

/// `scalar::dots_columns`: sixteen keys at a time, then four, then the scalar kernel.
pub fn dots_columns(q: &[f32], keys: &[f32], m: usize, out: &mut [f32]) {
    let n = out.len();
    let mut j = 0;
    let emit = |out: &mut [f32], j: usize, sums: &[[v128; 2]]| {
        for (v, pair) in sums.iter().enumerate() {
            for (h, s) in pair.iter().enumerate() {
                out[j + 4 * v + 2 * h] = f64x2_extract_lane::<0>(*s) as f32;
                out[j + 4 * v + 2 * h + 1] = f64x2_extract_lane::<1>(*s) as f32;
            }
        }
    };
    while j + 16 <= n {
        emit(out, j, &column_sums::<4>(q, keys, m, j));
        j += 16;
    }
    while j + 4 <= n {
        emit(out, j, &column_sums::<1>(q, keys, m, j));
        j += 4;
    }
    for (i, o) in out.iter_mut().enumerate().skip(j) {
        *o = q.iter().enumerate().fold(0.0f64, |s, (d, &a)| s + f64::from(a * keys[d * m + i])) as f32;
    }
}

/// `scalar::add_products_rows`: sixteen elements' sums (eight f64x2) held in registers over all
/// the positions, then the next sixteen; elements past a multiple of sixteen by the scalar kernel.
pub fn add_products_rows(sums: &mut [f64], p: &[f32], values: &[f32]) {
    let w = sums.len();
    let whole = w / 16 * 16;
    for o in (0..whole).step_by(16) {
        let mut acc = [f64x2_splat(0.0); 8];
        for (i, a) in acc.iter_mut().enumerate() {
            *a = load::<[f64; 2]>((&sums[o + 2 * i..o + 2 * i + 2]).try_into().expect("two"));
        }
        for (j, &pj) in p.iter().enumerate() {
            let pv = f32x4_splat(pj);
            for k in 0..4 {
                let at = j * w + o + 4 * k;
                let v = load::<[f32; 4]>((&values[at..at + 4]).try_into().expect("four floats"));
                let [lo, hi] = promote(f32x4_mul(pv, v));
                acc[2 * k] = f64x2_add(acc[2 * k], lo);
                acc[2 * k + 1] = f64x2_add(acc[2 * k + 1], hi);
            }
        }
        for (i, a) in acc.into_iter().enumerate() {
            store::<[f64; 2]>((&mut sums[o + 2 * i..o + 2 * i + 2]).try_into().expect("two"), a);
        }
    }
    for (j, &pj) in p.iter().enumerate() {
        for o in whole..w {
            sums[o] += f64::from(pj * values[j * w + o]);
        }
    }
}
