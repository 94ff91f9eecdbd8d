//! Header-parse benchmark hook for `tools/bench-parse.mjs`; not part of the loading API.
//!
//! Rust has no clock here without importing one, so the page does the timing: `new
//! HeaderBench(bytes, fileLen)` copies the header bytes into this module's memory once (the
//! page times that copy on its own), then each `parse()` is timed with `performance.now()` and
//! measures parsing alone, the same work as the native `parse_bench`.

use wasm_bindgen::prelude::*;

use super::{byte_count, error};
use crate::gguf::parse_header;
use crate::loader::LoadError;

/// A file prefix held in wasm memory, parsed on demand.
#[wasm_bindgen]
pub struct HeaderBench {
    bytes: Vec<u8>,
    file_len: Option<u64>,
}

#[wasm_bindgen]
impl HeaderBench {
    /// Copies `bytes` (the file's first bytes, enough to hold the header) into wasm memory.
    /// `fileLen` is the whole file's length, if known, so the layout checks run as in a load.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: Vec<u8>, file_len: Option<f64>) -> Result<HeaderBench, JsValue> {
        let file_len = file_len.map(|n| byte_count("fileLen", n)).transpose()?;
        Ok(HeaderBench { bytes, file_len })
    }

    /// Parses the header (metadata and tensor infos) once; returns the tensor count.
    pub fn parse(&self) -> Result<f64, JsValue> {
        let header = parse_header(&self.bytes, self.file_len)
            .map_err(|e| error::load_error(LoadError::Gguf(e)))?;
        Ok(header.tensors.len() as f64)
    }
}
