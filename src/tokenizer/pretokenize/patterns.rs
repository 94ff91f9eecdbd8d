//! The regexes of llama.cpp's pre-tokenizer lists (src/llama-vocab.cpp, `llm_tokenizer_bpe`)
//! that it evaluates with `std::regex`, one hand-made matcher each (see `regex` for the
//! semantics). Each doc comment gives the pattern as llama.cpp writes it.

use super::super::unicode::Class;
use super::regex::{
    before_word, contraction, in_ranges, letter, letter_or_mark, newline, number, numbers_up_to,
    optional, other, plus_then_star, space, space_run_tail, spaces, spaces_exactly,
    spaces_not_before_word, spaces_to_newline, star_then_plus,
};
use super::text::Piece;

/// `\p{N}`.
pub(super) fn one_number(p: &Piece, i: usize) -> Option<usize> {
    p.is(i, number).then_some(i + 1)
}

/// `\p{N}+`.
pub(super) fn numbers(p: &Piece, i: usize) -> Option<usize> {
    p.run1(i, number)
}

/// `\p{N}{1,3}`.
pub(super) fn numbers_up_to_3(p: &Piece, i: usize) -> Option<usize> {
    numbers_up_to(p, i, 3)
}

/// `[0-9][0-9][0-9]`.
pub(super) fn three_ascii_digits(p: &Piece, i: usize) -> Option<usize> {
    (i..i + 3).all(|j| p.is(j, |c, _| c.is_ascii_digit())).then_some(i + 3)
}

/// `[\r\n]`.
pub(super) fn one_newline(p: &Piece, i: usize) -> Option<usize> {
    p.is(i, newline).then_some(i + 1)
}

/// `[\p{P}\$\+<=>\^~\|]+` (the default list).
pub(super) fn punctuation_run(p: &Piece, i: usize) -> Option<usize> {
    p.run1(i, |c, k| k.punctuation || "$+<=>^~|".contains(c))
}

/// ``[\p{P}\$\+<=>\^~\|`]+`` (Falcon).
pub(super) fn punctuation_run_falcon(p: &Piece, i: usize) -> Option<usize> {
    p.run1(i, |c, k| k.punctuation || "$+<=>^~|`".contains(c))
}

/// DeepSeek LLM's letters: the code points of its `\s?[A-Za-zµÀ-ÖØ-öø-ƺ...𞤀-𞥃]+`,
/// Latin, Greek, Cyrillic, Armenian, Georgian, Cherokee and a few more scripts.
#[rustfmt::skip]
const DEEPSEEK_LETTERS: [(u32, u32); 87] = [
    (0x00041, 0x0005A), (0x00061, 0x0007A), (0x000B5, 0x000B5), (0x000C0, 0x000D6),
    (0x000D8, 0x000F6), (0x000F8, 0x001BA), (0x001BC, 0x001BF), (0x001C4, 0x00293),
    (0x00295, 0x002AF), (0x00370, 0x00373), (0x00376, 0x00376), (0x00377, 0x00377),
    (0x0037B, 0x0037D), (0x0037F, 0x0037F), (0x00386, 0x00386), (0x00388, 0x0038A),
    (0x0038C, 0x0038C), (0x0038E, 0x003A1), (0x003A3, 0x003F5), (0x003F7, 0x00481),
    (0x0048A, 0x0052F), (0x00531, 0x00556), (0x010A0, 0x010C5), (0x013A0, 0x013F5),
    (0x013F8, 0x013FD), (0x01C90, 0x01CBA), (0x01CBD, 0x01CBF), (0x01D00, 0x01D2B),
    (0x01D6B, 0x01D77), (0x01D79, 0x01D9A), (0x01E00, 0x01F15), (0x01F18, 0x01F1D),
    (0x01F20, 0x01F45), (0x01F48, 0x01F4D), (0x01F50, 0x01F57), (0x01F59, 0x01F59),
    (0x01F5B, 0x01F5B), (0x01F5D, 0x01F5D), (0x01F5F, 0x01F7D), (0x01F80, 0x01FB4),
    (0x01FB6, 0x01FBC), (0x01FBE, 0x01FBE), (0x01FC2, 0x01FC4), (0x01FC6, 0x01FCC),
    (0x01FD0, 0x01FD3), (0x01FD6, 0x01FDB), (0x01FE0, 0x01FEC), (0x01FF2, 0x01FF4),
    (0x01FF6, 0x01FFC), (0x02102, 0x02102), (0x02107, 0x02107), (0x0210A, 0x02113),
    (0x02115, 0x02115), (0x02119, 0x0211D), (0x02124, 0x02124), (0x02126, 0x02126),
    (0x02128, 0x02128), (0x0212A, 0x0212D), (0x0212F, 0x02134), (0x02139, 0x02139),
    (0x0213C, 0x0213F), (0x02145, 0x02149), (0x0214E, 0x0214E), (0x02183, 0x02183),
    (0x02184, 0x02184), (0x02C00, 0x02C7B), (0x02C7E, 0x02CE4), (0x02CEB, 0x02CEE),
    (0x02CF2, 0x02CF2), (0x02CF3, 0x02CF3), (0x0A640, 0x0A66D), (0x0A680, 0x0A69B),
    (0x0A722, 0x0A76F), (0x0A771, 0x0A787), (0x0A78B, 0x0A78E), (0x0AB70, 0x0ABBF),
    (0x0FB00, 0x0FB06), (0x0FB13, 0x0FB17), (0x0FF21, 0x0FF3A), (0x0FF41, 0x0FF5A),
    (0x10400, 0x1044F), (0x104B0, 0x104D3), (0x104D8, 0x104FB), (0x10C80, 0x10CB2),
    (0x10CC0, 0x10CF2), (0x118A0, 0x118DF), (0x1E900, 0x1E943),
];

