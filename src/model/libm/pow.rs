//! `powf` as glibc 2.36 computes it on x86-64 (Arm's optimized-routines design): x^y =
//! 2^(y·log2 x), all in f64.
//! - log2 x: x = 2^k·z with z in [0x3f330000, 2·0x3f330000) as f32 bits; z/c − 1 = r for the centre
//!   c of one of 16 subintervals (1/c and log2 c from a table); log2 x ≈ k + log2 c + a degree-5
//!   polynomial in r.
//! - 2^t: t = j/32 + r with |r| ≤ 1/64 (rounded by adding 1.5·2^47); 2^(j/32) from a 32-entry
//!   table with j's whole part added to the exponent; 2^r ≈ a cubic.
//! - Special operands (zeros, infinities, NaN, negative bases, subnormals) and results that
//!   overflow or underflow follow C99 Annex F as glibc does.

use super::Rounding;

/// (1/c, log2 c) for the 16 subintervals, as f64 bit patterns.
const LOG2_TABLE: [(u64, u64); 16] = [
    (0x3ff6_61ec_79f8_f3be, 0xbfde_fec6_5b96_3019),
    (0x3ff5_71ed_4aaf_883d, 0xbfdb_0b68_32d4_fca4),
    (0x3ff4_9539_f0f0_10b0, 0xbfd7_418b_0a1f_b77b),
    (0x3ff3_c995_b0b8_0385, 0xbfd3_9de9_1a6d_cf7b),
    (0x3ff3_0d19_0c88_64a5, 0xbfd0_1d9b_f3f2_b631),
    (0x3ff2_5e22_7b0b_8ea0, 0xbfc9_7c1d_1b3b_7af0),
    (0x3ff1_bb4a_4a1a_343f, 0xbfc2_f9e3_93af_3c9f),
    (0x3ff1_2358_f08a_e5ba, 0xbfb9_60cb_bf78_8d5c),
    (0x3ff0_953f_4199_00a7, 0xbfaa_6f9d_b647_5fce),
    (0x3ff0_0000_0000_0000, 0x0000_0000_0000_0000),
    (0x3fee_608c_fd9a_47ac, 0x3fb3_38ca_9f24_f53d),
    (0x3fec_a4b3_1f02_6aa0, 0x3fc4_76a9_5438_91ba),
    (0x3feb_2036_576a_fce6, 0x3fce_840b_4ac4_e4d2),
    (0x3fe9_c2d1_63a1_aa2d, 0x3fd4_0645_f0c6_651c),
    (0x3fe8_86e6_0378_41ed, 0x3fd8_8e9c_2c1b_9ff8),
    (0x3fe7_67dc_f553_4862, 0x3fdc_e0a4_4eb1_7bcc),
];

/// 1/c for subinterval `i` (shared with `logf`).
pub(super) fn inv_c(i: usize) -> f64 {
    f64::from_bits(LOG2_TABLE[i].0)
}

/// log2(1 + r) ≈ A0·r⁵ + A1·r⁴ + A2·r³ + A3·r² + A4·r.
const LOG2_POLY: [u64; 5] = [0x3fd2_7616_c949_6e0b, 0xbfd7_1969_a075_c67a, 0x3fde_c70a_6ca7_badd, 0xbfe7_1547_48be_f6c8, 0x3ff7_1547_652a_b82b];

/// 2^(i/32) as bits, minus i·2^47 (so that adding j·2^47 for j ≡ i mod 32 gives 2^(j/32)).
const EXP2_TABLE: [u64; 32] = [
    0x3ff0000000000000, 0x3fefd9b0d3158574, 0x3fefb5586cf9890f, 0x3fef9301d0125b51,
    0x3fef72b83c7d517b, 0x3fef54873168b9aa, 0x3fef387a6e756238, 0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715, 0x3feef1a7373aa9cb, 0x3feedea64c123422, 0x3feece086061892d,
    0x3feebfdad5362a27, 0x3feeb42b569d4f82, 0x3feeab07dd485429, 0x3feea47eb03a5585,
    0x3feea09e667f3bcd, 0x3fee9f75e8ec5f74, 0x3feea11473eb0187, 0x3feea589994cce13,
    0x3feeace5422aa0db, 0x3feeb737b0cdc5e5, 0x3feec49182a3f090, 0x3feed503b23e255d,
    0x3feee89f995ad3ad, 0x3feeff76f2fb5e47, 0x3fef199bdd85529c, 0x3fef3720dcef9069,
    0x3fef5818dcfba487, 0x3fef7c97337b9b5f, 0x3fefa4afa2a490da, 0x3fefd0765b6e4540,
];

