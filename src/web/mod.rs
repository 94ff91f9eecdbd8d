//! The wasm-bindgen boundary, and nothing else: handles around the core (`StreamLoader` around
//! `loader::StreamLoad`, `Model` around `engine::Engine`, `HeaderInspector` around the header
//! parser), argument conversion (`options`) and the one error mapping (`error`).
//!
//! Numbers crossing the boundary are `f64`: byte addresses and lengths stay below 2^53, and a JS
//! number is what the shim computes with (a `u64` would arrive as a BigInt).

#[cfg(feature = "bench")]
mod bench;
mod error;
mod inspect;
mod model;
mod options;
mod shards;
#[cfg(test)]
mod tests;

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::gguf::Limits;
use crate::loader::{Dest, StreamLoad};

pub use error::js_error;
pub use model::Model;
pub use shards::ShardRouter;

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Which build this is: `"wasm64"` (memory64) or `"wasm32"` (the fallback).
#[wasm_bindgen(js_name = buildKind)]
pub fn build_kind() -> String {
    if cfg!(target_arch = "wasm64") { "wasm64" } else { "wasm32" }.to_string()
}

/// Every error code (`error_code::ErrorCode`), for the shim's check of its own list.
#[wasm_bindgen(js_name = errorCodes)]
pub fn error_codes() -> Vec<String> {
    crate::error_code::ErrorCode::ALL.iter().map(|c| c.as_str().to_string()).collect()
}

/// The multi-memory bridge module for `storage` storage memories (see `memory::bridge`).
#[wasm_bindgen(js_name = bridgeModule)]
pub fn bridge_module(storage: u32) -> Vec<u8> {
    crate::memory::bridge::bridge_module(storage)
}

/// A plain object of `fields`.
fn object(fields: &[(&str, JsValue)]) -> Object {
    let obj = Object::new();
    for (key, value) in fields {
        let _ = Reflect::set(&obj, &(*key).into(), value);
    }
    obj
}

fn byte_count(what: &str, value: f64) -> Result<u64, JsValue> {
    options::whole(what, value)
}

/// One GGUF file (or split model) being streamed into memory. The shim repeats `dest(n)` (an
/// address in memory `destMemory`), writes `destLen` bytes there, and `commit`s them (which
/// returns how many were kept: the rest is offered again); then `finish()`. Methods taking a
/// `part` name a part of a split model (0 for a single file).
#[wasm_bindgen]
pub struct StreamLoader {
    load: StreamLoad,
    dest_len: u64,
    dest_memory: u32,
}

#[wasm_bindgen]
impl StreamLoader {
    /// `fileLen`: the length the source announces (Content-Length, `Blob.size`), if any;
    /// `plan`: `{ shardCap, memoryBudget, layout, workingSetLayers }` (see `options::plan_limits`).
    #[wasm_bindgen(constructor)]
    pub fn new(file_len: Option<f64>, plan: &JsValue) -> Result<StreamLoader, JsValue> {
        let announced = file_len.map(|n| byte_count("fileLen", n)).transpose()?;
        let load = StreamLoad::new(announced, Limits::default(), options::plan_limits(plan)?);
        Ok(StreamLoader { load, dest_len: 0, dest_memory: 0 })
    }

    /// A model split into `parts` files, given in order.
    pub fn split(parts: u32, plan: &JsValue) -> Result<StreamLoader, JsValue> {
        let announced = vec![None; parts.max(1) as usize];
        let load = StreamLoad::split(&announced, Limits::default(), options::plan_limits(plan)?);
        Ok(StreamLoader { load, dest_len: 0, dest_memory: 0 })
    }

    /// The next file byte part `part` expects.
    pub fn position(&self, part: u32) -> f64 {
        self.load.position(part as usize) as f64
    }

    #[wasm_bindgen(js_name = headerComplete)]
    pub fn header_complete(&self, part: u32) -> bool {
        self.load.header_complete(part as usize)
    }

    /// Where the next (at most `want`) bytes of part `part` go: an address in this module's
    /// memory when `destMemory` is 0, else an offset in storage memory `destMemory`.
    pub fn dest(&mut self, want: f64, part: u32) -> Result<f64, JsValue> {
        let want = byte_count("want", want)?;
        let (memory, at, len) = match self.load.dest(part as usize, want).map_err(error::load_error)? {
            Dest::Bytes(slice) => (0, slice.as_mut_ptr() as usize as u64, slice.len() as u64),
            Dest::Storage { memory, offset, len } => (memory, offset, len),
        };
        self.dest_memory = memory;
        self.dest_len = len;
        Ok(at as f64)
    }

    #[wasm_bindgen(getter, js_name = destLen)]
    pub fn dest_len(&self) -> f64 {
        self.dest_len as f64
    }

    #[wasm_bindgen(getter, js_name = destMemory)]
    pub fn dest_memory(&self) -> u32 {
        self.dest_memory
    }

    /// Makes `finish` fail with code INTEGRITY unless part `part`'s SHA-256 is `hex`.
    #[wasm_bindgen(js_name = verifySha256)]
    pub fn verify_sha256(&mut self, hex: &str, part: u32) -> Result<(), JsValue> {
        let digest = crate::digest::parse_hex(hex).ok_or_else(|| error::invalid(&format!("\"{hex}\" is not a SHA-256 (64 hex digits)")))?;
        self.load.verify_sha256(part as usize, digest);
        Ok(())
    }

    /// Whether bytes part `part` writes to storage memories must be passed to `hashStoragePiece`.
    #[wasm_bindgen(js_name = hashesStorage)]
    pub fn hashes_storage(&self, part: u32) -> bool {
        self.load.hashes_storage(part as usize)
    }

    /// The bytes just written to a storage memory at part `part`'s last `dest` (before `commit`).
    #[wasm_bindgen(js_name = hashStoragePiece)]
    pub fn hash_storage_piece(&mut self, bytes: &[u8], part: u32) {
        self.load.hash_storage_piece(part as usize, bytes);
    }

    /// Records that `n` bytes were written at part `part`'s last `dest`; returns how many were kept.
    pub fn commit(&mut self, n: f64, part: u32) -> Result<f64, JsValue> {
        let n = byte_count("n", n)?;
        self.load.commit(part as usize, n).map(|kept| kept as f64).map_err(error::load_error)
    }

    #[wasm_bindgen(getter)]
    pub fn received(&self) -> f64 {
        self.load.received() as f64
    }

    /// The file length the header implies, once the header is parsed.
    #[wasm_bindgen(getter, js_name = expectedLen)]
    pub fn expected_len(&self) -> Option<f64> {
        self.load.expected_len().map(|n| n as f64)
    }

    /// The layout as JSON (`report::layout`), once the header is parsed.
    pub fn layout(&self) -> Option<String> {
        self.load.placed().map(|p| crate::report::layout(&p.plan).to_string())
    }

    /// Groups registered since the last call, as a JSON array of `report::group`.
    #[wasm_bindgen(js_name = takeRegistered)]
    pub fn take_registered(&mut self) -> String {
        let ids = self.load.take_completed();
        let placed = self.load.placed();
        crate::report::Json::Arr(ids.into_iter().filter_map(|id| placed?.registry.get(id)).map(crate::report::group).collect()).to_string()
    }

    /// Ends the stream: checks every announced byte arrived and returns the loaded model.
    pub fn finish(self) -> Result<Model, JsValue> {
        self.load.finish().map(Model::new).map_err(error::load_error)
    }
}
