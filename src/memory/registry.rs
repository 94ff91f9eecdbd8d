//! The layer registry: for every group whose bytes have all landed, where it lives and where each
//! of its tensors is. A group is registered exactly once, the moment its last byte arrives.

use crate::gguf::{GgmlType, Header};

use super::groups::{GroupId, TensorGroup};
use super::plan::GroupPlacement;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredTensor {
    /// The file of a split model it came from (0 for a single file).
    pub part: usize,
    pub name: String,
    pub ggml_type: GgmlType,
    /// ne0 first.
    pub dims: Vec<u64>,
    /// Memory index (0 = main) and offset inside that memory's weight block.
    pub memory: u32,
    pub offset: u64,
    pub n_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredGroup {
    pub id: GroupId,
    pub memory: u32,
    pub offset: u64,
    pub bytes: u64,
    pub tensors: Vec<RegisteredTensor>,
}

/// Registered groups in the order they completed.
#[derive(Clone, Debug, Default)]
pub struct LayerRegistry {
    groups: Vec<RegisteredGroup>,
}

impl LayerRegistry {
    /// Records a completed group and returns its entry. `parts` are the model's file headers.
    pub fn register(&mut self, parts: &[Header], group: &TensorGroup, home: &GroupPlacement) -> &RegisteredGroup {
        let tensors = group
            .tensors
            .iter()
            .map(|t| {
                let info = &parts[t.part].tensors[t.index];
                RegisteredTensor {
                    part: t.part,
                    name: info.name.clone(),
                    ggml_type: info.ggml_type,
                    dims: info.dims.clone(),
                    memory: home.home.memory,
                    offset: home.home.offset + t.offset,
                    n_bytes: t.n_bytes,
                }
            })
            .collect();
        self.groups.push(RegisteredGroup {
            id: group.id,
            memory: home.home.memory,
            offset: home.home.offset,
            bytes: group.bytes,
            tensors,
        });
        &self.groups[self.groups.len() - 1]
    }

    pub fn get(&self, id: GroupId) -> Option<&RegisteredGroup> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// A tensor by name, in any registered group.
    pub fn tensor(&self, name: &str) -> Option<&RegisteredTensor> {
        self.groups.iter().flat_map(|g| &g.tensors).find(|t| t.name == name)
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Entries in completion order.
    pub fn iter(&self) -> impl Iterator<Item = &RegisteredGroup> {
        self.groups.iter()
    }
}
