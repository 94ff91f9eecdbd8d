//! `npm run tokenize -- <file.gguf> [--add-special] [--parse-special] [--json]`
//!
//! Reads a JSON array of strings on stdin and tokenizes each with the file's tokenizer, as
//! `llama_tokenize` would (`--add-special`: BOS/EOS as the model adds them; `--parse-special`:
//! control-token text becomes that token). With `--json` it prints a JSON array of id arrays,
//! else one line of space-separated ids per string (llama.cpp's `.out` format). Only the header
//! is read, so vocab-only files work. Bad input exits with status 1 and the error on stderr.

use std::fs::File;
use std::io::Read;
use std::process::ExitCode;

use gguf64::gguf::Header;
use gguf64::report::Json;
use gguf64::runtime::native;
use gguf64::tokenizer::Tokenizer;

const USAGE: &str =
    "usage: tokenize <file.gguf> [--add-special] [--parse-special] [--json] < strings.json";

struct Args {
    path: String,
    add_special: bool,
    parse_special: bool,
    json: bool,
}

fn parse_args(argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args =
        Args { path: String::new(), add_special: false, parse_special: false, json: false };
    for arg in argv {
        match arg.as_str() {
            "--add-special" => args.add_special = true,
            "--parse-special" => args.parse_special = true,
            "--json" => args.json = true,
            s if s.starts_with("--") => return Err(format!("unknown option {s}")),
            _ if args.path.is_empty() => args.path = arg,
            _ => return Err(format!("unexpected argument {arg}")),
        }
    }
    if args.path.is_empty() {
        return Err("no file given".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<String, String> {
    let header = read_header(&args.path)?;
    let tok = Tokenizer::from_header(&header).map_err(|e| format!("{}: {e}", args.path))?;
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).map_err(|e| format!("stdin: {e}"))?;
    let texts = strings::parse(&input).map_err(|e| format!("stdin: {e}"))?;
    let ids: Vec<Vec<u32>> =
        texts.iter().map(|t| tok.encode(t, args.add_special, args.parse_special)).collect();
    Ok(if args.json { to_json(&ids).to_string() } else { to_lines(&ids) })
}

fn to_json(ids: &[Vec<u32>]) -> Json {
    Json::Arr(ids.iter().map(|row| Json::Arr(row.iter().map(|&id| id.into()).collect())).collect())
}

fn to_lines(ids: &[Vec<u32>]) -> String {
    let line = |row: &Vec<u32>| row.iter().map(u32::to_string).collect::<Vec<_>>().join(" ");
    ids.iter().map(line).collect::<Vec<_>>().join("\n")
}

/// The file's header (vocab-only files have no more).
fn read_header(path: &str) -> Result<Header, String> {
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let file_len = file.metadata().map_err(|e| format!("{path}: {e}"))?.len();
    native::read_header(file, file_len).map_err(|e| format!("{path}: {e}"))
}

/// A reader for exactly one JSON value: an array of strings.
mod strings {
    use std::iter::Peekable;
    use std::str::CharIndices;

    type Chars<'a> = Peekable<CharIndices<'a>>;

    /// The strings of the JSON array `text`.
    pub fn parse(text: &str) -> Result<Vec<String>, String> {
        let mut it = text.char_indices().peekable();
        expect(&mut it, '[')?;
        let mut out = Vec::new();
        if skip_space(&mut it) == Some(']') {
            it.next();
        } else {
            loop {
                expect(&mut it, '"')?;
                out.push(string(&mut it)?);
                match (skip_space(&mut it), it.next()) {
                    (_, Some((_, ','))) => continue,
                    (_, Some((_, ']'))) => break,
                    _ => return Err(format!("expected , or ] after string {}", out.len())),
                }
            }
        }
        match skip_space(&mut it) {
            None => Ok(out),
            Some(_) => Err("text after the array".into()),
        }
    }

    /// The next non-space char, not consumed.
    fn skip_space(it: &mut Chars) -> Option<char> {
        while let Some(&(_, c)) = it.peek() {
            if !matches!(c, ' ' | '\t' | '\n' | '\r') {
                return Some(c);
            }
            it.next();
        }
        None
    }

    fn expect(it: &mut Chars, want: char) -> Result<(), String> {
        skip_space(it);
        match it.next() {
            Some((_, c)) if c == want => Ok(()),
            Some((at, c)) => Err(format!("expected {want:?} at byte {at}, found {c:?}")),
            None => Err(format!("expected {want:?}, found the end")),
        }
    }

    /// The rest of a string whose opening quote was read.
    fn string(it: &mut Chars) -> Result<String, String> {
        let mut s = String::new();
        loop {
            match it.next() {
                Some((_, '"')) => return Ok(s),
                Some((_, '\\')) => s.push(escape(it)?),
                Some((at, c)) if (c as u32) < 0x20 => {
                    return Err(format!("control character in a string at byte {at}"));
                }
                Some((_, c)) => s.push(c),
                None => return Err("unterminated string".into()),
            }
        }
    }

    fn escape(it: &mut Chars) -> Result<char, String> {
        Ok(match it.next().map(|(_, c)| c) {
            Some('"') => '"',
            Some('\\') => '\\',
            Some('/') => '/',
            Some('b') => '\u{8}',
            Some('f') => '\u{c}',
            Some('n') => '\n',
            Some('r') => '\r',
            Some('t') => '\t',
            Some('u') => return unicode(it),
            other => return Err(format!("bad escape {other:?}")),
        })
    }

    /// `\uXXXX`, joining a surrogate pair; a lone surrogate is an error.
    fn unicode(it: &mut Chars) -> Result<char, String> {
        let high = hex4(it)?;
        let code = if (0xD800..0xDC00).contains(&high) {
            let pair = (it.next(), it.next());
            let low = match pair {
                (Some((_, '\\')), Some((_, 'u'))) => hex4(it)?,
                _ => return Err("lone surrogate".into()),
            };
            if !(0xDC00..0xE000).contains(&low) {
                return Err("lone surrogate".into());
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| format!("bad code point U+{code:04X}"))
    }

    fn hex4(it: &mut Chars) -> Result<u32, String> {
        (0..4).try_fold(0, |n, _| {
            let digit = it.next().and_then(|(_, c)| c.to_digit(16));
            digit.map(|d| n * 16 + d).ok_or_else(|| "bad \\u escape".to_string())
        })
    }

    #[cfg(test)]
    mod tests {
        use super::parse;

        #[test]
        fn arrays_of_strings() {
            assert_eq!(parse(" [ ] ").unwrap(), Vec::<String>::new());
            let text = r#"["a", "b\n\"c\"", "\u00e9\ud83d\ude00"]"#;
            assert_eq!(parse(text).unwrap(), ["a", "b\n\"c\"", "é😀"]);
            let bad = ["", "[", "[1]", "[\"a\"", "[\"a\",]", "[] x", r#"["\ud800"]"#, "[\"\\q\"]"];
            for bad in bad {
                assert!(parse(bad).is_err(), "{bad:?}");
            }
        }
    }
}
