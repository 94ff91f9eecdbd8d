//! The GGUF parser's error type. Every variant names the byte offset (from the start of the
//! file) where the problem was found, and what was expected and found there.

use std::fmt;

use super::value::ValueType;

/// Which count, length or cap an error is about.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantity {
    /// Bytes from the start of the file to the end of the tensor infos.
    HeaderBytes,
    /// The tensor count in the preamble.
    Tensors,
    /// The metadata key/value count in the preamble.
    KvPairs,
    /// A string's byte length (keys, values, tensor names).
    StringLen,
    /// An array's element count.
    ArrayLen,
    /// Nesting depth of arrays inside arrays.
    Depth,
    /// A tensor's dimension count.
    Dims,
}

/// Everything that can go wrong while parsing a GGUF header.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub enum GgufError {
    /// The input ended: a read of `needed` bytes at `offset` found only `available`.
    Truncated { offset: u64, needed: u64, available: u64 },
    /// The file does not start with `GGUF`.
    BadMagic { offset: u64, found: [u8; 4] },
    /// A version other than 2 or 3 (v1 used 32-bit counts and is not supported).
    UnsupportedVersion { offset: u64, found: u32 },
    /// The version reads as 2 or 3 only when byte-swapped: a big-endian file.
    BigEndian { offset: u64, found: u32, swapped: u32 },
    /// A metadata value type id outside 0..=12.
    UnknownValueType { offset: u64, found: u32 },
    /// A tensor type id that is not in the ggml type table.
    UnknownGgmlType { offset: u64, tensor: String, found: u32 },
    /// A count or length above the configured cap (see `Limits`).
    LimitExceeded { offset: u64, what: Quantity, max: u64, found: u64 },
    /// A count or length that cannot fit in the bytes left in the file or under the header cap.
    CountTooLarge { offset: u64, what: Quantity, found: u64, max: u64 },
    /// A string that is not UTF-8; `offset` is the first byte of the bad sequence, `found`.
    InvalidUtf8 { offset: u64, found: u8 },
    /// A bool stored as a byte other than 0 or 1.
    InvalidBool { offset: u64, found: u8 },
    /// A metadata key seen twice; `offset` is the second occurrence.
    DuplicateKey { offset: u64, key: String },
    /// A well-known key with the wrong value type (e.g. `general.alignment` must be u32).
    WrongKeyType { offset: u64, key: String, expected: ValueType, found: ValueType },
    /// `general.alignment` is zero or not a power of two.
    InvalidAlignment { offset: u64, found: u64 },
    /// A tensor name seen twice; `offset` is the second tensor info.
    DuplicateTensor { offset: u64, tensor: String },
    /// A dimension above `i64::MAX`, or an element/byte count that overflows.
    ShapeOverflow { offset: u64, tensor: String, dims: Vec<u64> },
    /// `ne0` is not a multiple of the type's block size.
    NotBlockMultiple { offset: u64, tensor: String, ne0: u64, block_size: u64 },
    /// A tensor data offset that is not a multiple of the alignment.
    MisalignedTensor { offset: u64, tensor: String, found: u64, alignment: u64 },
    /// A tensor whose data would end (absolute `end`) past the end of the file.
    TensorOutOfBounds { offset: u64, tensor: String, end: u64, file_len: u64 },
    /// Two tensors' data ranges overlap: this tensor starts at `start`, before the end of
    /// `other` (both relative to the data section).
    TensorOverlap { offset: u64, tensor: String, other: String, start: u64, other_end: u64 },
}

impl GgufError {
    /// The byte offset (from the start of the file) where the problem was found.
    pub fn offset(&self) -> u64 {
        use GgufError::*;
        match self {
            Truncated { offset, .. }
            | BadMagic { offset, .. }
            | UnsupportedVersion { offset, .. }
            | BigEndian { offset, .. }
            | UnknownValueType { offset, .. }
            | UnknownGgmlType { offset, .. }
            | LimitExceeded { offset, .. }
            | CountTooLarge { offset, .. }
            | InvalidUtf8 { offset, .. }
            | InvalidBool { offset, .. }
            | DuplicateKey { offset, .. }
            | WrongKeyType { offset, .. }
            | InvalidAlignment { offset, .. }
            | DuplicateTensor { offset, .. }
            | ShapeOverflow { offset, .. }
            | NotBlockMultiple { offset, .. }
            | MisalignedTensor { offset, .. }
            | TensorOutOfBounds { offset, .. }
            | TensorOverlap { offset, .. } => *offset,
        }
    }

