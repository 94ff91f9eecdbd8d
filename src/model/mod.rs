//! The model: hyper-parameters from metadata, the tensors a forward pass reads, its operations,
//! the KV cache and the forward pass itself.

pub mod config;
mod error;
pub mod forward;
pub mod kv_cache;
pub mod libm;
pub mod ops;
mod rope_table;
pub mod shard;
pub mod weights;

pub use config::{Arch, ConfigError, ModelConfig, RopeScaling, SUPPORTED_ARCHS};
pub use error::ModelError;
pub use forward::{Advance, DEFAULT_BATCH, Gather, Session};
pub use kv_cache::KvCache;
pub use shard::ShardSlice;
pub use weights::{LayerTensor, TensorId, TensorView, Trace, WeightSource};
