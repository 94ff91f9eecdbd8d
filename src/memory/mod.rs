//! Where model bytes live: aligned regions in the main memory (later: the MemoryPlan, the layer
//! registry, the pager and the multi-memory bridge).

pub mod region;

pub use region::{AlignedRegion, AllocError};
