//! A shard's own GGUF file: the whole model's metadata plus its `gguf64.shard.*` slice, and every
//! tensor cut to the shard's part (rows for Q, K, V, gate and up and their biases, input columns
//! for the attention output and down projections, vocabulary rows for an untied output matrix;
//! everything else whole). The file never exists as such: `ShardFile` says which bytes of the
//! whole file make it, in order, and the router streams them to the shard's loader, which loads
//! it like any other GGUF file.

use std::ops::Range;

use crate::gguf::{Header, HeaderLayout, Metadata, TensorInfo, TensorSpec, layout_header};
use crate::model::{LayerTensor, ModelConfig, ShardSlice};

use super::error::ShardError;

/// The largest tensor alignment a shard file keeps (its padding is written as zeros).
const MAX_ALIGNMENT: u64 = 1 << 16;

/// Bytes of a shard file after its header, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece {
    /// `count` runs of `len` bytes of the whole file, the first at `src`, each `stride` after the
    /// one before (one run per row for a column cut).
    Copy {
        src: u64,
        len: u64,
        count: u64,
        stride: u64,
    },
    /// Zero padding.
    Zeros(u64),
}

/// A shard's file: its header bytes, then its pieces; `len` bytes in all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardFile {
    pub header: Vec<u8>,
    pub pieces: Vec<Piece>,
    pub len: u64,
}

/// Which part of a tensor a shard takes: rows (ne1; the elements of a vector).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Cut {
    Whole,
    Rows(Vec<Range<u64>>),
}

impl ShardFile {
    /// The file of shard `slice` of the whole model `h` (config `c`).
    pub fn new(h: &Header, c: &ModelConfig, slice: &ShardSlice) -> Result<ShardFile, ShardError> {
        if h.alignment > MAX_ALIGNMENT {
            return Err(ShardError::Uncuttable {
                name: "general.alignment".into(),
                reason: "alignment above 64 KiB",
            });
        }
        let mut metadata = Metadata::new();
        for (k, v) in h.metadata.iter() {
            metadata
                .insert(k.to_string(), v.clone())
                .map_err(|_| ShardError::AlreadyShard)?;
        }
        for (k, v) in slice.metadata() {
            metadata
                .insert(k, v)
                .map_err(|_| ShardError::AlreadyShard)?;
        }
        let mut tensors: Vec<&TensorInfo> = h.tensors.iter().collect();
        tensors.sort_by_key(|t| t.offset);
        let mut specs = Vec::with_capacity(tensors.len());
        let mut copies = Vec::with_capacity(tensors.len());
        let mut end = 0;
        for t in tensors {
            if t.offset < end {
                return Err(ShardError::Overlap {
                    name: t.name.clone(),
                    offset: t.offset,
                });
            }
            end = t.end();
            let (dims, pieces) = cut_tensor(t, &cut_of(&t.name, c, slice), h.data_offset)?;
            specs.push(TensorSpec::new(&t.name, &dims, t.ggml_type));
            copies.push(pieces);
        }
        let layout = layout_header(&metadata, &specs).map_err(ShardError::Layout)?;
        let pieces = place(&layout, copies);
        Ok(ShardFile {
            header: layout.bytes,
            pieces,
            len: layout.file_len,
        })
    }
}

impl ShardFile {
    /// The whole file, unsplit (`len` unknown: to its end, whatever its length).
    pub fn whole(len: Option<u64>) -> ShardFile {
        let len = len.unwrap_or(u64::MAX);
        ShardFile {
            header: Vec::new(),
            pieces: vec![Piece::Copy {
                src: 0,
                len,
                count: 1,
                stride: 0,
            }],
            len,
        }
    }
}

/// The pieces in file order, with the zero padding `layout` puts between tensors.
fn place(layout: &HeaderLayout, copies: Vec<Vec<Piece>>) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut at = layout.data_offset;
    for (t, tensor_pieces) in layout.tensors.iter().zip(copies) {
        let start = layout.data_offset + t.offset;
        if start > at {
            pieces.push(Piece::Zeros(start - at));
        }
        pieces.extend(tensor_pieces);
        at = start + t.n_bytes;
    }
    if layout.file_len > at {
        pieces.push(Piece::Zeros(layout.file_len - at));
    }
    pieces
}

/// The part of tensor `name` shard `s` takes.
fn cut_of(name: &str, c: &ModelConfig, s: &ShardSlice) -> Cut {
    if name == "output.weight" && !c.tied_embeddings {
        return Cut::Rows(vec![r(&s.vocab, 1)]);
    }
    let Some(role) = layer_role(name) else {
        return Cut::Whole;
    };
    let (hd, hdv) = (c.head_dim, c.head_dim_v);
    let q = r(&s.q_heads, hd);
    let k = r(&s.kv_heads, hd);
    let v = r(&s.kv_heads, hdv);
    let (q_all, k_all) = ((c.n_heads * hd) as u64, (c.n_kv_heads * hd) as u64);
    let shift = |x: Range<u64>, by: u64| x.start + by..x.end + by;
    let ff = r(&s.ff, 1);
    match role {
        LayerTensor::Q | LayerTensor::QBias => Cut::Rows(vec![q]),
        LayerTensor::K | LayerTensor::KBias => Cut::Rows(vec![k]),
        LayerTensor::V | LayerTensor::VBias => Cut::Rows(vec![v]),
        LayerTensor::Qkv | LayerTensor::QkvBias => {
            Cut::Rows(vec![q, shift(k, q_all), shift(v, q_all + k_all)])
        }
        LayerTensor::AttnOutput | LayerTensor::Down => Cut::Rows(vec![r(&s.embd, 1)]),
        LayerTensor::Gate => Cut::Rows(vec![ff]),
        LayerTensor::Up if c.fused_gate_up => Cut::Rows(vec![ff.clone(), shift(ff, c.n_ff as u64)]),
        LayerTensor::Up => Cut::Rows(vec![ff]),
        _ => Cut::Whole,
    }
}

