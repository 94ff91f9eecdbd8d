//! Loading: a GGUF file streamed chunk by chunk straight into the places its MemoryPlan gives.

pub mod error;
mod part;
pub mod placement;
pub mod stream;

pub use error::LoadError;
pub use stream::{Dest, LoadedModel, Placed, StreamLoad};
