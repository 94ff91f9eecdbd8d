//! How llama.cpp applies a regex it hands to `std::regex` (unicode.cpp,
//! `unicode_regex_split_stl`), and the pieces the hand-made matchers of `patterns` are built
//! from.
//!
//! A pattern here is a function giving the end of its match at a position, as an ECMAScript
//! backtracking regex would: alternatives tried in order, the first that matches wins, greedy
//! quantifiers giving back characters only when what follows them fails. `split` then does what
//! `std::regex_iterator` does: the leftmost match from the current position, the text skipped
//! before it becoming a word of its own. An empty match cuts the text where it stands (the
//! iterator then retries there for a non-empty match, which the one pattern that matches empty
//! strings, a lookahead, never has, and moves on by one character).

use super::super::unicode::Class;
use super::text::Piece;

/// A regex: the end of its match at a position, if it matches there.
pub(super) type Pattern = fn(&Piece, usize) -> Option<usize>;

/// Pushes the end of every word `pattern` cuts `p` into: its matches and the gaps between.
pub(super) fn split(p: &Piece, pattern: Pattern, cuts: &mut Vec<usize>) {
    let mut last = p.start;
    let mut pos = p.start;
    while pos < p.end {
        match pattern(p, pos) {
            Some(end) => {
                if pos > last {
                    cuts.push(pos);
                }
                if end > pos {
                    cuts.push(end);
                }
                last = end;
                pos = end.max(pos + 1);
            }
            None => pos += 1,
        }
    }
    if last < p.end {
        cuts.push(p.end);
    }
}

// Character classes, as `std::regex` sees the (collapsed) text.

pub(super) fn letter(_: char, k: Class) -> bool {
    k.letter
}

pub(super) fn number(_: char, k: Class) -> bool {
    k.number
}

pub(super) fn space(_: char, k: Class) -> bool {
    k.whitespace
}

pub(super) fn letter_or_mark(_: char, k: Class) -> bool {
    k.letter || k.mark
}

pub(super) fn newline(c: char, _: Class) -> bool {
    c == '\r' || c == '\n'
}

/// `[^\s\p{L}\p{N}]`.
pub(super) fn other(_: char, k: Class) -> bool {
    !(k.whitespace || k.letter || k.number)
}

/// `[^\r\n\p{L}\p{N}]`: the optional char before a letter word.
pub(super) fn before_word(c: char, k: Class) -> bool {
    !(newline(c, k) || k.letter || k.number)
}

/// Whether `c` is in one of the inclusive `ranges` of code points.
pub(super) fn in_ranges(c: char, ranges: &[(u32, u32)]) -> bool {
    ranges.iter().any(|&(first, last)| (first..=last).contains(&(c as u32)))
}

// Building blocks. Each returns the end of its match at `i`.

/// `X?body`: with the char at `i` as `X` if it is one and `body` then matches, else without.
pub(super) fn optional(
    p: &Piece,
    i: usize,
    x: impl Fn(char, Class) -> bool,
    body: impl Fn(usize) -> Option<usize>,
) -> Option<usize> {
    if p.is(i, x)
        && let Some(end) = body(i + 1)
    {
        return Some(end);
    }
    body(i)
}

/// `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`.
pub(super) fn contraction(p: &Piece, i: usize) -> Option<usize> {
    if !p.is_char(i, '\'') {
        return None;
    }
    let lower = |j: usize| p.at(j).map(|c| c.to_ascii_lowercase());
    match (lower(i + 1)?, lower(i + 2)) {
        ('s' | 't' | 'm' | 'd', _) => Some(i + 2),
        ('r', Some('e')) | ('v', Some('e')) | ('l', Some('l')) => Some(i + 3),
        _ => None,
    }
}

/// `\p{N}{1,max}`.
pub(super) fn numbers_up_to(p: &Piece, i: usize, max: usize) -> Option<usize> {
    p.run1(i, number).map(|end| end.min(i + max))
}

/// ` ?X+T*`: an optional space, a run of `x`, then any run of `tail`.
pub(super) fn space_run_tail(
    p: &Piece,
    i: usize,
    x: impl Fn(char, Class) -> bool + Copy,
    tail: impl Fn(char, Class) -> bool + Copy,
) -> Option<usize> {
    optional(p, i, |c, _| c == ' ', |j| p.run1(j, x).map(|end| p.run(end, tail)))
}

/// `\s*[\r\n]+`: up to the last newline of the whitespace run (so is `\s*[\r\n]`).
pub(super) fn spaces_to_newline(p: &Piece, i: usize) -> Option<usize> {
    (i..p.ws_end(i)).rev().find(|&j| p.is(j, newline)).map(|j| j + 1)
}

/// `\s{n}(?!\S)`: `n` whitespace chars not followed by anything else.
pub(super) fn spaces_exactly(p: &Piece, i: usize, n: usize) -> Option<usize> {
    let end = p.ws_end(i);
    (end - i > n || (end - i == n && end == p.end)).then_some(i + n)
}

/// `\s+(?!\S)`: a whitespace run, less its last char if something follows.
pub(super) fn spaces_not_before_word(p: &Piece, i: usize) -> Option<usize> {
    let end = p.ws_end(i);
    match end - i {
        0 => None,
        _ if end == p.end => Some(end),
        1 => None,
        _ => Some(end - 1),
    }
}

/// `\s*[\r\n]+|\s+(?!\S)|\s+`, the usual last three alternatives.
pub(super) fn spaces(p: &Piece, i: usize) -> Option<usize> {
    spaces_to_newline(p, i).or_else(|| spaces_not_before_word(p, i)).or_else(|| p.run1(i, space))
}

/// `A*B+` with backtracking: the longest run of `a` after which `b` matches, then the run of
/// `b` (o200k-style words: capitals then lower case).
pub(super) fn star_then_plus(
    p: &Piece,
    i: usize,
    a: impl Fn(char, Class) -> bool + Copy,
    b: impl Fn(char, Class) -> bool + Copy,
) -> Option<usize> {
    let run = p.run(i, a);
    let start = (i..=run).rev().find(|&j| p.is(j, b))?;
    Some(p.run(start, b))
}

/// `A+B*`.
pub(super) fn plus_then_star(
    p: &Piece,
    i: usize,
    a: impl Fn(char, Class) -> bool + Copy,
    b: impl Fn(char, Class) -> bool + Copy,
) -> Option<usize> {
    p.run1(i, a).map(|end| p.run(end, b))
}