/// 2^r ≈ E0·r³ + E1·r² + E2·r + 1.
const EXP2_POLY: [u64; 3] = [0x3fac_6af8_4b91_2394, 0x3fce_bfce_50fa_c4f3, 0x3fe6_2e42_ff0c_52d6];

/// 1.5·2^47: adding it rounds to a multiple of 1/32, kept in the low mantissa bits.
const ROUND_32NDS: f64 = 211_106_232_532_992.0;

/// Where z's range starts (as f32 bits, ≈ 0.7): z in [OFFSET, 2·OFFSET).
const OFFSET: u32 = 0x3f33_0000;

const ABS_MASK: u32 = 0x7fff_ffff;
const INF_BITS: u32 = 0x7f80_0000;
const ONE_BITS: u32 = 0x3f80_0000;
const MIN_NORMAL_BITS: u32 = 0x0080_0000;

/// Bits of |x| to a sign (added to the exponent of the result, in 32nds, so it lands in bit 63).
const NEGATE: u64 = 1 << 16;

/// log2 of the positive finite value with bits `ix` (a subnormal passed with its exponent made
/// negative), in f64.
fn log2(ix: u32, k: Rounding) -> f64 {
    let tmp = ix.wrapping_sub(OFFSET);
    let i = ((tmp >> 19) % 16) as usize;
    let top = tmp & 0xff80_0000;
    let z = f64::from(f32::from_bits(ix.wrapping_sub(top)));
    let exponent = f64::from((top as i32) >> 23);
    let (inv_c, log_c) = (f64::from_bits(LOG2_TABLE[i].0), f64::from_bits(LOG2_TABLE[i].1));
    let a = |j: usize| f64::from_bits(LOG2_POLY[j]);
    let r = k.mul_add(z, inv_c, -1.0);
    let y0 = log_c + exponent;
    let r2 = r * r;
    let high = k.mul_add(a(0), r, a(1));
    let mid = k.mul_add(a(2), r, a(3));
    let r4 = r2 * r2;
    let low = k.mul_add(a(4), r, y0);
    let low = k.mul_add(mid, r2, low);
    k.mul_add(high, r4, low)
}

/// 2^t for |t| < 150, negated if `sign` is [`NEGATE`].
fn exp2(t: f64, sign: u64, k: Rounding) -> f64 {
    let e = |j: usize| f64::from_bits(EXP2_POLY[j]);
    let rounded = t + ROUND_32NDS;
    let j = rounded.to_bits();
    let r = t - (rounded - ROUND_32NDS);
    let scale = f64::from_bits(EXP2_TABLE[(j % 32) as usize].wrapping_add(j.wrapping_add(sign) << 47));
    let cubic = k.mul_add(e(0), r, e(1));
    let r2 = r * r;
    let linear = k.mul_add(e(2), r, 1.0);
    k.mul_add(cubic, r2, linear) * scale
}

/// What kind of integer the nonzero finite f32 with bits `iy` is.
#[derive(PartialEq, Eq)]
enum Parity {
    NotInteger,
    Odd,
    Even,
}

fn parity(iy: u32) -> Parity {
    let e = (iy >> 23) & 0xff;
    if e < 0x7f {
        return Parity::NotInteger;
    }
    if e > 0x7f + 23 {
        return Parity::Even;
    }
    let unit = 1u32 << (0x7f + 23 - e);
    if iy & (unit - 1) != 0 {
        Parity::NotInteger
    } else if iy & unit != 0 {
        Parity::Odd
    } else {
        Parity::Even
    }
}

