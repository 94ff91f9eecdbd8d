//! SIMD128 versions of `scalar::attention`: eight cache entries at a time are widened from f16
//! (`f16x4_to_f32`, exact) and multiplied in f32x4 (each product exact, as in the scalar kernel);
//! only the f64 additions keep the scalar order. A key's dot product is one chain of dependent
//! additions, so `dots_f16` runs `N` keys' chains side by side; the value sums are independent
//! per element and go two to an f64x2.

#[cfg(target_arch = "wasm32")]
use core::arch::wasm32::*;
#[cfg(target_arch = "wasm64")]
use core::arch::wasm64::*;

use super::unpack::f16x4_to_f32;
use super::{load, store};
use crate::quant::blocks::f16_le;

/// Eight halves (bits) as two f32x4, exactly.
#[inline(always)]
fn widen8(h: &[u16; 8]) -> [v128; 2] {
    let h = load(h);
    [f16x4_to_f32(u32x4_extend_low_u16x8(h)), f16x4_to_f32(u32x4_extend_high_u16x8(h))]
}

/// For each key: `Σ_i f64(q[i] · k[i])` in order (over the shortest length), rounded to f32; the
/// scalar kernel's result bit for bit.
pub fn dots_f16<const N: usize>(q: &[f32], keys: [&[u16]; N]) -> [f32; N] {
    let n = keys.iter().map(|k| k.len()).fold(q.len(), usize::min);
    let qc = q[..n].as_chunks::<8>().0;
    let kc = keys.map(|k| k[..n].as_chunks::<8>().0);
    let mut sums = [0.0f64; N];
    for (c, q8) in qc.iter().enumerate() {
        let q8 = q8.as_chunks::<4>().0;
        let products: [[f32; 8]; N] = core::array::from_fn(|t| {
            let mut p = [0.0f32; 8];
            for ((p, q), k) in p.as_chunks_mut::<4>().0.iter_mut().zip(q8).zip(widen8(&kc[t][c])) {
                store(p, f32x4_mul(load(q), k));
            }
            p
        });
        // In element order, the keys' chains interleaved.
        for l in 0..8 {
            for (s, p) in sums.iter_mut().zip(&products) {
                *s += f64::from(p[l]);
            }
        }
    }
    for i in qc.len() * 8..n {
        for (s, k) in sums.iter_mut().zip(&keys) {
            *s += f64::from(q[i] * f16_le(k[i].to_le_bytes()));
        }
    }
    sums.map(|s| s as f32)
}

/// `sums[o] += f64(p · v[o])` for each `o` (over the shorter length); the scalar kernel's
/// result bit for bit.
pub fn add_products_f16(sums: &mut [f64], p: f32, v: &[u16]) {
    let n = sums.len().min(v.len());
    let (sums, v) = (&mut sums[..n], &v[..n]);
    let pv = f32x4_splat(p);
    let (sc, st) = sums.as_chunks_mut::<8>();
    let (vc, vt) = v.as_chunks::<8>();
    for (s8, v8) in sc.iter_mut().zip(vc) {
        let [lo, hi] = widen8(v8).map(|x| f32x4_mul(pv, x));
        let wide = [
            f64x2_promote_low_f32x4(lo),
            f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 2, 3>(lo, lo)),
            f64x2_promote_low_f32x4(hi),
            f64x2_promote_low_f32x4(i32x4_shuffle::<2, 3, 2, 3>(hi, hi)),
        ];
        for (s2, w) in s8.as_chunks_mut::<2>().0.iter_mut().zip(wide) {
            store(s2, f64x2_add(load(s2), w));
        }
    }
    crate::quant::scalar::add_products_f16(st, p, vt);
}
