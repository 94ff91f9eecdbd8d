//! Parses the real models in `models/` and compares every metadata pair and every tensor info
//! with golden JSON written by Python `gguf` (`tools/golden/gguf_golden.py`). A test is skipped, with a
//! notice, only when its model file is absent and models are not required (`npm test` requires
//! them).

#[path = "support/models.rs"]
mod models;

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use gguf64::gguf::{Array, Header, HeaderParser, Limits, Step, Value, parse_header};

#[path = "support/json.rs"]
mod json;
use json::Json;

const SMOLLM: &str = "SmolLM2-135M-Instruct.Q4_1";
const GEMMA: &str = "gemma-3-270m-q4_k_m";

#[test]
fn smollm2_matches_golden() {
    check_model(SMOLLM);
}

#[test]
fn gemma3_matches_golden() {
    check_model(GEMMA);
}

/// Feeding the Gemma header (6.5 MB, a 262k-entry vocabulary) in 64 KiB steps gives the same
/// header as one-shot parsing, and the parser scans each byte a bounded number of times.
#[test]
fn gemma3_in_64k_steps_is_linear() {
    let Some((prefix, file_len)) = read_header_prefix(GEMMA) else {
        return;
    };
    let one_shot = parse_header(&prefix, Some(file_len)).expect("one-shot parse");
    let mut parser = HeaderParser::new(Limits::default());
    let (mut fed, mut calls) = (0usize, 0u32);
    let header = loop {
        fed = (fed + (64 << 10)).min(prefix.len());
        calls += 1;
        match parser.advance(&prefix[..fed], Some(file_len)).expect("advance") {
            Step::Done(h) => break h,
            Step::NeedMore { total } => assert!(fed < prefix.len() && total > fed as u64),
        }
    };
    assert_eq!(header, one_shot);
    let (end, scanned) = (one_shot.tensor_info_end, parser.bytes_scanned());
    // Re-parsing from the start on every chunk would scan ~n^2 / 128 KiB (about 50 n here).
    assert!(scanned <= 4 * end, "scanned {scanned} bytes for a {end}-byte header in {calls} calls");
}

// ---- reading models -------------------------------------------------------------------------

fn model_path(name: &str, ext: &str) -> PathBuf {
    let dir = if ext == "gguf" { "models" } else { "tests/golden" };
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir).join(format!("{name}.{ext}"))
}

/// Reads the file start in 1 MiB chunks until the incremental parser is done; returns the
/// bytes read and the file length, or `None` (with a notice) if the model is absent.
fn read_header_prefix(name: &str) -> Option<(Vec<u8>, u64)> {
    let path = model_path(name, "gguf");
    let Ok(mut file) = File::open(&path) else {
        models::absent(&path);
        return None;
    };
    let file_len = file.metadata().expect("metadata").len();
    let mut parser = HeaderParser::new(Limits::default());
    let mut prefix = Vec::new();
    loop {
        if let Step::Done(_) = parser.advance(&prefix, Some(file_len)).expect("advance") {
            return Some((prefix, file_len));
        }
        let mut chunk = vec![0; 1 << 20];
        let n = file.read(&mut chunk).expect("read");
        assert!(n > 0, "file ended before the header did");
        prefix.extend_from_slice(&chunk[..n]);
    }
}

fn check_model(name: &str) {
    let Some((prefix, file_len)) = read_header_prefix(name) else {
        return;
    };
    let header = parse_header(&prefix, Some(file_len)).expect("parse");
    let text = std::fs::read_to_string(model_path(name, "json")).expect("golden json");
    let golden = Json::parse(&text);
    assert_eq!(golden.get("file_size").u64(), file_len);
    assert_eq!(u64::from(header.version), golden.get("version").u64());
    assert_eq!(header.alignment, golden.get("alignment").u64());
    assert_eq!(header.data_offset, golden.get("data_offset").u64());
    assert!(header.file_len() <= file_len);
    check_metadata(&header, golden.get("metadata").items());
    check_tensors(&header, golden.get("tensors").items());
}

// ---- comparing with the golden JSON -----------------------------------------------------------

fn check_metadata(header: &Header, golden: &[Json]) {
    assert_eq!(header.metadata.len(), golden.len(), "metadata count");
    for ((key, value), g) in header.metadata.iter().zip(golden) {
        assert_eq!(key, g.get("key").str());
        assert_eq!(type_name(value), g.get("type").str(), "{key}");
        match value {
            Value::Array(a) => check_array(key, a, g),
            v => assert!(scalar_eq(v, g.get("value")), "{key}: {v:?} != {:?}", g.get("value")),
        }
    }
}

fn check_array(key: &str, a: &Array, g: &Json) {
    assert_eq!(elem_type_name(a), g.get("elem_type").str(), "{key}");
    let n = a.len();
    assert_eq!(n as u64, g.get("count").u64(), "{key}");
    if let Some(values) = g.find("values") {
        let values = values.items();
        assert_eq!(values.len(), n, "{key}");
        (0..n).for_each(|i| assert!(scalar_eq(&element(a, i), &values[i]), "{key}[{i}]"));
        return;
    }
    let mut canon = Vec::new();
    canonical(a, &mut canon);
    assert_eq!(sha256_hex(&canon), g.get("sha256").str(), "{key}: sha256");
    for (i, j) in (0..3).zip(g.get("head").items()) {
        assert!(scalar_eq(&element(a, i), j), "{key}[{i}]");
    }
    for (i, j) in (n - 3..n).zip(g.get("tail").items()) {
        assert!(scalar_eq(&element(a, i), j), "{key}[{i}]");
    }
}