/// `range` of units of `width` elements, in elements.
fn r(range: &Range<usize>, width: usize) -> Range<u64> {
    (range.start * width) as u64..(range.end * width) as u64
}

/// The layer tensor `blk.<n>.<suffix>` names, if any.
fn layer_role(name: &str) -> Option<LayerTensor> {
    let rest = name.strip_prefix("blk.")?;
    let (layer, suffix) = rest.split_once('.')?;
    layer.parse::<usize>().ok()?;
    LayerTensor::ALL.into_iter().find(|t| t.suffix() == suffix)
}

/// The shard's dims of `t` and the pieces of the whole file (tensor data at `data_offset`)
/// that make its data.
fn cut_tensor(
    t: &TensorInfo,
    cut: &Cut,
    data_offset: u64,
) -> Result<(Vec<u64>, Vec<Piece>), ShardError> {
    let src = data_offset + t.offset;
    let uncuttable = |reason| ShardError::Uncuttable {
        name: t.name.clone(),
        reason,
    };
    let ranges = match cut {
        Cut::Whole => {
            return Ok((
                t.dims.clone(),
                vec![Piece::Copy {
                    src,
                    len: t.n_bytes,
                    count: 1,
                    stride: 0,
                }],
            ));
        }
        Cut::Rows(ranges) => ranges,
    };
    if t.dims.iter().skip(2).any(|&d| d != 1) {
        return Err(uncuttable("more than two dimensions"));
    }
    // A vector (biases) is cut by elements: rows of one element.
    let vector = t.dims.len() == 1 || t.ne(1) == 1;
    let (cols, rows) = if vector {
        (1, t.ne(0))
    } else {
        (t.ne(0), t.ne(1))
    };
    let row_bytes = t
        .ggml_type
        .bytes_for(cols)
        .ok_or_else(|| uncuttable("rows are not whole blocks"))?;
    {
        let mut kept = 0;
        let mut pieces = Vec::with_capacity(ranges.len());
        for rg in ranges {
            if rg.end > rows || rg.start >= rg.end {
                return Err(uncuttable("a row range outside the tensor"));
            }
            pieces.push(Piece::Copy {
                src: src + rg.start * row_bytes,
                len: (rg.end - rg.start) * row_bytes,
                count: 1,
                stride: 0,
            });
            kept += rg.end - rg.start;
        }
        let dims = if vector { vec![kept] } else { vec![cols, kept] };
        Ok((dims, pieces))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::GgmlType;

    #[test]
    fn layer_roles_are_read_from_names() {
        assert_eq!(
            layer_role("blk.12.attn_output.weight"),
            Some(LayerTensor::AttnOutput)
        );
        assert_eq!(layer_role("blk.0.ffn_up.weight"), Some(LayerTensor::Up));
        assert_eq!(layer_role("blk.x.ffn_up.weight"), None);
        assert_eq!(layer_role("output.weight"), None);
    }

    #[test]
    fn a_row_cut_takes_whole_rows() {
        let t = TensorInfo {
            name: "blk.0.ffn_down.weight".into(),
            dims: vec![512, 6],
            ggml_type: GgmlType::Q4_0,
            offset: 64,
            n_elements: 3072,
            n_bytes: 6 * 288,
        };
        let (dims, pieces) = cut_tensor(&t, &Cut::Rows(vec![2..5]), 1000).unwrap();
        assert_eq!(dims, vec![512, 3]);
        // 512 columns of Q4_0 = 16 blocks of 18 bytes = 288 bytes a row.
        assert_eq!(
            pieces,
            vec![Piece::Copy {
                src: 1064 + 2 * 288,
                len: 3 * 288,
                count: 1,
                stride: 0
            }]
        );
        let err = cut_tensor(&t, &Cut::Rows(vec![4..7]), 1000).unwrap_err();
        assert!(matches!(err, ShardError::Uncuttable { .. }), "{err}");
    }

    #[test]
    fn a_vector_is_cut_by_elements() {
        let t = TensorInfo {
            name: "blk.0.attn_qkv.bias".into(),
            dims: vec![12],
            ggml_type: GgmlType::F32,
            offset: 0,
            n_elements: 12,
            n_bytes: 48,
        };
        let (dims, pieces) = cut_tensor(&t, &Cut::Rows(vec![0..2, 6..8, 10..12]), 32).unwrap();
        assert_eq!(dims, vec![6]);
        assert_eq!(
            pieces[1],
            Piece::Copy {
                src: 32 + 24,
                len: 8,
                count: 1,
                stride: 0
            }
        );
    }
}
