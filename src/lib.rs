//! gguf64: stream GGUF language models of any size into 64-bit WebAssembly memories and run them
//! in the browser.
//!
//! The core is plain Rust that builds and tests natively:
//! - `gguf`: the file format (incremental header parser, typed metadata, writer, split models);
//! - `memory`: tensor groups, the MemoryPlan (which memory and offset each group gets), the layer
//!   registry, the pager's working set and the multi-memory bridge module;
//! - `loader`: a streamed load, each chunk copied once to its final place;
//! - `quant`: dequantization and matrix-vector kernels per ggml type (scalar and SIMD128);
//! - `model`: hyper-parameters, the forward pass (llama, qwen2, gemma3) and the KV cache;
//! - `tokenizer`, `sample`, `generate`: text in and out;
//! - `runtime`: weights read in place or paged in through the host that owns the storage memories;
//! - `engine`: one loaded model answering everything a program asks of it;
//! - `report`: JSON reports of a header, a layout, a loaded model;
//! - `error_code`: the one table of error codes every layer reports;
//! - `synth`, `digest`: synthetic models for tests, and SHA-256.
//!
//! `web` is the thin wasm-bindgen boundary the JS shim in `src/js/` talks to: argument conversion
//! and error mapping around the core.

// wasm64's SIMD128 intrinsics (`core::arch::wasm64`, used by `quant::simd128`) are still unstable.
#![cfg_attr(target_arch = "wasm64", feature(simd_wasm64))]

pub mod digest;
pub mod engine;
pub mod error_code;
pub mod generate;
pub mod gguf;
pub mod loader;
pub mod memory;
pub mod synth;
pub mod model;
pub mod quant;
pub mod report;
pub mod tokenizer;
pub mod runtime;
pub mod parallel;
pub mod sample;

#[cfg(target_family = "wasm")]
pub mod web;
