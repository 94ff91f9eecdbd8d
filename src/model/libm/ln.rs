//! `logf` as glibc 2.36 computes it on x86-64 (Arm's optimized-routines design), in f64:
//! x = 2^k·z with z in [0x3f330000, 2·0x3f330000) as f32 bits, r = z/c − 1 for the centre c of
//! one of 16 subintervals (the same centres as `powf`'s log2), and
//! ln x ≈ k·ln2 + ln c + r + a cubic in r times r². Zero gives −∞, negatives and NaN give NaN.

use super::Rounding;
use super::pow::inv_c;

/// ln c for the 16 subintervals, as f64 bit patterns.
const LN_C: [u64; 16] = [
    0xbfd5_7bf7_808c_aade, 0xbfd2_bef0_a7c0_6ddb, 0xbfd0_1eae_7f51_3a67, 0xbfcb_31d8_a682_24e9,
    0xbfc6_574f_0ac0_7758, 0xbfc1_aa2b_c79c_8100, 0xbfba_4e76_ce8c_0e5e, 0xbfb1_973c_5a61_1ccc,
    0xbfa2_52f4_38e1_0c1e, 0x0000_0000_0000_0000, 0x3faa_a5aa_5df2_5984, 0x3fbc_5e53_aa36_2eb4,
    0x3fc5_26e5_7720_db08, 0x3fcb_c286_0d22_4770, 0x3fd1_058b_c8a0_7ee1, 0x3fd4_0430_57b6_ee09,
];
const LN2: f64 = f64::from_bits(0x3fe6_2e42_fefa_39ef);
/// ln(1 + r) − r ≈ (B0·r² + B1·r + B2)·r².
const POLY: [u64; 3] = [0xbfd0_0ea3_48b8_8334, 0x3fd5_575b_0be0_0b6a, 0xbfdf_fffe_f20a_4123];

/// ln(x) as glibc 2.36's x86-64 `logf` on a CPU with FMA and AVX2 computes it.
pub fn logf(x: f32) -> f32 {
    logf_with(x, Rounding::Fused)
}

/// ln(x) as either of glibc's x86-64 builds computes it.
pub fn logf_with(x: f32, k: Rounding) -> f32 {
    let mut ix = x.to_bits();
    if ix == 0x3f80_0000 {
        return 0.0;
    }
    if ix.wrapping_sub(0x0080_0000) >= 0x7f80_0000 - 0x0080_0000 {
        if ix << 1 == 0 {
            return f32::NEG_INFINITY;
        }
        if ix == 0x7f80_0000 {
            return x;
        }
        if ix >> 31 == 1 || ix << 1 >= 0xff00_0000 {
            return f32::NAN;
        }
        // A subnormal: scaled to a normal, its exponent taken back below zero.
        ix = (x * 8_388_608.0).to_bits().wrapping_sub(23 << 23);
    }
    let tmp = ix.wrapping_sub(0x3f33_0000);
    let i = ((tmp >> 19) % 16) as usize;
    let exponent = f64::from((tmp as i32) >> 23);
    let z = f64::from(f32::from_bits(ix.wrapping_sub(tmp & (0x1ff << 23))));
    let b = |j: usize| f64::from_bits(POLY[j]);
    let r = k.mul_add(z, inv_c(i), -1.0);
    let y0 = k.mul_add(exponent, LN2, f64::from_bits(LN_C[i]));
    let r2 = r * r;
    let y = k.mul_add(b(1), r, b(2));
    let y = k.mul_add(b(0), r2, y);
    k.mul_add(y, r2, y0 + r) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        for i in 1..2000 {
            let x = i as f32 * 0.173;
            assert!((f64::from(logf(x)) - f64::from(x).ln()).abs() < 2.5e-7 * f64::from(x).ln().abs().max(1.0), "{x}");
        }
        assert_eq!(logf(1.0), 0.0);
        assert_eq!(logf(0.0), f32::NEG_INFINITY);
        assert!(logf(-1.0).is_nan() && logf(f32::NAN).is_nan());
        assert!((logf(1e-40) - (-92.103_4)).abs() < 1e-4);
    }
}
