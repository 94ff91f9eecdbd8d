//! Unit tests: hostile or incomplete metadata gives typed errors (never a panic), and small
//! hand-built vocabularies exercise the fallbacks real models rarely reach.

use super::*;
use crate::gguf::{Array, StringArray, Value};

// ---- building metadata ----------------------------------------------------------------------

fn strings(items: &[&str]) -> Value {
    let mut a = StringArray::with_capacity(items.len());
    for s in items {
        a.push(s);
    }
    Value::Array(Array::String(a))
}

fn meta(pairs: Vec<(&str, Value)>) -> Metadata {
    let mut m = Metadata::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v).expect("unique key");
    }
    m
}

fn text(s: &str) -> Value {
    Value::String(s.to_string())
}

/// A SentencePiece-style vocabulary: `<unk>`, `<s>`, `</s>`, the 256 byte tokens, then `extra`
/// (token type 1, score from the list).
fn spm_vocab(extra: &[(&str, f32)]) -> Vec<(&'static str, Value)> {
    let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
    let mut types = vec![2, 3, 3];
    tokens.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
    types.extend([6; 256]);
    tokens.extend(extra.iter().map(|(t, _)| t.to_string()));
    types.extend(extra.iter().map(|_| 1));
    let mut scores = vec![0.0; 259];
    scores.extend(extra.iter().map(|&(_, s)| s));
    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    vec![
        ("tokenizer.ggml.model", text("llama")),
        ("tokenizer.ggml.tokens", strings(&refs)),
        ("tokenizer.ggml.scores", Value::Array(Array::F32(scores))),
        ("tokenizer.ggml.token_type", Value::Array(Array::I32(types))),
        ("tokenizer.ggml.add_space_prefix", Value::Bool(false)),
    ]
}

/// A byte-level BPE vocabulary: the 256 one-character byte-level tokens, then `extra`, with
/// `merges`.
fn bpe_vocab(extra: &[&str], merges: &[&str]) -> Vec<(&'static str, Value)> {
    let mut tokens: Vec<String> = (0..=255u8).map(|b| byte_char(b).to_string()).collect();
    tokens.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    vec![
        ("tokenizer.ggml.model", text("gpt2")),
        ("tokenizer.ggml.pre", text("smollm")),
        ("tokenizer.ggml.tokens", strings(&refs)),
        ("tokenizer.ggml.merges", strings(merges)),
    ]
}

/// The byte-level character of byte `b` (found by searching the alphabet).
fn byte_char(b: u8) -> char {
    (0..0x144u32).filter_map(char::from_u32).find(|&c| byte_level::byte_of(c) == Some(b)).unwrap()
}

fn build(pairs: Vec<(&str, Value)>) -> Result<Tokenizer, TokenizerError> {
    Tokenizer::from_metadata(&meta(pairs))
}

