//! WordPiece (`tokenizer.ggml.model` = "bert"), as llama.cpp's `llm_tokenizer_wpm_session` does
//! it.
//!
//! The text is normalized as BERT's tokenizer does (optionally lower-cased, and accents
//! stripped: each code point replaced by the first of its decomposition and marks dropped;
//! control characters dropped) and cut into words at whitespace, with every punctuation
//! character, ASCII symbol and CJK ideograph a word of its own. Each word, prefixed with `▁`,
//! is then spelled greedily with the longest vocabulary token at each position; a word that
//! cannot be spelled to its end is the unknown token.

use super::table::TokenTable;
use super::unicode;

/// BERT's normalizer options (`tokenizer.ggml.normalizer.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Normalizer {
    pub lowercase: bool,
    pub strip_accents: bool,
}

/// The words of `text` after normalization (llama.cpp's `preprocess`).
fn words(text: &str, norm: Normalizer) -> Vec<String> {
    let mut words = vec![String::new()];
    for c in text.chars() {
        let c = if norm.strip_accents { unicode::nfd_first(c) } else { c };
        let k = unicode::class(c);
        if k.whitespace {
            if !words.last().is_some_and(String::is_empty) {
                words.push(String::new());
            }
            continue;
        }
        if c == '\0' || c == '\u{FFFD}' || k.control || (norm.strip_accents && k.mark) {
            continue;
        }
        let alone = k.punctuation || ((c as u32) < 0x7F && k.symbol) || is_cjk_ideograph(c);
        let c = if norm.lowercase { unicode::to_lower(c) } else { c };
        if alone {
            if !words.last().is_some_and(String::is_empty) {
                words.push(String::new());
            }
            words.push(c.to_string());
            words.push(String::new());
        } else if let Some(word) = words.last_mut() {
            word.push(c);
        }
    }
    words.retain(|w| !w.is_empty());
    words
}

/// llama.cpp's `is_chinese_char`, with the ranges as HF's tokenizer has them (Extension E
/// starting at U+2B920).
fn is_cjk_ideograph(c: char) -> bool {
    matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2B73F
            | 0x2B740..=0x2B81F
            | 0x2B920..=0x2CEAF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}

/// Appends the tokens of `text` to `out`. `max_token_len` is the longest token in bytes;
/// `unk` stands for a word that cannot be spelled.
pub(super) fn encode(
    text: &str,
    norm: Normalizer,
    table: &TokenTable,
    max_token_len: usize,
    unk: Option<u32>,
    out: &mut Vec<u32>,
) {
    for word in words(text, norm) {
        let word = format!("▁{word}");
        let bytes = word.as_bytes();
        let start = out.len();
        let mut i = 0;
        while i < bytes.len() {
            let longest = i.saturating_add(max_token_len).min(bytes.len());
            let found = (i + 1..=longest).rev().find_map(|j| Some((j, table.id(&bytes[i..j])?)));
            match found {
                Some((j, id)) => {
                    out.push(id);
                    i = j;
                }
                None => {
                    out.truncate(start);
                    break;
                }
            }
        }
        if out.len() == start {
            out.extend(unk);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_normalized_and_cut_like_bert() {
        let norm = Normalizer { lowercase: true, strip_accents: true };
        assert_eq!(words("Héllo, WORLD!", norm), ["hello", ",", "world", "!"]);
        assert_eq!(words("a$b 中文x\t\u{7}y", norm), ["a", "$", "b", "中", "文", "x", "y"]);
        assert_eq!(words("e\u{301}", norm), ["e"]);
        let keep = Normalizer { lowercase: false, strip_accents: false };
        assert_eq!(words("Héllo €5", keep), ["Héllo", "€5"], "€ is a non-ASCII symbol: kept");
    }
}
