//! `sinf` and `cosf` as glibc 2.36 computes them on x86-64.
//!
//! glibc's functions (the design of Arm's optimized-routines) work in f64:
//! - |x| < 2^-12: sin x = x, cos x = 1.
//! - |x| < π/4: an odd polynomial of degree 7 (sin) or an even one of degree 8 (cos) in x.
//! - |x| < 120: x − n·π/2 with n the nearest quadrant (π/2 as one f64), then the sine or
//!   cosine polynomial of the remainder, chosen and signed by n mod 4.
//! - larger finite x: the remainder from an exact fixed-point product of the mantissa and a
//!   192-bit table of 4/π, then the same polynomials.
//!
//! Both of glibc's x86-64 builds are here ([`Rounding`]): [`sinf`]/[`cosf`] are the FMA build's.

use super::Rounding;

/// Polynomial coefficients (glibc's minimax values, as f64 bit patterns): on |r| ≤ π/4,
/// cos r ≈ C0 + C1·r² + C2·r⁴ + C3·r⁶ + C4·r⁸ and sin r ≈ r + S1·r³ + S2·r⁵ + S3·r⁷.
const C_BITS: [u64; 5] = [
    0x3ff0_0000_0000_0000, // 1
    0xbfdf_ffff_fd0c_621c, // -0.49999999725
    0x3fa5_5553_e106_8f19, // 0.04166662332
    0xbf56_c087_e89a_359d, // -0.00138867638
    0x3ef9_9343_027b_f8c3, // 2.43904488e-5
];
const S_BITS: [u64; 3] = [
    0xbfc5_5554_5995_a603, // -0.16666659751
    0x3f81_1076_0523_0bc4, // 0.00833306625
    0xbf29_94eb_3774_cf24, // -1.95152959e-4
];

/// π/2 rounded to f64, and 2/π times 2^24 (the quadrant lands in bits 24 and up of an i32).
const HALF_PI: f64 = f64::from_bits(0x3ff9_21fb_5444_2d18);
const TWO_OVER_PI_2P24: f64 = f64::from_bits(0x4164_5f30_6dc9_c883);
/// 2π · 2^-64: one unit of the large-argument remainder, which counts quarter turns in 2.62 fixed point.
const TWO_PI_2M64: f64 = f64::from_bits(0x3c19_21fb_5444_2d18);

/// The first 192 bits of 4/π, most significant byte first.
const FOUR_OVER_PI: [u8; 24] = [
    0xa2, 0xf9, 0x83, 0x6e, 0x4e, 0x44, 0x15, 0x29, 0xfc, 0x27, 0x57, 0xd1, //
    0xf5, 0x34, 0xdd, 0xc0, 0xdb, 0x62, 0x95, 0x99, 0x3c, 0x43, 0x90, 0x41,
];

/// The 32 bits of 4/π ending at byte `i` (zeros before the first byte): window `i` of glibc's table.
const fn four_over_pi_window(i: usize) -> u32 {
    let mut w = 0u32;
    let mut k = 0;
    while k < 4 {
        let byte = if i + k >= 3 { FOUR_OVER_PI[i + k - 3] } else { 0 };
        w = (w << 8) | byte as u32;
        k += 1;
    }
    w
}

/// The top 12 bits of |x|'s encoding (exponent and the first three mantissa bits): glibc's
/// thresholds compare these, not the values.
fn top12(x: f32) -> u32 {
    (x.to_bits() >> 20) & 0x7ff
}

const TOP12_PI_4: u32 = 0x3f4; // π/4 as an f32 is 0x3f490fdb
const TOP12_2M12: u32 = 0x398; // 2^-12
const TOP12_120: u32 = 0x42f; // 120.0
const TOP12_INF: u32 = 0x7f8;

/// sin r (`cosine` false) or cos r (`cosine` true) for a reduced |r| ≤ π/4, r² given; `negate_cos`
/// uses −cos (glibc's second coefficient table, for quadrants 2 and 3).
fn poly(r: f64, r2: f64, cosine: bool, negate_cos: bool, k: Rounding) -> f32 {
    let c = |i: usize| if negate_cos && i > 0 { -f64::from_bits(C_BITS[i]) } else { f64::from_bits(C_BITS[i]) };
    let c0 = if negate_cos { -1.0 } else { 1.0 };
    let s = |i: usize| f64::from_bits(S_BITS[i]);
    if cosine {
        let r4 = r2 * r2;
        let high = k.mul_add(r2, c(4), c(3));
        let low = k.mul_add(r2, c(1), c0);
        let r6 = r4 * r2;
        let sum = k.mul_add(r4, c(2), low);
        k.mul_add(r6, high, sum) as f32
    } else {
        let r3 = r * r2;
        let high = k.mul_add(r2, s(2), s(1));
        let r7 = r3 * r2;
        let sum = k.mul_add(r3, s(0), r);
        k.mul_add(r7, high, sum) as f32
    }
}

