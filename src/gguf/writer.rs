//! A streaming GGUF v3 writer (little-endian).
//!
//! The header (metadata, tensor infos, padding) is laid out in memory first: it is small (a few
//! MB for a 256k vocabulary) and the tensor offsets depend only on the shapes. Tensor data then
//! streams through in tensor-info order, in pieces of any size, straight to the `Write` sink:
//! nothing of a tensor is held by the writer, so multi-GB files cost only the caller's buffer.
//!
//! Layout, as ggml's own writer produces it: every tensor's data starts at a multiple of the
//! alignment (`general.alignment`, a u32 power of two, or 32), and is followed by zero padding up
//! to the next multiple, the last one included.
//!
//! The writer issues one `write_all` per piece the caller hands over, plus a small one per
//! padding run; wrap a file in a `BufWriter` when the pieces are small.

use std::fmt;
use std::io::{self, Write};

use super::header::TensorInfo;
use super::metadata::Metadata;
use super::types::GgmlType;
use super::value::{Array, Value, ValueType};

/// The GGUF version written.
pub const GGUF_VERSION: u32 = 3;
/// Alignment used when the metadata has no `general.alignment`.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// ggml's `GGML_MAX_DIMS`: readers reject tensors with more dimensions.
pub const MAX_DIMS: usize = 4;

/// A tensor to be written: the caller's part of a `TensorInfo` (the writer places it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    /// The tensor name (`blk.0.attn_q.weight`).
    pub name: String,
    /// Dimensions, ne0 (the contiguous one) first.
    pub dims: Vec<u64>,
    /// The element type.
    pub ggml_type: GgmlType,
}

impl TensorSpec {
    /// A spec from borrowed parts.
    pub fn new(name: &str, dims: &[u64], ggml_type: GgmlType) -> TensorSpec {
        TensorSpec {
            name: name.to_owned(),
            dims: dims.to_vec(),
            ggml_type,
        }
    }
}

// ---- errors ------------------------------------------------------------------------------------

