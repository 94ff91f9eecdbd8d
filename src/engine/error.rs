//! Why the engine could not do what it was asked: one error type for everything a loaded model is
//! asked to do, each variant with its `ErrorCode`.

use std::fmt;

use crate::error_code::ErrorCode;
use crate::generate::GenerateError;
use crate::model::{ConfigError, ModelError};
use crate::sample::SampleError;
use crate::tokenizer::TokenizerError;

#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EngineError {
    /// The metadata does not describe a model gguf64 runs.
    Config(ConfigError),
    /// The tokenizer metadata is missing or malformed.
    Tokenizer(TokenizerError),
    /// The model has no chat template gguf64 renders, or the conversation breaks its rules.
    Chat(TokenizerError),
    /// The forward pass failed (a missing tensor, a full context, a failed page-in, …).
    Model(ModelError),
    /// The sampler settings are out of range.
    Sample(SampleError),
    /// A context length of 0, or beyond the positions the model was trained on.
    ContextLength { requested: usize, trained: usize },
    /// `step` was called with no generation begun.
    NotBegun,
    /// There is no layer `layer`.
    NoSuchLayer { layer: u32 },
    /// `len` bytes at `offset` do not lie inside the model's main weight block.
    OutsideWeights { offset: u64, len: u64 },
    /// Tensor `name` is in the header but was never registered (a loader bug).
    Unregistered { name: String },
    /// Tensor `name` could not be read back from its storage memory.
    ReadBack { name: String, reason: String },
}

impl EngineError {
    pub fn code(&self) -> ErrorCode {
        match self {
            EngineError::Config(_) => ErrorCode::ModelUnsupported,
            EngineError::Tokenizer(_) => ErrorCode::TokenizerInvalid,
            EngineError::Chat(_) => ErrorCode::ChatTemplate,
            EngineError::Model(e) => e.code(),
            EngineError::Sample(_)
            | EngineError::ContextLength { .. }
            | EngineError::NotBegun
            | EngineError::NoSuchLayer { .. }
            | EngineError::OutsideWeights { .. } => ErrorCode::InvalidArgument,
            EngineError::Unregistered { .. } => ErrorCode::Internal,
            EngineError::ReadBack { .. } => ErrorCode::PageFailed,
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Config(e) => write!(f, "unsupported model: {e}"),
            EngineError::Tokenizer(e) => write!(f, "invalid tokenizer: {e}"),
            EngineError::Chat(e) => write!(f, "chat template: {e}"),
            EngineError::Model(e) => e.fmt(f),
            EngineError::Sample(e) => e.fmt(f),
            EngineError::ContextLength { requested, trained } => write!(
                f,
                "contextLength {requested} is not usable: it must be between 1 and the {trained} positions the model was trained on"
            ),
            EngineError::NotBegun => f.write_str("step() before begin(): no generation is under way"),
            EngineError::NoSuchLayer { layer } => write!(f, "the model has no layer {layer}"),
            EngineError::OutsideWeights { offset, len } => {
                write!(f, "{len} bytes at offset {offset} lie outside the model's weights")
            }
            EngineError::Unregistered { name } => write!(f, "tensor {name} was never registered"),
            EngineError::ReadBack { name, reason } => write!(f, "tensor {name} could not be read back: {reason}"),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<ModelError> for EngineError {
    fn from(e: ModelError) -> Self {
        EngineError::Model(e)
    }
}

impl From<SampleError> for EngineError {
    fn from(e: SampleError) -> Self {
        EngineError::Sample(e)
    }
}

impl From<GenerateError> for EngineError {
    fn from(e: GenerateError) -> Self {
        match e {
            GenerateError::Model(m) => EngineError::Model(m),
            GenerateError::Sample(s) => EngineError::Sample(s),
        }
    }
}
