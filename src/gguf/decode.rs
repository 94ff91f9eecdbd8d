//! Decoding metadata values (scalars, strings, arrays) from a `Cursor`.

use super::cursor::{Cursor, Parse};
use super::error::{GgufError, Quantity};
use super::header::Limits;
use super::value::{Array, StringArray, Value, ValueType};

/// Hard ceiling on array nesting, whatever `Limits::max_depth` says: each level is one stack
/// frame of recursion.
const DEPTH_CEILING: u32 = 64;

/// Reads a value type id.
pub(crate) fn read_value_type(cur: &mut Cursor<'_>) -> Parse<ValueType> {
    let at = cur.offset();
    let id = cur.u32()?;
    ValueType::from_id(id).ok_or_else(|| GgufError::UnknownValueType { offset: at, found: id }.into())
}

/// Reads one value of type `ty`; `depth` is the number of arrays it is nested in.
pub(crate) fn read_value(
    cur: &mut Cursor<'_>,
    ty: ValueType,
    depth: u32,
    limits: &Limits,
) -> Parse<Value> {
    Ok(match ty {
        ValueType::U8 => Value::U8(cur.u8()?),
        ValueType::I8 => Value::I8(i8::from_le_bytes(cur.array()?)),
        ValueType::U16 => Value::U16(u16::from_le_bytes(cur.array()?)),
        ValueType::I16 => Value::I16(i16::from_le_bytes(cur.array()?)),
        ValueType::U32 => Value::U32(cur.u32()?),
        ValueType::I32 => Value::I32(i32::from_le_bytes(cur.array()?)),
        ValueType::F32 => Value::F32(f32::from_le_bytes(cur.array()?)),
        ValueType::U64 => Value::U64(cur.u64()?),
        ValueType::I64 => Value::I64(i64::from_le_bytes(cur.array()?)),
        ValueType::F64 => Value::F64(f64::from_le_bytes(cur.array()?)),
        ValueType::Bool => Value::Bool(read_bool(cur)?),
        ValueType::String => Value::String(cur.str(limits.max_string_len)?.to_owned()),
        ValueType::Array => Value::Array(read_array(cur, depth + 1, limits)?),
    })
}

fn read_bool(cur: &mut Cursor<'_>) -> Parse<bool> {
    let at = cur.offset();
    match cur.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        found => Err(GgufError::InvalidBool { offset: at, found }.into()),
    }
}

/// Reads an array (element type, count, elements) at nesting level `depth` (1 = top level).
pub(crate) fn read_array(cur: &mut Cursor<'_>, depth: u32, limits: &Limits) -> Parse<Array> {
    let at = cur.offset();
    let max_depth = limits.max_depth.min(DEPTH_CEILING);
    if depth > max_depth {
        let (max, found) = (max_depth.into(), depth.into());
        return Err(GgufError::LimitExceeded { offset: at, what: Quantity::Depth, max, found }.into());
    }
    let elem = read_value_type(cur)?;
    let count_at = cur.offset();
    let count = cur.u64()?;
    if count > limits.max_array_len {
        let (what, max) = (Quantity::ArrayLen, limits.max_array_len);
        return Err(GgufError::LimitExceeded { offset: count_at, what, max, found: count }.into());
    }
    cur.check_fits(count_at, Quantity::ArrayLen, count, elem.min_size())?;
    read_elements(cur, elem, count, depth, limits)
}

fn read_elements(
    cur: &mut Cursor<'_>,
    elem: ValueType,
    count: u64,
    depth: u32,
    limits: &Limits,
) -> Parse<Array> {
    Ok(match elem {
        ValueType::U8 => Array::U8(read_fixed(cur, count, u8::from_le_bytes)?),
        ValueType::I8 => Array::I8(read_fixed(cur, count, i8::from_le_bytes)?),
        ValueType::U16 => Array::U16(read_fixed(cur, count, u16::from_le_bytes)?),
        ValueType::I16 => Array::I16(read_fixed(cur, count, i16::from_le_bytes)?),
        ValueType::U32 => Array::U32(read_fixed(cur, count, u32::from_le_bytes)?),
        ValueType::I32 => Array::I32(read_fixed(cur, count, i32::from_le_bytes)?),
        ValueType::F32 => Array::F32(read_fixed(cur, count, f32::from_le_bytes)?),
        ValueType::U64 => Array::U64(read_fixed(cur, count, u64::from_le_bytes)?),
        ValueType::I64 => Array::I64(read_fixed(cur, count, i64::from_le_bytes)?),
        ValueType::F64 => Array::F64(read_fixed(cur, count, f64::from_le_bytes)?),
        ValueType::Bool => Array::Bool(read_bools(cur, count)?),
        ValueType::String => Array::String(read_strings(cur, count, limits)?),
        ValueType::Array => Array::Array(read_arrays(cur, count, depth, limits)?),
    })
}

/// Reads `count` fixed-size little-endian elements in one bounds-checked slice.
fn read_fixed<T, const N: usize>(
    cur: &mut Cursor<'_>,
    count: u64,
    decode: fn([u8; N]) -> T,
) -> Parse<Vec<T>> {
    let at = cur.offset();
    let n_bytes = count.checked_mul(N as u64).ok_or(GgufError::CountTooLarge {
        offset: at,
        what: Quantity::ArrayLen,
        found: count,
        max: u64::MAX / N as u64,
    })?;
    let bytes = cur.take(n_bytes)?;
    let (chunks, _) = bytes.as_chunks::<N>();
    Ok(chunks.iter().map(|c| decode(*c)).collect())
}

fn read_bools(cur: &mut Cursor<'_>, count: u64) -> Parse<Vec<bool>> {
    let at = cur.offset();
    let bytes = cur.take(count)?;
    if let Some(i) = bytes.iter().position(|&b| b > 1) {
        let found = bytes.get(i).copied().unwrap_or_default();
        return Err(GgufError::InvalidBool { offset: at + i as u64, found }.into());
    }
    Ok(bytes.iter().map(|&b| b == 1).collect())
}

fn read_strings(cur: &mut Cursor<'_>, count: u64, limits: &Limits) -> Parse<StringArray> {
    let mut ends = Vec::with_capacity(cur.capacity_for(count, ValueType::String.min_size()));
    let mut blob = String::new();
    for _ in 0..count {
        blob.push_str(cur.str(limits.max_string_len)?);
        ends.push(blob.len());
    }
    // Ends are pushed at string boundaries in increasing order, so this cannot fail.
    Ok(StringArray::from_parts(blob, ends).unwrap_or_default())
}

fn read_arrays(
    cur: &mut Cursor<'_>,
    count: u64,
    depth: u32,
    limits: &Limits,
) -> Parse<Vec<Array>> {
    let mut arrays = Vec::with_capacity(cur.capacity_for(count, ValueType::Array.min_size()));
    for _ in 0..count {
        arrays.push(read_array(cur, depth + 1, limits)?);
    }
    Ok(arrays)
}