fn check_tensors(header: &Header, golden: &[Json]) {
    assert_eq!(header.tensors.len(), golden.len(), "tensor count");
    for (t, g) in header.tensors.iter().zip(golden) {
        assert_eq!(t.name, g.get("name").str());
        assert_eq!(t.ggml_type.name(), g.get("type").str(), "{}", t.name);
        let shape: Vec<u64> = g.get("shape").items().iter().map(Json::u64).collect();
        assert_eq!(t.dims, shape, "{}", t.name);
        assert_eq!(t.n_elements, shape.iter().product::<u64>(), "{}", t.name);
        assert_eq!(t.offset, g.get("offset").u64(), "{}", t.name);
        assert_eq!(t.n_bytes, g.get("n_bytes").u64(), "{}", t.name);
    }
}

/// Python `gguf`'s name for a value type.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::U8(_) => "UINT8",
        Value::I8(_) => "INT8",
        Value::U16(_) => "UINT16",
        Value::I16(_) => "INT16",
        Value::U32(_) => "UINT32",
        Value::I32(_) => "INT32",
        Value::U64(_) => "UINT64",
        Value::I64(_) => "INT64",
        Value::F32(_) => "FLOAT32",
        Value::F64(_) => "FLOAT64",
        Value::Bool(_) => "BOOL",
        Value::String(_) => "STRING",
        Value::Array(_) => "ARRAY",
    }
}

fn elem_type_name(a: &Array) -> &'static str {
    match a {
        Array::Array(_) => "ARRAY",
        _ => type_name(&element(a, 0)),
    }
}

/// Element `i` as a scalar `Value` (an empty string stands in for a missing one).
fn element(a: &Array, i: usize) -> Value {
    let pick = |o: Option<Value>| o.unwrap_or(Value::String(String::new()));
    pick(match a {
        Array::U8(v) => v.get(i).map(|&x| Value::U8(x)),
        Array::I8(v) => v.get(i).map(|&x| Value::I8(x)),
        Array::U16(v) => v.get(i).map(|&x| Value::U16(x)),
        Array::I16(v) => v.get(i).map(|&x| Value::I16(x)),
        Array::U32(v) => v.get(i).map(|&x| Value::U32(x)),
        Array::I32(v) => v.get(i).map(|&x| Value::I32(x)),
        Array::U64(v) => v.get(i).map(|&x| Value::U64(x)),
        Array::I64(v) => v.get(i).map(|&x| Value::I64(x)),
        Array::F32(v) => v.get(i).map(|&x| Value::F32(x)),
        Array::F64(v) => v.get(i).map(|&x| Value::F64(x)),
        Array::Bool(v) => v.get(i).map(|&x| Value::Bool(x)),
        Array::String(v) => v.get(i).map(|s| Value::String(s.to_owned())),
        Array::Array(v) => v.get(i).map(|x| Value::Array(x.clone())),
    })
}

fn scalar_eq(v: &Value, j: &Json) -> bool {
    match (v, j) {
        (Value::F32(x), Json::Num(n)) => n.parse::<f64>().ok() == Some(f64::from(*x)),
        (Value::F64(x), Json::Num(n)) => n.parse::<f64>().ok() == Some(*x),
        (Value::Bool(x), Json::Bool(b)) => x == b,
        (Value::String(s), Json::Str(t)) => s == t,
        (Value::Array(_), _) => false,
        (v, Json::Num(n)) => {
            v.as_i64().map(|x| x.to_string()).or(v.as_u64().map(|x| x.to_string())).as_deref()
                == Some(n)
        }
        _ => false,
    }
}

/// The canonical serialisation `tools/golden/gguf_golden.py` hashes: the elements' own GGUF encoding.
fn canonical(a: &Array, out: &mut Vec<u8>) {
    match a {
        Array::U8(v) => out.extend(v),
        Array::I8(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        Array::U16(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        Array::I16(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        Array::U32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        Array::I32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        Array::U64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        Array::I64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        Array::F32(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        Array::F64(v) => v.iter().for_each(|x| out.extend(x.to_le_bytes())),
        Array::Bool(v) => v.iter().for_each(|&x| out.push(u8::from(x))),
        Array::String(v) => v.iter().for_each(|s| {
            out.extend((s.len() as u64).to_le_bytes());
            out.extend(s.as_bytes());
        }),
        Array::Array(v) => v.iter().for_each(|inner| {
            out.extend(inner.elem_type().id().to_le_bytes());
            out.extend((inner.len() as u64).to_le_bytes());
            canonical(inner, out);
        }),
    }
}

/// SHA-256 as hex, through the crate's own implementation (`digest::Sha256`, tested against the
/// FIPS 180-4 vectors in its module).
fn sha256_hex(data: &[u8]) -> String {
    let mut h = gguf64::digest::Sha256::new();
    h.update(data);
    h.finish_hex()
}
