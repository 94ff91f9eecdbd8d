//! The JSON reports the JS shim parses (`inspect()`, `model.info`, progress events), checked
//! against Python `gguf`'s reading of the same file (tests/golden/<model>.json, written by
//! tools' gguf_golden.py): every metadata key with its scalar value or array length, every tensor's
//! type, shape and offset; strings with quotes, newlines and control bytes survive the writer.

#[path = "support/json.rs"]
mod json;
#[path = "support/models.rs"]
mod models;

use std::path::PathBuf;

use gguf64::gguf::parse_header;
use gguf64::memory::{PlanLimits, Target};
use gguf64::report;
use json::Json;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check(stem: &str) {
    let path = root().join(format!("models/{stem}.gguf"));
    let Ok(bytes) = std::fs::read(&path) else { return models::absent(&path) };
    let header = parse_header(&bytes, Some(bytes.len() as u64)).expect("header");
    let text = report::header(&header, &PlanLimits::for_target(Target::Wasm64)).to_string();
    let ours = Json::parse(&text);
    let golden = Json::parse(&std::fs::read_to_string(root().join(format!("tests/golden/{stem}.json"))).unwrap());

    assert_eq!(ours.get("ggufVersion").u64(), golden.get("version").u64());
    assert_eq!(ours.get("alignment").u64(), golden.get("alignment").u64());
    assert_eq!(ours.get("dataOffset").u64(), golden.get("data_offset").u64());
    assert_eq!(ours.get("fileBytes").u64(), golden.get("file_size").u64());

    let Json::Obj(metadata) = ours.get("metadata") else { panic!("metadata is not an object") };
    let want = golden.get("metadata").items();
    assert_eq!(metadata.len(), want.len());
    for (w, (key, value)) in want.iter().zip(metadata) {
        assert_eq!(key, w.get("key").str());
        match w.get("type").str() {
            "ARRAY" => {
                let count = w.get("count").u64() as usize;
                let len = match value {
                    Json::Arr(items) => items.len(),
                    long => long.get("count").u64() as usize,
                };
                assert_eq!(len, count, "{key}");
                if let (Json::Arr(items), Some(values)) = (value, w.find("values")) {
                    for (a, b) in items.iter().zip(values.items()) {
                        if let (Json::Str(a), Json::Str(b)) = (a, b) {
                            assert_eq!(a, b, "{key}");
                        }
                    }
                }
            }
            "STRING" => assert_eq!(value.str(), w.get("value").str(), "{key}"),
            "FLOAT32" | "FLOAT64" => assert_eq!(value.f64(), w.get("value").f64(), "{key}"),
            "BOOL" => assert_eq!(value.bool(), w.get("value").bool(), "{key}"),
            _ => assert_eq!(value.u64(), w.get("value").u64(), "{key}"),
        }
    }

    let tensors = ours.get("tensors").items();
    let want = golden.get("tensors").items();
    assert_eq!(tensors.len(), want.len());
    for (t, w) in tensors.iter().zip(want) {
        assert_eq!(t.get("name").str(), w.get("name").str());
        assert_eq!(t.get("type").str(), w.get("type").str());
        let shape: Vec<u64> = t.get("shape").items().iter().map(Json::u64).collect();
        let want_shape: Vec<u64> = w.get("shape").items().iter().map(Json::u64).collect();
        assert_eq!(shape, want_shape, "{}", w.get("name").str());
        assert_eq!(t.get("offset").u64(), w.get("offset").u64());
    }
    assert_eq!(ours.get("config").get("nLayers").u64(), ours.get("nLayers").u64());
    assert_eq!(ours.get("layout").get("kind").str(), "standard");
}

#[test]
fn smollm2_header_report_matches_python_gguf() {
    check("SmolLM2-135M-Instruct.Q4_1");
}

#[test]
fn gemma3_header_report_matches_python_gguf() {
    check("gemma-3-270m-q4_k_m");
}

#[test]
fn strings_with_quotes_and_control_bytes_survive() {
    let s = "a \"quoted\" \\ line\nand\ttab\u{1}\u{7f} é ▁";
    let text = report::Json::Arr(vec![s.into(), report::Json::Float(f64::NAN), 1.5e-7.into()]).to_string();
    let back = Json::parse(&text);
    assert_eq!(back.items()[0].str(), s);
    assert!(matches!(back.items()[1], Json::Null));
    assert_eq!(back.items()[2].f64(), 1.5e-7);
}
