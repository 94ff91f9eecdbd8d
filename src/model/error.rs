//! Why a forward pass could not run: every error names the tensor, token or position at fault.

use std::fmt;

use crate::error_code::ErrorCode;
use crate::gguf::GgmlType;
use crate::quant::QuantError;

#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ModelError {
    /// A tensor the architecture needs is not in the file.
    MissingTensor { name: String },
    /// A tensor's shape (ne0 first) is not the one the config implies.
    BadShape { name: String, expected: [usize; 2], actual: Vec<u64> },
    /// A tensor's type has no kernel, or is not allowed where it is used (norms must be F32).
    UnsupportedType { name: String, ty: GgmlType },
    /// A kernel refused a tensor (bad length, misaligned bytes).
    Kernel { name: String, source: QuantError },
    /// A token id outside the vocabulary.
    TokenOutOfRange { id: u32, n_vocab: usize },
    /// The KV cache is full: `needed` positions asked for, `n_ctx` available.
    ContextFull { needed: usize, n_ctx: usize },
    /// A buffer of this many bytes could not be allocated (KV cache, scratch).
    OutOfMemory { bytes: u64 },
    /// The weights of layer `layer` could not be made available (paging failed).
    Page { layer: usize, reason: String },
    /// An argument out of range (empty token list, wrong logits length).
    InvalidArgument { what: &'static str, value: usize },
    /// A shard of a tensor-parallel model was asked to evaluate on its own: its `count - 1`
    /// peers must take part (through `Session::advance`).
    ShardAlone { count: usize },
}

impl ModelError {
    /// What kind of failure this is, for programs (the JS error's `code`).
    pub fn code(&self) -> ErrorCode {
        match self {
            ModelError::MissingTensor { .. } | ModelError::BadShape { .. } | ModelError::UnsupportedType { .. } => ErrorCode::ModelUnsupported,
            ModelError::Kernel { .. } => ErrorCode::ModelUnsupported,
            ModelError::TokenOutOfRange { .. } | ModelError::InvalidArgument { .. } | ModelError::ShardAlone { .. } => ErrorCode::InvalidArgument,
            ModelError::ContextFull { .. } => ErrorCode::ContextFull,
            ModelError::OutOfMemory { .. } => ErrorCode::OutOfMemory,
            ModelError::Page { .. } => ErrorCode::PageFailed,
        }
    }
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::MissingTensor { name } => write!(f, "tensor {name} is missing"),
            ModelError::BadShape { name, expected, actual } => {
                write!(f, "tensor {name} has shape {actual:?}, expected [{}, {}]", expected[0], expected[1])
            }
            ModelError::UnsupportedType { name, ty } => write!(f, "tensor {name} has type {ty:?}, which cannot be used there"),
            ModelError::Kernel { name, source } => write!(f, "tensor {name}: {source}"),
            ModelError::TokenOutOfRange { id, n_vocab } => write!(f, "token {id} is outside the vocabulary of {n_vocab}"),
            ModelError::ContextFull { needed, n_ctx } => {
                write!(f, "the context is full: {needed} positions needed, {n_ctx} available")
            }
            ModelError::OutOfMemory { bytes } => write!(f, "could not allocate {bytes} bytes"),
            ModelError::Page { layer, reason } => write!(f, "layer {layer} could not be paged in: {reason}"),
            ModelError::InvalidArgument { what, value } => write!(f, "invalid {what}: {value}"),
            ModelError::ShardAlone { count } => write!(f, "this model is one of {count} shards and evaluates only together with the others"),
        }
    }
}

impl std::error::Error for ModelError {}
