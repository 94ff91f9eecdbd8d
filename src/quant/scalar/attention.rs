//! Attention's products with the f16 key/value cache, as ggml's scalar `ggml_vec_dot_f16` and
//! its f16 accumulation compute them: each product of an f32 that holds an f16 value and an f16
//! is exact in f32, widened to f64 and added in order; the reference for the SIMD128 versions.
//! Cache entries are IEEE halves given as their bits.

use crate::quant::blocks::f16_le;

#[inline(always)]
fn half(bits: u16) -> f32 {
    f16_le(bits.to_le_bytes())
}

/// For each key: `Σ_i f64(q[i] · k[i])` in order (over the shorter length), rounded to f32.
pub fn dots_f16<const N: usize>(q: &[f32], keys: [&[u16]; N]) -> [f32; N] {
    keys.map(|k| q.iter().zip(k).fold(0.0f64, |s, (&a, &b)| s + f64::from(a * half(b))) as f32)
}

/// `sums[o] += f64(p · v[o])` for each `o` (over the shorter length).
pub fn add_products_f16(sums: &mut [f64], p: f32, v: &[u16]) {
    for (o, &b) in sums.iter_mut().zip(v) {
        *o += f64::from(p * half(b));
    }
}