/// Everything that can go wrong while writing a GGUF file.
#[non_exhaustive]
#[derive(Debug)]
pub enum WriteError {
    /// The sink failed.
    Io(io::Error),
    /// An earlier I/O error left the output incomplete; the writer refuses further calls.
    Failed,
    /// `general.alignment` has a type other than u32.
    WrongKeyType {
        key: String,
        expected: ValueType,
        found: ValueType,
    },
    /// `general.alignment` is zero or not a power of two.
    InvalidAlignment { found: u64 },
    /// Two tensors share a name.
    DuplicateTensor { tensor: String },
    /// More than `MAX_DIMS` dimensions, a dimension or element count above `i64::MAX`, or
    /// ne0 not a whole number of the type's blocks.
    BadShape {
        tensor: String,
        dims: Vec<u64>,
        ggml_type: GgmlType,
    },
    /// Tensor data given for `found` while `expected` is next (`None`: all were written).
    UnexpectedTensor {
        expected: Option<String>,
        found: String,
    },
    /// A tensor's data is not `GgmlType::bytes_for(n_elements)` bytes: `found` is the byte
    /// count given (so far, when too many).
    SizeMismatch {
        tensor: String,
        expected: u64,
        found: u64,
    },
    /// Data appended with no tensor begun.
    NoOpenTensor,
    /// A tensor was begun, or the file finished, while `tensor` was still open.
    TensorOpen { tensor: String },
    /// `finish` was called with `remaining` tensors unwritten, `next` the first of them.
    MissingTensors { next: String, remaining: usize },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use WriteError::*;
        match self {
            Io(e) => write!(f, "GGUF write failed: {e}"),
            Failed => f.write_str("GGUF writer unusable after an earlier I/O error"),
            WrongKeyType {
                key,
                expected,
                found,
            } => {
                write!(
                    f,
                    "metadata key '{key}' has type {found:?} (expected {expected:?})"
                )
            }
            InvalidAlignment { found } => {
                write!(f, "general.alignment {found} is not a nonzero power of two")
            }
            DuplicateTensor { tensor } => write!(f, "duplicate tensor name '{tensor}'"),
            BadShape {
                tensor,
                dims,
                ggml_type,
            } => {
                write!(
                    f,
                    "tensor '{tensor}': shape {dims:?} is invalid for type {ggml_type}"
                )
            }
            UnexpectedTensor {
                expected: Some(e),
                found,
            } => {
                write!(f, "data for tensor '{found}' given while '{e}' is next")
            }
            UnexpectedTensor {
                expected: None,
                found,
            } => {
                write!(
                    f,
                    "data for tensor '{found}' given after all tensors were written"
                )
            }
            SizeMismatch {
                tensor,
                expected,
                found,
            } => {
                write!(
                    f,
                    "tensor '{tensor}': {found} bytes of data given, expected {expected}"
                )
            }
            NoOpenTensor => f.write_str("tensor data appended with no tensor begun"),
            TensorOpen { tensor } => write!(f, "tensor '{tensor}' is still open"),
            MissingTensors { next, remaining } => {
                write!(f, "{remaining} tensors not written, starting with '{next}'")
            }
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WriteError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> WriteError {
        WriteError::Io(e)
    }
}

// ---- header layout -----------------------------------------------------------------------------

/// A header laid out in memory: its bytes (padding to the data section included) and where
/// every tensor goes.
#[derive(Clone, Debug, PartialEq)]
pub struct HeaderLayout {
    /// Preamble, metadata, tensor infos and zero padding up to `data_offset`.
    pub bytes: Vec<u8>,
    /// The tensor infos, offsets relative to `data_offset`, in file order.
    pub tensors: Vec<TensorInfo>,
    /// The tensor data alignment.
    pub alignment: u64,
    /// Byte just past the last tensor info.
    pub tensor_info_end: u64,
    /// Start of the tensor data: `tensor_info_end` rounded up to the alignment.
    pub data_offset: u64,
    /// The length of the whole file: data offset plus every tensor padded to the alignment.
    pub file_len: u64,
}

/// Lays out a header: checks the alignment key, the names and shapes, places each tensor and
/// serialises everything before the tensor data.
pub fn layout_header(
    metadata: &Metadata,
    specs: &[TensorSpec],
) -> Result<HeaderLayout, WriteError> {
    let alignment = alignment_of(metadata)?;
    let mut tensors = Vec::with_capacity(specs.len());
    let mut names = std::collections::HashSet::with_capacity(specs.len());
    let mut next: u64 = 0;
    for spec in specs {
        if !names.insert(spec.name.as_str()) {
            return Err(WriteError::DuplicateTensor {
                tensor: spec.name.clone(),
            });
        }
        let (n_elements, n_bytes) = shape_size(spec)?;
        let offset = next;
        next = offset
            .checked_add(n_bytes)
            .and_then(|end| end.checked_next_multiple_of(alignment))
            .ok_or_else(|| bad_shape(spec))?;
        let (name, dims, ggml_type) = (spec.name.clone(), spec.dims.clone(), spec.ggml_type);
        tensors.push(TensorInfo {
            name,
            dims,
            ggml_type,
            offset,
            n_elements,
            n_bytes,
        });
    }
    let mut bytes = Vec::new();
    put_preamble(&mut bytes, tensors.len() as u64, metadata.len() as u64);
    for (key, value) in metadata.iter() {
        put_str(&mut bytes, key);
        put_u32(&mut bytes, value.value_type().id());
        put_value(&mut bytes, value);
    }
    for t in &tensors {
        put_tensor_info(&mut bytes, t);
    }
    let tensor_info_end = bytes.len() as u64;
    let data_offset = tensor_info_end.next_multiple_of(alignment);
    bytes.resize(usize::try_from(data_offset).unwrap_or(usize::MAX), 0);
    let file_len = data_offset
        .checked_add(next)
        .ok_or_else(|| match specs.last() {
            Some(spec) => bad_shape(spec),
            None => WriteError::InvalidAlignment { found: alignment },
        })?;
    Ok(HeaderLayout {
        bytes,
        tensors,
        alignment,
        tensor_info_end,
        data_offset,
        file_len,
    })
}

/// `general.alignment` (a u32 power of two), or the default.
fn alignment_of(metadata: &Metadata) -> Result<u64, WriteError> {
    const KEY: &str = "general.alignment";
    match metadata.get(KEY) {
        None => Ok(DEFAULT_ALIGNMENT),
        Some(Value::U32(a)) if a.is_power_of_two() => Ok(u64::from(*a)),
        Some(Value::U32(a)) => Err(WriteError::InvalidAlignment {
            found: u64::from(*a),
        }),
        Some(v) => Err(WriteError::WrongKeyType {
            key: KEY.to_owned(),
            expected: ValueType::U32,
            found: v.value_type(),
        }),
    }
}

fn bad_shape(spec: &TensorSpec) -> WriteError {
    WriteError::BadShape {
        tensor: spec.name.clone(),
        dims: spec.dims.clone(),
        ggml_type: spec.ggml_type,
    }
}

/// Element and byte counts, with the reader's rules: at most `MAX_DIMS` dimensions, every
/// dimension and the element count within `i64`, ne0 a whole number of blocks.
fn shape_size(spec: &TensorSpec) -> Result<(u64, u64), WriteError> {
    if spec.dims.len() > MAX_DIMS {
        return Err(bad_shape(spec));
    }
    let limit = i64::MAX as u64;
    let mut n_elements: u64 = 1;
    for &d in &spec.dims {
        n_elements = n_elements
            .checked_mul(d)
            .filter(|&n| n <= limit && d <= limit)
            .ok_or_else(|| bad_shape(spec))?;
    }
    let ne0 = spec.dims.first().copied().unwrap_or(1);
    if !ne0.is_multiple_of(spec.ggml_type.block_size()) {
        return Err(bad_shape(spec));
    }
    let n_bytes = spec
        .ggml_type
        .bytes_for(n_elements)
        .ok_or_else(|| bad_shape(spec))?;
    Ok((n_elements, n_bytes))
}

// ---- encoding ----------------------------------------------------------------------------------

fn put_u32(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&v.to_le_bytes());
}

