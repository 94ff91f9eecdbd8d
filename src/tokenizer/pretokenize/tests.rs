//! The pre-tokenizers on their own: words against Python's `regex` module running llama.cpp's
//! pattern strings on llama.cpp's collapsed text (tools/golden/pretokenizer_splits.py wrote
//! tests/golden/pretokenizer_splits.txt), and a few splits worked out by hand from the patterns.
//! tests/tokenizer_vocab_suite.rs holds the token ids llama.cpp itself gives.

use super::*;

fn words(text: &str, pre: PreTokenizer) -> Vec<&str> {
    let w = split(text, pre);
    assert_eq!(w.concat(), text);
    assert!(w.iter().all(|w| !w.is_empty()), "{text:?}: {w:?}");
    w
}

/// The list of each `LLAMA_VOCAB_PRE_TYPE_*` name of the reference file.
fn list_named(name: &str) -> PreTokenizer {
    use PreTokenizer::*;
    match name {
        "DEFAULT" => Default,
        "FALCON" => Falcon,
        "DEEPSEEK_LLM" => DeepseekLlm,
        "DEEPSEEK_CODER" => DeepseekCoder,
        "DEEPSEEK3_LLM" => Deepseek3,
        "SPARK2_5" => Spark25,
        "YOUTU" => Youtu,
        "JAIS2" => Jais2,
        "PORO" => Poro,
        "VIKING" => Viking,
        "TEKKEN" => Tekken,
        "CHAMELEON" => Chameleon,
        "GPT4O" => Gpt4o,
        "GRANITE_EMB_MULTI" => GraniteEmbedMulti,
        "TINY_AYA" => TinyAya,
        "SUPERBPE" => SuperBpe,
        "BAILINGMOE" => BailingMoe,
        "SEED_CODER" => SeedCoder,
        "UFAKZEKA" => Ufakzeka,
        "AFMOE" => Afmoe,
        "EXAONE_MOE" => ExaoneMoe,
        "MINICPM5" => MiniCpm5,
        "WHITESPACE" => Whitespace,
        other => panic!("no list for {other}"),
    }
}

fn unhex(hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect();
    String::from_utf8(bytes).expect("utf-8")
}