fn with(
    mut pairs: Vec<(&'static str, Value)>,
    key: &'static str,
    v: Value,
) -> Vec<(&'static str, Value)> {
    pairs.retain(|(k, _)| *k != key);
    pairs.push((key, v));
    pairs
}

fn without(mut pairs: Vec<(&'static str, Value)>, key: &str) -> Vec<(&'static str, Value)> {
    pairs.retain(|(k, _)| *k != key);
    pairs
}

// ---- typed errors ---------------------------------------------------------------------------

#[test]
fn missing_and_mistyped_keys() {
    let base = spm_vocab(&[]);
    let err = |p| build(p).unwrap_err();
    assert_eq!(
        err(without(base.clone(), "tokenizer.ggml.model")),
        TokenizerError::MissingKey { key: "tokenizer.ggml.model" }
    );
    assert!(matches!(
        err(with(base.clone(), "tokenizer.ggml.model", Value::U32(1))),
        TokenizerError::WrongType { key: "tokenizer.ggml.model", .. }
    ));
    assert_eq!(
        err(without(base.clone(), "tokenizer.ggml.tokens")),
        TokenizerError::MissingKey { key: "tokenizer.ggml.tokens" }
    );
    assert!(matches!(
        err(with(base.clone(), "tokenizer.ggml.tokens", Value::Array(Array::U8(vec![1])))),
        TokenizerError::WrongType { key: "tokenizer.ggml.tokens", .. }
    ));
    assert!(matches!(
        err(with(base.clone(), "tokenizer.ggml.scores", strings(&["x"]))),
        TokenizerError::WrongType { key: "tokenizer.ggml.scores", .. }
    ));
    assert!(matches!(
        err(with(base.clone(), "tokenizer.ggml.token_type", Value::Array(Array::F32(vec![])))),
        TokenizerError::WrongType { key: "tokenizer.ggml.token_type", .. }
    ));
    assert!(matches!(
        err(with(base.clone(), "tokenizer.ggml.bos_token_id", text("1"))),
        TokenizerError::WrongType { key: "tokenizer.ggml.bos_token_id", .. }
    ));
    assert!(matches!(
        err(with(base.clone(), "tokenizer.ggml.eos_token_id", Value::I32(-1))),
        TokenizerError::WrongType { key: "tokenizer.ggml.eos_token_id", .. }
    ));
    assert!(matches!(
        err(with(base.clone(), "tokenizer.ggml.add_bos_token", Value::U8(1))),
        TokenizerError::WrongType { key: "tokenizer.ggml.add_bos_token", .. }
    ));
    // A bad chat template does not stop tokenization; it surfaces when a chat is formatted.
    let tok = build(with(base, "tokenizer.chat_template", Value::U32(0))).expect("loads");
    assert!(matches!(
        tok.chat_template(),
        Err(TokenizerError::WrongType { key: "tokenizer.chat_template", .. })
    ));
}

#[test]
fn short_arrays_empty_and_duplicate_vocabularies() {
    let base = spm_vocab(&[("a", -1.0)]);
    assert_eq!(
        build(with(base.clone(), "tokenizer.ggml.scores", Value::Array(Array::F32(vec![0.0; 3]))))
            .unwrap_err(),
        TokenizerError::ArrayTooShort { key: "tokenizer.ggml.scores", len: 3, n_vocab: 260 }
    );
    assert_eq!(
        build(with(base.clone(), "tokenizer.ggml.token_type", Value::Array(Array::I32(vec![1]))))
            .unwrap_err(),
        TokenizerError::ArrayTooShort { key: "tokenizer.ggml.token_type", len: 1, n_vocab: 260 }
    );
    assert_eq!(
        build(with(base, "tokenizer.ggml.tokens", strings(&[]))).unwrap_err(),
        TokenizerError::EmptyVocab
    );
    let dup = vec![
        ("tokenizer.ggml.model", text("llama")),
        ("tokenizer.ggml.tokens", strings(&["a", "b", "a"])),
    ];
    assert_eq!(build(dup).unwrap_err(), TokenizerError::DuplicateToken { id: 2, first: 0 });
}

#[test]
fn unknown_model_pre_tokenizer_and_bad_merges() {
    let spm = spm_vocab(&[]);
    assert_eq!(
        build(with(spm, "tokenizer.ggml.model", text("t5"))).unwrap_err(),
        TokenizerError::UnknownModel { model: "t5".into() }
    );
    let bpe = bpe_vocab(&[], &[]);
    assert_eq!(
        build(with(bpe.clone(), "tokenizer.ggml.pre", text("no-such-pre"))).unwrap_err(),
        TokenizerError::UnknownPreTokenizer { pre: "no-such-pre".into() }
    );
    // No pre-tokenizer name is llama.cpp's "default" list, not an error.
    assert!(build(without(bpe.clone(), "tokenizer.ggml.pre")).is_ok());
    assert_eq!(
        build(without(bpe.clone(), "tokenizer.ggml.merges")).unwrap_err(),
        TokenizerError::MissingKey { key: "tokenizer.ggml.merges" }
    );
    // Kimi K2 files may have no merges (llama.cpp then merges nothing).
    let kimi = with(bpe.clone(), "tokenizer.ggml.pre", text("kimi-k2"));
    assert!(build(without(kimi, "tokenizer.ggml.merges")).is_ok());
    for (bad, index) in [(vec!["a b", "ab"], 1), (vec![""], 0), (vec![" "], 0)] {
        let p = with(bpe.clone(), "tokenizer.ggml.merges", strings(&bad));
        assert_eq!(build(p).unwrap_err(), TokenizerError::BadMerge { index });
    }
}

#[test]
fn pre_tokenizer_flags_follow_llamacpp() {
    let bpe = bpe_vocab(&["ab"], &[]);
    let pre = |name| build(with(bpe.clone(), "tokenizer.ggml.pre", text(name))).expect("loads");
    // "ab" is a token no merge reaches: only ignore_merges (llama3, glm4) takes it whole.
    let (smollm, llama3) = (pre("smollm"), pre("llama-bpe"));
    let (qwen2, glm4) = (pre("qwen2"), pre("glm4"));
    assert_eq!(smollm.encode("ab", false, false), [97, 98]);
    assert_eq!(qwen2.encode("ab", false, false), [97, 98]);
    assert_eq!(llama3.encode("ab", false, false), [256]);
    assert_eq!(glm4.encode("ab", false, false), [256]);
    assert!(llama3.add_bos() && !qwen2.add_bos() && !smollm.add_bos());
    assert_eq!((glm4.bos(), qwen2.bos()), (None, Some(11)), "GLM has no default BOS");
}

// ---- hostile but loadable -------------------------------------------------------------------

#[test]
fn out_of_range_ids_and_odd_texts_do_not_panic() {
    let mut p = spm_vocab(&[("▁a", -1.0), ("", 0.0)]);
    p.push(("tokenizer.ggml.bos_token_id", Value::U64(4_000_000_000)));
    p.push(("tokenizer.ggml.eos_token_id", Value::U32(4_000_000)));
    p.push(("tokenizer.ggml.add_eos_token", Value::Bool(true)));
    let tok = build(p).expect("loads");
    // Ids past the vocabulary keep the defaults, as in llama.cpp.
    assert_eq!((tok.bos(), tok.eos()), (Some(1), Some(2)));
    assert_eq!(tok.token_text(260), Some("[EMPTY_260]"), "llama.cpp's name for an empty token");
    assert_eq!(tok.token_bytes(u32::MAX, true), b"");
    assert_eq!(tok.decode(&[u32::MAX, 7_000_000], true), "");
    assert_eq!(tok.encode("a", true, true).last(), Some(&2));
    assert!(!tok.is_end_of_generation(u32::MAX));
}

#[test]
fn nan_scores_and_undefined_types_are_tolerated() {
    let mut p = spm_vocab(&[("a", f32::NAN), ("b", f32::NAN), ("ab", f32::NAN)]);
    p = with(p, "tokenizer.ggml.token_type", Value::Array(Array::I32(vec![-7; 262])));
    let tok = build(p).expect("loads");
    assert_eq!(tok.encode("abab", false, false), [261, 261]);
    assert_eq!(tok.token_attr(261), attr::UNDEFINED);
    assert_eq!(tok.token_bytes(261, true), b"", "undefined tokens render as nothing");
}

#[test]
fn spm_byte_fallback_without_byte_tokens() {
    // No <0xNN> tokens: unknown characters fall back to <unk> (llama.cpp would throw).
    let p = vec![
        ("tokenizer.ggml.model", text("llama")),
        ("tokenizer.ggml.tokens", strings(&["<unk>", "<s>", "</s>", "▁", "x"])),
        ("tokenizer.ggml.add_space_prefix", Value::Bool(true)),
    ];
    let tok = build(p).expect("loads");
    assert_eq!(tok.encode("x€", true, false), [1, 3, 4, 0, 0, 0]);
    assert_eq!(tok.special_ids().nl, None);
}

#[test]
fn bpe_merges_with_unknown_sides_and_missing_results() {
    // "Ġh i" merges " hi" into "Ġhi", which is not a token: its single bytes are emitted
    // instead, and "Ġ" (two UTF-8 bytes) has no one-byte token, so it is dropped, as in llama.cpp.
    let p = bpe_vocab(&["Ġh", "hi"], &["Ġ h", "h i", "Ġ q", "zz yy", "Ġh i"]);
    let tok = build(p).expect("loads");
    let hi = tok.token_id("hi").unwrap();
    assert_eq!(tok.encode("hi", false, false), [hi]);
    assert_eq!(tok.encode(" hi", false, false), [u32::from(b'h'), u32::from(b'i')]);
    assert_eq!(tok.encode(" q", false, false), [u32::from(b'q')]);
    assert_eq!(tok.encode(" x", false, false), [tok.token_id("Ġ").unwrap(), u32::from(b'x')]);
    assert_eq!(tok.n_merges(), 5);
    assert_eq!(tok.special_ids().nl, tok.token_id("Ċ"));
}

#[test]
fn malformed_byte_tokens_decode_to_something() {
    let p = vec![
        ("tokenizer.ggml.model", text("llama")),
        ("tokenizer.ggml.tokens", strings(&["<unk>", "<s>", "</s>", "<0x>", "<0xZZ>", "x"])),
        ("tokenizer.ggml.token_type", Value::Array(Array::I32(vec![2, 3, 3, 6, 6, 6]))),
    ];
    let tok = build(p).expect("loads");
    assert_eq!(tok.token_bytes(3, false), [0]);
    assert_eq!(tok.token_bytes(4, false), [0]);
    assert_eq!(tok.token_bytes(5, false), [0], "no <0x prefix: strtol reads nothing");
}

// ---- decoding -------------------------------------------------------------------------------

#[test]
fn stream_holds_split_characters() {
    let tok = build(spm_vocab(&[("▁a", -1.0)])).expect("loads");
    let byte = |b: u8| 3 + u32::from(b);
    let mut s = tok.stream(false);
    assert_eq!(s.push(byte(0xC3)), "");
    assert_eq!(s.push(byte(0xA9)), "é");
    assert_eq!(s.push(byte(0xF0)), "");
    assert_eq!(s.push(byte(0x9F)), "");
    assert_eq!(s.push(byte(0xFF)), "\u{FFFD}\u{FFFD}", "an impossible byte ends the sequence");
    assert_eq!(s.push(byte(0xE2)), "");
    assert_eq!(s.push(259), "\u{FFFD} a", "a cut-off sequence is one replacement");
    assert_eq!(s.push(byte(0xE2)), "");
    assert_eq!(s.finish(), "\u{FFFD}");
    let ids = [0xC3, 0xA9, 0xF0, 0x9F, 0xFF, 0xE2].map(byte);
    let ids = [&ids[..], &[259, byte(0xE2)]].concat();
    assert_eq!(tok.decode(&ids, false), "é\u{FFFD}\u{FFFD}\u{FFFD} a\u{FFFD}");
}

#[test]
fn space_prefix_is_stripped_once_when_decoding() {
    let p = with(spm_vocab(&[("▁a", -1.0)]), "tokenizer.ggml.add_space_prefix", Value::Bool(true));
    let tok = build(p).expect("loads");
    let ids = tok.encode("a a", true, false);
    assert_eq!(ids, [1, 259, 259]);
    assert_eq!(tok.decode(&ids, false), " a a", "the first piece (BOS, empty) takes the strip");
    assert_eq!(tok.decode(&ids[1..], false), "a a");
    let mut s = tok.stream(false);
    assert_eq!(s.push(259) + &s.push(259), "a a");
}

// ---- special tokens -------------------------------------------------------------------------

#[test]
fn special_text_is_cut_longest_first() {
    let mut p = spm_vocab(&[("<x>", 0.0), ("<x><y>", 0.0), ("  ", 0.0)]);
    let mut types = vec![2, 3, 3];
    types.extend([6; 256]);
    types.extend([3, 3, 4]); // control, control, user-defined
    p = with(p, "tokenizer.ggml.token_type", Value::Array(Array::I32(types)));
    let tok = build(p).expect("loads");
    let (x, xy, two) = (259, 260, 261);
    assert_eq!(tok.encode("<x><y><x>", false, true), [xy, x]);
    assert_eq!(tok.encode("a  b", false, false)[1], two, "user-defined text is always cut");
    assert!(!tok.encode("<x>", false, false).contains(&x), "control text needs parse_special");
    assert_eq!(tok.n_special(), 6, "<unk>, <s>, </s> and the three above");
    assert_eq!(tok.decode(&[x, two], false), "  ", "user-defined tokens render without special");
    assert_eq!(tok.decode(&[x, two], true), "<x>  ");
}

// ---- chat -----------------------------------------------------------------------------------

#[test]
fn chat_template_detection_and_roles() {
    let m = |r: &str| ChatMessage::new(r, "hi").to_value();
    let render = |t: &ChatTemplate, messages: &[ChatValue], add_generation_prompt: bool, bos: &str| {
        t.render(&ChatRequest { messages, add_generation_prompt, ..ChatRequest::default() }, bos, "")
    };
    assert!(matches!(
        ChatTemplate::detect(Some("{% if %}"), None),
        Err(TokenizerError::ChatTemplate(ChatTemplateError::Syntax { line: 1, .. }))
    ));
    assert_eq!(ChatTemplate::detect(None, Some("gemma3")), Ok(ChatTemplate::Gemma));
    assert_eq!(ChatTemplate::detect(None, Some("llama")), Ok(ChatTemplate::ChatMl));
    let gemma = ChatTemplate::Gemma;
    assert_eq!(render(&gemma, &[], true, "<bos>"), Err(TokenizerError::ChatRoles { index: 0 }));
    assert_eq!(
        render(&gemma, &[m("system"), m("user"), m("user")], true, ""),
        Err(TokenizerError::ChatRoles { index: 2 })
    );
    assert_eq!(
        render(&gemma, &[m("user"), m("assistant")], false, "<bos>").unwrap(),
        "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\nhi<end_of_turn>\n"
    );
    // A template that does not parse does not stop tokenization; it surfaces at chat time.
    let tok = build(with(spm_vocab(&[]), "tokenizer.chat_template", text("{% for %}"))).unwrap();
    assert!(matches!(
        tok.apply_chat_template(&[ChatMessage::new("user", "hi")], true),
        Err(TokenizerError::ChatTemplate(ChatTemplateError::Syntax { .. }))
    ));
    assert!(tok.encode("still tokenizes", false, false).len() > 1);
    // An override template replaces the file's, and the caller's BOS text is dropped when the
    // model adds BOS itself (llama.cpp's common/chat.cpp).
    let messages = [m("user")];
    let request = ChatRequest {
        messages: &messages,
        template: Some("{{ bos_token }}[{{ messages[0].role }}]"),
        ..ChatRequest::default()
    };
    let bos = tok.decode(&[tok.bos().unwrap()], true);
    let rendered = tok.render_chat(&request).unwrap();
    assert_eq!(rendered, if tok.add_bos() { "[user]".to_string() } else { format!("{bos}[user]") });
}

#[test]
fn chat_source_says_which_template_is_in_use() {
    let source = |pairs| ChatSource::of(&meta(pairs));
    let file = source(with(spm_vocab(&[]), "tokenizer.chat_template", text("{{ messages[0].content }}")));
    assert_eq!(file, ChatSource { origin: ChatOrigin::File, format: Some("jinja"), error: None });
    let gemma = source(with(spm_vocab(&[]), "general.architecture", text("gemma2")));
    assert_eq!(gemma, ChatSource { origin: ChatOrigin::BuiltIn, format: Some("gemma"), error: None });
    let chatml = source(with(bpe_vocab(&[], &[]), "general.architecture", text("qwen2")));
    assert_eq!(chatml, ChatSource { origin: ChatOrigin::BuiltIn, format: Some("chatml"), error: None });
    // A file template that does not parse (or is not a string) is the file's, and its error is
    // the one chat prompts will fail with.
    let broken = source(with(spm_vocab(&[]), "tokenizer.chat_template", text("{% for %}")));
    assert_eq!((broken.origin, broken.format), (ChatOrigin::File, None));
    assert!(matches!(broken.error, Some(TokenizerError::ChatTemplate(ChatTemplateError::Syntax { .. }))));
    let mistyped = source(with(spm_vocab(&[]), "tokenizer.chat_template", Value::U32(7)));
    assert!(matches!(mistyped.error, Some(TokenizerError::WrongType { key: "tokenizer.chat_template", .. })));
    // Without a tokenizer there is no chat, whatever else the file says.
    let none = source(vec![("tokenizer.chat_template", text("x")), ("general.architecture", text("llama"))]);
    assert_eq!(none, ChatSource { origin: ChatOrigin::None, format: None, error: None });
    assert_eq!([ChatOrigin::File, ChatOrigin::BuiltIn, ChatOrigin::None].map(ChatOrigin::name), ["file", "builtin", "none"]);
}