/// ±0, ±∞ or NaN.
fn zero_inf_nan(i: u32) -> bool {
    (i << 1).wrapping_sub(1) >= (INF_BITS << 1) - 1
}

/// x^y where y is 0, ±∞ or NaN.
fn special_y(x: f32, y: f32) -> f32 {
    let (ix, iy) = (x.to_bits(), y.to_bits());
    if iy << 1 == 0 || ix == ONE_BITS {
        return 1.0;
    }
    if ix << 1 > INF_BITS << 1 || iy << 1 > INF_BITS << 1 {
        return x + y;
    }
    if ix << 1 == ONE_BITS << 1 {
        return 1.0;
    }
    if (ix << 1 < ONE_BITS << 1) == (iy >> 31 == 0) {
        return 0.0;
    }
    y * y
}

/// x^y where x is ±0, ±∞ or NaN and y is finite and nonzero.
fn special_x(x: f32, y: f32) -> f32 {
    let (ix, iy) = (x.to_bits(), y.to_bits());
    let mut x2 = x * x;
    if ix >> 31 == 1 && parity(iy) == Parity::Odd {
        x2 = -x2;
    }
    if iy >> 31 == 1 { 1.0 / x2 } else { x2 }
}

/// x^y as glibc 2.36's x86-64 `powf` on a CPU with FMA and AVX2 computes it.
pub fn powf(x: f32, y: f32) -> f32 {
    powf_with(x, y, Rounding::Fused)
}

/// x^y as either of glibc's x86-64 builds computes it.
pub fn powf_with(x: f32, y: f32, k: Rounding) -> f32 {
    let (mut ix, iy) = (x.to_bits(), y.to_bits());
    let mut sign = 0;
    if zero_inf_nan(iy) {
        return special_y(x, y);
    }
    if ix.wrapping_sub(MIN_NORMAL_BITS) >= INF_BITS - MIN_NORMAL_BITS {
        if zero_inf_nan(ix) {
            return special_x(x, y);
        }
        if ix >> 31 == 1 {
            match parity(iy) {
                Parity::NotInteger => return f32::NAN,
                Parity::Odd => sign = NEGATE,
                Parity::Even => {}
            }
            ix &= ABS_MASK;
        }
        if ix < MIN_NORMAL_BITS {
            // A subnormal: scaled to a normal, its exponent taken back below zero.
            ix = ((f32::from_bits(ix) * 8_388_608.0).to_bits() & ABS_MASK).wrapping_sub(23 << 23);
        }
    }
    let t = f64::from(y) * log2(ix, k);
    if (t.to_bits() >> 47) & 0xffff >= 126f64.to_bits() >> 47 {
        let negative = if sign == 0 { 1.0 } else { -1.0 };
        if t > f64::from_bits(0x405f_ffff_ffd1_d571) {
            return negative * f32::MAX * 2.0; // overflow: ±∞
        }
        if t <= -150.0 {
            return negative * 0.0; // underflow: ±0
        }
    }
    exp2(t, sign, k) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_values() {
        assert_eq!(powf(2.0, 10.0), 1024.0);
        assert_eq!(powf(4.0, 0.5), 2.0);
        assert_eq!(powf(-2.0, 3.0), -8.0);
        assert!((powf(10_000.0, -2.0 / 128.0) - 0.865_964_3).abs() < 1e-6);
        assert!((powf(1e-40, 0.5) / 1e-40f32.sqrt() - 1.0).abs() < 1e-6); // a subnormal base
    }

    #[test]
    fn special_operands() {
        assert_eq!(powf(f32::NAN, 0.0), 1.0);
        assert_eq!(powf(1.0, f32::NAN), 1.0);
        assert!(powf(-2.0, 0.5).is_nan() && powf(f32::NAN, 2.0).is_nan());
        assert_eq!(powf(0.5, f32::INFINITY), 0.0);
        assert_eq!(powf(2.0, f32::INFINITY), f32::INFINITY);
        assert_eq!(powf(-0.0, -3.0), f32::NEG_INFINITY);
        assert_eq!(powf(10.0, 100.0), f32::INFINITY);
        assert_eq!(powf(-10.0, -101.0), -0.0);
    }
}