fn put_u64(buf: &mut Vec<u8>, v: u64) {
    buf.extend_from_slice(&v.to_le_bytes());
}

/// A GGUF string: u64 byte length, then the UTF-8 bytes.
fn put_str(buf: &mut Vec<u8>, s: &str) {
    put_u64(buf, s.len() as u64);
    buf.extend_from_slice(s.as_bytes());
}

fn put_preamble(buf: &mut Vec<u8>, n_tensors: u64, n_kv: u64) {
    buf.extend_from_slice(b"GGUF");
    put_u32(buf, GGUF_VERSION);
    put_u64(buf, n_tensors);
    put_u64(buf, n_kv);
}

/// A value without its type id.
fn put_value(buf: &mut Vec<u8>, value: &Value) {
    match value {
        Value::U8(v) => buf.push(*v),
        Value::I8(v) => buf.extend_from_slice(&v.to_le_bytes()),
        Value::U16(v) => buf.extend_from_slice(&v.to_le_bytes()),
        Value::I16(v) => buf.extend_from_slice(&v.to_le_bytes()),
        Value::U32(v) => put_u32(buf, *v),
        Value::I32(v) => buf.extend_from_slice(&v.to_le_bytes()),
        Value::U64(v) => put_u64(buf, *v),
        Value::I64(v) => buf.extend_from_slice(&v.to_le_bytes()),
        Value::F32(v) => buf.extend_from_slice(&v.to_le_bytes()),
        Value::F64(v) => buf.extend_from_slice(&v.to_le_bytes()),
        Value::Bool(v) => buf.push(u8::from(*v)),
        Value::String(s) => put_str(buf, s),
        Value::Array(a) => put_array(buf, a),
    }
}

