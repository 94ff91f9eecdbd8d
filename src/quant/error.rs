//! The one error type of the kernels: bad lengths and unsupported types, never a panic.

use std::fmt;

use super::activation::ActivationFormat;
use crate::gguf::GgmlType;

/// Why a kernel call was refused.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuantError {
    /// The type has no kernels (i-quants, ternary, integer types, ...).
    Unsupported(GgmlType),
    /// A byte length that is not a whole number of `ty` blocks.
    NotWholeBlocks { ty: GgmlType, bytes: usize },
    /// An element count that is not a whole number of `ty` blocks.
    NotWholeElements { ty: GgmlType, elements: usize },
    /// An input or output slice of the wrong length (in elements, blocks or rows).
    LengthMismatch { expected: usize, actual: usize },
    /// An activation quantized for other weights.
    WrongActivation { weights: GgmlType, expected: ActivationFormat, actual: ActivationFormat },
    /// A row range that is reversed or reaches past the matrix.
    RowRange { start: usize, end: usize, rows: usize },
    /// More elements than a `usize` counts (possible only on 32-bit targets).
    TooLarge { bytes: usize },
}

impl fmt::Display for QuantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuantError::Unsupported(t) => write!(f, "no kernels for type {t}"),
            QuantError::NotWholeBlocks { ty, bytes } => {
                write!(f, "{bytes} bytes are not a whole number of {ty} blocks ({} bytes)", ty.type_size())
            }
            QuantError::NotWholeElements { ty, elements } => {
                write!(f, "{elements} elements are not a whole number of {ty} blocks ({} elements)", ty.block_size())
            }
            QuantError::LengthMismatch { expected, actual } => {
                write!(f, "length {actual} where {expected} was expected")
            }
            QuantError::WrongActivation { weights, expected, actual } => {
                write!(f, "{weights} weights take {expected:?} activations, not {actual:?}")
            }
            QuantError::RowRange { start, end, rows } => {
                write!(f, "rows {start}..{end} are not within the matrix's {rows} rows")
            }
            QuantError::TooLarge { bytes } => write!(f, "{bytes} bytes hold more elements than this target can count"),
        }
    }
}

impl std::error::Error for QuantError {}
