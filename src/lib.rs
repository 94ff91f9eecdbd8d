//! gguf64: stream GGUF language models of any size into 64-bit WebAssembly memories and run them
//! in the browser.
//!
//! The core (`gguf`, `memory`, `loader`) is plain Rust that builds and tests natively; `web` is the
//! thin wasm-bindgen boundary the JS shim in `src/js/` talks to.

pub mod digest;
pub mod gguf;
pub mod loader;
pub mod memory;
pub mod synth;
pub mod model;
pub mod quant;

#[cfg(target_family = "wasm")]
pub mod web;
