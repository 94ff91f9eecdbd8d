//! `tanhf` as glibc 2.36 computes it (the Sun fdlibm algorithm, in f32 throughout, one build on
//! x86-64): tanh x = sign(x)·(1 − 2/(e^{2|x|} + 1)) for |x| ≥ 1 and −u/(u + 2) with
//! u = e^{−2|x|} − 1 below, where e^t − 1 is fdlibm's `expm1f`; ±1 from |x| ≥ 22, x itself
//! below 2^-55.

/// ln 2 in two parts: the high part has trailing zeros, so k·LN2_HI is exact for |k| < 2^8.
const LN2_HI: f32 = f32::from_bits(0x3f31_7180);
const LN2_LO: f32 = f32::from_bits(0x3717_f7d1);
const INV_LN2: f32 = f32::from_bits(0x3fb8_aa3b);
/// Scaled coefficients of fdlibm's rational approximation of expm1 on [−ln2/2, ln2/2].
const Q: [f32; 5] = [
    f32::from_bits(0xbd08_8889),
    f32::from_bits(0x3ad0_0d01),
    f32::from_bits(0xb8a6_70cd),
    f32::from_bits(0x3686_7e54),
    f32::from_bits(0xb457_edbb),
];

/// tanh(x) as glibc 2.36's `tanhf` computes it.
pub fn tanhf(x: f32) -> f32 {
    let ix = x.to_bits() & 0x7fff_ffff;
    let negative = x.to_bits() >> 31 == 1;
    if ix >= 0x7f80_0000 {
        // ±1 for ±∞, NaN for NaN.
        return if negative { 1.0 / x - 1.0 } else { 1.0 / x + 1.0 };
    }
    let z = if ix >= 0x41b0_0000 {
        1.0 // |x| ≥ 22
    } else if ix == 0 {
        return x;
    } else if ix < 0x2400_0000 {
        return x * (1.0 + x); // |x| < 2^-55
    } else if ix >= 0x3f80_0000 {
        let t = expm1f(2.0 * x.abs());
        1.0 - 2.0 / (t + 2.0)
    } else {
        let t = expm1f(-2.0 * x.abs());
        -t / (t + 2.0)
    };
    if negative { -z } else { z }
}

/// e^x − 1 as glibc 2.36's `expm1f` computes it.
fn expm1f(x: f32) -> f32 {
    let hx = x.to_bits() & 0x7fff_ffff;
    let negative = x.to_bits() >> 31 == 1;
    if hx >= 0x4195_b844 {
        // |x| ≥ 27·ln 2: e^x − 1 is −1 below, or overflows above 88.72.
        if hx > 0x7f80_0000 {
            return x + x;
        }
        if hx == 0x7f80_0000 {
            return if negative { -1.0 } else { x };
        }
        if x > f32::from_bits(0x42b1_7180) {
            return f32::INFINITY;
        }
        if negative {
            return -1.0;
        }
    }
    if hx < 0x3300_0000 {
        return x; // |x| < 2^-25
    }
    let (x, c, k) = if hx > 0x3eb1_7218 { reduce(x, hx, negative) } else { (x, 0.0, 0) };
    rational(x, c, k)
}

/// x = k·ln 2 + r for |x| > ln2/2: (r rounded to f32, the rounding's error c, k).
fn reduce(x: f32, hx: u32, negative: bool) -> (f32, f32, i32) {
    let (hi, lo, k) = if hx < 0x3f85_1592 {
        // |x| < 1.5·ln 2: k = ±1.
        if negative { (x + LN2_HI, -LN2_LO, -1) } else { (x - LN2_HI, LN2_LO, 1) }
    } else {
        let half = if negative { -0.5 } else { 0.5 };
        let k = (INV_LN2 * x + half) as i32;
        let t = k as f32;
        (x - t * LN2_HI, t * LN2_LO, k)
    };
    let r = hi - lo;
    (r, (hi - r) - lo, k)
}

/// e^(k·ln2 + x + c) − 1 for |x| ≤ ln2/2 (c the reduction's correction, 0 when k = 0), by
/// fdlibm's rational approximation and the rescaling by 2^k.
fn rational(x: f32, c: f32, k: i32) -> f32 {
    let hfx = 0.5 * x;
    let hxs = x * hfx;
    let r1 = 1.0 + hxs * (Q[0] + hxs * (Q[1] + hxs * (Q[2] + hxs * (Q[3] + hxs * Q[4]))));
    let t = 3.0 - r1 * hfx;
    let e = hxs * ((r1 - t) / (6.0 - x * t));
    if k == 0 {
        return x - (x * e - hxs);
    }
    let e = (x * (e - c) - c) - hxs;
    match k {
        -1 => 0.5 * (x - e) - 0.5,
        1 if x < -0.25 => -2.0 * (e - (x + 0.5)),
        1 => 1.0 + 2.0 * (x - e),
        _ => scale(x, e, k),
    }
}

/// (1 + x − e)·2^k − 1 for |k| ≥ 2, rounded as fdlibm does for each range of k.
fn scale(x: f32, e: f32, k: i32) -> f32 {
    let add_exponent = |y: f32| f32::from_bits((y.to_bits() as i32).wrapping_add(k << 23) as u32);
    if k <= -2 || k > 56 {
        return add_exponent(1.0 - (e - x)) - 1.0;
    }
    if k < 23 {
        let one_minus = f32::from_bits(0x3f80_0000 - (0x100_0000 >> k)); // 1 − 2^-k
        add_exponent(one_minus - (e - x))
    } else {
        let tiny = f32::from_bits(((0x7f - k) << 23) as u32); // 2^-k
        add_exponent((x - (e + tiny)) + 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        for i in -400..400 {
            let x = i as f32 * 0.061;
            assert!((f64::from(tanhf(x)) - f64::from(x).tanh()).abs() < 1.2e-7, "{x}");
        }
        assert_eq!(tanhf(30.0), 1.0);
        assert_eq!(tanhf(f32::NEG_INFINITY), -1.0);
        assert!(tanhf(f32::NAN).is_nan());
        assert_eq!(tanhf(-0.0).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn expm1_values() {
        for i in -300..300 {
            let x = i as f32 * 0.29;
            let want = f64::from(x).exp_m1();
            assert!((f64::from(expm1f(x)) - want).abs() <= want.abs() * 2e-7 + 1e-30, "{x}");
        }
    }
}
