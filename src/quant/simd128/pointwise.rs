//! SIMD128 versions of `scalar::pointwise`, four values per f32x4: every lane runs the scalar
//! kernel's IEEE operations in its order (no fused multiply-add), so the results are the scalar
//! ones bit for bit (tests.rs compares them).

#[cfg(target_arch = "wasm32")]
use core::arch::wasm32::*;
#[cfg(target_arch = "wasm64")]
use core::arch::wasm64::*;

use super::{load, store};
use crate::quant::blocks::QK;
use crate::quant::scalar;

/// `scalar::exp_ggml` in four lanes, or `None` where some lane's exponent `n` is outside
/// [-126, 126] (or NaN): the scalar kernel's rarer branches, which the caller takes per value.
#[inline(always)]
fn exp_ggml4(x: v128) -> Option<v128> {
    let c = |bits: u32| f32x4_splat(f32::from_bits(bits));
    let round = f32x4_splat(12_582_912.0);
    let z = f32x4_add(f32x4_mul(x, c(0x3fb8_aa3b)), round);
    let n = f32x4_sub(z, round);
    if !i32x4_all_true(f32x4_le(f32x4_abs(n), f32x4_splat(126.0))) {
        return None;
    }
    let b = f32x4_sub(f32x4_sub(x, f32x4_mul(n, c(0x3f31_7200))), f32x4_mul(n, c(0x35bf_be8e)));
    let k = i32x4_add(i32x4_shl(z, 23), u32x4_splat(1f32.to_bits()));
    let u = f32x4_mul(b, b);
    let p = |hi: u32, lo: u32| f32x4_add(f32x4_mul(c(hi), b), c(lo));
    let j = f32x4_add(
        f32x4_mul(f32x4_add(f32x4_mul(p(0x3c07_2010, 0x3d2b_9f17), u), p(0x3e2a_af33, 0x3eff_fedb)), u),
        f32x4_mul(c(0x3f7f_fff6), b),
    );
    Some(f32x4_add(f32x4_mul(j, k), k))
}

/// `scalar::swiglu`: whole groups of four values of each row in f32x4, the rest (a group with an
/// exponent out of the fast range, and the row's last `width % 4` values) by the scalar kernel.
pub fn swiglu(gate: &mut [f32], up: &[f32], width: usize) {
    for (gate_row, up_row) in gate.chunks_exact_mut(width).zip(up.chunks_exact(width)) {
        let (g4, _) = gate_row.as_chunks_mut::<4>();
        let (u4, _) = up_row.as_chunks::<4>();
        for (g, u) in g4.iter_mut().zip(u4) {
            let x = load(g);
            match exp_ggml4(f32x4_sub(f32x4_splat(0.0), x)) {
                Some(e) => store(g, f32x4_mul(f32x4_div(x, f32x4_add(f32x4_splat(1.0), e)), load(u))),
                None => scalar::swiglu(g, u, 4),
            }
        }
        let done = g4.len() * 4;
        scalar::swiglu_tail(&mut gate_row[done..], &up_row[done..]);
    }
}

/// `scalar::q8_block`: the largest magnitude by `pmax` (which, like `f32::max`, passes over a
/// NaN; the order of a maximum does not matter), `v * id` in f32, rounded half away from zero as
/// `trunc(y) ± 1` where `|y - trunc(y)| >= 0.5` (that difference is exact), then converted with
/// saturation, as Rust's `as i8` does (NaN to 0).
pub fn q8_block(xs: &[f32; QK]) -> (f32, [i8; QK]) {
    let v: [v128; 8] = core::array::from_fn(|i| load(&xs.as_chunks::<4>().0[i]));
    let m = v.iter().fold(f32x4_splat(0.0), |m, &x| f32x4_pmax(m, f32x4_abs(x)));
    let m = f32x4_pmax(m, i32x4_shuffle::<2, 3, 0, 1>(m, m));
    let m = f32x4_pmax(m, i32x4_shuffle::<1, 0, 3, 2>(m, m));
    let d = f32x4_extract_lane::<0>(m) / 127.0;
    let id = f32x4_splat(if d != 0.0 { 1.0 / d } else { 0.0 });
    let sign = u32x4_splat(0x8000_0000);
    let q = v.map(|x| {
        let y = f32x4_mul(x, id);
        let t = f32x4_trunc(y);
        let away = f32x4_ge(f32x4_abs(f32x4_sub(y, t)), f32x4_splat(0.5));
        let step = v128_or(v128_and(y, sign), f32x4_splat(1.0));
        i32x4_trunc_sat_f32x4(f32x4_add(t, v128_and(away, step)))
    });
    let bytes = |a: usize| i8x16_narrow_i16x8(i16x8_narrow_i32x4(q[a], q[a + 1]), i16x8_narrow_i32x4(q[a + 2], q[a + 3]));
    let mut qs = [0i8; QK];
    let (halves, _) = qs.as_chunks_mut::<16>();
    store(&mut halves[0], bytes(0));
    store(&mut halves[1], bytes(4));
    (d, qs)
}
