//! Block layouts of the ggml types the kernels read, as `#[repr(C)]` structs.
//!
//! Layouts follow ggml's `block_*` structs (`ggml-common.h`). Every weight block holds only byte
//! arrays (f16 scales as `[u8; 2]`, little-endian), so its alignment is 1 and any bytes are a
//! valid block: `cast_blocks` views a tensor's bytes in place, at any address, without copying.
//! The activation blocks (`BlockQ8_0` doubles as one, `BlockQ8_1`, `BlockQ8K`) are made by
//! `activation`. Each struct carries a compile-time size assert against the type table.

use core::mem::{align_of, size_of};

use half::f16;

use super::QuantError;
use crate::gguf::GgmlType;

/// Elements per block of the 32-element types (`QK4_0`, `QK8_0`, ...).
pub const QK: usize = 32;
/// Elements per super-block of the k-quants (`QK_K`).
pub const QK_K: usize = 256;
/// Bytes of the packed 6-bit scales and mins of Q4_K and Q5_K (`K_SCALE_SIZE`).
pub const K_SCALE_SIZE: usize = 12;

/// 2^112: rescales an f16 bit pattern shifted into f32 position (exponent bias 15 -> 127).
pub const F16_RESCALE: f32 = f32::from_bits((112 + 127) << 23);

/// Reads a little-endian IEEE half, exactly as `half::f16::to_f32` (tested on all 65536
/// patterns) but without branches on the hot path: a finite half shifted into f32 position and
/// multiplied by 2^112 is its exact value, subnormals included; infinities are kept and NaNs
/// quieted, as `half` does. (`half`'s portable conversion branches on the exponent, and costs a
/// Q4_0 dot product a third of its speed in wasm.)
#[inline(always)]
pub fn f16_le(bytes: [u8; 2]) -> f32 {
    let h = u16::from_le_bytes(bytes) as u32;
    let (sign, abs) = ((h & 0x8000) << 16, h & 0x7FFF);
    let bits = if abs < 0x7C00 {
        (f32::from_bits(abs << 13) * F16_RESCALE).to_bits()
    } else {
        (abs << 13) | 0x7F80_0000 | if abs > 0x7C00 { 0x0040_0000 } else { 0 }
    };
    f32::from_bits(bits | sign)
}

/// Writes a float as a little-endian IEEE half (round to nearest even, as ggml's
/// `GGML_FP32_TO_FP16`).
#[inline(always)]
pub fn f16_bytes(v: f32) -> [u8; 2] {
    f16::from_f32(v).to_bits().to_le_bytes()
}

// ---- plain types ----------------------------------------------------------------------------

/// Layout: one little-endian IEEE single.
/// Formula: y = the value.
/// 32 bits per weight.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockF32(pub [u8; 4]);

/// Layout: one little-endian IEEE half.
/// Formula: y = f32(h), exact.
/// 16 bits per weight.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockF16(pub [u8; 2]);

/// Layout: the high 16 bits of an IEEE single, little-endian.
/// Formula: y = f32(bits << 16), exact.
/// 16 bits per weight.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockBF16(pub [u8; 2]);

impl BlockF32 {
    /// The value.
    #[inline(always)]
    pub fn get(self) -> f32 {
        f32::from_le_bytes(self.0)
    }
}

impl BlockF16 {
    /// The value as f32 (exact).
    #[inline(always)]
    pub fn get(self) -> f32 {
        f16_le(self.0)
    }
}

impl BlockBF16 {
    /// The value as f32: the bits shifted up, as ggml and Python `gguf` do (exact, and NaN
    /// payloads kept as they are, where `half::bf16` would quiet them).
    #[inline(always)]
    pub fn get(self) -> f32 {
        f32::from_bits((u16::from_le_bytes(self.0) as u32) << 16)
    }
}

// ---- 32-element blocks ----------------------------------------------------------------------

/// Layout: f16 d, qs[16]: element j in the low nibble of qs[j], element j + 16 in the high one.
/// Formula: y = d * (q - 8), q in 0..16.
/// 4.5 bits per weight.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ4_0 {
    pub d: [u8; 2],
    pub qs: [u8; QK / 2],
}

/// Layout: f16 d, f16 m, qs[16] as in Q4_0.
/// Formula: y = d * q + m, q in 0..16.
/// 5 bits per weight.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ4_1 {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qs: [u8; QK / 2],
}

/// Layout: f16 d, u32 qh (bit j = fifth bit of element j), qs[16] as in Q4_0.
/// Formula: y = d * (q - 16), q = nibble | bit << 4 in 0..32.
/// 5.5 bits per weight.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ5_0 {
    pub d: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; QK / 2],
}