/// x − n·π/2 for |x| < 120, with n the nearest quadrant (rounded through an i32 holding
/// n·2^24, as glibc does without fast rounding instructions).
fn reduce_small(x: f64, k: Rounding) -> (f64, i32) {
    let scaled = x * TWO_OVER_PI_2P24;
    let n = ((scaled as i32).wrapping_add(0x80_0000)) >> 24;
    (k.mul_add(-f64::from(n), HALF_PI, x), n)
}

/// |x| mod π/2 for the bits `xi` of a finite |x| ≥ 120 (the sign bit is ignored): the remainder
/// in radians (in [−π/4, π/4]) and the quadrant, from the 96 bits of 4/π that matter at x's
/// exponent, multiplied exactly in fixed point.
fn reduce_large(xi: u32) -> (f64, u32) {
    let base = ((xi >> 26) & 15) as usize;
    let shift = (xi >> 23) & 7;
    let m = ((xi & 0xff_ffff) | 0x80_0000) << shift;
    let high = m.wrapping_mul(four_over_pi_window(base));
    let mid = u64::from(m) * u64::from(four_over_pi_window(base + 4));
    let low = u64::from(m) * u64::from(four_over_pi_window(base + 8));
    let frac = ((low >> 32) | (u64::from(high) << 32)).wrapping_add(mid);
    let n = frac.wrapping_add(1 << 61) >> 62;
    let rem = frac.wrapping_sub(n << 62) as i64;
    (rem as f64 * TWO_PI_2M64, n as u32)
}

/// Which of sin and cos a call computes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Func {
    Sin,
    Cos,
}

/// sin or cos of `y` by glibc's steps, with its build's rounding `k`.
fn eval(y: f32, f: Func, k: Rounding) -> f32 {
    let x = f64::from(y);
    let top = top12(y);
    let odd = u32::from(f == Func::Cos);
    if top < TOP12_2M12 {
        return if f == Func::Sin { y } else { 1.0 };
    }
    if top < TOP12_PI_4 {
        return poly(x, x * x, f == Func::Cos, false, k);
    }
    // The remainder r, the quadrant n that picks the polynomial, and the quadrant q that signs
    // the result: for large arguments glibc adds y's sign bit to q only.
    let (r, n, q) = if top < TOP12_120 {
        let (r, n) = reduce_small(x, k);
        (r, n as u32, n as u32)
    } else if top < TOP12_INF {
        let (r, n) = reduce_large(y.to_bits());
        (r, n, n.wrapping_add(y.to_bits() >> 31))
    } else {
        return f32::NAN;
    };
    let sign = if matches!(q & 3, 1 | 2) { -1.0 } else { 1.0 };
    poly(r * sign, r * r, (n ^ odd) & 1 == 1, q & 2 != 0, k)
}

/// sin(x) as glibc 2.36's x86-64 `sinf` on a CPU with FMA and AVX2 computes it.
pub fn sinf(x: f32) -> f32 {
    eval(x, Func::Sin, Rounding::Fused)
}

/// cos(x) as glibc 2.36's x86-64 `cosf` on a CPU with FMA and AVX2 computes it.
pub fn cosf(x: f32) -> f32 {
    eval(x, Func::Cos, Rounding::Fused)
}

/// sin(x) as either of glibc's x86-64 builds computes it.
pub fn sinf_with(x: f32, k: Rounding) -> f32 {
    eval(x, Func::Sin, k)
}

/// cos(x) as either of glibc's x86-64 builds computes it.
pub fn cosf_with(x: f32, k: Rounding) -> f32 {
    eval(x, Func::Cos, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants() {
        assert!((f64::from_bits(C_BITS[1]) + 0.5).abs() < 1e-8 && (f64::from_bits(S_BITS[0]) + 1.0 / 6.0).abs() < 1e-6);
        assert_eq!(HALF_PI, std::f64::consts::FRAC_PI_2);
        assert_eq!(TWO_OVER_PI_2P24, std::f64::consts::FRAC_2_PI * 16_777_216.0);
        assert_eq!(TWO_PI_2M64, std::f64::consts::TAU / 2f64.powi(64));
    }

    #[test]
    fn table_windows() {
        assert_eq!(four_over_pi_window(0), 0xa2);
        assert_eq!(four_over_pi_window(3), 0xa2f9_836e);
        assert_eq!(four_over_pi_window(23), 0x3c43_9041);
    }

    #[test]
    fn close_to_the_true_values() {
        for i in -2000..2000 {
            let x = i as f32 * 0.37;
            let (s, c) = (f64::from(x).sin(), f64::from(x).cos());
            assert!((f64::from(sinf(x)) - s).abs() < 1.2e-7, "sin {x}");
            assert!((f64::from(cosf(x)) - c).abs() < 1.2e-7, "cos {x}");
        }
        assert_eq!(sinf(1e-5), 1e-5);
        assert_eq!(cosf(-1e-5), 1.0);
        assert!(sinf(f32::INFINITY).is_nan() && cosf(f32::NAN).is_nan());
    }
}
