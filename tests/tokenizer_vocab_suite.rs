//! llama.cpp's tokenizer test suite (tests/test-tokenizer-0.cpp) on its vocab-only GGUF files:
//! every case of every `ggml-vocab-*.gguf` that has `.inp`/`.out` files, tokenized without
//! special tokens added and without parsing special text, must give the ids in `.out`. A vocab
//! whose tokenizer model or pre-tokenizer gguf64 does not implement must fail with the typed
//! error instead; the test prints a table of both. `tools/dev/fetch-models.sh vocabs` fetches the
//! files into models/llama.cpp-vocab/.

#[path = "support/json.rs"]
mod json;
#[path = "support/models.rs"]
mod models;

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use gguf64::gguf::{Array, Header, HeaderParser, Limits, Metadata, Step, StringArray, Value};
use gguf64::tokenizer::{Tokenizer, TokenizerError};

/// The vocabs gguf64 supports: each must be present and pass every case.
const SUPPORTED: &[&str] = &[
    "bert-bge",
    "command-r",
    "deepseek-coder",
    "deepseek-llm",
    "falcon",
    "gemma-4",
    "gpt-2",
    "llama-bpe",
    "llama-spm",
    "mpt",
    "phi-3",
    "qwen2",
    "qwen35",
    "refact",
    "starcoder",
];

/// llama.cpp's separator between the cases of an `.inp` file.
const SEPARATOR: &str = "\n__ggml_vocab_test__\n";

/// What happened to one vocab.
enum Outcome {
    /// Cases passed, cases in all, and the first few mismatches.
    Ran { passed: usize, total: usize, mismatches: Vec<String> },
    /// The typed error of a tokenizer gguf64 does not implement.
    Unsupported(TokenizerError),
    /// Anything else: a broken file, another error.
    Broken(String),
}

