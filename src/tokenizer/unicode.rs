//! The character classes llama.cpp's pre-tokenizers use (`\p{L}`, `\p{N}`, `\p{M}`, `\p{P}`,
//! `\p{S}`, `\s` and `\p{Han}`), and the lower-casing and accent stripping of its WordPiece
//! normalizer.
//!
//! Categories and whitespace come from the table generated from llama.cpp's own Unicode data
//! (`unicode_table.rs`), so new code points are classed as that build classes them. Every code
//! point has exactly one category there. Whitespace is Unicode's White_Space property: it
//! includes U+0085 and excludes U+001C..U+001F, unlike Rust's `char::is_whitespace` and Python's
//! `str.isspace` respectively.

use super::unicode_table::{LOWERCASE, NFD, RANGES, WHITESPACE};

/// The classes of one code point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Class {
    pub letter: bool,
    pub number: bool,
    /// A combining mark (`\p{M}`: Mn, Mc, Me).
    pub mark: bool,
    pub punctuation: bool,
    pub symbol: bool,
    /// `\p{C}` as llama.cpp has it (control characters; also tab and newlines).
    pub control: bool,
    pub whitespace: bool,
}

/// The classes of `c`.
pub(super) fn class(c: char) -> Class {
    let kind = kind(c);
    Class {
        letter: kind == 1,
        number: kind == 2,
        mark: kind == 3,
        punctuation: kind == 4,
        symbol: kind == 5,
        control: kind == 6,
        whitespace: is_whitespace(c),
    }
}

/// Whether `c` is a number (`\p{N}`: Nd, Nl, No).
pub(super) fn is_number(c: char) -> bool {
    kind(c) == 2
}

/// llama.cpp's whitespace set.
pub(super) fn is_whitespace(c: char) -> bool {
    WHITESPACE.binary_search(&(c as u32)).is_ok()
}

/// llama.cpp's `unicode_cpt_is_han`: the CJK unified ideograph blocks (A to F) and the
/// compatibility ideographs.
pub(super) fn is_han(c: char) -> bool {
    matches!(
        c as u32,
        0x4E00..=0x9FFF
            | 0x3400..=0x4DBF
            | 0x20000..=0x2A6DF
            | 0x2A700..=0x2EBEF
            | 0xF900..=0xFAFF
            | 0x2F800..=0x2FA1F
    )
}

/// llama.cpp's `unicode_tolower`: the lower case of `c` per its table, else `c`.
pub(super) fn to_lower(c: char) -> char {
    match LOWERCASE.binary_search_by_key(&(c as u32), |&(from, _)| from) {
        Ok(i) => char::from_u32(LOWERCASE[i].1).unwrap_or(c),
        Err(_) => c,
    }
}

/// llama.cpp's `unicode_cpts_normalize_nfd` for one code point: the first code point of its
/// canonical decomposition (so `é` gives `e`; the accent is not added), else `c`.
pub(super) fn nfd_first(c: char) -> char {
    let i = NFD.partition_point(|&(first, _, _)| first <= c as u32);
    match i.checked_sub(1).map(|i| NFD[i]) {
        Some((_, last, to)) if c as u32 <= last => char::from_u32(to).unwrap_or(c),
        _ => c,
    }
}

/// The table's kind of `c`: 1 letter, 2 number, 3 mark, 4 punctuation, 5 symbol, 6 control,
/// 0 other.
fn kind(c: char) -> u8 {
    let c = c as u32;
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
        assert!(class('a').letter && class('Z').letter && is_number('7'));
        assert!(is_number('٣') && is_number('½') && is_number('Ⅻ') && is_number('²'));
        assert!(!class('\u{0301}').letter && !is_number('\u{0301}'), "a combining mark is neither");
        assert!(class('\u{0301}').mark && class('\u{0E31}').mark && !class('a').mark);
        assert!(!class('😀').letter && !class('-').letter && !is_number('-'));
        assert!(class('😀').symbol && class('$').symbol && class('+').symbol && class('`').symbol);
        assert!(class('!').punctuation && class('_').punctuation && class('、').punctuation);
        assert!(!class('$').punctuation && !class('!').symbol && !class(' ').punctuation);
        assert!(is_whitespace('\u{85}') && is_whitespace('\u{3000}') && !is_whitespace('\u{1C}'));
        assert!(!is_whitespace('\u{200B}'), "zero width space is not White_Space");
        assert!(class('\t').control && class('\u{7F}').control && !class('a').control);
        assert_eq!(
            (to_lower('A'), to_lower('Ä'), to_lower('Ж'), to_lower('a')),
            ('a', 'ä', 'ж', 'a')
        );
        assert_eq!((nfd_first('é'), nfd_first('Å'), nfd_first('a')), ('e', 'A', 'a'));
        assert!(is_han('中') && is_han('\u{2A700}') && !is_han('の') && !is_han('한'));
    }
}
