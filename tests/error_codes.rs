//! One table of error codes: Rust's `ErrorCode` is the source; the JS `ErrorCode` object
//! (src/js/errors.js), the TypeScript union (types/index.d.ts) and the codes the README lists are
//! the same set, and every `ErrorCode.X` the JS shim uses exists.

use std::collections::BTreeSet;
use std::path::Path;

use gguf64::error_code::ErrorCode;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn rust_codes() -> BTreeSet<String> {
    ErrorCode::ALL.iter().map(|c| c.as_str().to_string()).collect()
}

/// Runs of `A-Z_` in `text` that follow `before` and end at a character `after` accepts.
fn names_between(text: &str, before: &str, after: impl Fn(char) -> bool) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in text.match_indices(before) {
        let rest = &text[at + before.len()..];
        let name: String = rest.chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').collect();
        if !name.is_empty() && rest[name.len()..].chars().next().is_some_and(&after) {
            out.insert(name);
        }
    }
    out
}

/// The text between `start` and the first `end` after it.
fn section<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start:?}")) + start.len();
    let to = text[from..].find(end).unwrap_or_else(|| panic!("no {end:?} after {start:?}"));
    &text[from..from + to]
}

#[test]
fn the_js_list_is_the_rust_table() {
    let js = read("src/js/errors.js");
    let object = section(&js, "export const ErrorCode = Object.freeze({", "});");
    let keys = names_between(object, "  ", |c| c == ':');
    let values = names_between(object, ": '", |c| c == '\'');
    assert_eq!(keys, rust_codes(), "keys of ErrorCode in src/js/errors.js");
    assert_eq!(values, rust_codes(), "values of ErrorCode in src/js/errors.js");
}

#[test]
fn the_typescript_union_is_the_rust_table() {
    let dts = read("types/index.d.ts");
    let union = section(&dts, "export type ErrorCodeName =", ";");
    assert_eq!(names_between(union, "| '", |c| c == '\''), rust_codes());
}

#[test]
fn every_code_the_js_shim_names_exists() {
    let known = rust_codes();
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/js")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for name in names_between(&text, "ErrorCode.", |c| !c.is_ascii_alphanumeric()) {
            assert!(known.contains(&name), "{} uses ErrorCode.{name}, which the table lacks", path.display());
        }
    }
}

#[test]
fn the_readme_lists_every_code() {
    let readme = read("README.md");
    let listed = section(&readme, "Every failure is a `Gguf64Error` with a stable", "\n\n");
    let named = names_between(listed, "`", |c| c == '`');
    assert_eq!(named, rust_codes(), "the codes listed in the README's API section");
}
