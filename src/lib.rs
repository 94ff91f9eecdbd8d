//! gguf64: stream GGUF language models of any size into 64-bit WebAssembly memories and run them
//! in the browser.
//!
//! The core (`gguf`, `memory`, `loader`) is plain Rust that builds and tests natively; `web` is the
//! thin wasm-bindgen boundary the JS shim in `src/js/` talks to.

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
pub mod tokenizer;
pub mod runtime;
pub mod sample;

#[cfg(target_family = "wasm")]
pub mod web;
