//! The tokenizer's error type: what in the GGUF metadata (or a chat request) cannot be used.

use std::fmt;

use super::template::ChatTemplateError;

/// Everything that can go wrong building a tokenizer from GGUF metadata or formatting a chat.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenizerError {
    /// A required metadata key is absent (`tokenizer.ggml.model`, `tokenizer.ggml.tokens`,
    /// `tokenizer.ggml.merges` for BPE).
    MissingKey { key: &'static str },
    /// A key holds a value of the wrong type; `expected` says what would have been accepted.
    WrongType { key: &'static str, expected: &'static str },
    /// An array shorter than the vocabulary (`tokenizer.ggml.scores`, `token_type`).
    ArrayTooShort { key: &'static str, len: usize, n_vocab: usize },
    /// `tokenizer.ggml.tokens` is empty.
    EmptyVocab,
    /// The vocabulary has more tokens than a `u32` id (or llama.cpp's `int32_t`) can name.
    VocabTooLarge { n_vocab: usize },
    /// Two tokens have the same text (llama.cpp aborts on this).
    DuplicateToken { id: u32, first: u32 },
    /// Merge line `index` of `tokenizer.ggml.merges` has no space separating its two parts.
    BadMerge { index: usize },
    /// `tokenizer.ggml.model` names a tokenizer this crate does not implement.
    UnknownModel { model: String },
    /// `tokenizer.ggml.pre` names a pre-tokenizer this crate does not implement.
    UnknownPreTokenizer { pre: String },
    /// The chat template does not parse, fails on the conversation or exceeds a limit.
    ChatTemplate(ChatTemplateError),
    /// The chat template rejects the conversation: message `index` breaks the template's role
    /// order (Gemma requires user/assistant alternation after an optional system message).
    ChatRoles { index: usize },
}

impl fmt::Display for TokenizerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TokenizerError::*;
        match self {
            MissingKey { key } => write!(f, "metadata key {key} is missing"),
            WrongType { key, expected } => write!(f, "metadata key {key} is not {expected}"),
            ArrayTooShort { key, len, n_vocab } => {
                write!(f, "{key} has {len} entries for {n_vocab} tokens")
            }
            EmptyVocab => write!(f, "tokenizer.ggml.tokens is empty"),
            VocabTooLarge { n_vocab } => write!(f, "{n_vocab} tokens do not fit in 31-bit ids"),
            DuplicateToken { id, first } => {
                write!(f, "token {id} has the same text as token {first}")
            }
            BadMerge { index } => write!(f, "merge {index} has no space between its two parts"),
            UnknownModel { model } => write!(f, "unknown tokenizer model {model:?}"),
            UnknownPreTokenizer { pre } => write!(f, "unknown pre-tokenizer {pre:?}"),
            ChatTemplate(e) => write!(f, "chat template: {e}"),
            ChatRoles { index } => {
                write!(f, "message {index} breaks the chat template's role order")
            }
        }
    }
}

impl std::error::Error for TokenizerError {}
