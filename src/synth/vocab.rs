//! A SentencePiece-style (`tokenizer.ggml.model = "llama"`) vocabulary that llama.cpp accepts:
//! `<unk>`, `<s>`, `</s>`, the 256 byte-fallback tokens `<0x00>`..`<0xFF>`, then distinct
//! pieces `▁`, `▁a`, `a`, `▁b`, `b`, ..., `▁aa`, `aa`, ... (shorter pieces score higher, so
//! merges prefer them first, as in a trained SentencePiece model).

use crate::gguf::{Array, Metadata, StringArray, Value};

/// Token type ids (llama.cpp's `llama_token_type`).
pub mod token_type {
    pub const NORMAL: i32 = 1;
    pub const UNKNOWN: i32 = 2;
    pub const CONTROL: i32 = 3;
    pub const BYTE: i32 = 6;
}

/// Id of `<unk>`.
pub const UNK_ID: u32 = 0;
/// Id of `<s>`.
pub const BOS_ID: u32 = 1;
/// Id of `</s>`.
pub const EOS_ID: u32 = 2;
/// Special and byte tokens before the first piece: 3 + 256.
pub const FIRST_PIECE: u32 = 259;
/// The smallest vocabulary: the special and byte tokens plus `▁`.
pub const MIN_VOCAB: u32 = FIRST_PIECE + 1;
/// SentencePiece's word-boundary mark, U+2581.
pub const SPACE: char = '\u{2581}';

const ALPHABET: &[u8; 26] = b"abcdefghijklmnopqrstuvwxyz";

/// The `k`th piece: `▁`, then for each string s over a..z in length-then-lexical order,
/// `▁s` and `s`. All distinct.
fn piece(k: u64) -> String {
    if k == 0 {
        return SPACE.to_string();
    }
    let (word, with_space) = ((k - 1) / 2, (k - 1).is_multiple_of(2));
    // Find the length of word number `word` among strings of length 1, 2, ...
    let (mut len, mut index, mut count) = (1u32, word, 26u64);
    while index >= count {
        index -= count;
        len += 1;
        count = count.saturating_mul(26);
    }
    let mut letters = vec![b'a'; len as usize];
    for slot in letters.iter_mut().rev() {
        *slot = ALPHABET[(index % 26) as usize];
        index /= 26;
    }
    let word = String::from_utf8(letters).unwrap_or_default();
    if with_space {
        format!("{SPACE}{word}")
    } else {
        word
    }
}

/// Adds the tokenizer keys for an `n_vocab`-token vocabulary (at least `MIN_VOCAB`).
pub fn add_spm_vocab(md: &mut Metadata, n_vocab: u32) -> Result<(), Value> {
    let n = n_vocab as usize;
    let mut tokens = StringArray::with_capacity(n);
    let mut scores = Vec::with_capacity(n);
    let mut types = Vec::with_capacity(n);
    for (text, ty) in [
        ("<unk>", token_type::UNKNOWN),
        ("<s>", token_type::CONTROL),
        ("</s>", token_type::CONTROL),
    ] {
        tokens.push(text);
        scores.push(0.0);
        types.push(ty);
    }
    for byte in 0..=255u8 {
        tokens.push(&format!("<0x{byte:02X}>"));
        scores.push(0.0);
        types.push(token_type::BYTE);
    }
    for k in 0..u64::from(n_vocab.saturating_sub(FIRST_PIECE)) {
        tokens.push(&piece(k));
        scores.push(-(k as f32));
        types.push(token_type::NORMAL);
    }
    let s = |v: &str| Value::String(v.to_owned());
    md.insert("tokenizer.ggml.model".into(), s("llama"))?;
    md.insert(
        "tokenizer.ggml.tokens".into(),
        Value::Array(Array::String(tokens)),
    )?;
    md.insert(
        "tokenizer.ggml.scores".into(),
        Value::Array(Array::F32(scores)),
    )?;
    md.insert(
        "tokenizer.ggml.token_type".into(),
        Value::Array(Array::I32(types)),
    )?;
    md.insert("tokenizer.ggml.bos_token_id".into(), Value::U32(BOS_ID))?;
    md.insert("tokenizer.ggml.eos_token_id".into(), Value::U32(EOS_ID))?;
    md.insert("tokenizer.ggml.unknown_token_id".into(), Value::U32(UNK_ID))?;
    md.insert("tokenizer.ggml.add_bos_token".into(), Value::Bool(true))?;
    md.insert("tokenizer.ggml.add_eos_token".into(), Value::Bool(false))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_distinct_and_ordered() {
        let first: Vec<String> = (0..6).map(piece).collect();
        assert_eq!(first, ["▁", "▁a", "a", "▁b", "b", "▁c"]);
        assert_eq!(piece(1 + 2 * 26), "▁aa");
        assert_eq!(piece(2 + 2 * (26 + 26 * 26)), "aaa");
        let all: std::collections::HashSet<String> = (0..40_000).map(piece).collect();
        assert_eq!(all.len(), 40_000);
    }
}
