//! Element-wise steps done once per value rather than per weight, written the way llama.cpp's
//! portable reference build computes them: ggml's vector `exp` (softmax, SwiGLU), SwiGLU itself,
//! and the Q8_0 / Q8_1 quantization of one 32-value activation block. The references for the
//! SIMD128 versions.

use crate::quant::blocks::QK;

/// exp(x) as ggml computes it in its vector kernels for softmax and SiLU on x86-64's baseline
/// (SSE2, no FMA) — the path of the portable llama.cpp reference build: x = n·ln2 + b with
/// n = round(x·log2 e) and ln2 split in two parts, a degree-5 polynomial for e^b − 1, and 2^n
/// put into the exponent bits, with separate scalings when |n| > 126 (and 0 or ∞ past 192).
/// Every step is one f32 multiply or add, in ggml's order, so the result is bit-for-bit ggml's;
/// it is within 2 ulp of the exact exponential (see the test).
pub fn exp_ggml(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer
    let c = |bits: u32| f32::from_bits(bits);
    let z = x * c(0x3fb8_aa3b) + ROUND; // log2 e
    let n = z - ROUND;
    let b = (x - n * c(0x3f31_7200)) - n * c(0x35bf_be8e); // ln 2, high and low parts
    let e = z.to_bits() << 23;
    let k = f32::from_bits(e.wrapping_add(1f32.to_bits()));
    let u = b * b;
    let j = ((c(0x3c07_2010) * b + c(0x3d2b_9f17)) * u + (c(0x3e2a_af33) * b + c(0x3eff_fedb))) * u + c(0x3f7f_fff6) * b;
    if n.abs() <= 126.0 {
        return j * k + k;
    }
    let g: u32 = if n <= 0.0 { 0x8200_0000 } else { 0 };
    let s1 = f32::from_bits(g.wrapping_add(0x7f00_0000));
    if n.abs() > 192.0 {
        return s1 * s1;
    }
    let s2 = f32::from_bits(e.wrapping_sub(g));
    (s2 * j + s2) * s1
}

/// SiLU(gate) * up, in place in `gate` (SwiGLU), on rows of `width`, as ggml's
/// `ggml_vec_swiglu_f32` on x86-64's baseline: `g / (1 + exp_ggml(0 - g)) * u` four values at a
/// time, and the row's last `width % 4` values with the C library's `expf` (Rust's `exp`).
pub fn swiglu(gate: &mut [f32], up: &[f32], width: usize) {
    let vector = width / 4 * 4;
    for (gate_row, up_row) in gate.chunks_exact_mut(width).zip(up.chunks_exact(width)) {
        for (g, &u) in gate_row[..vector].iter_mut().zip(up_row) {
            *g = *g / (1.0 + exp_ggml(0.0 - *g)) * u;
        }
        swiglu_tail(&mut gate_row[vector..], &up_row[vector..]);
    }
}

/// SwiGLU of a row's last `width % 4` values, with the C library's `expf` (Rust's `exp`).
pub fn swiglu_tail(gate: &mut [f32], up: &[f32]) {
    for (g, &u) in gate.iter_mut().zip(up) {
        *g = *g / (1.0 + (-*g).exp()) * u;
    }
}

/// One 32-value block as llama.cpp's Q8_0 / Q8_1 reference quantizes it: `d = amax / 127` and
/// each value rounded (halves away from zero) to `v / d`, i.e. `v * (1 / d)`.
pub fn q8_block(xs: &[f32; QK]) -> (f32, [i8; QK]) {
    let d = xs.iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    (d, xs.map(|v| (v * id).round() as i8))
}
