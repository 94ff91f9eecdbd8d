//! The one place where Rust errors become JS errors: an `Error` with a stable `code` and, where
//! known, the byte `offset` the problem is at.

use js_sys::{Error, Reflect};
use wasm_bindgen::JsValue;

use crate::loader::LoadError;

/// Builds `new Error(message)` with `name = "Gguf64Error"`, `code` and any extra numeric fields.
pub fn js_error(code: &str, message: &str, fields: &[(&str, f64)]) -> JsValue {
    let err = Error::new(message);
    err.set_name("Gguf64Error");
    let obj: &JsValue = err.as_ref();
    let _ = Reflect::set(obj, &"code".into(), &code.into());
    for (key, value) in fields {
        let _ = Reflect::set(obj, &(*key).into(), &(*value).into());
    }
    err.into()
}

/// Converts a load error, keeping its code, the byte offset it names and, for a malformed
/// header, the precise `reason` (the parser's error kind, e.g. `"TensorOutOfBounds"`).
pub fn load_error(e: LoadError) -> JsValue {
    let offset = match &e {
        LoadError::Gguf(g) => Some(g.offset()),
        LoadError::Truncated { received, .. } => Some(*received),
        LoadError::TrailingBytes { offset, .. } => Some(*offset),
        _ => None,
    };
    let fields: Vec<(&str, f64)> = offset.map(|o| ("offset", o as f64)).into_iter().collect();
    let err = js_error(e.code(), &e.to_string(), &fields);
    if let LoadError::Gguf(g) = &e {
        let _ = Reflect::set(&err, &"reason".into(), &g.kind().into());
    }
    err
}

/// A caller passed a number that is not a usable byte count.
pub fn bad_argument(what: &str, value: f64) -> JsValue {
    js_error("INVALID_ARGUMENT", &format!("{what} must be a whole number of bytes, got {value}"), &[])
}
