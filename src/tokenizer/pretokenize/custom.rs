//! The pre-tokenizer regexes llama.cpp does not give to `std::regex` but matches with its own
//! hand-written code (unicode.cpp, `unicode_regex_split_custom_*`). Their quirks are theirs and
//! kept: each function pushes the end of every word of one piece.

use super::super::unicode::{self, Class};
use super::text::Piece;

/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`
/// (`unicode_regex_split_custom_gpt2`): the contractions are lower-case only, a whitespace run
/// followed by anything gives up its last character to the next word, and a lone space at the
/// end of a piece stays alone.
pub(super) fn gpt2(p: &Piece, cuts: &mut Vec<usize>) {
    let mut pos = p.start;
    while pos < p.end {
        let c = p.at(pos);
        if let Some(len) = contraction(c, p.at(pos + 1), p.at(pos + 2), false) {
            pos += len;
            cuts.push(pos);
            continue;
        }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run.
        let lead = usize::from(c == Some(' '));
        if let Some(run) = Run::starting(p.class(pos + lead)) {
            pos += lead;
            while run.continues(p.class(pos)) {
                pos += 1;
            }
            cuts.push(pos);
            continue;
        }
        let spaces = p.ws_end(pos) - pos;
        pos += if spaces > 1 && pos + spaces < p.end {
            spaces - 1 // `\s+(?!\S)`: the last whitespace goes to the next word
        } else {
            spaces.max(1) // `\s+`, or one char that nothing matched
        };
        cuts.push(pos);
    }
}

/// The kind of run a GPT-2 word is made of.
#[derive(Clone, Copy)]
enum Run {
    Letters,
    Numbers,
    /// Neither whitespace, letters nor numbers.
    Others,
}

impl Run {
    /// The run a char of class `k` starts (`None` past the end of the piece).
    fn starting(k: Option<Class>) -> Option<Run> {
        let k = k?;
        if k.letter {
            Some(Run::Letters)
        } else if k.number {
            Some(Run::Numbers)
        } else if !k.whitespace {
            Some(Run::Others)
        } else {
            None
        }
    }

    /// Whether a char of class `k` extends the run.
    fn continues(self, k: Option<Class>) -> bool {
        let Some(k) = k else { return false };
        match self {
            Run::Letters => k.letter,
            Run::Numbers => k.number,
            Run::Others => !(k.whitespace || k.letter || k.number),
        }
    }
}

/// The length of `'s|'t|'re|'ve|'m|'ll|'d` at `c` given the two chars after it, ASCII
/// case-insensitive if `any_case` (llama.cpp lower-cases with its Unicode table, where only
/// `S`, `T`, ... fold onto these letters).
fn contraction(
    c: Option<char>,
    next: Option<char>,
    next2: Option<char>,
    any_case: bool,
) -> Option<usize> {
    let fold = |c: Option<char>| c.map(|c| if any_case { c.to_ascii_lowercase() } else { c });
    if c != Some('\'') {
        return None;
    }
    match (fold(next)?, fold(next2)) {
        ('s' | 't' | 'm' | 'd', _) => Some(2),
        ('r', Some('e')) | ('v', Some('e')) | ('l', Some('l')) => Some(3),
        _ => None,
    }
}

/// How llama.cpp's llama3-style hand matchers differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Llama3Rules {
    /// The longest number word (`\p{N}{1,3}` or `\p{N}`).
    pub digits: usize,
    /// Whether marks (`\p{M}`) count as letters (Qwen3.5).
    pub marks: bool,
}

impl Llama3Rules {
    fn is_letter(self, k: Class) -> bool {
        k.letter || (self.marks && k.mark)
    }
}

/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
/// \s*[\r\n]+|\s+(?!\S)|\s+` and its Qwen variants (`unicode_regex_split_custom_llama3`,
/// `_qwen2`, `_qwen35`). Alternatives are tried in order, so `"(abc"` is one word, `" 1234"` is
/// `" "`, `"123"`, `"4"`, and a whitespace run before a word gives up its last character.
pub(super) fn llama3(p: &Piece, rules: Llama3Rules, cuts: &mut Vec<usize>) {
    let mut pos = p.start;
    while pos < p.end {
        pos = contraction(p.at(pos), p.at(pos + 1), p.at(pos + 2), true)
            .map(|len| pos + len)
            .or_else(|| letters_with_lead(p, pos, rules))
            .or_else(|| numbers(p, pos, rules.digits))
            .or_else(|| others_then_newlines(p, pos, rules))
            .unwrap_or_else(|| whitespace(p, pos));
        cuts.push(pos);
    }
}

