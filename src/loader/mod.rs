//! Loading: a GGUF file streamed chunk by chunk straight into its final place in memory.

pub mod error;
pub mod stream;

pub use error::LoadError;
pub use stream::{LoadedFile, StreamLoad};
