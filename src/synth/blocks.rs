//! Random but valid ggml blocks: every f16 scale finite and small, every quant in range, with
//! the scales chosen so the dequantized weights are centred on zero with a chosen spread.
//!
//! Layouts (ggml-common.h), each block's dequantized weights w:
//! - Q8_0, 34 bytes / 32 weights: f16 d, 32 x i8 q; w = d * q. 8.5 bits per weight.
//! - Q4_0, 18 bytes / 32 weights: f16 d, 16 bytes of 4-bit q (low nibbles are weights 0..16,
//!   high nibbles 16..32); w = d * (q - 8). 4.5 bits per weight.
//! - Q4_K, 144 bytes / 256 weights: f16 d, f16 dmin, 12 bytes packing eight 6-bit scales sc and
//!   eight 6-bit mins m (one pair per 32 weights), 128 bytes of 4-bit q; w = d*sc*q - dmin*m.
//!   4.5 bits per weight.
//! - Q6_K, 210 bytes / 256 weights: 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits),
//!   16 x i8 scales (one per 16 weights), f16 d; w = d * scale * (q - 32). 6.5625 bits per weight.
//! - Q5_0, 22 bytes / 32 weights: f16 d, 4 bytes qh (bit i is weight i's 5th bit), 16 bytes of
//!   low nibbles as in Q4_0; w = d * (q - 16). 5.5 bits per weight.
//! - F32 / F16: plain values.
//!
//! Any quant bits are valid, so quants are raw random bytes (the nibble order does not matter
//! for uniform random quants); only the scales are computed.

use half::f16;

use super::rng::SplitMix64;
use crate::gguf::GgmlType;

/// What values a tensor holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fill {
    /// Near 1.0 (within ±2%): RMS-norm weights.
    Norm,
    /// Near `level` (within ±2%): a norm that also scales, like an output norm setting the
    /// logits' spread.
    NormAt { level: f32 },
    /// Centred on zero with standard deviation about `sigma`.
    Weights { sigma: f32 },
}

/// The types `fill_blocks` can generate.
pub const SUPPORTED: [GgmlType; 7] = [
    GgmlType::F32,
    GgmlType::F16,
    GgmlType::Q4_0,
    GgmlType::Q5_0,
    GgmlType::Q8_0,
    GgmlType::Q4_K,
    GgmlType::Q6_K,
];

/// Whether `fill_blocks` can generate `ty`.
pub fn is_supported(ty: GgmlType) -> bool {
    SUPPORTED.contains(&ty)
}

/// Standard deviations of uniform integers, sqrt((n^2 - 1) / 12): 4-bit quants (n = 16)...
const SD_U4: f32 = 4.609_772;
/// ... 5-bit quants (n = 32) ...
const SD_U5: f32 = 9.233_093;
/// ... 6-bit quants (n = 64) ...
const SD_U6: f32 = 18.472_953;
/// ... and 8-bit quants (n = 256).
const SD_U8: f32 = 73.900_27;

const Q8_0_BYTES: usize = 34;
const Q4_0_BYTES: usize = 18;
const Q5_0_BYTES: usize = 22;
const Q4_K_BYTES: usize = 144;
const Q6_K_BYTES: usize = 210;
const _: () = assert!(Q8_0_BYTES as u64 == GgmlType::Q8_0.type_size());
const _: () = assert!(Q4_0_BYTES as u64 == GgmlType::Q4_0.type_size());
const _: () = assert!(Q5_0_BYTES as u64 == GgmlType::Q5_0.type_size());
const _: () = assert!(Q4_K_BYTES as u64 == GgmlType::Q4_K.type_size());
const _: () = assert!(Q6_K_BYTES as u64 == GgmlType::Q6_K.type_size());

