//! Tensors grouped the way they are loaded, placed and paged: the embeddings, one group per
//! transformer layer (`blk.N.*`), and the output (final norm and LM head).

use std::collections::BTreeMap;
use std::fmt;

use crate::gguf::{Header, TensorInfo};
use crate::quant::interleave;

/// Every tensor inside a group starts at a multiple of this (enough for any SIMD load).
pub const TENSOR_ALIGN: u64 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupId {
    /// `token_embd.*` and any other tensor outside the layers that is not part of the output.
    Embeddings,
    /// `blk.N.*`.
    Layer(u32),
    /// `output_norm.*` and `output.*` (the LM head).
    Output,
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupId::Embeddings => f.write_str("embeddings"),
            GroupId::Layer(n) => write!(f, "layer {n}"),
            GroupId::Output => f.write_str("output"),
        }
    }
}

/// Which group a tensor belongs to, from its name.
pub fn group_of(name: &str) -> Result<GroupId, GroupError> {
    if let Some(rest) = name.strip_prefix("blk.") {
        let digits = rest.split('.').next().unwrap_or("");
        let canonical = !digits.is_empty() && (digits == "0" || !digits.starts_with('0'));
        return match digits.parse::<u32>() {
            Ok(n) if canonical && rest.len() > digits.len() => Ok(GroupId::Layer(n)),
            _ => Err(GroupError::BadLayerName { tensor: name.to_string() }),
        };
    }
    if name.starts_with("output.") || name.starts_with("output_norm.") {
        Ok(GroupId::Output)
    } else {
        Ok(GroupId::Embeddings)
    }
}

/// One tensor inside its group: where it starts relative to the group, and where in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupedTensor {
    /// Which file of a split model holds it (0 for a single file).
    pub part: usize,
    /// Index into that file's `Header::tensors`.
    pub index: usize,
    /// Offset from the start of the group's block, a multiple of [`TENSOR_ALIGN`].
    pub offset: u64,
    pub n_bytes: u64,
}

/// A group's tensors, laid out back to back (aligned) in one block of `bytes`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorGroup {
    pub id: GroupId,
    pub tensors: Vec<GroupedTensor>,
    pub bytes: u64,
}

impl TensorGroup {
    /// Rearranges the group's matrices, laid out in `block` (the group's bytes) in file order,
    /// into the order the kernels read them in: groups of four rows interleaved for the types
    /// that take them (`quant::interleave`). `parts` are the model's headers; `scratch` is reused.
    pub fn interleave_in(&self, parts: &[Header], block: &mut [u8], scratch: &mut Vec<u8>) {
        for t in &self.tensors {
            let Some(info) = parts.get(t.part).and_then(|h| h.tensors.get(t.index)) else { continue };
            let (start, end) = (t.offset as usize, (t.offset + t.n_bytes) as usize);
            if let (Some(&cols), Some(bytes)) = (info.dims.first(), block.get_mut(start..end)) {
                interleave::to_stored_order(info.ggml_type, cols, bytes, scratch);
            }
        }
    }
}

/// The model's groups in load order: embeddings, layers 0..n, output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Groups {
    pub groups: Vec<TensorGroup>,
}

impl Groups {
    /// Groups the header's tensors. Every layer from 0 to the highest one must be present,
    /// and no layer may lie at or past `<arch>.block_count` when that key exists.
    pub fn from_header(h: &Header) -> Result<Groups, GroupError> {
        Groups::from_parts(std::slice::from_ref(h))
    }

    /// Groups the tensors of every part of a split model (the first part carries the metadata);
    /// a layer may have tensors in several parts.
    pub fn from_parts(parts: &[Header]) -> Result<Groups, GroupError> {
        let mut by_id: BTreeMap<GroupId, TensorGroup> = BTreeMap::new();
        for (part, h) in parts.iter().enumerate() {
            for (index, t) in h.tensors.iter().enumerate() {
                let id = group_of(&t.name)?;
                let group = by_id.entry(id).or_insert_with(|| TensorGroup { id, tensors: Vec::new(), bytes: 0 });
                append(group, part, index, t)?;
            }
        }
        let groups: Vec<TensorGroup> = by_id.into_values().collect();
        check_layers(&groups, parts.first().and_then(Header::block_count))?;
        Ok(Groups { groups })
    }

    pub fn n_layers(&self) -> usize {
        self.groups.iter().filter(|g| matches!(g.id, GroupId::Layer(_))).count()
    }

