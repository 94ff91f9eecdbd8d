//! The runtime: a loaded model's weights made available to the forward pass wherever the
//! loader put them. Resident groups are read in place in the main memory; layers in storage
//! memories are paged into working-set slots through the host, which owns those memories (the
//! JS shim in the browser, plain buffers natively).

mod index;
pub mod native;
mod weights;

pub use index::{TensorEntry, TensorIndex};
pub use weights::{PlacedWeights, StorageHost};
