//! Decoding metadata values (scalars, strings, arrays) from a `Cursor`.
//!
//! Arrays are filled without recursion through an explicit stack of the arrays being filled
//! (`ArrayFill`), one element or nested-array head at a time, so a fill can stop when the
//! received bytes run out and resume later exactly where it stopped.

use super::cursor::{Cursor, Parse};
use super::error::{GgufError, Quantity};
use super::header::Limits;
use super::value::{Array, Value, ValueType};

/// Hard ceiling on array nesting, whatever `Limits::max_depth` says: it bounds the fill stack.
const DEPTH_CEILING: u32 = 64;

/// Reads a value type id.
pub(crate) fn read_value_type(cur: &mut Cursor<'_>) -> Parse<ValueType> {
    let at = cur.offset();
    let id = cur.u32()?;
    ValueType::from_id(id)
        .ok_or_else(|| GgufError::UnknownValueType { offset: at, found: id }.into())
}

/// Reads one top-level value of type `ty`, whole.
pub(crate) fn read_value(cur: &mut Cursor<'_>, ty: ValueType, limits: &Limits) -> Parse<Value> {
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
        ValueType::Array => {
            let mut fill = ArrayFill::start(cur, limits)?;
            fill.fill(cur, limits)?;
            Value::Array(fill.into_array())
        }
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

/// Reads an array's element type and count (whole or not at all), checked against the limits
/// and the bytes left. `depth` is the array's nesting level (1 = a metadata value).
fn read_array_head(cur: &mut Cursor<'_>, depth: u32, limits: &Limits) -> Parse<(ValueType, u64)> {
    let at = cur.offset();
    let max_depth = limits.max_depth.min(DEPTH_CEILING);
    if depth > max_depth {
        let (max, found) = (max_depth.into(), depth.into());
        return Err(
            GgufError::LimitExceeded { offset: at, what: Quantity::Depth, max, found }.into()
        );
    }
    cur.atomic(|cur| {
        let elem = read_value_type(cur)?;
        let count_at = cur.offset();
        let count = cur.u64()?;
        if count > limits.max_array_len {
            let (what, max) = (Quantity::ArrayLen, limits.max_array_len);
            return Err(
                GgufError::LimitExceeded { offset: count_at, what, max, found: count }.into()
            );
        }
        cur.check_fits(count_at, Quantity::ArrayLen, count, elem.min_size())?;
        Ok((elem, count))
    })
}

/// An array value being filled, possibly across several calls.
#[derive(Debug)]
pub(crate) struct ArrayFill {
    /// The outermost array first, then each nested array being filled, with its declared count.
    frames: Vec<(Array, u64)>,
}

impl ArrayFill {
    /// Reads the head of a metadata array value and starts filling it.
    pub fn start(cur: &mut Cursor<'_>, limits: &Limits) -> Parse<ArrayFill> {
        let (elem, count) = read_array_head(cur, 1, limits)?;
        let array = Array::with_capacity(elem, cur.capacity_for(count, elem.min_size()));
        Ok(ArrayFill { frames: vec![(array, count)] })
    }

    /// Reads elements until the outermost array is complete. Elements and nested-array heads
    /// are read whole, so when it stops the cursor sits just past the last one taken in, and a
    /// later call resumes there.
    pub fn fill(&mut self, cur: &mut Cursor<'_>, limits: &Limits) -> Parse<()> {
        loop {
            let depth = self.frames.len() as u32;
            let Some((array, count)) = self.frames.last_mut() else {
                return Ok(());
            };
            let left = count.saturating_sub(array.len() as u64);
            if left > 0 {
                if let Array::Array(_) = array {
                    let (elem, n) = read_array_head(cur, depth + 1, limits)?;
                    let inner = Array::with_capacity(elem, cur.capacity_for(n, elem.min_size()));
                    self.frames.push((inner, n));
                } else {
                    extend(cur, array, left, limits)?;
                }
            } else if depth == 1 {
                return Ok(());
            } else if let Some((done, _)) = self.frames.pop()
                && let Some((Array::Array(parent), _)) = self.frames.last_mut()
            {
                parent.push(done);
            }
        }
    }

    /// The filled array.
    pub fn into_array(mut self) -> Array {
        self.frames.truncate(1);
        self.frames.pop().map_or(Array::U8(Vec::new()), |(array, _)| array)
    }
}

/// Appends to a flat (non-nested) array elements from the received bytes: at least one, else
/// it stops asking for one more.
fn extend(cur: &mut Cursor<'_>, array: &mut Array, left: u64, limits: &Limits) -> Parse<()> {
    match array {
        Array::U8(v) => extend_fixed(cur, v, left, u8::from_le_bytes),
        Array::I8(v) => extend_fixed(cur, v, left, i8::from_le_bytes),
        Array::U16(v) => extend_fixed(cur, v, left, u16::from_le_bytes),
        Array::I16(v) => extend_fixed(cur, v, left, i16::from_le_bytes),
        Array::U32(v) => extend_fixed(cur, v, left, u32::from_le_bytes),
        Array::I32(v) => extend_fixed(cur, v, left, i32::from_le_bytes),
        Array::U64(v) => extend_fixed(cur, v, left, u64::from_le_bytes),
        Array::I64(v) => extend_fixed(cur, v, left, i64::from_le_bytes),
        Array::F32(v) => extend_fixed(cur, v, left, f32::from_le_bytes),
        Array::F64(v) => extend_fixed(cur, v, left, f64::from_le_bytes),
        Array::Bool(v) => extend_bools(cur, v, left),
        Array::String(v) => {
            for _ in 0..left {
                v.push(cur.str(limits.max_string_len)?);
            }
            Ok(())
        }
        // Nested arrays are filled through `ArrayFill`'s frames.
        Array::Array(_) => Ok(()),
    }
}

/// Decodes as many of the next `left` fixed-size elements as have been received, in one
/// bounds-checked slice.
fn extend_fixed<T, const N: usize>(
    cur: &mut Cursor<'_>,
    out: &mut Vec<T>,
    left: u64,
    decode: fn([u8; N]) -> T,
) -> Parse<()> {
    let n = left.min(cur.buffered() / N as u64).max(1);
    let bytes = cur.take(n * N as u64)?;
    let (chunks, _) = bytes.as_chunks::<N>();
    out.extend(chunks.iter().map(|c| decode(*c)));
    Ok(())
}

fn extend_bools(cur: &mut Cursor<'_>, out: &mut Vec<bool>, left: u64) -> Parse<()> {
    let at = cur.offset();
    let n = left.min(cur.buffered()).max(1);
    let bytes = cur.take(n)?;
    if let Some(i) = bytes.iter().position(|&b| b > 1) {
        let found = bytes.get(i).copied().unwrap_or_default();
        cur.rewind(at);
        return Err(GgufError::InvalidBool { offset: at + i as u64, found }.into());
    }
    out.extend(bytes.iter().map(|&b| b == 1));
    Ok(())
}