/// DeepSeek LLM: `\s?[A-Za-zµÀ-ÖØ-öø-ƺ...]+`.
pub(super) fn deepseek_letters(p: &Piece, i: usize) -> Option<usize> {
    optional(p, i, space, |j| p.run1(j, |c, _| in_ranges(c, &DEEPSEEK_LETTERS)))
}

/// DeepSeek LLM: `\s?[!-/:-~！-／：-～‘-‟　-。]+`. U+3000 never matches: llama.cpp hands it to
/// the regex as U+000B, being whitespace.
pub(super) fn deepseek_punctuation(p: &Piece, i: usize) -> Option<usize> {
    const SET: [(u32, u32); 6] = [
        (0x21, 0x2F),
        (0x3A, 0x7E),
        (0xFF01, 0xFF0F),
        (0xFF1A, 0xFF5E),
        (0x2018, 0x201F),
        (0x3000, 0x3002),
    ];
    optional(p, i, space, |j| p.run1(j, |c, _| in_ranges(c, &SET)))
}

/// `\s+$`.
pub(super) fn trailing_spaces(p: &Piece, i: usize) -> Option<usize> {
    let end = p.ws_end(i);
    (end > i && end == p.end).then_some(end)
}

/// DeepSeek LLM and Coder: `[一-龥ࠀ-一가-퟿]+`.
pub(super) fn deepseek_cjk(p: &Piece, i: usize) -> Option<usize> {
    const SET: [(u32, u32); 3] = [(0x4E00, 0x9FA5), (0x0800, 0x4E00), (0xAC00, 0xD7FF)];
    p.run1(i, |c, _| in_ranges(c, &SET))
}

/// DeepSeek Coder: `\s?\p{L}+`.
pub(super) fn spaced_letters(p: &Piece, i: usize) -> Option<usize> {
    optional(p, i, space, |j| p.run1(j, letter))
}

/// DeepSeek Coder: `\s?\p{P}+`.
pub(super) fn spaced_punctuation(p: &Piece, i: usize) -> Option<usize> {
    optional(p, i, space, |j| p.run1(j, |_, k| k.punctuation))
}

/// DeepSeek V3 and others: `[一-龥぀-ゟ゠-ヿ]+`.
pub(super) fn han_kana(p: &Piece, i: usize) -> Option<usize> {
    const SET: [(u32, u32); 3] = [(0x4E00, 0x9FA5), (0x3040, 0x309F), (0x30A0, 0x30FF)];
    p.run1(i, |c, _| in_ranges(c, &SET))
}

fn punctuation_or_symbol(_: char, k: Class) -> bool {
    k.punctuation || k.symbol
}

/// ``[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+``: an ASCII sign glued to ASCII letters.
fn sign_then_ascii_letters(p: &Piece, i: usize) -> Option<usize> {
    if !p.is(i, |c, _| c.is_ascii_punctuation()) {
        return None;
    }
    p.run1(i + 1, |c, _| c.is_ascii_alphabetic())
}

/// `[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+`.
fn words_with_marks(p: &Piece, i: usize) -> Option<usize> {
    let lead = |c: char, k: Class| !(newline(c, k) || k.letter || punctuation_or_symbol(c, k));
    optional(p, i, lead, |j| p.run1(j, letter_or_mark))
}

