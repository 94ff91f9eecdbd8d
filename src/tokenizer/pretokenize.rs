//! Pre-tokenizers of byte-level BPE vocabularies: how text is cut into words before merging.
//!
//! llama.cpp picks a list of regexes per `tokenizer.ggml.pre` (src/llama-vocab.cpp) and applies
//! them one after the other, each cutting the pieces the previous one left (unicode.cpp,
//! `unicode_regex_split`). The two lists implemented here, written out by hand:
//!
//! - `Gpt2`: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`, which
//!   llama.cpp runs through its own matcher (`unicode_regex_split_custom_gpt2`), not std::regex.
//!   Its quirks are kept: the contractions are lower-case only, a whitespace run followed by
//!   anything gives up its last character to the next word, and a lone space at the end of a
//!   piece stays alone.
//! - `DigitsThenGpt2` (`smollm`, `starcoder`, ...): first `\p{N}`, so every number character
//!   becomes a piece of its own and the text between numbers another, then `Gpt2` within each
//!   piece. A space before a digit therefore never joins it (`" 42"` is `" "`, `"4"`, `"2"`).
//! - `Llama3` (`llama-bpe`, `dbrx`, ...): `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|
//!   \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`, llama.cpp's
//!   `unicode_regex_split_custom_llama3`. Alternatives are tried in order (the first that
//!   matches wins, as in a backtracking regex), so `"(abc"` is one word, `" 1234"` is `" "`,
//!   `"123"`, `"4"`, `"a \n\n b"` keeps `" \n\n"` together and a whitespace run before a
//!   word gives up its last character, as in GPT-2.
//! - `Qwen2` (`qwen2`, `deepseek-r1-qwen`, ...): the same with `\p{N}` for `\p{N}{1,3}`, so
//!   every number character is a word.
//! - `Qwen35` (`qwen35`): `Qwen2` with marks as letters: `[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+`
//!   and ` ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*` (`unicode_regex_split_custom_qwen35`).

use super::unicode::{self, Class};

/// Which regex list a byte-level BPE vocabulary uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PreTokenizer {
    Gpt2,
    DigitsThenGpt2,
    Llama3,
    Qwen2,
    Qwen35,
}

/// The words of `text`, in order; they concatenate to `text`.
pub(super) fn split(text: &str, pre: PreTokenizer) -> Vec<&str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut cuts = Vec::new(); // char index where each word ends
    match pre {
        PreTokenizer::Gpt2 => gpt2(&chars, 0, chars.len(), &mut cuts),
        PreTokenizer::DigitsThenGpt2 => {
            let mut start = 0;
            for (i, &(_, c)) in chars.iter().enumerate() {
                if unicode::is_number(c) {
                    gpt2(&chars, start, i, &mut cuts);
                    cuts.push(i + 1);
                    start = i + 1;
                }
            }
            gpt2(&chars, start, chars.len(), &mut cuts);
        }
        PreTokenizer::Llama3 => llama3(&chars, Rules { digits: 3, marks: false }, &mut cuts),
        PreTokenizer::Qwen2 => llama3(&chars, Rules { digits: 1, marks: false }, &mut cuts),
        PreTokenizer::Qwen35 => llama3(&chars, Rules { digits: 1, marks: true }, &mut cuts),
    }
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
    let mut words = Vec::with_capacity(cuts.len());
    let mut prev = 0;
    for cut in cuts {
        words.push(&text[byte_at(prev)..byte_at(cut)]);
        prev = cut;
    }
    words
}