#[test]
fn llamacpp_vocab_suite() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/llama.cpp-vocab");
    let names = match vocab_names(&dir) {
        Some(names) if !names.is_empty() => names,
        _ => return models::absent(&dir),
    };
    let mut problems = Vec::new();
    eprintln!("{:<16} result", "vocab");
    for name in &names {
        let outcome = run_vocab(&dir, name);
        eprintln!("{name:<16} {}", describe(&outcome));
        problems.extend(problem(name, &outcome));
    }
    for name in SUPPORTED.iter().filter(|n| !names.iter().any(|m| m == *n)) {
        problems.push(format!("{name}: its files are missing"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every `tokenizer.ggml.pre` name the vendored llama.cpp knows, against llama.cpp itself:
/// tools/golden/pretokenizer_golden.py set each name on a suite vocab (GPT-2's, or Gemma 4's read
/// as "gpt2" for the raw-UTF-8 lists) and recorded llama.cpp's ids for ~70 texts, and the text
/// llama_detokenize makes of them (which shows each name's `clean_spaces`). The same
/// metadata change is made here in memory, so the file on disk stays the suite's.
#[test]
fn every_pre_tokenizer_matches_llamacpp() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/llama.cpp-vocab");
    let golden =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/llamacpp/pretokenizers.json");
    let golden = json::Json::parse(&std::fs::read_to_string(golden).expect("golden file"));
    let texts: Vec<&str> = golden.get("texts").items().iter().map(|t| t.str()).collect();
    let json::Json::Obj(names) = golden.get("pre") else { panic!("pre is not an object") };
    let mut headers: Vec<(String, Header)> = Vec::new();
    let mut failures = Vec::new();
    let mut compared = 0;
    for (name, entry) in names {
        let vocab = entry.get("vocab").str();
        if !headers.iter().any(|(v, _)| v == vocab) {
            match read_header(&dir.join(vocab)) {
                Ok(h) => headers.push((vocab.to_string(), h)),
                Err(_) => return models::absent(dir.join(vocab)),
            }
        }
        let header = &headers.iter().find(|(v, _)| v == vocab).expect("loaded").1;
        let raw_utf8 = vocab.contains("gemma-4");
        let metadata = with_pre(&header.metadata, name, raw_utf8);
        let tok = match Tokenizer::from_metadata(&metadata) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let mut wrong = 0;
        let detok = entry.get("detok").items();
        for ((text, want), want_text) in texts.iter().zip(entry.get("ids").items()).zip(detok) {
            if let json::Json::Null = want {
                continue;
            }
            compared += 1;
            let decoded = tok.decode_bytes(&want.ids(), false);
            if decoded != unhex(want_text.str()) {
                let shown = String::from_utf8_lossy(&decoded);
                failures.push(format!("{name}: decoding {text:?} gives {shown:?}"));
            }
            let got = tok.encode(text, false, false);
            if got != want.ids() {
                wrong += 1;
                if wrong <= 2 {
                    failures
                        .push(format!("{name}: {text:?}\n  got  {got:?}\n  want {:?}", want.ids()));
                }
            }
        }
        if wrong > 2 {
            failures.push(format!("{name}: {wrong} texts differ in all"));
        }
    }
    eprintln!("{} pre-tokenizer names, {compared} texts compared", names.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The same names on a synthetic vocabulary where every word becomes exactly one token (see
/// `exact_vocab`), so llama.cpp's ids spell out its cuts and any other cut fails the test.
#[test]
fn every_pre_tokenizer_cuts_like_llamacpp() {
    let golden =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/llamacpp/pretokenizers.json");
    let golden = json::Json::parse(&std::fs::read_to_string(golden).expect("golden file"));
    let texts: Vec<&str> = golden.get("exact_texts").items().iter().map(|t| t.str()).collect();
    let json::Json::Obj(names) = golden.get("pre") else { panic!("pre is not an object") };
    let byte_level = exact_vocab(&texts, spell_byte_level);
    let raw = exact_vocab(&texts, |t| t.replace(' ', "\u{2581}"));
    let mut failures = Vec::new();
    let mut compared = 0;
    for (name, entry) in names {
        let (tokens, merges) = if entry.get("exact").str() == "raw" { &raw } else { &byte_level };
        let tok = match Tokenizer::from_metadata(&exact_metadata(tokens, merges, name)) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        for (text, want) in texts.iter().zip(entry.get("exact_ids").items()) {
            if let json::Json::Null = want {
                continue;
            }
            compared += 1;
            let got = tok.encode(text, false, false);
            if got != want.ids() {
                let show = |ids: &[u32]| -> Vec<&str> {
                    ids.iter().map(|&id| tokens[id as usize].as_str()).collect()
                };
                failures.push(format!(
                    "{name}: {text:?}\n  got  {:?}\n  want {:?}",
                    show(&got),
                    show(&want.ids())
                ));
            }
        }
    }
    eprintln!("{} pre-tokenizer names, {compared} texts compared word by word", names.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every suite vocab file as it is (the SentencePiece ones, Baichuan's included; Aquila's and
/// GPT-NeoX's BPE without a pre-tokenizer name, which llama.cpp runs with its "default" list;
/// WordPiece), against llama.cpp's ids for the same ~70 texts, with and without special tokens
/// added, and llama_detokenize's text of the ids. Only a tokenizer model gguf64 does not
/// implement (T5's "t5") may be skipped.
#[test]
fn every_vocab_file_matches_llamacpp() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/llama.cpp-vocab");
    let golden =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/llamacpp/pretokenizers.json");
    let golden = json::Json::parse(&std::fs::read_to_string(golden).expect("golden file"));
    let texts: Vec<&str> = golden.get("texts").items().iter().map(|t| t.str()).collect();
    let json::Json::Obj(files) = golden.get("files") else { panic!("files is not an object") };
    let mut failures = Vec::new();
    let mut compared = 0;
    for (file, entry) in files {
        let Ok(header) = read_header(&dir.join(file)) else {
            return models::absent(dir.join(file));
        };
        let tok = match Tokenizer::from_header(&header) {
            Ok(t) => t,
            Err(TokenizerError::UnknownModel { model }) if model == "t5" => {
                eprintln!("{file}: skipped (tokenizer model t5)");
                continue;
            }
            Err(e) => {
                failures.push(format!("{file}: {e}"));
                continue;
            }
        };
        for (text, (ids, want)) in
            texts.iter().zip(entry.get("ids").items().iter().zip(entry.get("detok").items()))
        {
            let decoded = tok.decode_bytes(&ids.ids(), false);
            if decoded != unhex(want.str()) {
                let shown = String::from_utf8_lossy(&decoded);
                failures.push(format!("{file}: decoding {text:?} gives {shown:?}"));
            }
        }
        for (key, add_special) in [("ids", false), ("ids_added", true)] {
            let mut wrong = 0;
            for (text, want) in texts.iter().zip(entry.get(key).items()) {
                compared += 1;
                let got = tok.encode(text, add_special, false);
                if got != want.ids() {
                    wrong += 1;
                    if wrong <= 2 {
                        failures.push(format!(
                            "{file} (add_special {add_special}): {text:?}\n  got  {got:?}\n  want {:?}",
                            want.ids()
                        ));
                    }
                }
            }
        }
    }
    eprintln!("{} vocab files, {compared} encodings compared", files.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// GPT-2's byte alphabet (its `bytes_to_unicode`): printable bytes stand for themselves, the
/// others for U+0100 onwards in byte order.
fn byte_alphabet() -> Vec<char> {
    let printable = |b: u32| (0x21..0x7F).contains(&b) || (0xA1..0xAD).contains(&b) || b >= 0xAE;
    let mut next = 0x100;
    (0..256u32)
        .map(|b| {
            if printable(b) {
                char::from_u32(b).expect("latin-1")
            } else {
                next += 1;
                char::from_u32(next - 1).expect("latin extended")
            }
        })
        .collect()
}

fn spell_byte_level(text: &str) -> String {
    let alphabet = byte_alphabet();
    text.bytes().map(|b| alphabet[b as usize]).collect()
}

/// tools/golden/pretokenizer_golden.py's `exact_vocab`: tokens are the byte alphabet, "\n" and
/// every substring of every spelled text, sorted by code point; merges split every token of two
/// chars or more at every point, so any two neighbouring symbols of a word merge.
fn exact_vocab(texts: &[&str], spell: impl Fn(&str) -> String) -> (Vec<String>, Vec<String>) {
    let mut subs: std::collections::BTreeSet<String> =
        byte_alphabet().into_iter().map(String::from).collect();
    subs.insert("\n".to_string());
    for text in texts {
        let spelled: Vec<char> = spell(text).chars().collect();
        for i in 0..spelled.len() {
            for j in i + 1..=spelled.len() {
                subs.insert(spelled[i..j].iter().collect());
            }
        }
    }
    let tokens: Vec<String> = subs.into_iter().collect();
    let mut merges = Vec::new();
    for token in &tokens {
        let chars: Vec<char> = token.chars().collect();
        for k in 1..chars.len() {
            let (left, right): (String, String) =
                (chars[..k].iter().collect(), chars[k..].iter().collect());
            merges.push(format!("{left} {right}"));
        }
    }
    (tokens, merges)
}

/// A "gpt2" vocabulary of `tokens` (all normal) and `merges` with `tokenizer.ggml.pre` = `pre`.
fn exact_metadata(tokens: &[String], merges: &[String], pre: &str) -> Metadata {
    let strings = |items: &[String]| {
        let mut array = StringArray::with_capacity(items.len());
        items.iter().for_each(|s| array.push(s));
        Value::Array(Array::String(array))
    };
    let mut m = Metadata::new();
    let mut put = |key: &str, value: Value| m.insert(key.to_string(), value).expect("new key");
    put("tokenizer.ggml.model", Value::String("gpt2".to_string()));
    put("tokenizer.ggml.pre", Value::String(pre.to_string()));
    put("tokenizer.ggml.tokens", strings(tokens));
    put("tokenizer.ggml.token_type", Value::Array(Array::I32(vec![1; tokens.len()])));
    put("tokenizer.ggml.merges", strings(merges));
    m
}

/// `m` with `tokenizer.ggml.pre` = `pre` (and `tokenizer.ggml.model` = "gpt2" if `raw_utf8`).
fn with_pre(m: &Metadata, pre: &str, raw_utf8: bool) -> Metadata {
    let mut out = Metadata::new();
    for (key, value) in m.iter() {
        let value = match key {
            "tokenizer.ggml.pre" => continue,
            "tokenizer.ggml.model" if raw_utf8 => Value::String("gpt2".to_string()),
            _ => value.clone(),
        };
        out.insert(key.to_string(), value).expect("unique keys");
    }
    out.insert("tokenizer.ggml.pre".to_string(), Value::String(pre.to_string())).expect("new");
    out
}

/// `npm run tokenize -- FILE --json` on a vocab-only file: JSON strings in, the suite's ids out;
/// an unsupported vocab exits with status 1 and its typed error.
#[test]
fn tokenize_command_on_vocab_files() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/llama.cpp-vocab");
    let base = dir.join("ggml-vocab-llama-bpe.gguf");
    let Ok(cases) = read_cases(&base) else { return models::absent(&base) };
    let input = gguf64::report::Json::Arr(
        cases.iter().map(|(text, _)| gguf64::report::Json::from(text.as_str())).collect(),
    );
    let (status, stdout, _) = tokenize(&base, &["--json"], &input.to_string());
    assert!(status, "tokenize failed");
    let got = json::Json::parse(&stdout);
    let got: Vec<Vec<u32>> = got.items().iter().map(|row| row.ids()).collect();
    let want: Vec<Vec<u32>> = cases.into_iter().map(|(_, ids)| ids).collect();
    assert_eq!(got, want);

    let (status, stdout, _) = tokenize(&base, &["--add-special", "--json"], r#"["Hi"]"#);
    assert!(status && stdout.starts_with("[[128000,"), "llama3 adds BOS by default: {stdout}");
    let t5 = dir.join("ggml-vocab-nomic-bert-moe.gguf");
    let (status, _, stderr) = tokenize(&t5, &["--json"], "[]");
    assert!(!status && stderr.contains("unknown tokenizer model \"t5\""), "{stderr}");
    let (status, _, stderr) = tokenize(&base, &["--json"], "[1]");
    assert!(!status && stderr.contains("stdin"), "{stderr}");
}

/// Runs the command: success, stdout, stderr.
fn tokenize(file: &Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenize"))
        .arg(file)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs tokenize");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("writes stdin");
    let out = child.wait_with_output().expect("tokenize exits");
    let text = |b: Vec<u8>| String::from_utf8(b).expect("utf-8 output");
    (out.status.success(), text(out.stdout), text(out.stderr))
}

/// The names (`ggml-vocab-<name>.gguf`) of the vocabs that have cases, sorted.
fn vocab_names(dir: &Path) -> Option<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|f| Some(f.strip_prefix("ggml-vocab-")?.strip_suffix(".gguf.inp")?.to_string()))
        .filter(|n| dir.join(format!("ggml-vocab-{n}.gguf")).is_file())
        .collect();
    names.sort();
    Some(names)
}

fn run_vocab(dir: &Path, name: &str) -> Outcome {
    use TokenizerError::{UnknownModel, UnknownPreTokenizer};
    let base = dir.join(format!("ggml-vocab-{name}.gguf"));
    let header = match read_header(&base) {
        Ok(h) => h,
        Err(e) => return Outcome::Broken(e),
    };
    let tok = match Tokenizer::from_header(&header) {
        Ok(t) => t,
        Err(e @ (UnknownModel { .. } | UnknownPreTokenizer { .. })) => {
            return Outcome::Unsupported(e);
        }
        Err(e) => return Outcome::Broken(e.to_string()),
    };
    let cases = match read_cases(&base) {
        Ok(c) => c,
        Err(e) => return Outcome::Broken(e),
    };
    let mut mismatches = Vec::new();
    let mut passed = 0;
    for (text, want) in &cases {
        let got = tok.encode(text, false, false);
        if &got == want {
            passed += 1;
        } else if mismatches.len() < 5 {
            mismatches.push(format!("  {text:?}\n    got  {got:?}\n    want {want:?}"));
        }
    }
    Outcome::Ran { passed, total: cases.len(), mismatches }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Ran { passed, total, .. } => format!("{passed}/{total} cases pass"),
        Outcome::Unsupported(e) => format!("unsupported: {e}"),
        Outcome::Broken(e) => format!("error: {e}"),
    }
}

/// Why the outcome fails the test, if it does.
fn problem(name: &str, outcome: &Outcome) -> Option<String> {
    let supported = SUPPORTED.contains(&name);
    match outcome {
        Outcome::Ran { passed, total, mismatches } if passed != total => {
            Some(format!("{name}: {passed}/{total} cases pass\n{}", mismatches.join("\n")))
        }
        Outcome::Ran { .. } if !supported => Some(format!("{name}: passes; add it to SUPPORTED")),
        Outcome::Ran { .. } => None,
        Outcome::Unsupported(e) if supported => Some(format!("{name}: {e}")),
        Outcome::Unsupported(_) => None,
        Outcome::Broken(e) => Some(format!("{name}: {e}")),
    }
}

/// The `.inp` cases paired with the `.out` ids, as test-tokenizer-0.cpp reads them.
fn read_cases(base: &Path) -> Result<Vec<(String, Vec<u32>)>, String> {
    let read = |ext: &str| {
        let path = PathBuf::from(format!("{}.{ext}", base.display()));
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let (inp, out) = (read("inp")?, read("out")?);
    let body = inp.strip_suffix(SEPARATOR).unwrap_or(&inp);
    let texts: Vec<&str> = body.split(SEPARATOR).collect();
    let ids: Vec<Vec<u32>> = out.lines().map(parse_ids).collect::<Result<_, _>>()?;
    if texts.len() != ids.len() {
        return Err(format!("{} inputs but {} outputs", texts.len(), ids.len()));
    }
    Ok(texts.into_iter().map(String::from).zip(ids).collect())
}

fn parse_ids(line: &str) -> Result<Vec<u32>, String> {
    line.split_whitespace().map(|s| s.parse().map_err(|_| format!("bad id {s:?}"))).collect()
}

fn read_header(path: &Path) -> Result<Header, String> {
    let shown = path.display();
    let mut bytes = Vec::new();
    let read = File::open(path).and_then(|mut f| f.read_to_end(&mut bytes));
    read.map_err(|e| format!("{shown}: {e}"))?;
    let mut parser = HeaderParser::new(Limits::default());
    match parser.advance(&bytes, Some(bytes.len() as u64)) {
        Ok(Step::Done(header)) => Ok(header),
        Ok(Step::NeedMore { .. }) => Err(format!("{shown}: the file ends inside the header")),
        Err(e) => Err(format!("{shown}: {e}")),
    }
}