/// DeepSeek V3, AFMoE and others: ``[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|
/// [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+``.
pub(super) fn deepseek3_words(p: &Piece, i: usize) -> Option<usize> {
    sign_then_ascii_letters(p, i)
        .or_else(|| words_with_marks(p, i))
        .or_else(|| space_run_tail(p, i, punctuation_or_symbol, newline))
        .or_else(|| spaces(p, i))
}

/// Spark 2.5: as `deepseek3_words`, with `| ?[\p{P}\p{S}]+|[\r\n]|\s+(?!\S)|\s+` at the end.
pub(super) fn spark_words(p: &Piece, i: usize) -> Option<usize> {
    sign_then_ascii_letters(p, i)
        .or_else(|| words_with_marks(p, i))
        .or_else(|| space_run_tail(p, i, punctuation_or_symbol, |_, _| false))
        .or_else(|| one_newline(p, i))
        .or_else(|| spaces_not_before_word(p, i))
        .or_else(|| p.run1(i, space))
}

/// Youtu: `[가-힣ㄱ-ㆎ]+|[！…“”‘’—：；，、-〿︰-﹏]+|[ㄅ-ㄯ]+|[一-龥぀-ゟ゠-ヿ]+`.
pub(super) fn youtu_cjk(p: &Piece, i: usize) -> Option<usize> {
    const HANGUL: [(u32, u32); 2] = [(0xAC00, 0xD7A3), (0x3131, 0x318E)];
    #[rustfmt::skip]
    const SIGNS: [(u32, u32); 12] = [
        (0xFF01, 0xFF01), (0x2026, 0x2026), (0x201C, 0x201C), (0x201D, 0x201D),
        (0x2018, 0x2018), (0x2019, 0x2019), (0x2014, 0x2014), (0xFF1A, 0xFF1A),
        (0xFF1B, 0xFF1B), (0xFF0C, 0xFF0C), (0x3001, 0x303F), (0xFE30, 0xFE4F),
    ];
    const BOPOMOFO: [(u32, u32); 1] = [(0x3105, 0x312F)];
    p.run1(i, |c, _| in_ranges(c, &HANGUL))
        .or_else(|| p.run1(i, |c, _| in_ranges(c, &SIGNS)))
        .or_else(|| p.run1(i, |c, _| in_ranges(c, &BOPOMOFO)))
        .or_else(|| han_kana(p, i))
}

/// The word alternatives of the o200k-style lists: `[^\r\n\p{L}\p{N}]?A*B+C?|
/// [^\r\n\p{L}\p{N}]?A+B*C?` where `A` are capitals, `B` lower case and `C` a contraction
/// (if `contractions`).
fn cased_words(
    p: &Piece,
    i: usize,
    upper: impl Fn(char, Class) -> bool + Copy,
    lower: impl Fn(char, Class) -> bool + Copy,
    contractions: bool,
) -> Option<usize> {
    let tail = |end: usize| if contractions { contraction(p, end).unwrap_or(end) } else { end };
    optional(p, i, before_word, |j| star_then_plus(p, j, upper, lower))
        .or_else(|| optional(p, i, before_word, |j| plus_then_star(p, j, upper, lower)))
        .map(tail)
}

/// `(?=[\p{L}])([^a-z])`: a letter other than `a`-`z` (any non-ASCII letter).
fn not_ascii_lower(c: char, k: Class) -> bool {
    k.letter && !c.is_ascii_lowercase()
}

/// `(?=[\p{L}])([^A-Z])`.
fn not_ascii_upper(c: char, k: Class) -> bool {
    k.letter && !c.is_ascii_uppercase()
}

/// Tekken: `[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?
/// ((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|
/// \s+(?!\S)|\s+`.
pub(super) fn tekken_words(p: &Piece, i: usize) -> Option<usize> {
    cased_words(p, i, not_ascii_lower, not_ascii_upper, false)
        .or_else(|| one_number(p, i))
        .or_else(|| space_run_tail(p, i, other, |c, _| matches!(c, '\r' | '\n' | '/')))
        .or_else(|| spaces(p, i))
}

/// GPT-4o: Tekken's words with a contraction after them (`(?:'[sS]|...)?`) and `\p{N}{1,3}`.
pub(super) fn gpt4o_words(p: &Piece, i: usize) -> Option<usize> {
    cased_words(p, i, not_ascii_lower, not_ascii_upper, true)
        .or_else(|| numbers_up_to_3(p, i))
        .or_else(|| space_run_tail(p, i, other, |c, _| matches!(c, '\r' | '\n' | '/')))
        .or_else(|| spaces(p, i))
}

