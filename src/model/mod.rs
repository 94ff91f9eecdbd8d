//! The model: hyper-parameters from metadata (later: tensor names, ops, forward passes, KV cache).

pub mod config;

pub use config::{Arch, ConfigError, ModelConfig, RopeScaling, SUPPORTED_ARCHS};