    pub fn get(&self, id: GroupId) -> Option<&TensorGroup> {
        self.groups.iter().find(|g| g.id == id)
    }

    pub fn layers(&self) -> impl Iterator<Item = &TensorGroup> {
        self.groups.iter().filter(|g| matches!(g.id, GroupId::Layer(_)))
    }

    /// Bytes of all groups.
    pub fn total_bytes(&self) -> u64 {
        self.groups.iter().map(|g| g.bytes).sum()
    }

    /// Bytes of the groups that are not layers (embeddings, output), each rounded up to `align`.
    pub fn non_layer_bytes(&self, align: u64) -> u64 {
        let others = self.groups.iter().filter(|g| !matches!(g.id, GroupId::Layer(_)));
        others.map(|g| align_up(g.bytes, align).unwrap_or(u64::MAX)).fold(0, u64::saturating_add)
    }

    /// The largest layer, in bytes (0 without layers).
    pub fn max_layer_bytes(&self) -> u64 {
        self.layers().map(|g| g.bytes).max().unwrap_or(0)
    }
}

fn append(group: &mut TensorGroup, part: usize, index: usize, t: &TensorInfo) -> Result<(), GroupError> {
    let overflow = || GroupError::TooLarge { tensor: t.name.clone() };
    let offset = align_up(group.bytes, TENSOR_ALIGN).ok_or_else(overflow)?;
    group.bytes = offset.checked_add(t.n_bytes).ok_or_else(overflow)?;
    group.tensors.push(GroupedTensor { part, index, offset, n_bytes: t.n_bytes });
    Ok(())
}

fn check_layers(groups: &[TensorGroup], block_count: Option<u64>) -> Result<(), GroupError> {
    let mut expected = 0u32;
    for g in groups {
        if let GroupId::Layer(n) = g.id {
            if n != expected {
                return Err(GroupError::MissingLayer { layer: expected });
            }
            if block_count.is_some_and(|count| u64::from(n) >= count) {
                return Err(GroupError::LayerPastBlockCount { layer: n, block_count: block_count.unwrap_or(0) });
            }
            expected += 1;
        }
    }
    match block_count {
        Some(count) if u64::from(expected) < count => Err(GroupError::MissingLayer { layer: expected }),
        _ => Ok(()),
    }
}

/// `x` rounded up to a multiple of `align` (a power of two), or None on overflow.
pub fn align_up(x: u64, align: u64) -> Option<u64> {
    Some(x.checked_add(align - 1)? & !(align - 1))
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupError {
    /// A `blk.` tensor whose layer number is not a plain decimal.
    BadLayerName { tensor: String },
    /// Layers must be numbered 0..n without gaps.
    MissingLayer { layer: u32 },
    LayerPastBlockCount { layer: u32, block_count: u64 },
    /// A group's size overflows 64 bits.
    TooLarge { tensor: String },
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::BadLayerName { tensor } => write!(f, "tensor {tensor}: layer number is not a plain decimal"),
            GroupError::MissingLayer { layer } => write!(f, "no tensors for layer {layer}"),
            GroupError::LayerPastBlockCount { layer, block_count } => {
                write!(f, "tensors for layer {layer}, but block_count is {block_count}")
            }
            GroupError::TooLarge { tensor } => write!(f, "tensor {tensor}: group size overflows"),
        }
    }
}

impl std::error::Error for GroupError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_groups() {
        assert_eq!(group_of("token_embd.weight"), Ok(GroupId::Embeddings));
        assert_eq!(group_of("blk.0.attn_q.weight"), Ok(GroupId::Layer(0)));
        assert_eq!(group_of("blk.31.ffn_down.weight"), Ok(GroupId::Layer(31)));
        assert_eq!(group_of("output_norm.weight"), Ok(GroupId::Output));
        assert_eq!(group_of("output.weight"), Ok(GroupId::Output));
        assert_eq!(group_of("rope_freqs.weight"), Ok(GroupId::Embeddings));
        for bad in ["blk.x.weight", "blk.01.w", "blk.99999999999.w", "blk.3", "blk..w", "blk.-1.w"] {
            assert!(matches!(group_of(bad), Err(GroupError::BadLayerName { .. })), "{bad}");
        }
    }

    #[test]
    fn align_up_rounds_and_detects_overflow() {
        assert_eq!(align_up(0, 64), Some(0));
        assert_eq!(align_up(1, 64), Some(64));
        assert_eq!(align_up(128, 64), Some(128));
        assert_eq!(align_up(u64::MAX - 3, 64), None);
    }
}
