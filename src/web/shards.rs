//! `ShardRouter` for JS: the leader of a tensor-parallel load pushes the whole file's bytes in
//! order and takes each shard's file bytes for its own loader and for each worker's.

use wasm_bindgen::prelude::*;

use super::{byte_count, error};
use crate::digest::{Sha256, parse_hex};
use crate::loader::LoadError;
use crate::parallel;

/// Splits one pass over a GGUF file into the files of up to `wanted` shards (see
/// `crate::parallel::router`), hashing the whole file on the way when asked to.
#[wasm_bindgen]
pub struct ShardRouter {
    router: parallel::ShardRouter,
    hash: Option<(Sha256, [u8; 32])>,
}

#[wasm_bindgen]
impl ShardRouter {
    #[wasm_bindgen(constructor)]
    pub fn new(wanted: u32, file_len: Option<f64>) -> Result<ShardRouter, JsValue> {
        let file_len = file_len.map(|n| byte_count("fileLen", n)).transpose()?;
        Ok(ShardRouter { router: parallel::ShardRouter::new(wanted as usize, file_len), hash: None })
    }

    /// Checks the whole file against `hex` (its SHA-256) when `finish` is called.
    #[wasm_bindgen(js_name = verifySha256)]
    pub fn verify_sha256(&mut self, hex: &str) -> Result<(), JsValue> {
        let digest = parse_hex(hex).ok_or_else(|| error::invalid(&format!("\"{hex}\" is not a SHA-256 (64 hex digits)")))?;
        self.hash = Some((Sha256::new(), digest));
        Ok(())
    }

    /// The next bytes of the whole file.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), JsValue> {
        if let Some((h, _)) = &mut self.hash {
            h.update(bytes);
        }
        self.router.push(bytes).map_err(|e| error::js_error(e.code(), &e.to_string(), &[]))
    }

    /// Floats of the largest result the shards gather, once the header is complete.
    #[wasm_bindgen(js_name = gatherFloats)]
    pub fn gather_floats(&self) -> Option<f64> {
        self.router.gather_floats().map(|n| n as f64)
    }

    /// Shards, once the header is complete.
    pub fn count(&self) -> Option<u32> {
        self.router.count().map(|n| n as u32)
    }

    /// Length of shard `shard`'s file, once known.
    #[wasm_bindgen(js_name = fileLen)]
    pub fn file_len(&self, shard: u32) -> Option<f64> {
        self.router.file_len(shard as usize).map(|n| n as f64)
    }

    /// Shard `shard`'s bytes routed since the last call.
    pub fn take(&mut self, shard: u32) -> Vec<u8> {
        self.router.take(shard as usize)
    }

    /// Ends the pass: every shard must have its whole file, and the hash (if asked for) match.
    pub fn finish(&mut self) -> Result<(), JsValue> {
        if let Some((h, expected)) = self.hash.take() {
            let found = h.finish_hex();
            let expected = crate::digest::to_hex(&expected);
            if found != expected {
                return Err(error::load_error(LoadError::DigestMismatch { expected, found }));
            }
        }
        if self.router.count().is_some_and(|n| n > 1) && !self.router.complete() {
            return Err(error::js_error(crate::error_code::ErrorCode::Truncated, "the file ended before every shard had its part", &[]));
        }
        Ok(())
    }
}