/// The GPT-2 regex on chars `start..end`: pushes the end of every word.
fn gpt2(chars: &[(usize, char)], start: usize, end: usize, cuts: &mut Vec<usize>) {
    let at = |p: usize| (p < end).then(|| chars[p].1);
    let class = |p: usize| at(p).map(unicode::class);
    let mut pos = start;
    while pos < end {
        let c = chars[pos].1;
        if let Some(len) = contraction(c, at(pos + 1), at(pos + 2)) {
            pos += len;
            cuts.push(pos);
            continue;
        }
        // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run.
        let lead = usize::from(c == ' ');
        if let Some(run) = Run::starting(class(pos + lead)) {
            pos += lead;
            while run.continues(class(pos)) {
                pos += 1;
            }
            cuts.push(pos);
            continue;
        }
        let spaces = (pos..end).take_while(|&p| unicode::is_whitespace(chars[p].1)).count();
        pos += if spaces > 1 && pos + spaces < end {
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

/// The length of `'s|'t|'re|'ve|'m|'ll|'d` at `c`, given the two chars after it.
fn contraction(c: char, next: Option<char>, next2: Option<char>) -> Option<usize> {
    if c != '\'' {
        return None;
    }
    match (next?, next2) {
        ('s' | 't' | 'm' | 'd', _) => Some(2),
        ('r', Some('e')) | ('v', Some('e')) | ('l', Some('l')) => Some(3),
        _ => None,
    }
}

/// How the llama3 regex family differs.
#[derive(Clone, Copy)]
struct Rules {
    /// The longest number word (`\p{N}{1,3}` or `\p{N}`).
    digits: usize,
    /// Whether marks (`\p{M}`) count as letters.
    marks: bool,
}

impl Rules {
    fn is_letter(self, k: Class) -> bool {
        k.letter || (self.marks && k.mark)
    }
}

/// The llama3 regex on `chars`, as `rules` vary it: pushes the end of every word. Each
/// alternative, in the regex's order, gives the end of its match at `pos` if any.
fn llama3(chars: &[(usize, char)], rules: Rules, cuts: &mut Vec<usize>) {
    let at = |p: usize| chars.get(p).map(|&(_, c)| c);
    let mut pos = 0;
    while pos < chars.len() {
        let end = contraction_any_case(at(pos), at(pos + 1), at(pos + 2))
            .map(|len| pos + len)
            .or_else(|| letters_with_lead(&at, pos, rules))
            .or_else(|| numbers(&at, pos, rules.digits))
            .or_else(|| others_then_newlines(&at, pos, rules))
            .unwrap_or_else(|| whitespace(&at, pos));
        pos = end;
        cuts.push(pos);
    }
}

fn is_newline(c: char) -> bool {
    c == '\r' || c == '\n'
}

/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)`: its length at `c`. Only ASCII letters fold onto these, in
/// llama.cpp's lower-case table too (U+0130 and U+212A fold to `i` and `k`).
fn contraction_any_case(c: Option<char>, next: Option<char>, next2: Option<char>) -> Option<usize> {
    let lower = |c: Option<char>| c.map(|c| c.to_ascii_lowercase());
    contraction(c?, lower(next), lower(next2))
}

/// `[^\r\n\p{L}\p{N}]?\p{L}+`: the end of the letters, if `pos` or the char after it starts
/// them.
fn letters_with_lead(
    at: &impl Fn(usize) -> Option<char>,
    pos: usize,
    rules: Rules,
) -> Option<usize> {
    let c = at(pos)?;
    let is_letter = |p: usize| at(p).is_some_and(|c| rules.is_letter(unicode::class(c)));
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
fn numbers(at: &impl Fn(usize) -> Option<char>, pos: usize, digits: usize) -> Option<usize> {
    let run = (pos..pos + digits).take_while(|&p| at(p).is_some_and(unicode::is_number)).count();
    (run > 0).then_some(pos + run)
}

/// ` ?[^\s\p{L}\p{N}]+[\r\n]*`.
fn others_then_newlines(
    at: &impl Fn(usize) -> Option<char>,
    pos: usize,
    rules: Rules,
) -> Option<usize> {
    let is_other = |p: usize| {
        let other = |k: Class| !(k.whitespace || rules.is_letter(k) || k.number);
        at(p).map(unicode::class).is_some_and(other)
    };
    let mut end = pos + usize::from(at(pos) == Some(' '));
    if !is_other(end) {
        return None;
    }
    while is_other(end) {
        end += 1;
    }
    while at(end).is_some_and(is_newline) {
        end += 1;
    }
    Some(end)
}

/// `\s*[\r\n]+|\s+(?!\S)|\s+` at a whitespace char, else the one char nothing matched.
fn whitespace(at: &impl Fn(usize) -> Option<char>, pos: usize) -> usize {
    let mut end = pos;
    let mut after_newline = None;
    while let Some(c) = at(end).filter(|&c| unicode::is_whitespace(c)) {
        end += 1;
        if is_newline(c) {
            after_newline = Some(end);
        }
    }
    match after_newline {
        Some(e) => e,
        None if end - pos > 1 && at(end).is_some() => end - 1,
        None => end.max(pos + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str, pre: PreTokenizer) -> Vec<&str> {
        let w = split(text, pre);
        assert_eq!(w.concat(), text);
        w
    }

    #[test]
    fn gpt2_words() {
        let g = PreTokenizer::Gpt2;
        assert_eq!(words("Hello world", g), ["Hello", " world"]);
        assert_eq!(words("it's I'LL", g), ["it", "'s", " I", "'", "LL"]);
        assert_eq!(words("a   b", g), ["a", "  ", " b"]);
        assert_eq!(words("a  \n", g), ["a", "  \n"]);
        assert_eq!(words("x !!?", g), ["x", " !!?"]);
        assert_eq!(words(" 123abc", g), [" 123", "abc"]);
        assert_eq!(words("end ", g), ["end", " "]);
        assert_eq!(words("", g), Vec::<&str>::new());
    }

    #[test]
    fn digits_split_first() {
        let d = PreTokenizer::DigitsThenGpt2;
        assert_eq!(words(" 42 and 7", d), [" ", "4", "2", " and", " ", "7"]);
        assert_eq!(words("3.14", d), ["3", ".", "1", "4"]);
        assert_eq!(words("x²", d), ["x", "²"]);
    }

    #[test]
    fn llama3_words() {
        let l = PreTokenizer::Llama3;
        assert_eq!(words("Hello world", l), ["Hello", " world"]);
        assert_eq!(words("it's I'LL", l), ["it", "'s", " I", "'LL"]);
        assert_eq!(words("(abc 12345", l), ["(abc", " ", "123", "45"]);
        assert_eq!(words("a \n\n b", l), ["a", " \n\n", " b"]);
        assert_eq!(words("a   b", l), ["a", "  ", " b"]);
        assert_eq!(words("x !!?\n\ny", l), ["x", " !!?\n\n", "y"]);
        assert_eq!(words("end ", l), ["end", " "]);
        assert_eq!(words("\tb", l), ["\tb"]);
        assert_eq!(words("", l), Vec::<&str>::new());
    }

    #[test]
    fn every_short_string_is_cut_into_nonempty_words() {
        let alphabet =
            ["a", "S", "1", "'", " ", "\n", "\r", "\t", "!", "é", "²", "\u{85}", "😀"];
        use PreTokenizer::*;
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    let text = format!("{a}{b}{c}");
                    for pre in [Gpt2, DigitsThenGpt2, Llama3, Qwen2, Qwen35] {
                        assert!(words(&text, pre).iter().all(|w| !w.is_empty()), "{text:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn qwen2_single_digits() {
        assert_eq!(words("x 2024", PreTokenizer::Qwen2), ["x", " ", "2", "0", "2", "4"]);
    }

    #[test]
    fn qwen35_marks_are_letters() {
        let text = "e\u{301}t\u{301} \u{301}!";
        assert_eq!(words(text, PreTokenizer::Qwen2), ["e", "\u{301}t", "\u{301}", " \u{301}!"]);
        assert_eq!(words(text, PreTokenizer::Qwen35), ["e\u{301}t\u{301}", " \u{301}", "!"]);
    }
}