/// An array: element type id, u64 count, elements. A nested array's elements are arrays, each
/// with its own element type and count. Recursion depth is that of the value the caller built.
fn put_array(buf: &mut Vec<u8>, array: &Array) {
    put_u32(buf, array.elem_type().id());
    put_u64(buf, array.len() as u64);
    fn all<T: Copy, const N: usize>(buf: &mut Vec<u8>, v: &[T], le: fn(T) -> [u8; N]) {
        buf.reserve(v.len() * N);
        v.iter().for_each(|&x| buf.extend_from_slice(&le(x)));
    }
    match array {
        Array::U8(v) => buf.extend_from_slice(v),
        Array::I8(v) => all(buf, v, i8::to_le_bytes),
        Array::U16(v) => all(buf, v, u16::to_le_bytes),
        Array::I16(v) => all(buf, v, i16::to_le_bytes),
        Array::U32(v) => all(buf, v, u32::to_le_bytes),
        Array::I32(v) => all(buf, v, i32::to_le_bytes),
        Array::U64(v) => all(buf, v, u64::to_le_bytes),
        Array::I64(v) => all(buf, v, i64::to_le_bytes),
        Array::F32(v) => all(buf, v, f32::to_le_bytes),
        Array::F64(v) => all(buf, v, f64::to_le_bytes),
        Array::Bool(v) => buf.extend(v.iter().map(|&b| u8::from(b))),
        Array::String(v) => v.iter().for_each(|s| put_str(buf, s)),
        Array::Array(v) => v.iter().for_each(|a| put_array(buf, a)),
    }
}

fn put_tensor_info(buf: &mut Vec<u8>, t: &TensorInfo) {
    put_str(buf, &t.name);
    put_u32(buf, t.dims.len() as u32);
    t.dims.iter().for_each(|&d| put_u64(buf, d));
    put_u32(buf, t.ggml_type.id());
    put_u64(buf, t.offset);
}

// ---- the streaming writer ----------------------------------------------------------------------

/// Writes a GGUF file to `W`: the header at construction, then each tensor's data in
/// tensor-info order (`write_tensor_data`, or `begin_tensor` / `write_data` / `end_tensor` for
/// data in pieces), then `finish`.
#[derive(Debug)]
pub struct GgufWriter<W: Write> {
    out: W,
    tensors: Vec<TensorInfo>,
    alignment: u64,
    data_offset: u64,
    file_len: u64,
    /// Index of the next tensor to begin, or of the open one.
    next: usize,
    /// Bytes of the open tensor written so far; `None` when no tensor is open.
    open: Option<u64>,
    /// Bytes written to `out`.
    pos: u64,
    failed: bool,
}

/// Zeros for padding runs.
const ZEROS: [u8; 4096] = [0; 4096];

impl<W: Write> GgufWriter<W> {
    /// Lays out the header and writes it (padding to the data section included).
    pub fn new(
        out: W,
        metadata: &Metadata,
        specs: &[TensorSpec],
    ) -> Result<GgufWriter<W>, WriteError> {
        let layout = layout_header(metadata, specs)?;
        GgufWriter::with_layout(out, layout)
    }

    /// Writes an already laid-out header.
    pub fn with_layout(mut out: W, layout: HeaderLayout) -> Result<GgufWriter<W>, WriteError> {
        out.write_all(&layout.bytes)?;
        Ok(GgufWriter {
            out,
            tensors: layout.tensors,
            alignment: layout.alignment,
            data_offset: layout.data_offset,
            file_len: layout.file_len,
            next: 0,
            open: None,
            pos: layout.bytes.len() as u64,
            failed: false,
        })
    }