/// Layout: f16 d, f16 m, u32 qh, qs[16], as in Q5_0.
/// Formula: y = d * q + m, q in 0..32.
/// 6 bits per weight.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ5_1 {
    pub d: [u8; 2],
    pub m: [u8; 2],
    pub qh: [u8; 4],
    pub qs: [u8; QK / 2],
}

/// Layout: f16 d, qs[32] signed. Weights, and the activations of Q4_0, Q5_0, Q8_0 weights.
/// Formula: y = d * q, q in -128..128.
/// 8.5 bits per weight.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ8_0 {
    pub d: [u8; 2],
    pub qs: [i8; QK],
}

/// Layout: f16 d, f16 s = d * Σq (with d before rounding), qs[32] signed. Activations of Q4_1
/// and Q5_1 weights: s lets a dot product add the weight block's offset m as m * s.
/// Formula: y = d * q. 9 bits per element.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ8_1 {
    pub d: [u8; 2],
    pub s: [u8; 2],
    pub qs: [i8; QK],
}

// ---- k-quants (256-element super-blocks) ----------------------------------------------------

/// Layout: scales[16] (per 16 elements: scale in the low nibble, min in the high one), qs[64]
/// (per 128-element half, 32 bytes hold its four 32-element groups at shifts 0, 2, 4, 6), f16 d,
/// f16 dmin. Formula: y = d * (sc & 15) * q - dmin * (sc >> 4), q in 0..4. 2.625 bits per weight.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ2K {
    pub scales: [u8; QK_K / 16],
    pub qs: [u8; QK_K / 4],
    pub d: [u8; 2],
    pub dmin: [u8; 2],
}

/// Layout: hmask[32] (bit g of byte l = high bit of element 32 g + l), qs[64] as in Q2_K,
/// sixteen 6-bit scales in 12 bytes, f16 d.
/// Formula: y = d * (sc - 32) * (q - (high bit ? 0 : 4)), q in 0..4. 3.4375 bits per weight.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ3K {
    pub hmask: [u8; QK_K / 8],
    pub qs: [u8; QK_K / 4],
    pub scales: [u8; 12],
    pub d: [u8; 2],
}

/// Layout: f16 d, f16 dmin, eight 6-bit scales and mins in 12 bytes, qs[128] (per 64 elements,
/// 32 bytes: the low nibbles are the first 32 elements, the high nibbles the next 32).
/// Formula: y = d * sc * q - dmin * m (sc, m per 32 elements), q in 0..16. 4.5 bits per weight.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ4K {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    pub scales: [u8; K_SCALE_SIZE],
    pub qs: [u8; QK_K / 2],
}

/// Layout: f16 d, f16 dmin, scales and mins as in Q4_K, qh[32] (bit g of byte l = fifth bit of
/// element 32 g + l), qs[128] as in Q4_K.
/// Formula: y = d * sc * q - dmin * m (sc, m per 32 elements), q in 0..32. 5.5 bits per weight.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ5K {
    pub d: [u8; 2],
    pub dmin: [u8; 2],
    pub scales: [u8; K_SCALE_SIZE],
    pub qh: [u8; QK_K / 8],
    pub qs: [u8; QK_K / 2],
}

/// Layout: ql[128], qh[64], sixteen i8 scales, f16 d. In each 128-element half, element 32 k + l
/// takes the low (k < 2) or high nibble of ql[l + 32 (k % 2)] and bits 2 k, 2 k + 1 of qh[l].
/// Formula: y = d * sc * (q - 32) (sc per 16 elements), q in 0..64. 6.5625 bits per weight.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ6K {
    pub ql: [u8; QK_K / 2],
    pub qh: [u8; QK_K / 4],
    pub scales: [i8; QK_K / 16],
    pub d: [u8; 2],
}

/// Layout: f32 d, qs[256] signed, bsums[16] (the sum of each 16 quants). Activations of the
/// k-quants. Formula: y = d * q, q in -127..=127 (llama.cpp scales by -127 / max).
/// 9.125 bits per element.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockQ8K {
    pub d: f32,
    pub qs: [i8; QK_K],
    pub bsums: [i16; QK_K / 16],
}

// ---- 4-bit non-linear quants ----------------------------------------------------------------

/// The sixteen values a 4-bit IQ4_NL / IQ4_XS index stands for (ggml's `kvalues_iq4nl`): a
/// non-uniform grid, denser near zero, where weights concentrate. A dot product multiplies the
/// looked-up value by the activation quant; |value| <= 127, so it fits an i8 lane.
pub const KVALUES_IQ4NL: [i8; 16] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/// Layout: f16 d, qs[16] as in Q4_0 (element j in the low nibble of qs[j], j + 16 in the high).
/// Formula: y = d * KVALUES_IQ4NL[q], q in 0..16. Same size as Q4_0 (4.5 bits per weight).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockIQ4NL {
    pub d: [u8; 2],
    pub qs: [u8; QK / 2],
}

