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

use gguf64::gguf::{Header, HeaderParser, Limits, Step};
use gguf64::tokenizer::{Tokenizer, TokenizerError};

/// The vocabs gguf64 supports: each must be present and pass every case.
const SUPPORTED: &[&str] = &[
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
    let (status, _, stderr) = tokenize(&dir.join("ggml-vocab-bert-bge.gguf"), &["--json"], "[]");
    assert!(!status && stderr.contains("unknown tokenizer model \"bert\""), "{stderr}");
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
