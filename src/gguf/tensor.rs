//! Reading one tensor info, and checking the tensor data layout once all infos are known.

use super::cursor::{Cursor, Parse};
use super::error::{GgufError, Quantity};
use super::header::{Limits, TensorInfo};
use super::types::GgmlType;

/// Reads one tensor info at the cursor and checks its shape, type and offset.
pub(crate) fn read_tensor_info(
    cur: &mut Cursor<'_>,
    limits: &Limits,
    alignment: u64,
) -> Parse<TensorInfo> {
    let name = cur.str(limits.max_string_len)?.to_owned();
    let dims_at = cur.offset();
    let dims = read_dims(cur, limits)?;
    let type_at = cur.offset();
    let id = cur.u32()?;
    let ggml_type = GgmlType::from_id(id).ok_or_else(|| GgufError::UnknownGgmlType {
        offset: type_at,
        tensor: name.clone(),
        found: id,
    })?;
    let offset_at = cur.offset();
    let offset = cur.u64()?;
    let (n_elements, n_bytes) = shape_size(&name, &dims, ggml_type, dims_at)?;
    if !offset.is_multiple_of(alignment) {
        let tensor = name;
        return Err(GgufError::MisalignedTensor {
            offset: offset_at,
            tensor,
            found: offset,
            alignment,
        }
        .into());
    }
    if offset.checked_add(n_bytes).is_none() {
        let (tensor, end) = (name, u64::MAX);
        return Err(GgufError::TensorOutOfBounds {
            offset: offset_at,
            tensor,
            end,
            file_len: u64::MAX,
        }
        .into());
    }
    Ok(TensorInfo { name, dims, ggml_type, offset, n_elements, n_bytes })
}

fn read_dims(cur: &mut Cursor<'_>, limits: &Limits) -> Parse<Vec<u64>> {
    let at = cur.offset();
    let n_dims = cur.u32()?;
    if u64::from(n_dims) > limits.max_dims as u64 {
        let (max, found) = (limits.max_dims as u64, n_dims.into());
        return Err(
            GgufError::LimitExceeded { offset: at, what: Quantity::Dims, max, found }.into()
        );
    }
    let bytes = cur.take(u64::from(n_dims) * 8)?;
    let (chunks, _) = bytes.as_chunks::<8>();
    Ok(chunks.iter().map(|c| u64::from_le_bytes(*c)).collect())
}

/// Element and byte counts of a tensor, with ggml's rules: every dimension and the element
/// count fit in `i64`, and ne0 is a whole number of blocks. Zero-length dimensions are
/// allowed (ggml only rejects negative ones); a 0-dim tensor is a scalar.
fn shape_size(name: &str, dims: &[u64], ty: GgmlType, at: u64) -> Parse<(u64, u64)> {
    let overflow =
        || GgufError::ShapeOverflow { offset: at, tensor: name.to_owned(), dims: dims.to_vec() };
    let limit = i64::MAX as u64;
    let mut n_elements: u64 = 1;
    for &d in dims {
        n_elements =
            n_elements.checked_mul(d).filter(|&n| n <= limit && d <= limit).ok_or_else(overflow)?;
    }
    let ne0 = dims.first().copied().unwrap_or(1);
    let block_size = ty.block_size();
    if !ne0.is_multiple_of(block_size) {
        let tensor = name.to_owned();
        return Err(GgufError::NotBlockMultiple { offset: at, tensor, ne0, block_size }.into());
    }
    let n_bytes = ty.bytes_for(n_elements).ok_or_else(overflow)?;
    Ok((n_elements, n_bytes))
}

/// Checks that every tensor ends inside the file (when its length is known) and that no two
/// tensors' data overlap; returns the data length (the largest end). `info_at` holds each
/// tensor info's file offset, for errors.
pub(crate) fn check_layout(
    tensors: &[TensorInfo],
    info_at: &[u64],
    data_offset: u64,
    file_len: Option<u64>,
) -> Result<u64, GgufError> {
    let at = |i: usize| info_at.get(i).copied().unwrap_or_default();
    if let Some(file_len) = file_len {
        for (i, t) in tensors.iter().enumerate() {
            let end = data_offset.checked_add(t.end()).filter(|&e| e <= file_len);
            if end.is_none() {
                let end = data_offset.saturating_add(t.end());
                let tensor = t.name.clone();
                return Err(GgufError::TensorOutOfBounds { offset: at(i), tensor, end, file_len });
            }
        }
    }
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    order.sort_unstable_by_key(|&i| tensors.get(i).map(|t| (t.offset, t.n_bytes)));
    let mut prev: Option<&TensorInfo> = None;
    for i in order {
        let Some(t) = tensors.get(i) else { continue };
        if t.n_bytes == 0 {
            continue;
        }
        if let Some(p) = prev.filter(|p| t.offset < p.end()) {
            let (tensor, other) = (t.name.clone(), p.name.clone());
            let (start, other_end) = (t.offset, p.end());
            return Err(GgufError::TensorOverlap {
                offset: at(i),
                tensor,
                other,
                start,
                other_end,
            });
        }
        prev = Some(t);
    }
    Ok(tensors.iter().map(TensorInfo::end).max().unwrap_or(0))
}
