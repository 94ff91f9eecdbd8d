//! The parsed header (metadata and tensor infos) and the caps applied while parsing it.

use std::collections::HashMap;

use super::metadata::Metadata;
use super::types::GgmlType;

pub use super::parser::{HeaderParser, Step, parse_header, parse_header_with};

/// Caps on untrusted sizes. Every count is also checked against the bytes left in the file
/// (or under `max_header_bytes`) before anything is allocated; these caps bound memory and
/// work even when the file length is unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes from the file start to the end of the tensor infos. Real headers are a few MB
    /// (a 256k-entry vocabulary plus merges is ~10 MB); 512 MiB bounds what is buffered
    /// before the tensor data starts.
    pub max_header_bytes: u64,
    /// Tensor infos. Real models have hundreds to a few thousand; even files that store MoE
    /// experts one per tensor stay under ~50k. 2^20 bounds the `Vec<TensorInfo>` (~100 MB).
    pub max_tensors: u64,
    /// Metadata pairs. Real files have 20-60; 2^16 leaves room for custom keys.
    pub max_kv: u64,
    /// Bytes in one string. The longest real strings are chat templates (tens of KiB) and an
    /// embedded `tokenizer.huggingface.json` (a few MB); 64 MiB covers both.
    pub max_string_len: u64,
    /// Elements in one array. The largest real arrays are vocabularies, scores and merge
    /// lists (up to ~1M entries); 2^24 leaves a wide margin.
    pub max_array_len: u64,
    /// Nesting of arrays in arrays (a top-level array is depth 1). Real files nest at most
    /// once; each level is a stack frame of recursion, so values above 64 act as 64.
    pub max_depth: u32,
    /// Dimensions per tensor. ggml tensors have at most 4 (`GGML_MAX_DIMS`).
    pub max_dims: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_header_bytes: 512 << 20,
            max_tensors: 1 << 20,
            max_kv: 1 << 16,
            max_string_len: 64 << 20,
            max_array_len: 1 << 24,
            max_depth: 8,
            max_dims: 4,
        }
    }
}

/// One tensor's description from the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor name (`blk.0.attn_q.weight`).
    pub name: String,
    /// Dimensions as stored: ne0 (the contiguous one) first. Empty for a 0-dim scalar.
    pub dims: Vec<u64>,
    /// The element type.
    pub ggml_type: GgmlType,
    /// Start of the data, relative to `Header::data_offset`; a multiple of the alignment.
    pub offset: u64,
    /// The product of `dims` (1 for a scalar).
    pub n_elements: u64,
    /// Bytes of data.
    pub n_bytes: u64,
}

impl TensorInfo {
    /// Dimension `i`, or 1 past the stored ones (ggml's convention).
    pub fn ne(&self, i: usize) -> u64 {
        self.dims.get(i).copied().unwrap_or(1)
    }

    /// End of the data, relative to `Header::data_offset` (checked not to overflow when parsed).
    pub fn end(&self) -> u64 {
        self.offset.saturating_add(self.n_bytes)
    }
}

/// A parsed GGUF header.
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    /// GGUF version: 2 or 3.
    pub version: u32,
    /// Tensor data alignment (`general.alignment`, default 32).
    pub alignment: u64,
    /// Metadata pairs in file order.
    pub metadata: Metadata,
    /// Tensor infos in file order.
    pub tensors: Vec<TensorInfo>,
    /// Byte just past the last tensor info.
    pub tensor_info_end: u64,
    /// Start of the tensor data in the file: `tensor_info_end` rounded up to the alignment.
    pub data_offset: u64,
    /// Length of the tensor data: the largest tensor end, relative to `data_offset`.
    pub data_len: u64,
}

impl Header {
    /// `general.architecture`.
    pub fn architecture(&self) -> Option<&str> {
        self.metadata.get_str("general.architecture")
    }

    /// `<arch>.block_count`: the number of transformer layers.
    pub fn block_count(&self) -> Option<u64> {
        let key = format!("{}.block_count", self.architecture()?);
        self.metadata.get_u64(&key)
    }

    /// The tensor called `name` (a linear scan; see `tensor_map` for many lookups).
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// All tensors by name.
    pub fn tensor_map(&self) -> HashMap<&str, &TensorInfo> {
        self.tensors.iter().map(|t| (t.name.as_str(), t)).collect()
    }

    /// The file length the header implies: `data_offset + data_len`.
    pub fn file_len(&self) -> u64 {
        self.data_offset.saturating_add(self.data_len)
    }
}
