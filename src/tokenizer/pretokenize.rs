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

use super::unicode::{self, Class};

/// Which regex list a byte-level BPE vocabulary uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PreTokenizer {
    Gpt2,
    DigitsThenGpt2,
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
}