#[test]
fn regex_lists_match_python_regex_on_collapsed_text() {
    let golden = include_str!("../../../tests/golden/pretokenizer_splits.txt");
    let mut failures = Vec::new();
    let mut cases = 0;
    for line in golden.lines() {
        let mut fields = line.split('\t');
        let (Some(name), Some(text), Some(want)) = (fields.next(), fields.next(), fields.next())
        else {
            panic!("bad line {line:?}");
        };
        let text = unhex(text);
        let want: Vec<String> = want.split(' ').filter(|w| !w.is_empty()).map(unhex).collect();
        let got = words(&text, list_named(name));
        cases += 1;
        if got != want {
            failures.push(format!("{name} {text:?}\n  got  {got:?}\n  want {want:?}"));
        }
    }
    assert!(cases > 500, "only {cases} cases");
    assert!(failures.is_empty(), "{} of {cases}:\n{}", failures.len(), failures.join("\n"));
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
fn qwen2_single_digits() {
    assert_eq!(words("x 2024", PreTokenizer::Qwen2), ["x", " ", "2", "0", "2", "4"]);
}

#[test]
fn qwen35_marks_are_letters() {
    let text = "e\u{301}t\u{301} \u{301}!";
    assert_eq!(words(text, PreTokenizer::Qwen2), ["e", "\u{301}t", "\u{301}", " \u{301}!"]);
    assert_eq!(words(text, PreTokenizer::Qwen35), ["e\u{301}t\u{301}", " \u{301}", "!"]);
}

#[test]
fn llamacpp_reads_every_letter_subcategory_as_a_letter() {
    // In tokenizer.json `[\p{Lu}..]*[\p{Ll}..]+` cuts "HelloWorld" before "W"; llama.cpp's
    // collapsed classes make both all letters, so it stays one word there.
    assert_eq!(words("HelloWorld", PreTokenizer::TinyAya), ["HelloWorld"]);
    // Tekken and GPT-4o spell case out with `[^a-z]`/`[^A-Z]` and do cut it.
    assert_eq!(words("HelloWorld", PreTokenizer::Gpt4o), ["Hello", "World"]);
    assert_eq!(words("ABCdef éA", PreTokenizer::Tekken), ["ABCdef", " é", "A"]);
}

#[test]
fn kimi_k2_han_runs_and_words() {
    let k = PreTokenizer::KimiK2;
    assert_eq!(words("中文abc DEF's 12345", k), ["中文", "abc", " DEF's", " ", "123", "45"]);
    assert_eq!(words("a中", k), ["a", "中"]);
}

#[test]
fn digit_groups_keep_text_before_a_number_with_it() {
    // llama.cpp's AFMoE digit code ends its first group at the first digits, taking the text
    // before them along; the next lists cut that text off again.
    let text = Text::new("ab1234567 x");
    let mut cuts = Vec::new();
    custom::digit_groups(&text.piece(0, text.len()), &mut cuts);
    assert_eq!(cuts, [3, 6, 9, 11]);
    assert_eq!(words("ab1234567 x", PreTokenizer::Afmoe), ["ab", "1", "234", "567", " x"]);
}

#[test]
fn superbpe_cuts_numbers_into_triples_from_the_right() {
    assert_eq!(words("x1234567", PreTokenizer::SuperBpe), ["x", "1", "234", "567"]);
}

#[test]
fn long_whitespace_runs_stay_linear() {
    // Each regex position looks at the run's end once (`Text::ws_end`), so a megabyte of spaces
    // before a word is one pass, not a quadratic scan; a hang here would time the test out.
    let text = format!("{}x", " ".repeat(1 << 20));
    for pre in [PreTokenizer::DeepseekLlm, PreTokenizer::Jais2, PreTokenizer::Gpt4o] {
        assert_eq!(words(&text, pre).concat().len(), text.len());
    }
}

/// Every list.
#[rustfmt::skip]
const ALL: [PreTokenizer; 31] = {
    use PreTokenizer::*;
    [
        Default, Gpt2, DigitsThenGpt2, Llama3, Qwen2, Qwen35, DeepseekLlm, DeepseekCoder,
        Deepseek3, Spark25, Youtu, Falcon, Jais2, Poro, Viking, Tekken, Chameleon, Gpt4o,
        GraniteEmbedMulti, TinyAya, KimiK2, SuperBpe, BailingMoe, SeedCoder, Ufakzeka, Afmoe,
        Laguna, ExaoneMoe, MiniCpm5, Lines, Whitespace,
    ]
};

#[test]
fn every_short_string_is_cut_into_nonempty_words() {
    let alphabet = ["a", "S", "1", "'", " ", "\n", "\r", "\t", "!", "é", "²", "\u{85}", "😀", "中"];
    for a in alphabet {
        for b in alphabet {
            for c in alphabet {
                let text = format!("{a}{b}{c}");
                for pre in ALL {
                    words(&text, pre);
                }
            }
        }
    }
}

#[test]
fn random_text_is_cut_into_nonempty_words_by_every_list() {
    // A fixed linear congruential sequence picks chars from a mix of the classes the patterns
    // test (ASCII, whitespace of every kind, marks, Han, kana, Hangul, digits of other
    // scripts, emoji) and from anywhere in Unicode.
    let pool: Vec<char> =
        "aZ09 \t\n\r'!/$`_-.,…。，、।۔،()|<>:IMGZsentil\u{85}\u{a0}\u{3000}\u{2028}\
        \u{301}\u{e31}é中文のカ한ㄱㄅ٣²½😀\u{200d}Ꭰꭰǅ"
            .chars()
            .collect();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as u32
    };
    for _ in 0..400 {
        let len = next() % 48;
        let text: String = (0..len)
            .map(|_| match next() % 8 {
                0 => char::from_u32(next() % 0x30000).unwrap_or('?'),
                _ => pool[next() as usize % pool.len()],
            })
            .collect();
        for pre in ALL {
            words(&text, pre);
        }
    }
}

#[test]
fn ideographic_space_is_whitespace_to_every_regex() {
    // DeepSeek LLM's `[一-龥ࠀ-一가-퟿]+` spans U+0800..U+4E00, U+3000 and U+3002 included, but
    // llama.cpp hands U+3000 to the regex as U+000B, so only `。` matches and the space stays a
    // word of its own. Python's `regex` on the raw text keeps `"\u{3000}。"` together; on the
    // collapsed text (tools/golden/pretokenizer_splits.py) it gives these words.
    assert_eq!(words("a\u{3000}。", PreTokenizer::DeepseekLlm), ["a", "\u{3000}", "。"]);
    assert_eq!(words("x\u{3000}！", PreTokenizer::DeepseekLlm), ["x", "\u{3000}！"]);
}
