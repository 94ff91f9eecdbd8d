//! The sampler's error type: a bad configuration value or unusable logits.

use std::fmt;

/// Everything that can go wrong while configuring a sampler or drawing a token.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq)]
pub enum SampleError {
    /// `temperature` is NaN, infinite or negative (0 means greedy).
    InvalidTemperature { found: f32 },
    /// `top_p` is outside (0, 1] (1 means off).
    InvalidTopP { found: f32 },
    /// `min_p` is outside [0, 1] (0 means off).
    InvalidMinP { found: f32 },
    /// `repeat_penalty` is NaN, infinite, zero or negative (1 means off).
    InvalidRepeatPenalty { found: f32 },
    /// The logits slice is empty.
    EmptyLogits,
    /// More logits than token ids fit in a `u32`.
    TooManyLogits { len: usize },
    /// None of the `len` logits is finite, so no token has a probability.
    NoFiniteLogits { len: usize },
    /// A token in the penalised history window (`index` into `history`) is not a valid id for
    /// `vocab` logits.
    HistoryTokenOutOfRange {
        index: usize,
        token: u32,
        vocab: usize,
    },
}

impl fmt::Display for SampleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use SampleError::*;
        match self {
            InvalidTemperature { found } => {
                write!(f, "temperature must be finite and >= 0, found {found}")
            }
            InvalidTopP { found } => write!(f, "top_p must be in (0, 1], found {found}"),
            InvalidMinP { found } => write!(f, "min_p must be in [0, 1], found {found}"),
            InvalidRepeatPenalty { found } => {
                write!(f, "repeat_penalty must be finite and > 0, found {found}")
            }
            EmptyLogits => write!(f, "no logits to sample from"),
            TooManyLogits { len } => write!(f, "{len} logits: token ids must fit in u32"),
            NoFiniteLogits { len } => write!(f, "none of the {len} logits is finite"),
            HistoryTokenOutOfRange {
                index,
                token,
                vocab,
            } => {
                write!(
                    f,
                    "history[{index}] = {token} is not a token id below {vocab}"
                )
            }
        }
    }
}

impl std::error::Error for SampleError {}