fn is_newline(c: char) -> bool {
    c == '\r' || c == '\n'
}

/// `[^\r\n\p{L}\p{N}]?\p{L}+`: the end of the letters, if `pos` or the char after it starts
/// them.
fn letters_with_lead(p: &Piece, pos: usize, rules: Llama3Rules) -> Option<usize> {
    let c = p.at(pos)?;
    let is_letter = |i: usize| p.class(i).is_some_and(|k| rules.is_letter(k));
    if is_newline(c) || unicode::is_number(c) || !(is_letter(pos) || is_letter(pos + 1)) {
        return None;
    }
    let mut end = pos + 1;
    while is_letter(end) {
        end += 1;
    }
    Some(end)
}

/// `\p{N}{1,digits}`.
fn numbers(p: &Piece, pos: usize, digits: usize) -> Option<usize> {
    let run = p.run(pos, |_, k| k.number) - pos;
    (run > 0).then_some(pos + run.min(digits))
}

/// ` ?[^\s\p{L}\p{N}]+[\r\n]*`.
fn others_then_newlines(p: &Piece, pos: usize, rules: Llama3Rules) -> Option<usize> {
    let is_other = |_: char, k: Class| !(k.whitespace || rules.is_letter(k) || k.number);
    let start = pos + usize::from(p.is_char(pos, ' '));
    let end = p.run1(start, is_other)?;
    Some(p.run(end, |c, _| is_newline(c)))
}

/// `\s*[\r\n]+|\s+(?!\S)|\s+` at a whitespace char, else the one char nothing matched.
fn whitespace(p: &Piece, pos: usize) -> usize {
    let end = p.ws_end(pos);
    if let Some(last) = (pos..end).rev().find(|&i| p.is(i, |c, _| is_newline(c))) {
        return last + 1;
    }
    match end - pos {
        0 => pos + 1,
        n if n > 1 && end < p.end => end - 1,
        _ => end,
    }
}

/// Kimi K2's list in one hand matcher (`unicode_regex_split_custom_kimi_k2`):
/// `[\p{Han}]+`, then letters other than Han with an optional leading char and a trailing
/// contraction, `\p{N}{1,3}`, ` ?[^\s\p{L}\p{N}]+[\r\n]*`, and the llama3 whitespace rules.
pub(super) fn kimi_k2(p: &Piece, cuts: &mut Vec<usize>) {
    let han = |c: char, _: Class| unicode::is_han(c);
    let word_letter = |c: char, k: Class| k.letter && !unicode::is_han(c);
    let rules = Llama3Rules { digits: 3, marks: false };
    let mut pos = p.start;
    while pos < p.end {
        pos = p
            .run1(pos, han)
            .or_else(|| {
                let lead = p.is(pos, |c, k| !(is_newline(c) || k.letter || k.number));
                let end = p.run1(pos + usize::from(lead), word_letter)?;
                let tail = contraction(p.at(end), p.at(end + 1), p.at(end + 2), true);
                Some(end + tail.unwrap_or(0))
            })
            .or_else(|| numbers(p, pos, 3))
            .or_else(|| others_then_newlines(p, pos, rules))
            .unwrap_or_else(|| whitespace(p, pos));
        cuts.push(pos);
    }
}

/// AFMoE's (and Tiny Aya's) digit grouping (`unicode_regex_split_custom_afmoe`): every run of
/// numbers is cut into groups of three from the right. The text before a run is not cut from
/// it: it joins the run's first group (llama.cpp's code does this; later regexes of both lists
/// cut it off again).
pub(super) fn digit_groups(p: &Piece, cuts: &mut Vec<usize>) {
    let mut pos = p.start;
    let mut last = p.start;
    while pos < p.end {
        let end = p.run(pos, |_, k| k.number);
        if end == pos {
            pos += 1;
            continue;
        }
        let mut group_end = pos + (end - pos) % 3;
        if group_end == pos {
            group_end += 3;
        }
        while group_end <= end {
            cuts.push(group_end);
            last = group_end;
            group_end += 3;
        }
        pos = end;
    }
    if last < p.end {
        cuts.push(p.end);
    }
}

/// `[^\n]+|[\n]+` (`unicode_regex_split_custom_newlines`): runs of newlines and runs of
/// anything else.
pub(super) fn lines(p: &Piece, cuts: &mut Vec<usize>) {
    let mut pos = p.start;
    while pos < p.end {
        let newline = p.is_char(pos, '\n');
        pos = p.run(pos, |c, _| (c == '\n') == newline);
        cuts.push(pos);
    }
}