/// Granite multilingual embedding: GPT-4o's with `[\p{L}\p{M}]` in the lookaheads, so marks
/// count as both capitals and lower case.
pub(super) fn granite_words(p: &Piece, i: usize) -> Option<usize> {
    let upper = |c: char, k: Class| letter_or_mark(c, k) && !c.is_ascii_lowercase();
    let lower = |c: char, k: Class| letter_or_mark(c, k) && !c.is_ascii_uppercase();
    cased_words(p, i, upper, lower, true)
        .or_else(|| numbers_up_to_3(p, i))
        .or_else(|| space_run_tail(p, i, other, |c, _| matches!(c, '\r' | '\n' | '/')))
        .or_else(|| spaces(p, i))
}

/// Tiny Aya: `[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+
/// (?:'[sS]|...)?|...|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`. llama.cpp
/// reads every `\p{L.}` as `\p{L}`, so both word classes are letters and marks and case does not
/// cut words.
pub(super) fn tiny_aya_words(p: &Piece, i: usize) -> Option<usize> {
    cased_words(p, i, letter_or_mark, letter_or_mark, true)
        .or_else(|| numbers_up_to_3(p, i))
        .or_else(|| space_run_tail(p, i, other, |c, _| matches!(c, '\r' | '\n' | '/')))
        .or_else(|| spaces(p, i))
}

/// Youtu: Tiny Aya's words with `\p{N}`.
pub(super) fn youtu_words(p: &Piece, i: usize) -> Option<usize> {
    cased_words(p, i, letter_or_mark, letter_or_mark, true)
        .or_else(|| one_number(p, i))
        .or_else(|| space_run_tail(p, i, other, |c, _| matches!(c, '\r' | '\n' | '/')))
        .or_else(|| spaces(p, i))
}

/// `[^\r\n\p{L}\p{N}]?\p{L}+`.
fn letters_with_lead(p: &Piece, i: usize) -> Option<usize> {
    optional(p, i, before_word, |j| p.run1(j, letter))
}

/// Bailing MoE: `'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|
/// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`.
pub(super) fn bailing_words(p: &Piece, i: usize) -> Option<usize> {
    contraction(p, i)
        .or_else(|| letters_with_lead(p, i))
        .or_else(|| one_number(p, i))
        .or_else(|| space_run_tail(p, i, other, newline))
        .or_else(|| spaces(p, i))
}

/// Seed-Coder: `(?:'[sS]|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|
/// \s*[\r\n]+|\s+(?!\S)|\s+`.
pub(super) fn seed_coder_words(p: &Piece, i: usize) -> Option<usize> {
    contraction(p, i)
        .or_else(|| letters_with_lead(p, i))
        .or_else(|| one_number(p, i))
        .or_else(|| space_run_tail(p, i, other, |_, _| false))
        .or_else(|| spaces(p, i))
}

/// Ufakzeka: Qwen2's regex without the contractions, `[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|
/// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
pub(super) fn ufakzeka_words(p: &Piece, i: usize) -> Option<usize> {
    letters_with_lead(p, i)
        .or_else(|| one_number(p, i))
        .or_else(|| space_run_tail(p, i, other, newline))
        .or_else(|| spaces(p, i))
}

/// MiniCPM 5: Qwen2's regex with `\p{N}+`.
pub(super) fn minicpm5_words(p: &Piece, i: usize) -> Option<usize> {
    contraction(p, i)
        .or_else(|| letters_with_lead(p, i))
        .or_else(|| numbers(p, i))
        .or_else(|| space_run_tail(p, i, other, newline))
        .or_else(|| spaces(p, i))
}

/// Jais 2: llama3's regex with its whitespace cascade, `...|\s*[\r\n]+|\s{512}(?!\S)|
/// \s{256}(?!\S)|...|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}`.
pub(super) fn jais2_words(p: &Piece, i: usize) -> Option<usize> {
    contraction(p, i)
        .or_else(|| letters_with_lead(p, i))
        .or_else(|| numbers_up_to_3(p, i))
        .or_else(|| space_run_tail(p, i, other, newline))
        .or_else(|| spaces_to_newline(p, i))
        .or_else(|| {
            [512, 256, 128, 64, 32, 16, 8, 4, 2, 1].iter().find_map(|&n| spaces_exactly(p, i, n))
        })
        .or_else(|| p.is(i, space).then_some(i + 1))
}