/// Fills `out` (whole blocks of `ty`) from `rng`. Returns `false`, leaving `out` untouched, if
/// `ty` is not supported or `out` is not a whole number of blocks.
pub fn fill_blocks(ty: GgmlType, fill: Fill, rng: &mut SplitMix64, out: &mut [u8]) -> bool {
    if !is_supported(ty) || !(out.len() as u64).is_multiple_of(ty.type_size()) {
        return false;
    }
    let sigma = match fill {
        Fill::Weights { sigma } => sigma,
        // Norms are plain-float tensors in practice; quantized ones get weights near 1/64.
        Fill::Norm | Fill::NormAt { .. } => 1.0 / 64.0,
    };
    match ty {
        GgmlType::F32 => fill_floats::<4>(fill, rng, out, |x| x.to_le_bytes()),
        GgmlType::F16 => fill_floats::<2>(fill, rng, out, |x| f16::from_f32(x).to_le_bytes()),
        GgmlType::Q8_0 => each::<Q8_0_BYTES>(out, |b| q8_0(b, sigma, rng)),
        GgmlType::Q4_0 => each::<Q4_0_BYTES>(out, |b| q4_0(b, sigma, rng)),
        GgmlType::Q5_0 => each::<Q5_0_BYTES>(out, |b| q5_0(b, sigma, rng)),
        GgmlType::Q4_K => each::<Q4_K_BYTES>(out, |b| q4_k(b, sigma, rng)),
        GgmlType::Q6_K => each::<Q6_K_BYTES>(out, |b| q6_k(b, sigma, rng)),
        _ => return false,
    }
    true
}

fn each<const N: usize>(out: &mut [u8], mut block: impl FnMut(&mut [u8; N])) {
    let (blocks, _) = out.as_chunks_mut::<N>();
    blocks.iter_mut().for_each(&mut block);
}

fn fill_floats<const N: usize>(
    fill: Fill,
    rng: &mut SplitMix64,
    out: &mut [u8],
    enc: fn(f32) -> [u8; N],
) {
    let (values, _) = out.as_chunks_mut::<N>();
    for v in values {
        let u = rng.next_f32() * 2.0 - 1.0;
        *v = enc(match fill {
            Fill::Norm => 1.0 + 0.02 * u,
            Fill::NormAt { level } => level * (1.0 + 0.02 * u),
            // A uniform on [-a, a] has standard deviation a / sqrt(3).
            Fill::Weights { sigma } => u * sigma * 3f32.sqrt(),
        });
    }
}

/// A per-block scale: `sigma / sd` times a jitter in [0.75, 1.25), as a finite f16.
fn scale(sigma: f32, sd: f32, rng: &mut SplitMix64) -> f16 {
    let d = sigma / sd * (0.75 + 0.5 * rng.next_f32());
    let d = f16::from_f32(d);
    if d.is_finite() { d } else { f16::from_f32(0.0) }
}

fn q8_0(b: &mut [u8; Q8_0_BYTES], sigma: f32, rng: &mut SplitMix64) {
    let (d, qs) = b.split_at_mut(2);
    d.copy_from_slice(&scale(sigma, SD_U8, rng).to_le_bytes());
    rng.fill_bytes(qs);
}

/// Q4_0: q - 8 has mean -0.5, so d takes a random sign (as ggml's quantizer's d often does)
/// to centre the tensor.
fn q4_0(b: &mut [u8; Q4_0_BYTES], sigma: f32, rng: &mut SplitMix64) {
    let (d, qs) = b.split_at_mut(2);
    let sign = if rng.next_u64() & 1 == 1 { -1.0 } else { 1.0 };
    d.copy_from_slice(&scale(sign * sigma, SD_U4, rng).to_le_bytes());
    rng.fill_bytes(qs);
}

/// Q5_0: like Q4_0, q - 16 has mean -0.5, so d takes a random sign.
fn q5_0(b: &mut [u8; Q5_0_BYTES], sigma: f32, rng: &mut SplitMix64) {
    let (d, quants) = b.split_at_mut(2);
    let sign = if rng.next_u64() & 1 == 1 { -1.0 } else { 1.0 };
    d.copy_from_slice(&scale(sign * sigma, SD_U5, rng).to_le_bytes());
    rng.fill_bytes(quants);
}

