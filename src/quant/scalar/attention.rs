//! Attention's products with the f16 key/value cache, as ggml's scalar `ggml_vec_dot_f16` and
//! its f16 accumulation compute them: each product of an f32 that holds an f16 value and an f16
//! is exact in f32, widened to f64 and added in order; the reference for the SIMD128 versions.
//! Cache entries are IEEE halves given as their bits. The cache is widened to f32 once per KV
//! head (exactly), keys transposed, so that the heads that share it read floats.

use crate::quant::blocks::f16_le;

#[inline(always)]
fn half(bits: u16) -> f32 {
    f16_le(bits.to_le_bytes())
}

/// `out[d * m + j] = f32(rows[j][d])` for `m` rows of `hd` halves, row `j` at `src[j * stride..]`:
/// keys widened and transposed (element `d` of every row in one run).
pub fn transpose_f16(src: &[u16], stride: usize, m: usize, hd: usize, out: &mut [f32]) {
    for j in 0..m {
        for d in 0..hd {
            out[d * m + j] = half(src[j * stride + d]);
        }
    }
}

/// `out[i] = f32(src[i])`.
pub fn widen_f16(src: &[u16], out: &mut [f32]) {
    for (o, &h) in out.iter_mut().zip(src) {
        *o = half(h);
    }
}

/// For each of `out.len()` keys `j` (column `j` of `keys`, laid out as `transpose_f16` writes
/// them, `q.len()` elements): `Σ_d f64(q[d] · keys[d * m + j])` in order, rounded to f32.
pub fn dots_columns(q: &[f32], keys: &[f32], m: usize, out: &mut [f32]) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = q.iter().enumerate().fold(0.0f64, |s, (d, &a)| s + f64::from(a * keys[d * m + j])) as f32;
    }
}

/// `sums[o] += f64(p[j] · values[j * sums.len() + o])` for each position `j` in order and each
/// element `o`: `values` holds one row of `sums.len()` floats per probability.
pub fn add_products_rows(sums: &mut [f64], p: &[f32], values: &[f32]) {
    let w = sums.len();
    for (j, &pj) in p.iter().enumerate() {
        for (s, &v) in sums.iter_mut().zip(&values[j * w..(j + 1) * w]) {
            *s += f64::from(pj * v);
        }
    }
}
