//! Where model bytes live: tensor groups (embeddings, layers, output), the MemoryPlan that gives
//! each group a memory and an offset, aligned regions, the registry of groups as they land, the
//! pager's working set of layer slots, the generated multi-memory bridge module that copies
//! between memories, and the plain-text summary of a plan.

pub mod bridge;
pub mod groups;
pub mod pager;
pub mod plan;
pub mod region;
pub mod registry;
pub mod summary;

pub use groups::{GroupError, GroupId, Groups, TensorGroup};
pub use plan::{LayoutKind, MemoryPlan, PlanError, PlanLimits, Target};
pub use region::{AlignedRegion, AllocError};
pub use registry::{LayerRegistry, RegisteredGroup, RegisteredTensor};
