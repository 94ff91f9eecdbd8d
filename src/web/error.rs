//! The one place where Rust errors become JS errors: an `Error` named `Gguf64Error` with a `code`
//! from the table in `error_code` and, where known, the byte `offset` the problem is at and the
//! parser's precise `reason`.

use js_sys::{Error, Reflect};
use wasm_bindgen::JsValue;

use crate::engine::EngineError;
use crate::error_code::ErrorCode;
use crate::loader::LoadError;

/// Builds `new Error(message)` with `name = "Gguf64Error"`, `code` and extra fields.
pub fn js_error(code: ErrorCode, message: &str, fields: &[(&str, JsValue)]) -> JsValue {
    let err = Error::new(message);
    err.set_name("Gguf64Error");
    let obj: &JsValue = err.as_ref();
    let _ = Reflect::set(obj, &"code".into(), &code.as_str().into());
    for (key, value) in fields {
        let _ = Reflect::set(obj, &(*key).into(), value);
    }
    err.into()
}

/// A caller passed something unusable.
pub fn invalid(message: &str) -> JsValue {
    js_error(ErrorCode::InvalidArgument, message, &[])
}

pub fn load_error(e: LoadError) -> JsValue {
    let offset = match &e {
        LoadError::Gguf(g) => Some(g.offset()),
        LoadError::Truncated { received, .. } => Some(*received),
        LoadError::TrailingBytes { offset, .. } => Some(*offset),
        LoadError::Read { offset, .. } => Some(*offset),
        _ => None,
    };
    let mut fields: Vec<(&str, JsValue)> = offset.map(|o| ("offset", JsValue::from(o as f64))).into_iter().collect();
    if let LoadError::Gguf(g) = &e {
        fields.push(("reason", g.kind().into()));
    }
    js_error(e.code(), &e.to_string(), &fields)
}

pub fn engine_error(e: EngineError) -> JsValue {
    js_error(e.code(), &e.to_string(), &[])
}
