//! Where each tensor the forward pass reads lives: resolved once from the layer registry, so
//! that a token's hundreds of lookups are hash-map reads, not string formatting and scans.

use std::collections::HashMap;

use crate::gguf::GgmlType;
use crate::loader::Placed;
use crate::memory::GroupId;
use crate::model::weights::{all_tensors, check_shape};
use crate::model::{ModelConfig, ModelError, TensorId};

/// One tensor's type, shape and home.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorEntry {
    pub ty: GgmlType,
    /// ne0, ne1 (1 for a vector).
    pub dims: [usize; 2],
    pub group: GroupId,
    /// Memory (0 = main) and offset in it, as placed by the loader.
    pub memory: u32,
    pub offset: u64,
    /// Offset from the start of the tensor's group (where it lands in a working-set slot).
    pub offset_in_group: u64,
    pub n_bytes: u64,
}

/// Every tensor a model's forward pass reads, checked against its config. The empty index
/// (`default`) serves paging alone, which reads no tensor.
#[derive(Clone, Debug, Default)]
pub struct TensorIndex {
    entries: HashMap<TensorId, TensorEntry>,
}

impl TensorIndex {
    /// Resolves every tensor config `c` needs; a missing tensor or a wrong shape is an error
    /// here, before any token is evaluated. Tied embeddings resolve `Output` to `token_embd`.
    pub fn new(placed: &Placed, c: &ModelConfig) -> Result<TensorIndex, ModelError> {
        let mut entries = HashMap::new();
        for id in all_tensors(c) {
            let file_id = if id == TensorId::Output && c.tied_embeddings { TensorId::TokenEmbd } else { id };
            let name = file_id.name();
            let t = placed.registry.tensor(&name).ok_or(ModelError::MissingTensor { name: name.clone() })?;
            let shape = id.shape(c);
            check_shape(file_id, &t.dims, shape)?;
            let group = match id.layer() {
                Some(il) => GroupId::Layer(il as u32),
                None => group_of(placed, &name),
            };
            let home = placed.plan.placement(group).ok_or(ModelError::MissingTensor { name: name.clone() })?;
            entries.insert(
                id,
                TensorEntry {
                    ty: t.ggml_type,
                    dims: shape,
                    group,
                    memory: t.memory,
                    offset: t.offset,
                    offset_in_group: t.offset.saturating_sub(home.home.offset),
                    n_bytes: t.n_bytes,
                },
            );
        }
        Ok(TensorIndex { entries })
    }

    pub fn get(&self, id: TensorId) -> Option<&TensorEntry> {
        self.entries.get(&id)
    }
}

/// The group holding a non-layer tensor, found through the registry.
fn group_of(placed: &Placed, name: &str) -> GroupId {
    placed
        .registry
        .iter()
        .find(|g| g.tensors.iter().any(|t| t.name == name))
        .map_or(GroupId::Embeddings, |g| g.id)
}
