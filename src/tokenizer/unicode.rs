//! The character classes llama.cpp's pre-tokenizers use: `\p{L}`, `\p{N}`, `\p{M}` and `\s`.
//!
//! Letters, numbers and marks come from the table generated from llama.cpp's own Unicode data
//! (`unicode_table.rs`), so new code points are classed as that build classes them. Whitespace
//! is llama.cpp's fixed list (Unicode's White_Space property): it includes U+0085 and excludes
//! U+001C..U+001F, unlike Rust's `char::is_whitespace` and Python's `str.isspace` respectively.

use super::unicode_table::RANGES;

/// The classes of one code point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Class {
    pub letter: bool,
    pub number: bool,
    /// A combining mark (`\p{M}`: Mn, Mc, Me).
    pub mark: bool,
    pub whitespace: bool,
}

/// The classes of `c`.
pub(super) fn class(c: char) -> Class {
    let kind = kind(c);
    Class { letter: kind == 1, number: kind == 2, mark: kind == 3, whitespace: is_whitespace(c) }
}

/// Whether `c` is a number (`\p{N}`: Nd, Nl, No).
pub(super) fn is_number(c: char) -> bool {
    kind(c) == 2
}

/// llama.cpp's whitespace set.
pub(super) fn is_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{09}'..='\u{0D}'
            | ' '
            | '\u{85}'
            | '\u{A0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200A}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202F}'
            | '\u{205F}'
            | '\u{3000}'
    )
}

/// 1 for a letter, 2 for a number, 3 for a mark, 0 for anything else.
fn kind(c: char) -> u8 {
    let c = c as u32;
    if c < 0x80 {
        return match c as u8 {
            b'a'..=b'z' | b'A'..=b'Z' => 1,
            b'0'..=b'9' => 2,
            _ => 0,
        };
    }
    // The last range starting at or before `c`.
    let i = RANGES.partition_point(|&(first, _, _)| first <= c);
    match i.checked_sub(1).map(|i| RANGES[i]) {
        Some((_, last, kind)) if c <= last => kind,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_of_samples() {
        assert!(class('é').letter && class('ж').letter && class('中').letter && class('ก').letter);
        assert!(is_number('٣') && is_number('½') && is_number('Ⅻ') && is_number('²'));
        assert!(!class('\u{0301}').letter && !is_number('\u{0301}'), "a combining mark is neither");
        assert!(class('\u{0301}').mark && class('\u{0E31}').mark && !class('a').mark);
        assert!(!class('😀').letter && !class('-').letter && !is_number('-'));
        assert!(is_whitespace('\u{85}') && is_whitespace('\u{3000}') && !is_whitespace('\u{1C}'));
        assert!(!is_whitespace('\u{200B}'), "zero width space is not White_Space");
    }
}