/// EXAONE MoE: `(?:'[sS]|...)|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}|
/// ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+`: words joined by single spaces are one.
pub(super) fn exaone_moe_words(p: &Piece, i: usize) -> Option<usize> {
    let is_mark = |_: char, k: Class| k.mark;
    let spaced_words = |mut j: usize| {
        if !p.is(j, letter) {
            return None;
        }
        loop {
            j = p.run(j + 1, is_mark);
            if p.is(j, letter) {
                continue;
            }
            if p.is_char(j, ' ') && p.is(j + 1, letter) {
                j += 1;
                continue;
            }
            return Some(j);
        }
    };
    let slash_or_newline = |end: usize| end + usize::from(p.is(end, |c, _| "\r\n/".contains(c)));
    contraction(p, i)
        .or_else(|| optional(p, i, before_word, spaced_words))
        .or_else(|| one_number(p, i))
        .or_else(|| optional(p, i, |c, _| c == ' ', |j| p.run1(j, other)).map(slash_or_newline))
        .or_else(|| spaces(p, i))
}

/// AFMoE: `[一-鿿㐀-䶿豈-﫿぀-ゟ゠-ヿ･-ﾟ⼀-⿟เ-๿຀-໿ក-៿က-႟ꩠ-ꩿꧠ-꧿가-힯ᄀ-ᇿ]+`. Its third range
/// starts at U+8C48 (a unified ideograph that looks like U+F900), so it spans U+8C48-U+FAFF.
pub(super) fn afmoe_scripts(p: &Piece, i: usize) -> Option<usize> {
    #[rustfmt::skip]
    const SET: [(u32, u32); 15] = [
        (0x04E00, 0x09FFF), (0x03400, 0x04DBF), (0x08C48, 0x0FAFF), (0x03040, 0x0309F),
        (0x030A0, 0x030FF), (0x0FF65, 0x0FF9F), (0x02F00, 0x02FDF), (0x00E40, 0x00E7F),
        (0x00E80, 0x00EFF), (0x01780, 0x017FF), (0x01000, 0x0109F), (0x0AA60, 0x0AA7F),
        (0x0A9E0, 0x0A9FF), (0x0AC00, 0x0D7AF), (0x01100, 0x011FF),
    ];
    p.run1(i, |c, _| in_ranges(c, &SET))
}

/// SuperBPE: `(?=(\d{3})+(?!\d))`, an empty match before every run of ASCII digits whose
/// length is a multiple of three.
pub(super) fn before_digit_triples(p: &Piece, i: usize) -> Option<usize> {
    let run = p.run(i, |c, _| c.is_ascii_digit()) - i;
    (run > 0 && run.is_multiple_of(3)).then_some(i)
}

/// Poro, BLOOM, GPT-3 Finnish and Viking: ` ?[^(\s|.,!?…。，、।۔،)]+`.
pub(super) fn until_sentence_sign(p: &Piece, i: usize) -> Option<usize> {
    let word = |c: char, k: Class| !(k.whitespace || "(|.,!?…。，、।۔،)".contains(c));
    optional(p, i, |c, _| c == ' ', |j| p.run1(j, word))
}

/// The whitespace pre-tokenizer: `\S+`.
pub(super) fn non_spaces(p: &Piece, i: usize) -> Option<usize> {
    p.run1(i, |_, k| !k.whitespace)
}

/// Chameleon: `<sentinel:[0-9]+>`.
pub(super) fn chameleon_sentinel(p: &Piece, i: usize) -> Option<usize> {
    let digits = literal(p, i, "<sentinel:")?;
    let end = p.run1(digits, |c, _| c.is_ascii_digit())?;
    literal(p, end, ">")
}

/// Chameleon: `(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z`.
pub(super) fn chameleon_image(p: &Piece, i: usize) -> Option<usize> {
    let letters = literal(p, i, "IMGIMG")?;
    let end = p.run1(letters, |c, _| ('A'..='I').contains(&c))?.min(letters + 4);
    literal(p, end, "Z")
}

/// Chameleon: `([\t\n]|    |  )`.
pub(super) fn chameleon_spaces(p: &Piece, i: usize) -> Option<usize> {
    p.is(i, |c, _| c == '\t' || c == '\n')
        .then_some(i + 1)
        .or_else(|| literal(p, i, "    "))
        .or_else(|| literal(p, i, "  "))
}

/// Chameleon: ``[\p{P}!-/:-@\[-`{-~]``, one sign.
pub(super) fn chameleon_sign(p: &Piece, i: usize) -> Option<usize> {
    p.is(i, |c, k| k.punctuation || c.is_ascii_punctuation()).then_some(i + 1)
}

/// The end of `s` at `i`, if the piece has it there.
fn literal(p: &Piece, i: usize, s: &str) -> Option<usize> {
    let mut j = i;
    for c in s.chars() {
        if !p.is_char(j, c) {
            return None;
        }
        j += 1;
    }
    Some(j)
}
