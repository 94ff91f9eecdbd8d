//! Pre-tokenizers of BPE vocabularies: how text is cut into words before merging.
//!
//! llama.cpp picks a list of regexes per `tokenizer.ggml.pre` (src/llama-vocab.cpp,
//! `llm_tokenizer_bpe`) and applies them one after the other, each cutting the pieces the
//! previous one left (unicode.cpp, `unicode_regex_split`). A few regexes it matches with its own
//! code (`custom`); the rest go to `std::regex`, whose semantics `regex` and `patterns`
//! reproduce by hand, on the text as `text` describes it. `PreTokenizer::steps` is the one
//! table of lists.

mod custom;
mod patterns;
mod regex;
mod text;

#[cfg(test)]
mod tests;

use custom::Llama3Rules;
use patterns as p;
use regex::Pattern;
use text::{Piece, Text};

/// Which regex list a BPE vocabulary uses: one variant per distinct list in llama.cpp (several
/// `LLAMA_VOCAB_PRE_TYPE_*` share a list).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PreTokenizer {
    /// No name, or "default": `[\p{P}\$\+<=>\^~\|]+`, GPT-2, `\p{N}+`, `[0-9][0-9][0-9]`.
    Default,
    Gpt2,
    /// `\p{N}`, then GPT-2 (starcoder, smollm, command-r, ...).
    DigitsThenGpt2,
    Llama3,
    Qwen2,
    Qwen35,
    DeepseekLlm,
    DeepseekCoder,
    /// deepseek-v3, hunyuan-dense, joyai-llm, hy_v4.
    Deepseek3,
    Spark25,
    Youtu,
    Falcon,
    Jais2,
    /// poro-chat, bloom, gpt3-finnish.
    Poro,
    Viking,
    Tekken,
    Chameleon,
    /// gpt-4o, llama4, minimax-m2, ...
    Gpt4o,
    GraniteEmbedMulti,
    TinyAya,
    KimiK2,
    SuperBpe,
    BailingMoe,
    SeedCoder,
    Ufakzeka,
    Afmoe,
    Laguna,
    ExaoneMoe,
    MiniCpm5,
    /// Gemma 4 and Sarvam: lines only, on text whose spaces are `▁`.
    Lines,
    /// `\S+`.
    Whitespace,
}

/// One regex of a list.
#[derive(Clone, Copy)]
enum Step {
    /// llama.cpp's hand-written GPT-2 regex.
    Gpt2,
    /// llama.cpp's hand-written llama3 / Qwen2 / Qwen3.5 regexes.
    Llama3(Llama3Rules),
    KimiK2,
    DigitGroups,
    Lines,
    /// A regex `std::regex` evaluates.
    Regex(Pattern),
}

const LLAMA3: Step = Step::Llama3(Llama3Rules { digits: 3, marks: false });
const QWEN2: Step = Step::Llama3(Llama3Rules { digits: 1, marks: false });
const QWEN35: Step = Step::Llama3(Llama3Rules { digits: 1, marks: true });

impl PreTokenizer {
    /// llama.cpp's regex list for this pre-tokenizer, in order.
    fn steps(self) -> &'static [Step] {
        use PreTokenizer as T;
        use Step::{DigitGroups, Gpt2, KimiK2, Lines, Regex as R};
        match self {
            T::Default => &[R(p::punctuation_run), Gpt2, R(p::numbers), R(p::three_ascii_digits)],
            T::Gpt2 => &[Gpt2],
            T::DigitsThenGpt2 => &[R(p::one_number), Gpt2],
            T::Llama3 => &[LLAMA3],
            T::Qwen2 => &[QWEN2],
            T::Qwen35 => &[QWEN35],
            T::DeepseekLlm => &[
                R(p::one_newline),
                R(p::deepseek_letters),
                R(p::deepseek_punctuation),
                R(p::trailing_spaces),
                R(p::deepseek_cjk),
                R(p::numbers),
            ],
            T::DeepseekCoder => &[
                R(p::one_newline),
                R(p::spaced_letters),
                R(p::spaced_punctuation),
                R(p::deepseek_cjk),
                R(p::one_number),
            ],
            T::Deepseek3 => &[R(p::numbers_up_to_3), R(p::han_kana), R(p::deepseek3_words)],
            T::Spark25 => {
                &[R(p::numbers_up_to_3), R(p::han_kana), R(p::spark_words), R(p::one_number)]
            }
            T::Youtu => &[R(p::youtu_cjk), R(p::youtu_words)],
            T::Falcon => &[R(p::punctuation_run_falcon), Gpt2, R(p::three_ascii_digits)],
            T::Jais2 => &[R(p::jais2_words)],
            T::Poro => &[R(p::until_sentence_sign)],
            T::Viking => &[R(p::until_sentence_sign), R(p::one_number)],
            T::Tekken => &[R(p::tekken_words)],
            T::Chameleon => &[
                R(p::chameleon_sentinel),
                R(p::chameleon_image),
                R(p::chameleon_spaces),
                R(p::one_number),
                R(p::chameleon_sign),
                Gpt2,
            ],
            T::Gpt4o => &[R(p::gpt4o_words)],
            T::GraniteEmbedMulti => &[R(p::granite_words)],
            // Tiny Aya's `\d{1,3}(?=(?:\d{3})*\b)` runs on AFMoE's digit code in llama.cpp.
            T::TinyAya => &[DigitGroups, R(p::tiny_aya_words)],
            T::KimiK2 => &[KimiK2],
            T::SuperBpe => &[R(p::numbers), R(p::before_digit_triples)],
            T::BailingMoe => &[R(p::bailing_words)],
            T::SeedCoder => &[R(p::seed_coder_words)],
            T::Ufakzeka => &[R(p::ufakzeka_words)],
            T::Afmoe => &[DigitGroups, R(p::afmoe_scripts), R(p::deepseek3_words)],
            T::Laguna => &[Lines, QWEN2],
            T::ExaoneMoe => &[R(p::exaone_moe_words)],
            T::MiniCpm5 => &[R(p::numbers_up_to_3), R(p::minicpm5_words)],
            T::Lines => &[Lines],
            T::Whitespace => &[R(p::non_spaces)],
        }
    }
}

impl Step {
    /// Pushes the end of every word this regex cuts `piece` into.
    fn cut(self, piece: &Piece, cuts: &mut Vec<usize>) {
        match self {
            Step::Gpt2 => custom::gpt2(piece, cuts),
            Step::Llama3(rules) => custom::llama3(piece, rules, cuts),
            Step::KimiK2 => custom::kimi_k2(piece, cuts),
            Step::DigitGroups => custom::digit_groups(piece, cuts),
            Step::Lines => custom::lines(piece, cuts),
            Step::Regex(pattern) => regex::split(piece, pattern, cuts),
        }
    }
}

/// The words of `text`, in order; they concatenate to `text` and none is empty.
pub(super) fn split(text: &str, pre: PreTokenizer) -> Vec<&str> {
    let chars = Text::new(text);
    let mut ends = if chars.len() > 0 { vec![chars.len()] } else { Vec::new() };
    for step in pre.steps() {
        let mut next = Vec::with_capacity(ends.len() * 2);
        let mut start = 0;
        for &end in &ends {
            step.cut(&chars.piece(start, end), &mut next);
            start = end;
        }
        ends = next;
    }
    let mut offsets: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    offsets.push(text.len());
    let mut words = Vec::with_capacity(ends.len());
    let mut start = 0;
    for end in ends {
        words.push(&text[offsets[start]..offsets[end]]);
        start = end;
    }
    words
}