/// Q4_K: sub-block scales sc in 1..=8 and mins m = round(7.5 * sc) with dmin = d, so each
/// weight is d * sc * (q - 7.5) give or take d/2: centred, with sd(q) = 4.61.
fn q4_k(b: &mut [u8; Q4_K_BYTES], sigma: f32, rng: &mut SplitMix64) {
    let bits = rng.next_u64();
    let mut sc = [0u8; 8];
    let mut m = [0u8; 8];
    for j in 0..8 {
        sc[j] = 1 + ((bits >> (3 * j)) & 7) as u8;
        m[j] = (15 * sc[j]).div_ceil(2);
    }
    let rms_sc = (sc.iter().map(|&s| f32::from(s) * f32::from(s)).sum::<f32>() / 8.0).sqrt();
    let d = scale(sigma, rms_sc * SD_U4, rng);
    let (head, qs) = b.split_at_mut(16);
    head[0..2].copy_from_slice(&d.to_le_bytes());
    head[2..4].copy_from_slice(&d.to_le_bytes());
    head[4..16].copy_from_slice(&pack_scales_k4(&sc, &m));
    rng.fill_bytes(qs);
}

/// Q6_K: 16 scales of magnitude 1..=8 and random sign; q - 32 is centred with sd 18.5.
fn q6_k(b: &mut [u8; Q6_K_BYTES], sigma: f32, rng: &mut SplitMix64) {
    let (quants, tail) = b.split_at_mut(192);
    rng.fill_bytes(quants);
    let bits = rng.next_u64();
    let mut sum_sq = 0.0;
    for (j, s) in tail[..16].iter_mut().enumerate() {
        let mag = 1 + ((bits >> (4 * j)) & 7) as i8;
        let v = if (bits >> (4 * j + 3)) & 1 == 1 {
            -mag
        } else {
            mag
        };
        sum_sq += f32::from(v) * f32::from(v);
        *s = v as u8;
    }
    let rms_sc = (sum_sq / 16.0).sqrt();
    let d = scale(sigma, rms_sc * SD_U6, rng);
    tail[16..18].copy_from_slice(&d.to_le_bytes());
}

/// Packs eight 6-bit scales and mins into Q4_K's 12 bytes (ggml's `quantize_row_q4_K_ref`):
/// pairs 0..4 sit in the low 6 bits of bytes 0..4 (scales) and 4..8 (mins); pairs 4..8 put
/// their low 4 bits in bytes 8..12 (scale low nibble, min high nibble) and their top 2 bits in
/// the top 2 bits of bytes 0..4 (scales) and 4..8 (mins).
pub fn pack_scales_k4(sc: &[u8; 8], m: &[u8; 8]) -> [u8; 12] {
    let mut out = [0u8; 12];
    for j in 0..4 {
        out[j] = sc[j] & 63;
        out[j + 4] = m[j] & 63;
    }
    for j in 4..8 {
        let (s, mm) = (sc[j] & 63, m[j] & 63);
        out[j + 4] = (s & 0xF) | ((mm & 0xF) << 4);
        out[j - 4] |= (s >> 4) << 6;
        out[j] |= (mm >> 4) << 6;
    }
    out
}

/// Unpacks scale and min `j` (0..8) from Q4_K's 12 bytes (ggml's `get_scale_min_k4`).
pub fn unpack_scale_min_k4(j: usize, q: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        (
            (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k4_scales_round_trip() {
        let mut r = SplitMix64::new(3);
        for _ in 0..1000 {
            let bits = r.next_u64();
            let sc: [u8; 8] = std::array::from_fn(|j| ((bits >> (6 * j)) & 63) as u8);
            let m: [u8; 8] = std::array::from_fn(|j| ((bits >> (6 * j + 3)) & 63) as u8);
            let packed = pack_scales_k4(&sc, &m);
            for j in 0..8 {
                assert_eq!(unpack_scale_min_k4(j, &packed), (sc[j], m[j]));
            }
        }
    }

    #[test]
    fn rejects_partial_blocks_and_unsupported_types() {
        let mut r = SplitMix64::new(1);
        let mut buf = [0u8; 176];
        assert!(!fill_blocks(
            GgmlType::Q4_K,
            Fill::Norm,
            &mut r,
            &mut buf[..145]
        ));
        assert!(buf.iter().all(|&b| b == 0));
        assert!(!fill_blocks(
            GgmlType::Q5_K,
            Fill::Norm,
            &mut r,
            &mut buf[..176]
        ));
    }
}