    /// The tensor infos as written, offsets relative to `data_offset`.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The tensor whose data comes next (or is being written), if any.
    pub fn next_tensor(&self) -> Option<&TensorInfo> {
        self.tensors.get(self.next)
    }

    /// The tensor data alignment.
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Start of the tensor data in the file.
    pub fn data_offset(&self) -> u64 {
        self.data_offset
    }

    /// The length the finished file will have.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.pos
    }

    /// Writes the whole data of the next tensor, which must be called `name`.
    pub fn write_tensor_data(&mut self, name: &str, data: &[u8]) -> Result<(), WriteError> {
        self.begin_tensor(name)?;
        self.write_data(data)?;
        self.end_tensor()
    }

    /// Starts the data of the next tensor, which must be called `name`.
    pub fn begin_tensor(&mut self, name: &str) -> Result<(), WriteError> {
        self.check_usable()?;
        if let Some(t) = self.open.and(self.tensors.get(self.next)) {
            return Err(WriteError::TensorOpen {
                tensor: t.name.clone(),
            });
        }
        let expected = self.tensors.get(self.next).map(|t| t.name.as_str());
        if expected != Some(name) {
            let (expected, found) = (expected.map(str::to_owned), name.to_owned());
            return Err(WriteError::UnexpectedTensor { expected, found });
        }
        self.open = Some(0);
        Ok(())
    }

    /// Appends a piece of the open tensor's data.
    pub fn write_data(&mut self, data: &[u8]) -> Result<(), WriteError> {
        self.check_usable()?;
        let (Some(written), Some(t)) = (self.open, self.tensors.get(self.next)) else {
            return Err(WriteError::NoOpenTensor);
        };
        let total = written.saturating_add(data.len() as u64);
        if total > t.n_bytes {
            return Err(WriteError::SizeMismatch {
                tensor: t.name.clone(),
                expected: t.n_bytes,
                found: total,
            });
        }
        self.emit(data)?;
        self.open = Some(total);
        Ok(())
    }

    /// Ends the open tensor (it must be complete) and pads to the alignment.
    pub fn end_tensor(&mut self) -> Result<(), WriteError> {
        self.check_usable()?;
        let (Some(written), Some(t)) = (self.open, self.tensors.get(self.next)) else {
            return Err(WriteError::NoOpenTensor);
        };
        if written != t.n_bytes {
            return Err(WriteError::SizeMismatch {
                tensor: t.name.clone(),
                expected: t.n_bytes,
                found: written,
            });
        }
        let mut pad = self.pos.next_multiple_of(self.alignment) - self.pos;
        while pad > 0 {
            let n = pad.min(ZEROS.len() as u64);
            self.emit(&ZEROS[..n as usize])?;
            pad -= n;
        }
        self.open = None;
        self.next += 1;
        Ok(())
    }

    /// Checks every tensor was written, flushes and gives the sink back.
    pub fn finish(mut self) -> Result<W, WriteError> {
        self.check_usable()?;
        if let Some(t) = self.tensors.get(self.next) {
            if self.open.is_some() {
                return Err(WriteError::TensorOpen {
                    tensor: t.name.clone(),
                });
            }
            let remaining = self.tensors.len() - self.next;
            return Err(WriteError::MissingTensors {
                next: t.name.clone(),
                remaining,
            });
        }
        self.out.flush()?;
        debug_assert_eq!(self.pos, self.file_len);
        Ok(self.out)
    }

    fn check_usable(&self) -> Result<(), WriteError> {
        if self.failed {
            Err(WriteError::Failed)
        } else {
            Ok(())
        }
    }

    fn emit(&mut self, data: &[u8]) -> Result<(), WriteError> {
        if let Err(e) = self.out.write_all(data) {
            self.failed = true;
            return Err(WriteError::Io(e));
        }
        self.pos += data.len() as u64;
        Ok(())
    }
}
