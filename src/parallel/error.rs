//! Why a model could not be split over workers, or a shard's bytes not routed.

use std::fmt;

use crate::error_code::ErrorCode;
use crate::gguf::WriteError;
use crate::model::ConfigError;

#[derive(Debug)]
#[non_exhaustive]
pub enum ShardError {
    /// Fewer than two shards asked for.
    Count { count: usize },
    /// The file is already a shard.
    AlreadyShard,
    /// The heads do not divide over the shards (fewer key/value heads than shards, and the
    /// query heads of a group not divisible among the shards sharing it).
    Heads { heads: usize, kv_heads: usize, count: usize },
    /// A width is smaller than the number of shards.
    TooNarrow { what: &'static str, width: usize, count: usize },
    /// The architecture mixes every head in one step a shard cannot do alone.
    Unsplittable { reason: &'static str },
    /// A tensor the plan cuts has a shape or type it cannot be cut in.
    Uncuttable { name: String, reason: &'static str },
    /// Tensors overlap in the file, so its bytes cannot be routed in one pass.
    Overlap { name: String, offset: u64 },
    /// The model's config could not be read.
    Config(ConfigError),
    /// A shard's header could not be laid out.
    Layout(WriteError),
    /// Bytes arrived out of order: `expected` was the next offset, `got` came.
    OutOfOrder { expected: u64, got: u64 },
}

impl ShardError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ShardError::Count { .. } | ShardError::OutOfOrder { .. } => ErrorCode::InvalidArgument,
            ShardError::Overlap { .. } | ShardError::Layout(_) => ErrorCode::GgufInvalid,
            _ => ErrorCode::ModelUnsupported,
        }
    }
}

impl fmt::Display for ShardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShardError::Count { count } => write!(f, "a model splits into 2 or more shards, not {count}"),
            ShardError::AlreadyShard => write!(f, "the file is already a shard of a split model"),
            ShardError::Heads { heads, kv_heads, count } => {
                write!(f, "{heads} query heads over {kv_heads} key/value heads do not divide over {count} shards")
            }
            ShardError::TooNarrow { what, width, count } => write!(f, "{what} {width} is narrower than {count} shards"),
            ShardError::Unsplittable { reason } => write!(f, "the model cannot be split over workers: {reason}"),
            ShardError::Uncuttable { name, reason } => write!(f, "tensor {name} cannot be cut: {reason}"),
            ShardError::Overlap { name, offset } => write!(f, "tensor {name} at data offset {offset} overlaps the tensor before it"),
            ShardError::Config(e) => write!(f, "{e}"),
            ShardError::Layout(e) => write!(f, "shard header: {e}"),
            ShardError::OutOfOrder { expected, got } => write!(f, "bytes at offset {got} arrived where {expected} was next"),
        }
    }
}

impl std::error::Error for ShardError {}
