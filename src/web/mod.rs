//! The only wasm-bindgen code: handle types wrapping the core, and error conversion.
//!
//! Numbers crossing the boundary are `f64`: byte addresses and lengths stay below 2^53, and a JS
//! number is what the shim computes with (a `u64` would arrive as a BigInt).

mod error;
#[cfg(test)]
mod tests;

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::gguf::Limits;
use crate::loader::{LoadedFile, StreamLoad};

pub use error::js_error;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Which build this is: `"wasm64"` (memory64) or `"wasm32"` (the fallback).
#[wasm_bindgen(js_name = buildKind)]
pub fn build_kind() -> String {
    if cfg!(target_arch = "wasm64") { "wasm64" } else { "wasm32" }.to_string()
}

/// Converts a JS number to a byte count, rejecting fractions, negatives and NaN.
fn byte_count(what: &str, value: f64) -> Result<u64, JsValue> {
    let whole = value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < 2f64.powi(53);
    if whole { Ok(value as u64) } else { Err(error::bad_argument(what, value)) }
}

/// One GGUF file being streamed into this module's memory. The shim repeats `dest(n)` (an
/// address), writes `destLen` bytes there, and `commit`s them; then `finish()`.
#[wasm_bindgen]
pub struct StreamLoader {
    load: StreamLoad,
    dest_len: u64,
}

#[wasm_bindgen]
impl StreamLoader {
    /// `fileLen`: the length the source announces (Content-Length, `Blob.size`), if any.
    #[wasm_bindgen(constructor)]
    pub fn new(file_len: Option<f64>) -> Result<StreamLoader, JsValue> {
        let announced = file_len.map(|n| byte_count("fileLen", n)).transpose()?;
        Ok(StreamLoader { load: StreamLoad::new(announced, Limits::default()), dest_len: 0 })
    }

    /// The address in this module's memory where the next (at most `want`) file bytes go.
    pub fn dest(&mut self, want: f64) -> Result<f64, JsValue> {
        let want = byte_count("want", want)?;
        let slice = self.load.dest(want).map_err(error::load_error)?;
        self.dest_len = slice.len() as u64;
        Ok(slice.as_mut_ptr() as usize as f64)
    }

    /// How many bytes fit at the address the last `dest` returned.
    #[wasm_bindgen(getter, js_name = destLen)]
    pub fn dest_len(&self) -> f64 {
        self.dest_len as f64
    }

    /// Records that `n` bytes were written at the last `dest` address.
    pub fn commit(&mut self, n: f64) -> Result<(), JsValue> {
        let n = byte_count("n", n)?;
        self.load.commit(n).map_err(error::load_error)
    }

    /// Bytes committed so far.
    #[wasm_bindgen(getter)]
    pub fn received(&self) -> f64 {
        self.load.received() as f64
    }

    /// The file length the header implies, once the header is parsed (else `undefined`).
    #[wasm_bindgen(getter, js_name = expectedLen)]
    pub fn expected_len(&self) -> Option<f64> {
        self.load.expected_len().map(|n| n as f64)
    }

    /// Ends the stream: checks every announced byte arrived and returns the loaded model.
    pub fn finish(self) -> Result<Model, JsValue> {
        let file = self.load.finish().map_err(error::load_error)?;
        Ok(Model { file })
    }
}

/// A model whose file is completely in memory.
#[wasm_bindgen]
pub struct Model {
    file: LoadedFile,
}

#[wasm_bindgen]
impl Model {
    /// What the header says: `{ arch, nLayers, nTensors, fileBytes, dataOffset, dataBytes,
    /// ggufVersion, alignment, name }`.
    pub fn info(&self) -> Object {
        let h = &self.file.header;
        let obj = Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = Reflect::set(&obj, &k.into(), &v);
        };
        set("arch", h.architecture().map_or(JsValue::NULL, JsValue::from));
        set("name", h.metadata.get_str("general.name").map_or(JsValue::NULL, JsValue::from));
        set("nLayers", h.block_count().map_or(JsValue::NULL, |n| (n as f64).into()));
        set("nTensors", (h.tensors.len() as f64).into());
        set("fileBytes", (self.file.file_len as f64).into());
        set("dataOffset", (h.data_offset as f64).into());
        set("dataBytes", (h.data_len as f64).into());
        set("ggufVersion", h.version.into());
        set("alignment", (h.alignment as f64).into());
        obj
    }
}
