//! The only wasm-bindgen code: handle types wrapping the core, and error conversion.
//!
//! Numbers crossing the boundary are `f64`: byte addresses and lengths stay below 2^53, and a JS
//! number is what the shim computes with (a `u64` would arrive as a BigInt).

mod bench;
mod error;
mod infer;
mod inspect;
mod report;
#[cfg(test)]
mod tests;

use js_sys::{Array, Function, Object, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::gguf::Limits;
use crate::loader::{Dest, LoadedModel, StreamLoad};
use crate::memory::pager::{Access, Pager};
use crate::memory::{GroupId, LayoutKind, PlanLimits, Target};

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

/// The multi-memory bridge module for `storage` storage memories (see `memory::bridge`).
#[wasm_bindgen(js_name = bridgeModule)]
pub fn bridge_module(storage: u32) -> Vec<u8> {
    crate::memory::bridge::bridge_module(storage)
}

/// Converts a JS number to a byte count, rejecting fractions, negatives and NaN.
fn byte_count(what: &str, value: f64) -> Result<u64, JsValue> {
    let whole = value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value < 2f64.powi(53);
    if whole { Ok(value as u64) } else { Err(error::bad_argument(what, value)) }
}

/// The plan limits of this build, with the caller's overrides.
fn plan_limits(shard_cap: Option<f64>, budget: Option<f64>, layout: Option<String>, working_set: Option<u32>) -> Result<PlanLimits, JsValue> {
    let target = if cfg!(target_arch = "wasm64") { Target::Wasm64 } else { Target::Wasm32 };
    let mut limits = PlanLimits::for_target(target);
    if let Some(cap) = shard_cap {
        limits.shard_cap = byte_count("shardCap", cap)?.min(limits.shard_cap);
    }
    limits.layer_budget = budget.map(|b| byte_count("memoryBudget", b)).transpose()?;
    limits.working_set_layers = working_set.map(|n| n as usize);
    limits.force = match layout.as_deref() {
        None | Some("auto") => None,
        Some(name) => Some(LayoutKind::from_name(name).ok_or_else(|| {
            js_error("INVALID_ARGUMENT", &format!("unknown layout \"{name}\" (auto, standard, memory64, paged, multi)"), &[])
        })?),
    };
    Ok(limits)
}

/// One GGUF file being streamed into memory. The shim repeats `dest(n)` (an address in memory
/// `destMemory`), writes `destLen` bytes there, and `commit`s them (which returns how many were
/// kept: the rest is offered again); then `finish()`.
#[wasm_bindgen]
pub struct StreamLoader {
    load: StreamLoad,
    dest_len: u64,
    dest_memory: u32,
}

#[wasm_bindgen]
impl StreamLoader {
    /// `fileLen`: the length the source announces (Content-Length, `Blob.size`), if any.
    /// `shardCap`, `memoryBudget`, `layout`: MemoryPlan settings (see `PlanLimits`).
    #[wasm_bindgen(constructor)]
    pub fn new(file_len: Option<f64>, shard_cap: Option<f64>, memory_budget: Option<f64>, layout: Option<String>, working_set: Option<u32>) -> Result<StreamLoader, JsValue> {
        let announced = file_len.map(|n| byte_count("fileLen", n)).transpose()?;
        let limits = plan_limits(shard_cap, memory_budget, layout, working_set)?;
        Ok(StreamLoader { load: StreamLoad::new(announced, Limits::default(), limits), dest_len: 0, dest_memory: 0 })
    }

    /// A model split into `parts` files (given in order); every method then names its part.
    pub fn split(parts: u32, shard_cap: Option<f64>, memory_budget: Option<f64>, layout: Option<String>, working_set: Option<u32>) -> Result<StreamLoader, JsValue> {
        let limits = plan_limits(shard_cap, memory_budget, layout, working_set)?;
        let announced = vec![None; parts.max(1) as usize];
        Ok(StreamLoader { load: StreamLoad::split(&announced, Limits::default(), limits), dest_len: 0, dest_memory: 0 })
    }

    /// The next file byte part `part` expects (where its stream stands).
    pub fn position(&self, part: Option<u32>) -> f64 {
        self.load.position(part.unwrap_or(0) as usize) as f64
    }

    /// Whether part `part`'s header is parsed.
    #[wasm_bindgen(js_name = headerComplete)]
    pub fn header_complete(&self, part: Option<u32>) -> bool {
        self.load.header_complete(part.unwrap_or(0) as usize)
    }

    /// Where the next (at most `want`) bytes of part `part` go: an address in this module's
    /// memory when `destMemory` is 0, else an offset in storage memory `destMemory`.
    pub fn dest(&mut self, want: f64, part: Option<u32>) -> Result<f64, JsValue> {
        let want = byte_count("want", want)?;
        let (memory, at, len) = match self.load.dest(part.unwrap_or(0) as usize, want).map_err(error::load_error)? {
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
    pub fn verify_sha256(&mut self, hex: &str, part: Option<u32>) -> Result<(), JsValue> {
        let digest = parse_sha256(hex).ok_or_else(|| js_error("INVALID_ARGUMENT", &format!("\"{hex}\" is not a SHA-256 (64 hex digits)"), &[]))?;
        self.load.verify_sha256(part.unwrap_or(0) as usize, digest);
        Ok(())
    }

    /// Whether bytes part `part` writes to storage memories must be passed to `hashStoragePiece`.
    #[wasm_bindgen(js_name = hashesStorage)]
    pub fn hashes_storage(&self, part: Option<u32>) -> bool {
        self.load.hashes_storage(part.unwrap_or(0) as usize)
    }

    /// The bytes just written to a storage memory at part `part`'s last `dest` (before `commit`).
    #[wasm_bindgen(js_name = hashStoragePiece)]
    pub fn hash_storage_piece(&mut self, bytes: &[u8], part: Option<u32>) {
        self.load.hash_storage_piece(part.unwrap_or(0) as usize, bytes);
    }

    /// Records that `n` bytes were written at part `part`'s last `dest`; returns how many were kept.
    pub fn commit(&mut self, n: f64, part: Option<u32>) -> Result<f64, JsValue> {
        let n = byte_count("n", n)?;
        self.load.commit(part.unwrap_or(0) as usize, n).map(|kept| kept as f64).map_err(error::load_error)
    }

    #[wasm_bindgen(getter)]
    pub fn received(&self) -> f64 {
        self.load.received() as f64
    }

    /// The file length the header implies, once the header is parsed (else `undefined`).
    #[wasm_bindgen(getter, js_name = expectedLen)]
    pub fn expected_len(&self) -> Option<f64> {
        self.load.expected_len().map(|n| n as f64)
    }

    /// The layout, once the header is parsed (else `undefined`): see `report::layout`.
    pub fn layout(&self) -> Option<Object> {
        self.load.placed().map(|p| report::layout(&p.plan))
    }

    /// Groups registered since the last call: `[{ kind, layer, bytes, memory, offset }]`.
    #[wasm_bindgen(js_name = takeRegistered)]
    pub fn take_registered(&mut self) -> Array {
        let ids = self.load.take_completed();
        let out = Array::new();
        if let Some(p) = self.load.placed() {
            for id in ids {
                if let Some(g) = p.registry.get(id) {
                    out.push(&report::group(g));
                }
            }
        }
        out
    }

    /// Ends the stream: checks every announced byte arrived and returns the loaded model.
    pub fn finish(self) -> Result<Model, JsValue> {
        let loaded = self.load.finish().map_err(error::load_error)?;
        let pager = loaded.placed.plan.working_set.map(Pager::new);
        Ok(Model { loaded, pager, inference: None, copy_in: None })
    }
}

/// A model whose file is completely in memory.
#[wasm_bindgen]
pub struct Model {
    loaded: LoadedModel,
    /// The working set of a paged layout (`None` when every layer is resident).
    pager: Option<Pager>,
    /// Tokenizer, tensor index, context and generation, made on first use.
    inference: Option<infer::Inference>,
    /// Copies a layer from a storage memory into the main memory (set by the JS shim).
    copy_in: Option<Function>,
}

#[wasm_bindgen]
impl Model {
    /// What the header and the plan say: see `report::model_info`.
    pub fn info(&self) -> Object {
        report::model_info(&self.loaded)
    }

    /// The seed's report of the model and its memory: size and quantization, layers, hidden
    /// size, vocabulary, the layout and where every group lives.
    pub fn summary(&self) -> String {
        let placed = &self.loaded.placed;
        let config = crate::model::ModelConfig::from_header(placed.header()).ok();
        let dominant = crate::memory::summary::dominant_type(placed.parts.iter().flat_map(|h| &h.tensors));
        crate::memory::summary::summary(&placed.plan, config.as_ref(), dominant)
    }

    /// Makes layer `layer` usable from the main memory and pins it until `releaseLayer`. Returns
    /// `{ hit, address, bytes, copy }`: `address` is where the layer's block starts in this module's
    /// memory; `copy`, on a miss, is `{ memory, src, dst, len }`, the bytes the host must copy
    /// from storage memory `memory` (through the bridge) before the layer is used. A resident
    /// layout answers hits at the layer's home.
    #[wasm_bindgen(js_name = acquireLayer)]
    pub fn acquire_layer(&mut self, layer: u32) -> Result<Object, JsValue> {
        let placed = &self.loaded.placed;
        let home = placed.plan.placement(GroupId::Layer(layer)).ok_or_else(|| js_error("INVALID_ARGUMENT", &format!("no layer {layer}"), &[]))?;
        let base = placed.main.as_slice().as_ptr() as usize as u64;
        let obj = Object::new();
        let put = |k: &str, v: JsValue| {
            let _ = js_sys::Reflect::set(&obj, &k.into(), &v);
        };
        put("bytes", (home.bytes as f64).into());
        match (&mut self.pager, home.home.memory) {
            (_, 0) => {
                put("hit", true.into());
                put("address", ((base + home.home.offset) as f64).into());
            }
            (Some(pager), memory) => {
                let access = pager.acquire(layer, home.bytes).map_err(|e| js_error("INTERNAL", &e.to_string(), &[]))?;
                let dst = base + pager.slot_offset(access.slot());
                put("hit", matches!(access, Access::Hit { .. }).into());
                put("address", (dst as f64).into());
                if let Access::Miss { .. } = access {
                    let copy = Object::new();
                    for (k, v) in [("memory", f64::from(memory)), ("src", home.home.offset as f64), ("dst", dst as f64), ("len", home.bytes as f64)] {
                        let _ = js_sys::Reflect::set(&copy, &k.into(), &v.into());
                    }
                    put("copy", copy.into());
                }
            }
            (None, _) => return Err(js_error("INTERNAL", "a layer lives in storage but the layout has no working set", &[])),
        }
        Ok(obj)
    }

    /// Unpins layer `layer` (its slot may be reused).
    #[wasm_bindgen(js_name = releaseLayer)]
    pub fn release_layer(&mut self, layer: u32) {
        if let Some(p) = &mut self.pager {
            p.release(layer);
        }
    }

    /// `{ hits, misses, prefetches, evictions, bytesPaged }`, or `undefined` when nothing pages.
    #[wasm_bindgen(js_name = pagerStats)]
    pub fn pager_stats(&self) -> Option<Object> {
        let s = self.pager.as_ref()?.stats();
        let obj = Object::new();
        for (k, v) in [("hits", s.hits), ("misses", s.misses), ("prefetches", s.prefetches), ("evictions", s.evictions), ("bytesPaged", s.bytes_paged)] {
            let _ = js_sys::Reflect::set(&obj, &k.into(), &(v as f64).into());
        }
        Some(obj)
    }

    /// SHA-256 of `len` bytes at `address` of this module's memory, which must lie inside the
    /// model's main weight block (e.g. a layer returned by `acquireLayer`).
    #[wasm_bindgen(js_name = mainSha256)]
    pub fn main_sha256(&self, address: f64, len: f64) -> Result<String, JsValue> {
        let main = self.loaded.placed.main.as_slice();
        let base = main.as_ptr() as usize as f64;
        let start = byte_count("address", address - base)? as usize;
        let len = byte_count("len", len)? as usize;
        let bytes = main.get(start..start.saturating_add(len)).ok_or_else(|| js_error("INVALID_ARGUMENT", "the range is outside the model's weights", &[]))?;
        let mut h = crate::digest::Sha256::new();
        h.update(bytes);
        Ok(h.finish_hex())
    }

    /// SHA-256 over the bytes of every tensor, in header order, read back from where they live.
    /// `readStorage(memory, offset, length)` returns a view of a storage memory's bytes.
    #[wasm_bindgen(js_name = tensorSha256)]
    pub fn tensor_sha256(&self, read_storage: &Function) -> Result<String, JsValue> {
        const PIECE: u64 = 16 << 20;
        let placed = &self.loaded.placed;
        let mut hasher = crate::digest::Sha256::new();
        let mut buf = Vec::new();
        for t in placed.parts.iter().flat_map(|h| &h.tensors) {
            let reg = placed.registry.tensor(&t.name).ok_or_else(|| js_error("INTERNAL", &format!("{} is not registered", t.name), &[]))?;
            if reg.memory == 0 {
                hasher.update(&placed.main.as_slice()[reg.offset as usize..(reg.offset + reg.n_bytes) as usize]);
                continue;
            }
            let mut at = 0;
            while at < reg.n_bytes {
                let len = PIECE.min(reg.n_bytes - at);
                let args = (JsValue::from(reg.memory), JsValue::from((reg.offset + at) as f64), JsValue::from(len as f64));
                let view: Uint8Array = read_storage.call3(&JsValue::NULL, &args.0, &args.1, &args.2)?.into();
                buf.resize(len as usize, 0);
                view.copy_to(&mut buf);
                hasher.update(&buf);
                at += len;
            }
        }
        Ok(hasher.finish_hex())
    }
}

/// 64 hex digits → 32 bytes.
fn parse_sha256(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}
