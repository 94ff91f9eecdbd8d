//! The ggml tensor type table: id, name, block size and bytes per block.
//!
//! Ids are fixed by ggml's append-only `enum ggml_type`; the gaps (4, 5, 31-33, 36-38) are
//! types whose support was removed and are rejected as unknown. Sizes follow ggml's
//! `block_*` structs (`ggml-common.h`). Note: Python `gguf` 0.17.1 still lists Q8_1 as 40
//! bytes (an old layout with f32 scales); ggml's current block is two f16 + 32 quants = 36.

/// A ggml tensor element type, by its on-disk id.
#[allow(non_camel_case_types, reason = "variant names match ggml's spelling (Q4_K, IQ2_XXS)")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum GgmlType {
    F32 = 0,
    F16 = 1,
    Q4_0 = 2,
    Q4_1 = 3,
    Q5_0 = 6,
    Q5_1 = 7,
    Q8_0 = 8,
    Q8_1 = 9,
    Q2_K = 10,
    Q3_K = 11,
    Q4_K = 12,
    Q5_K = 13,
    Q6_K = 14,
    Q8_K = 15,
    IQ2_XXS = 16,
    IQ2_XS = 17,
    IQ3_XXS = 18,
    IQ1_S = 19,
    IQ4_NL = 20,
    IQ3_S = 21,
    IQ2_S = 22,
    IQ4_XS = 23,
    I8 = 24,
    I16 = 25,
    I32 = 26,
    I64 = 27,
    F64 = 28,
    IQ1_M = 29,
    BF16 = 30,
    TQ1_0 = 34,
    TQ2_0 = 35,
    MXFP4 = 39,
}

/// Static facts about one ggml type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TypeTraits {
    /// The name as ggml spells it (`"Q4_K"`, `"F32"`).
    pub name: &'static str,
    /// Elements per block (1 for plain types, 32 or 256 for quantized ones).
    pub block_size: u64,
    /// Bytes per block.
    pub type_size: u64,
    /// Whether the type is block-quantized (block_size > 1 or a packed layout).
    pub is_quantized: bool,
}

const fn plain(name: &'static str, type_size: u64) -> TypeTraits {
    TypeTraits { name, block_size: 1, type_size, is_quantized: false }
}

const fn quant(name: &'static str, block_size: u64, type_size: u64) -> TypeTraits {
    TypeTraits { name, block_size, type_size, is_quantized: true }
}

/// Super-block size of the k-quants and i-quants (`QK_K`).
const QK_K: u64 = 256;

impl GgmlType {
    /// Every known type, in id order.
    pub const ALL: [GgmlType; 32] = {
        use GgmlType::*;
        [
            F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K,
            IQ2_XXS, IQ2_XS, IQ3_XXS, IQ1_S, IQ4_NL, IQ3_S, IQ2_S, IQ4_XS, I8, I16, I32, I64, F64,
            IQ1_M, BF16, TQ1_0, TQ2_0, MXFP4,
        ]
    };

    /// The type with on-disk id `id`, or `None` for unknown and removed ids.
    pub fn from_id(id: u32) -> Option<GgmlType> {
        Self::ALL.iter().copied().find(|t| t.id() == id)
    }

    /// The on-disk id.
    pub const fn id(self) -> u32 {
        self as u32
    }

    /// Name, block size and bytes per block.
    pub const fn traits(self) -> TypeTraits {
        use GgmlType::*;
        match self {
            F32 => plain("F32", 4),
            F16 => plain("F16", 2),
            // f16 d + 32 x 4-bit
            Q4_0 => quant("Q4_0", 32, 18),
            // f16 d, m + 32 x 4-bit
            Q4_1 => quant("Q4_1", 32, 20),
            // f16 d + 32 high bits + 32 x 4-bit
            Q5_0 => quant("Q5_0", 32, 22),
            Q5_1 => quant("Q5_1", 32, 24),
            // f16 d + 32 x i8
            Q8_0 => quant("Q8_0", 32, 34),
            // f16 d, s + 32 x i8
            Q8_1 => quant("Q8_1", 32, 36),
            Q2_K => quant("Q2_K", QK_K, 84),
            Q3_K => quant("Q3_K", QK_K, 110),
            Q4_K => quant("Q4_K", QK_K, 144),
            Q5_K => quant("Q5_K", QK_K, 176),
            Q6_K => quant("Q6_K", QK_K, 210),
            // f32 d + 256 x i8 + 16 x i16 sums
            Q8_K => quant("Q8_K", QK_K, 292),
            IQ2_XXS => quant("IQ2_XXS", QK_K, 66),
            IQ2_XS => quant("IQ2_XS", QK_K, 74),
            IQ3_XXS => quant("IQ3_XXS", QK_K, 98),
            IQ1_S => quant("IQ1_S", QK_K, 50),
            IQ4_NL => quant("IQ4_NL", 32, 18),
            IQ3_S => quant("IQ3_S", QK_K, 110),
            IQ2_S => quant("IQ2_S", QK_K, 82),
            IQ4_XS => quant("IQ4_XS", QK_K, 136),
            I8 => plain("I8", 1),
            I16 => plain("I16", 2),
            I32 => plain("I32", 4),
            I64 => plain("I64", 8),
            F64 => plain("F64", 8),
            IQ1_M => quant("IQ1_M", QK_K, 56),
            BF16 => plain("BF16", 2),
            TQ1_0 => quant("TQ1_0", QK_K, 54),
            TQ2_0 => quant("TQ2_0", QK_K, 66),
            // e8m0 scale + 32 x fp4 (e2m1)
            MXFP4 => quant("MXFP4", 32, 17),
        }
    }

    /// The name as ggml spells it.
    pub const fn name(self) -> &'static str {
        self.traits().name
    }

    /// Elements per block.
    pub const fn block_size(self) -> u64 {
        self.traits().block_size
    }

    /// Bytes per block.
    pub const fn type_size(self) -> u64 {
        self.traits().type_size
    }

    /// Bytes taken by `n_elements` elements, or `None` if `n_elements` is not a whole number
    /// of blocks or the size overflows.
    pub fn bytes_for(self, n_elements: u64) -> Option<u64> {
        let t = self.traits();
        if !n_elements.is_multiple_of(t.block_size) {
            return None;
        }
        (n_elements / t.block_size).checked_mul(t.type_size)
    }
}

impl std::fmt::Display for GgmlType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_gaps_are_unknown() {
        for t in GgmlType::ALL {
            assert_eq!(GgmlType::from_id(t.id()), Some(t));
        }
        for id in [4, 5, 31, 32, 33, 36, 37, 38, 40, u32::MAX] {
            assert_eq!(GgmlType::from_id(id), None);
        }
    }

    #[test]
    fn sizes_match_ggml_blocks() {
        assert_eq!(GgmlType::Q4_K.bytes_for(256), Some(144));
        assert_eq!(GgmlType::Q8_0.bytes_for(64), Some(68));
        assert_eq!(GgmlType::Q8_0.bytes_for(33), None);
        assert_eq!(GgmlType::F32.bytes_for(u64::MAX), None);
        assert_eq!(GgmlType::MXFP4.type_size(), 17);
    }
}
