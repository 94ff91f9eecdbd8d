//! Typed reads of the `tokenizer.*` metadata keys: absent is `None`, present with the wrong
//! type is `TokenizerError::WrongType`.

use super::error::TokenizerError;
use crate::gguf::{Array, Metadata, StringArray, Value};

pub(super) const MODEL: &str = "tokenizer.ggml.model";
pub(super) const PRE: &str = "tokenizer.ggml.pre";
pub(super) const TOKENS: &str = "tokenizer.ggml.tokens";
pub(super) const SCORES: &str = "tokenizer.ggml.scores";
pub(super) const TOKEN_TYPE: &str = "tokenizer.ggml.token_type";
pub(super) const MERGES: &str = "tokenizer.ggml.merges";
pub(super) const ADD_BOS: &str = "tokenizer.ggml.add_bos_token";
pub(super) const ADD_EOS: &str = "tokenizer.ggml.add_eos_token";
pub(super) const ADD_SPACE_PREFIX: &str = "tokenizer.ggml.add_space_prefix";
pub(super) const CHAT_TEMPLATE: &str = "tokenizer.chat_template";
pub(super) const ARCHITECTURE: &str = "general.architecture";
pub(super) const NAME: &str = "general.name";

/// A string value.
pub(super) fn string<'a>(
    m: &'a Metadata,
    key: &'static str,
) -> Result<Option<&'a str>, TokenizerError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(TokenizerError::WrongType { key, expected: "a string" }),
    }
}

/// A bool value.
pub(super) fn boolean(m: &Metadata, key: &'static str) -> Result<Option<bool>, TokenizerError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(TokenizerError::WrongType { key, expected: "a bool" }),
    }
}

/// A token id: any integer type holding a value in `0..=u32::MAX`.
pub(super) fn token_id(m: &Metadata, key: &'static str) -> Result<Option<u32>, TokenizerError> {
    match m.get(key) {
        None => Ok(None),
        Some(v) => match v.as_u64().and_then(|v| u32::try_from(v).ok()) {
            Some(id) => Ok(Some(id)),
            None => Err(TokenizerError::WrongType { key, expected: "a u32 token id" }),
        },
    }
}

/// An array of strings.
pub(super) fn strings<'a>(
    m: &'a Metadata,
    key: &'static str,
) -> Result<Option<&'a StringArray>, TokenizerError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Array(Array::String(s))) => Ok(Some(s)),
        Some(_) => Err(TokenizerError::WrongType { key, expected: "an array of strings" }),
    }
}

/// Token scores (`f32`, or `i32` converted as llama.cpp does), at least `n` of them; all zero
/// when the key is absent.
pub(super) fn scores(m: &Metadata, n: usize) -> Result<Vec<f32>, TokenizerError> {
    let values: Vec<f32> = match m.get(SCORES) {
        None => return Ok(vec![0.0; n]),
        Some(Value::Array(Array::F32(v))) => v.iter().take(n).copied().collect(),
        Some(Value::Array(Array::I32(v))) => v.iter().take(n).map(|&x| x as f32).collect(),
        Some(_) => {
            return Err(TokenizerError::WrongType { key: SCORES, expected: "an f32 or i32 array" });
        }
    };
    at_least(values, SCORES, n)
}

/// Token types (`i32`), at least `n` of them; `None` when the key is absent.
pub(super) fn token_types(m: &Metadata, n: usize) -> Result<Option<Vec<i32>>, TokenizerError> {
    match m.get(TOKEN_TYPE) {
        None => Ok(None),
        Some(Value::Array(Array::I32(v))) => {
            at_least(v.iter().take(n).copied().collect(), TOKEN_TYPE, n).map(Some)
        }
        Some(_) => Err(TokenizerError::WrongType { key: TOKEN_TYPE, expected: "an i32 array" }),
    }
}

fn at_least<T>(v: Vec<T>, key: &'static str, n: usize) -> Result<Vec<T>, TokenizerError> {
    if v.len() < n {
        return Err(TokenizerError::ArrayTooShort { key, len: v.len(), n_vocab: n });
    }
    Ok(v)
}
