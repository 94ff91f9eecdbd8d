//! Errors of a streaming load.

use std::fmt;

use crate::error_code::ErrorCode;
use crate::gguf::{GgufError, SplitError};
use crate::memory::{AllocError, GroupError, PlanError};
use crate::model::ModelError;

/// Why a streamed load failed. Every variant says where (a byte offset of the file) or how much.
#[derive(Debug)]
#[non_exhaustive]
pub enum LoadError {
    /// The header is malformed or hostile.
    Gguf(GgufError),
    /// The files given are not the parts of one split model, in order.
    Split(SplitError),
    /// A part index past the parts of the load.
    NoSuchPart { part: usize },
    /// Tensor data of `part` arrived before every part's header was known.
    NotPlanned { part: usize },
    /// The tensors do not form a model (a gap in the layer numbers, a bad layer name).
    Groups(GroupError),
    /// The model does not fit the memory limits.
    Plan(PlanError),
    /// The header is still incomplete after `limit` bytes.
    HeaderTooLarge { limit: u64 },
    /// The stream ended at `received` bytes, before the `expected` bytes the header announces.
    Truncated { received: u64, expected: u64 },
    /// The stream carries more bytes than the header announces: byte `offset` is one too many.
    TrailingBytes { offset: u64, expected: u64 },
    /// The server announced `announced` bytes, but the header says the file is `expected` bytes.
    LengthMismatch { announced: u64, expected: u64 },
    /// The tensor data (`bytes` long) could not be allocated.
    OutOfMemory { bytes: u64 },
    /// The file's SHA-256 is not the one the caller gave.
    DigestMismatch { expected: String, found: String },
    /// `commit` was called for more bytes than the last `dest` handed out.
    CommitTooLarge { committed: u64, reserved: u64 },
    /// Reading the source failed at byte `offset` (native loads from a file).
    Read { offset: u64, reason: String },
    /// The header names a tensor the model cannot run with (a type without kernels), found
    /// before any weight is fetched.
    Model(ModelError),
}

impl LoadError {
    /// What kind of failure this is, for programs (the JS error's `code`).
    pub fn code(&self) -> ErrorCode {
        match self {
            LoadError::Gguf(_) => ErrorCode::GgufInvalid,
            LoadError::Split(_) => ErrorCode::SplitInvalid,
            LoadError::NoSuchPart { .. } | LoadError::NotPlanned { .. } => ErrorCode::Internal,
            LoadError::Groups(_) => ErrorCode::GgufInvalid,
            LoadError::Plan(_) => ErrorCode::DoesNotFit,
            LoadError::HeaderTooLarge { .. } => ErrorCode::HeaderTooLarge,
            LoadError::Truncated { .. } => ErrorCode::Truncated,
            LoadError::TrailingBytes { .. } => ErrorCode::TrailingBytes,
            LoadError::LengthMismatch { .. } => ErrorCode::LengthMismatch,
            LoadError::OutOfMemory { .. } => ErrorCode::OutOfMemory,
            LoadError::DigestMismatch { .. } => ErrorCode::Integrity,
            LoadError::CommitTooLarge { .. } => ErrorCode::Internal,
            LoadError::Read { .. } => ErrorCode::ReadFailed,
            LoadError::Model(e) => e.code(),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Gguf(e) => write!(f, "invalid GGUF: {e}"),
            LoadError::Split(e) => write!(f, "invalid split model: {e}"),
            LoadError::NoSuchPart { part } => write!(f, "no part {part} in this load"),
            LoadError::NotPlanned { part } => {
                write!(f, "tensor data of part {part} came before every part's header was known")
            }
            LoadError::Groups(e) => write!(f, "invalid model: {e}"),
            LoadError::Plan(e) => write!(f, "cannot place the model: {e}"),
            LoadError::HeaderTooLarge { limit } => {
                write!(f, "GGUF header still incomplete after {limit} bytes (the limit)")
            }
            LoadError::Truncated { received, expected } => write!(
                f,
                "file ended at byte {received}, but its header announces {expected} bytes"
            ),
            LoadError::TrailingBytes { offset, expected } => write!(
                f,
                "unexpected byte at offset {offset}: the header announces {expected} bytes"
            ),
            LoadError::LengthMismatch { announced, expected } => write!(
                f,
                "the server announced {announced} bytes, but the header describes {expected}"
            ),
            LoadError::OutOfMemory { bytes } => {
                write!(f, "could not allocate {bytes} bytes for the tensor data")
            }
            LoadError::DigestMismatch { expected, found } => {
                write!(f, "SHA-256 mismatch: expected {expected}, the file has {found}")
            }
            LoadError::CommitTooLarge { committed, reserved } => write!(
                f,
                "committed {committed} bytes but only {reserved} were reserved"
            ),
            LoadError::Read { offset, reason } => write!(f, "reading the file failed at byte {offset}: {reason}"),
            LoadError::Model(e) => write!(f, "the model cannot run: {e}"),
        }
    }
}

impl std::error::Error for LoadError {}

impl From<GgufError> for LoadError {
    fn from(e: GgufError) -> Self {
        LoadError::Gguf(e)
    }
}

impl From<SplitError> for LoadError {
    fn from(e: SplitError) -> Self {
        LoadError::Split(e)
    }
}

impl From<GroupError> for LoadError {
    fn from(e: GroupError) -> Self {
        LoadError::Groups(e)
    }
}

impl From<PlanError> for LoadError {
    fn from(e: PlanError) -> Self {
        LoadError::Plan(e)
    }
}

impl From<AllocError> for LoadError {
    fn from(e: AllocError) -> Self {
        LoadError::OutOfMemory { bytes: e.bytes }
    }
}