/// Layout: f16 d, u16 scales_h (bits 2 s, 2 s + 1: high bits of sub-block s's scale), scales_l[4]
/// (low nibble of byte s / 2 for even s, high for odd), qs[128]: per 32-element sub-block s,
/// 16 bytes at 16 s packed as in IQ4_NL. Formula: y = d * (sc - 32) * KVALUES_IQ4NL[q] with
/// sc the 6-bit scale of the element's sub-block. 4.25 bits per weight.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct BlockIQ4XS {
    pub d: [u8; 2],
    pub scales_h: [u8; 2],
    pub scales_l: [u8; QK_K / 64],
    pub qs: [u8; QK_K / 2],
}

// ---- scale unpacking shared by the scalar and SIMD kernels ----------------------------------

impl BlockQ4K {
    /// The eight 6-bit (scale, min) pairs (`get_scale_min_k4`).
    #[inline(always)]
    pub fn scales_mins(&self) -> ([u8; 8], [u8; 8]) {
        unpack_k4(&self.scales)
    }
}

impl BlockQ5K {
    /// The eight 6-bit (scale, min) pairs, packed as in Q4_K.
    #[inline(always)]
    pub fn scales_mins(&self) -> ([u8; 8], [u8; 8]) {
        unpack_k4(&self.scales)
    }
}

/// Scales 0..4 and mins 0..4: low 6 bits of bytes 0..4 and 4..8. Scales and mins 4..8: low and
/// high nibbles of bytes 8..12, with their top two bits in the top bits of bytes 0..4 / 4..8.
#[inline(always)]
fn unpack_k4(q: &[u8; K_SCALE_SIZE]) -> ([u8; 8], [u8; 8]) {
    let (mut sc, mut mn) = ([0u8; 8], [0u8; 8]);
    for j in 0..4 {
        sc[j] = q[j] & 63;
        mn[j] = q[j + 4] & 63;
        sc[j + 4] = (q[j + 8] & 0x0F) | ((q[j] >> 6) << 4);
        mn[j + 4] = (q[j + 8] >> 4) | ((q[j + 4] >> 6) << 4);
    }
    (sc, mn)
}

impl BlockQ3K {
    /// The sixteen scales, already centred (6-bit value - 32). Scale i: low 4 bits from byte
    /// i % 8 (low nibble for i < 8, high for i >= 8), high 2 bits from byte 8 + i % 4 at shift
    /// 2 * (i / 4).
    #[inline(always)]
    pub fn scales_i8(&self) -> [i8; 16] {
        let s = &self.scales;
        let mut out = [0i8; 16];
        for (i, o) in out.iter_mut().enumerate() {
            let low = (s[i % 8] >> (4 * (i / 8))) & 0x0F;
            let high = (s[8 + i % 4] >> (2 * (i / 4))) & 0x03;
            *o = (low | (high << 4)) as i8 - 32;
        }
        out
    }
}

impl BlockIQ4XS {
    /// The eight sub-block scales, already centred (6-bit value - 32, in -32..32).
    #[inline(always)]
    pub fn scales_i8(&self) -> [i8; 8] {
        let high = u16::from_le_bytes(self.scales_h);
        core::array::from_fn(|s| {
            let low = (self.scales_l[s / 2] >> (4 * (s % 2))) & 0x0F;
            let top = ((high >> (2 * s)) & 3) as u8;
            (low | (top << 4)) as i8 - 32
        })
    }
}

// ---- viewing tensor bytes as blocks ---------------------------------------------------------

/// A block type that can be viewed in place over a tensor's bytes.
///
/// # Safety
/// Implementors are `#[repr(C)]` structs of byte arrays only: alignment 1, no padding, every
/// bit pattern valid, and `size_of::<Self>() == TYPE.type_size()`.
pub unsafe trait WeightBlock: Copy + 'static {
    /// The ggml type this block belongs to.
    const TYPE: GgmlType;
    /// Elements per block.
    const ELEMENTS: usize;
}

macro_rules! weight_block {
    ($block:ty, $ty:ident) => {
        const _: () = assert!(size_of::<$block>() as u64 == GgmlType::$ty.type_size());
        const _: () = assert!(align_of::<$block>() == 1);
        // SAFETY: byte arrays only (align 1, no padding, any bits valid); size asserted above.
        unsafe impl WeightBlock for $block {
            const TYPE: GgmlType = GgmlType::$ty;
            const ELEMENTS: usize = GgmlType::$ty.block_size() as usize;
        }
    };
}

