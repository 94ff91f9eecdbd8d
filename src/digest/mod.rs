//! Digests of model bytes: SHA-256, for integrity checks while streaming and for verifying what
//! landed in memory.

pub mod sha256;

pub use sha256::{Sha256, parse_hex, to_hex};
