//! Tensor-parallel inference across workers: each worker holds one shard of the model (its own
//! wasm instance and memory, a slice of every large weight matrix and the KV cache of its heads)
//! and the shards sum two partial results per layer.
//!
//! * `plan`: how a model splits (heads, feed-forward width and vocabulary per shard);
//! * `layout`: a shard's own GGUF file, made of byte ranges of the whole file;
//! * `router`: one pass over the whole file, its bytes streamed into every shard's file.
//!
//! A shard's file loads like any other GGUF file; its `gguf64.shard.*` metadata narrows the
//! model's config to the slice (`model::shard`), and `model::Session::advance` stops at each
//! reduction point so the workers can sum `partial()` in shard order.

mod error;
pub mod layout;
pub mod plan;
pub mod router;

pub use error::ShardError;
pub use layout::{Piece, ShardFile};
pub use plan::ShardPlan;
pub use router::ShardRouter;