weight_block!(BlockF32, F32);
weight_block!(BlockF16, F16);
weight_block!(BlockBF16, BF16);
weight_block!(BlockQ4_0, Q4_0);
weight_block!(BlockQ4_1, Q4_1);
weight_block!(BlockQ5_0, Q5_0);
weight_block!(BlockQ5_1, Q5_1);
weight_block!(BlockQ8_0, Q8_0);
weight_block!(BlockQ2K, Q2_K);
weight_block!(BlockQ3K, Q3_K);
weight_block!(BlockQ4K, Q4_K);
weight_block!(BlockQ5K, Q5_K);
weight_block!(BlockQ6K, Q6_K);
weight_block!(BlockIQ4NL, IQ4_NL);
weight_block!(BlockIQ4XS, IQ4_XS);

const _: () = assert!(size_of::<BlockQ8_1>() as u64 == GgmlType::Q8_1.type_size());
const _: () = assert!(size_of::<BlockQ8K>() as u64 == GgmlType::Q8_K.type_size());

/// Views `bytes` as whole blocks of `B`, in place.
pub fn cast_blocks<B: WeightBlock>(bytes: &[u8]) -> Result<&[B], QuantError> {
    let size = size_of::<B>();
    if !bytes.len().is_multiple_of(size) {
        return Err(QuantError::NotWholeBlocks { ty: B::TYPE, bytes: bytes.len() });
    }
    // SAFETY: `B: WeightBlock` has alignment 1, no padding and accepts any bytes, so every
    // address is aligned for it and `len / size` blocks cover exactly the borrowed bytes; the
    // result borrows `bytes`, so it cannot outlive them.
    Ok(unsafe { core::slice::from_raw_parts(bytes.as_ptr().cast::<B>(), bytes.len() / size) })
}

/// The bytes of whole blocks (the inverse of `cast_blocks`).
pub fn block_bytes<B: WeightBlock>(blocks: &[B]) -> &[u8] {
    // SAFETY: `B: WeightBlock` has no padding, so its `len * size_of::<B>()` bytes are all
    // initialised; u8 has alignment 1; the result borrows `blocks`.
    unsafe { core::slice::from_raw_parts(blocks.as_ptr().cast::<u8>(), size_of_val(blocks)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_whole_blocks_at_any_address() {
        let bytes = [0u8; 1 + 2 * 18];
        let blocks = cast_blocks::<BlockQ4_0>(&bytes[1..]).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(block_bytes(blocks).len(), 36);
        assert_eq!(
            cast_blocks::<BlockQ4_0>(&bytes[..20]).unwrap_err(),
            QuantError::NotWholeBlocks { ty: GgmlType::Q4_0, bytes: 20 }
        );
    }

    #[test]
    fn f16_reads_like_half_for_every_pattern() {
        for h in 0..=u16::MAX {
            let want = f16::from_bits(h).to_f32().to_bits();
            assert_eq!(f16_le(h.to_le_bytes()).to_bits(), want, "{h:#06x}");
        }
    }

    #[test]
    fn k4_scales_unpack_like_ggml() {
        // Scale 5: low nibble of byte 9, top bits of byte 1; min 5: high nibble of byte 9 and
        // top bits of byte 5.
        let mut q = [0u8; 12];
        q[1] = 0b1100_0001;
        q[5] = 0b0100_0010;
        q[9] = 0xA7;
        let (sc, mn) = unpack_k4(&q);
        assert_eq!((sc[1], mn[1]), (1, 2));
        assert_eq!((sc[5], mn[5]), (0x37, 0x1A));
    }

    #[test]
    fn q3_scales_are_centred() {
        let mut b = BlockQ3K { hmask: [0; 32], qs: [0; 64], scales: [0; 12], d: [0; 2] };
        b.scales[0] = 0x21; // scale 0 low = 1, scale 8 low = 2
        b.scales[8] = 0b0000_0011; // scale 0 high bits = 3
        b.scales[11] = 0b1000_0000; // scale 15 high bits = 2
        let s = b.scales_i8();
        assert_eq!((s[0], s[8], s[15], s[1]), (0x31 - 32, 2 - 32, 0x20 - 32, -32));
    }

    #[test]
    fn iq4_xs_scales_are_centred() {
        let mut b = BlockIQ4XS { d: [0; 2], scales_h: [0; 2], scales_l: [0; 4], qs: [0; 128] };
        b.scales_l[0] = 0xA5; // scale 0 low = 5, scale 1 low = 10
        b.scales_l[3] = 0xF0; // scale 7 low = 15
        b.scales_h = (0b11_00_00_00_00_00_10_01u16).to_le_bytes(); // scale 0 high 1, 1 high 2, 7 high 3
        let s = b.scales_i8();
        assert_eq!(s, [0x15 - 32, 0x2A - 32, -32, -32, -32, -32, 0x00 - 32, 0x3F - 32]);
    }
}
