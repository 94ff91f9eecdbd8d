//! Header equality for the fuzz targets: `Header`'s `PartialEq` says a NaN metadata value is
//! unequal to itself, so floats are compared by their bits (both parsers decode the same bytes).

use gguf64::gguf::{Array, GgufError, Header, Value};

/// Whether two parse results are the same, NaNs included.
pub fn same_result(a: &Result<Header, GgufError>, b: &Result<Header, GgufError>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => same_header(a, b),
        (Err(a), Err(b)) => a == b,
        _ => false,
    }
}

fn same_header(a: &Header, b: &Header) -> bool {
    let fixed = |h: &Header| (h.version, h.alignment, h.tensor_info_end, h.data_offset, h.data_len);
    fixed(a) == fixed(b)
        && a.tensors == b.tensors
        && a.metadata.len() == b.metadata.len()
        && a.metadata.iter().zip(b.metadata.iter()).all(|((ka, va), (kb, vb))| {
            ka == kb && same_value(va, vb) && b.metadata.get(ka).is_some()
        })
}

fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::F32(x), Value::F32(y)) => x.to_bits() == y.to_bits(),
        (Value::F64(x), Value::F64(y)) => x.to_bits() == y.to_bits(),
        (Value::Array(x), Value::Array(y)) => same_array(x, y),
        _ => a == b,
    }
}

fn same_array(a: &Array, b: &Array) -> bool {
    match (a, b) {
        (Array::F32(x), Array::F32(y)) => {
            x.iter().map(|v| v.to_bits()).eq(y.iter().map(|v| v.to_bits()))
        }
        (Array::F64(x), Array::F64(y)) => {
            x.iter().map(|v| v.to_bits()).eq(y.iter().map(|v| v.to_bits()))
        }
        (Array::Array(x), Array::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_array(x, y))
        }
        _ => a == b,
    }
}