    /// The variant's name, stable for programs (the JS error's `reason`, e.g. `"TensorOutOfBounds"`).
    pub fn kind(&self) -> &'static str {
        use GgufError::*;
        match self {
            Truncated { .. } => "Truncated",
            BadMagic { .. } => "BadMagic",
            UnsupportedVersion { .. } => "UnsupportedVersion",
            BigEndian { .. } => "BigEndian",
            UnknownValueType { .. } => "UnknownValueType",
            UnknownGgmlType { .. } => "UnknownGgmlType",
            LimitExceeded { .. } => "LimitExceeded",
            CountTooLarge { .. } => "CountTooLarge",
            InvalidUtf8 { .. } => "InvalidUtf8",
            InvalidBool { .. } => "InvalidBool",
            DuplicateKey { .. } => "DuplicateKey",
            WrongKeyType { .. } => "WrongKeyType",
            InvalidAlignment { .. } => "InvalidAlignment",
            DuplicateTensor { .. } => "DuplicateTensor",
            ShapeOverflow { .. } => "ShapeOverflow",
            NotBlockMultiple { .. } => "NotBlockMultiple",
            MisalignedTensor { .. } => "MisalignedTensor",
            TensorOutOfBounds { .. } => "TensorOutOfBounds",
            TensorOverlap { .. } => "TensorOverlap",
        }
    }
}

impl fmt::Display for GgufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use GgufError::*;
        match self {
            Truncated { offset, needed, available } => write!(
                f,
                "GGUF truncated at byte {offset}: needed {needed} bytes, {available} available"
            ),
            BadMagic { offset, found } => {
                write!(
                    f,
                    "not a GGUF file: expected magic \"GGUF\" at byte {offset}, found {found:02x?}"
                )
            }
            UnsupportedVersion { offset, found } => {
                write!(f, "unsupported GGUF version {found} at byte {offset} (expected 2 or 3)")
            }
            BigEndian { offset, found, swapped } => write!(
                f,
                "big-endian GGUF (version field {found:#x} at byte {offset} is {swapped} byte-swapped); only little-endian is supported"
            ),
            UnknownValueType { offset, found } => {
                write!(f, "unknown metadata value type {found} at byte {offset} (expected 0..=12)")
            }
            UnknownGgmlType { offset, tensor, found } => {
                write!(f, "tensor '{tensor}' at byte {offset}: unknown ggml type id {found}")
            }
            LimitExceeded { offset, what, max, found } => {
                write!(f, "{what:?} {found} at byte {offset} exceeds the limit {max}")
            }
            CountTooLarge { offset, what, found, max } => write!(
                f,
                "{what:?} {found} at byte {offset} cannot fit in the remaining bytes (at most {max})"
            ),
            InvalidUtf8 { offset, found } => {
                write!(f, "invalid UTF-8 in a string at byte {offset} (byte {found:#04x})")
            }
            InvalidBool { offset, found } => {
                write!(f, "bool at byte {offset} is {found} (expected 0 or 1)")
            }
            DuplicateKey { offset, key } => {
                write!(f, "duplicate metadata key '{key}' at byte {offset}")
            }
            WrongKeyType { offset, key, expected, found } => write!(
                f,
                "metadata key '{key}' at byte {offset} has type {found:?} (expected {expected:?})"
            ),
            InvalidAlignment { offset, found } => write!(
                f,
                "general.alignment {found} at byte {offset} is not a nonzero power of two"
            ),
            DuplicateTensor { offset, tensor } => {
                write!(f, "duplicate tensor name '{tensor}' at byte {offset}")
            }
            ShapeOverflow { offset, tensor, dims } => {
                write!(f, "tensor '{tensor}' at byte {offset}: shape {dims:?} is too large")
            }
            NotBlockMultiple { offset, tensor, ne0, block_size } => write!(
                f,
                "tensor '{tensor}' at byte {offset}: ne0 {ne0} is not a multiple of the block size {block_size}"
            ),
            MisalignedTensor { offset, tensor, found, alignment } => write!(
                f,
                "tensor '{tensor}' at byte {offset}: data offset {found} is not a multiple of {alignment}"
            ),
            TensorOutOfBounds { offset, tensor, end, file_len } => write!(
                f,
                "tensor '{tensor}' at byte {offset}: data ends at byte {end}, past the file end {file_len}"
            ),
            TensorOverlap { offset, tensor, other, start, other_end } => write!(
                f,
                "tensor '{tensor}' at byte {offset}: data starts at {start}, inside '{other}' (ends at {other_end})"
            ),
        }
    }
}

impl std::error::Error for GgufError {}
