//! Header-parse benchmark hook for `tools/bench/parse.mjs`; not part of the loading API.
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
        let header = parse_header(&self.bytes, self.file_len).map_err(|e| error::load_error(LoadError::Gguf(e)))?;
        Ok(header.tensors.len() as f64)
    }
}

/// A weight matrix of one ggml type (deterministic bytes whose f16 fields are normal numbers)
/// and `batch` quantized activations, held in wasm memory for `tools/bench/kernels.mjs`; the page
/// times each call.
#[wasm_bindgen]
pub struct MatmulBench {
    ty: crate::gguf::GgmlType,
    cols: usize,
    weights: Vec<u8>,
    /// The same matrix in the order the loader stores it in (`quant::interleave`).
    stored: Vec<u8>,
    copy: Vec<u8>,
    acts: Vec<crate::quant::QuantizedActivation>,
    y: Vec<f32>,
}

#[wasm_bindgen]
impl MatmulBench {
    /// `typeId` is the ggml type number; `rows` × `cols` weights, `batch` activations.
    #[wasm_bindgen(constructor)]
    pub fn new(type_id: u32, cols: f64, rows: f64, batch: f64) -> Result<MatmulBench, JsValue> {
        use crate::quant::{QuantizedActivation, WeightMatrix};
        let bad = |what: &str| JsValue::from_str(&format!("MatmulBench: bad {what}"));
        let ty = crate::gguf::GgmlType::from_id(type_id).ok_or_else(|| bad("type"))?;
        let (cols, rows, batch) = (byte_count("cols", cols)?, byte_count("rows", rows)?, byte_count("batch", batch)?);
        let row_bytes = ty.bytes_for(cols).ok_or_else(|| bad("cols"))?;
        let len = usize::try_from(row_bytes.saturating_mul(rows)).map_err(|_| bad("size"))?;
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        // Bytes 0x30..=0x3B: every f16 / f32 field built from them is a normal number.
        let weights: Vec<u8> = (0..len).map(|_| 0x30 | (next() as u8 & 0x0B)).collect();
        let cols = cols as usize;
        WeightMatrix::new(ty, cols, &weights).map_err(|e| bad(&e.to_string()))?;
        let acts = (0..batch)
            .map(|_| {
                let x: Vec<f32> = (0..cols).map(|_| (next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0).collect();
                QuantizedActivation::for_weights(ty, &x)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(&e.to_string()))?;
        let y = vec![0.0; rows as usize * batch as usize];
        let mut stored = weights.clone();
        crate::quant::interleave::to_stored_order(ty, cols as u64, &mut stored, &mut Vec::new());
        Ok(MatmulBench { ty, cols, copy: vec![0; weights.len()], stored, weights, acts, y })
    }

    /// Bytes of weights.
    #[wasm_bindgen(js_name = weightBytes)]
    pub fn weight_bytes(&self) -> f64 {
        self.weights.len() as f64
    }

    /// One product over every row and activation; returns the sum of the outputs. `tileRows`
    /// 0 is the untiled per-row loop, 1, 2 or 4 the tiled kernels with that many rows per call
    /// (all over the file order), 5 `matmul` over the stored order, as a loaded model runs.
    pub fn run(&mut self, tile_rows: u32) -> Result<f64, JsValue> {
        use crate::quant::WeightMatrix;
        use crate::quant::matvec::{matmul, matmul_per_row, matmul_tiled};
        let err = |e: crate::quant::QuantError| JsValue::from_str(&e.to_string());
        let w = WeightMatrix::new(self.ty, self.cols, &self.weights).map_err(err)?;
        let done = match tile_rows {
            0 => matmul_per_row(&w, 0..w.rows(), &self.acts, &mut self.y),
            5 => matmul(&WeightMatrix::as_stored(self.ty, self.cols, &self.stored).map_err(err)?, 0..w.rows(), &self.acts, &mut self.y),
            r => matmul_tiled(&w, 0..w.rows(), &self.acts, &mut self.y, r as usize),
        };
        done.map_err(err)?;
        Ok(self.y.iter().map(|&v| v as f64).sum())
    }

    /// Copies the weight bytes within wasm memory once (the memcpy reference); returns a byte.
    pub fn copy(&mut self) -> f64 {
        self.copy.copy_from_slice(&self.weights);
        self.copy[self.copy.len() / 2] as f64
    }
}
