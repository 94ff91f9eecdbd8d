//! The text as llama.cpp's pre-tokenizer regexes see it, and the piece one regex works on.
//!
//! llama.cpp (unicode.cpp, `unicode_regex_split`) hands every non-ASCII whitespace character to
//! its regex engine as U+000B (vertical tab), because `std::regex`'s `\s` knows only ASCII
//! spaces; a pattern with a Unicode category (`\p{L}`, ...) also sees every other non-ASCII
//! character as its category alone (the "collapsed" text), where `\p{L}` is ASCII letters plus
//! the non-ASCII letter stand-in. Matching on code points plus the same category table gives
//! the same answers, with one consequence kept on purpose: `\p{Lu}`, `\p{Ll}`, `\p{Lt}`,
//! `\p{Lm}` and `\p{Lo}` all mean `\p{L}` there, so `[\p{Lu}]` matches `a`.

use super::super::unicode::{self, Class};

/// The characters of a text, their classes, and where each whitespace run ends.
pub(super) struct Text {
    /// Each char as the regexes see it (non-ASCII whitespace as U+000B).
    chars: Vec<char>,
    classes: Vec<Class>,
    /// For each index, the end of the whitespace run starting there (the index itself if the
    /// char is not whitespace); lets `\s+$`-like tests answer in O(1) inside long runs.
    ws_end: Vec<usize>,
}

impl Text {
    pub(super) fn new(text: &str) -> Text {
        let mut chars = Vec::with_capacity(text.len());
        let mut classes = Vec::with_capacity(text.len());
        for c in text.chars() {
            let class = unicode::class(c);
            chars.push(if class.whitespace && !c.is_ascii() { '\u{0B}' } else { c });
            classes.push(class);
        }
        let mut ws_end = vec![0; chars.len()];
        let mut end = chars.len();
        for i in (0..chars.len()).rev() {
            if !classes[i].whitespace {
                end = i;
            }
            ws_end[i] = end;
        }
        Text { chars, classes, ws_end }
    }

    pub(super) fn len(&self) -> usize {
        self.chars.len()
    }

    /// The piece `start..end`.
    pub(super) fn piece(&self, start: usize, end: usize) -> Piece<'_> {
        Piece { text: self, start, end }
    }
}

/// Chars `start..end` of a `Text`: what one regex of the list runs on. Lookahead stops at its
/// end as it does at the end of the string in llama.cpp, which matches each piece separately.
#[derive(Clone, Copy)]
pub(super) struct Piece<'a> {
    text: &'a Text,
    pub start: usize,
    pub end: usize,
}

impl Piece<'_> {
    /// The char at `i`, if inside the piece.
    pub(super) fn at(&self, i: usize) -> Option<char> {
        (self.start <= i && i < self.end).then(|| self.text.chars[i])
    }

    /// The classes of the char at `i`, if inside the piece.
    pub(super) fn class(&self, i: usize) -> Option<Class> {
        (self.start <= i && i < self.end).then(|| self.text.classes[i])
    }

    /// Whether `i` is inside the piece and its char satisfies `test`.
    pub(super) fn is(&self, i: usize, test: impl Fn(char, Class) -> bool) -> bool {
        self.start <= i && i < self.end && test(self.text.chars[i], self.text.classes[i])
    }

    pub(super) fn is_char(&self, i: usize, c: char) -> bool {
        self.at(i) == Some(c)
    }

    /// The end of the run of chars satisfying `test` from `i` (`i` if there is none).
    pub(super) fn run(&self, i: usize, test: impl Fn(char, Class) -> bool) -> usize {
        let mut end = i;
        while self.is(end, &test) {
            end += 1;
        }
        end
    }

    /// The end of the run from `i` if it has at least one char.
    pub(super) fn run1(&self, i: usize, test: impl Fn(char, Class) -> bool) -> Option<usize> {
        let end = self.run(i, test);
        (end > i).then_some(end)
    }

    /// The end of the whitespace run from `i` within the piece.
    pub(super) fn ws_end(&self, i: usize) -> usize {
        if i < self.start || i >= self.end { i } else { self.text.ws_end[i].min(self.end) }
    }
}
