//! The resumable header parser: feed it a growing file prefix until it answers `Done`.
//!
//! Units (the preamble, each scalar or string metadata pair, each array element or nested
//! array head, each tensor info) are parsed whole or not at all: the parser keeps everything up
//! to the last complete unit (an array value is kept partly filled) and never parses it again.
//! When the bytes run out it answers `NeedMore` with the exact prefix length the failing read
//! needs, and ignores calls with less. A call therefore re-reads at most the few completed
//! reads of one small unit (a tensor info re-reads its name at most 5 times), and a header fed
//! in chunks of any size costs O(n) overall; `bytes_scanned` counts the work.
//!
//! Callers that fetch byte ranges should fetch generous chunks (say, double what they have)
//! rather than exactly up to `total`, which may be only a few bytes ahead.

use std::collections::HashSet;

use super::cursor::{Cursor, Parse, Stop};
use super::decode::{ArrayFill, read_value, read_value_type};
use super::error::{GgufError, Quantity};
use super::header::{Header, Limits, TensorInfo};
use super::metadata::Metadata;
use super::tensor::{check_layout, read_tensor_info};
use super::value::{Value, ValueType};

/// Bytes in the fixed preamble: magic, version, tensor count, metadata count.
const PREAMBLE_BYTES: u64 = 24;
/// Fewest bytes one metadata pair can take: key length, type, a 1-byte value.
const MIN_KV_BYTES: u64 = 8 + 4 + 1;
/// Fewest bytes one tensor info can take: name length, n_dims, type, offset.
const MIN_TENSOR_INFO_BYTES: u64 = 8 + 4 + 4 + 8;
/// Alignment used when `general.alignment` is absent.
const DEFAULT_ALIGNMENT: u64 = 32;

/// What `HeaderParser::advance` needs next.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Call again once the prefix holds at least `total` bytes from the file start (or the
    /// whole file, if it is shorter, with `file_len` set).
    NeedMore { total: u64 },
    /// The header is complete.
    Done(Header),
}

/// A top-level array value being filled across calls.
#[derive(Debug)]
struct PendingArray {
    key: String,
    /// Offset of the metadata pair.
    at: u64,
    fill: ArrayFill,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Preamble,
    Body,
}

/// A resumable GGUF header parser (see the module docs).
#[derive(Debug)]
pub struct HeaderParser {
    /// Boxed: the state is a few hundred bytes, and callers keep the parser inside enums.
    state: Box<State>,
}

impl HeaderParser {
    /// A parser at the start of a file.
    pub fn new(limits: Limits) -> HeaderParser {
        HeaderParser { state: Box::new(State::new(limits)) }
    }

    /// Bytes parsed since the parser was made (across restarts after `Done`), counting bytes
    /// of incomplete units that a later call parsed again; shows the work stays linear.
    pub fn bytes_scanned(&self) -> u64 {
        self.state.scanned
    }

    /// Parses as much of the header as `prefix` (all file bytes received so far, from byte 0)
    /// allows. `file_len` is the total file length if known. After `Done` the parser starts
    /// over, so a further call parses the header again.
    pub fn advance(&mut self, prefix: &[u8], file_len: Option<u64>) -> Result<Step, GgufError> {
        self.state.advance(prefix, file_len)
    }
}

#[derive(Debug)]
struct State {
    limits: Limits,
    phase: Phase,
    /// Offset just past the last complete unit.
    pos: u64,
    version: u32,
    n_tensors: u64,
    n_kv: u64,
    alignment: u64,
    metadata: Metadata,
    /// The array value of the metadata pair being read, if it is incomplete.
    pending: Option<PendingArray>,
    tensors: Vec<TensorInfo>,
    /// File offset of each tensor info, for errors found after all are read.
    info_at: Vec<u64>,
    names: HashSet<String>,
    /// The `total` of the last `NeedMore`.
    need_total: u64,
    /// The read that did not fit last time: (offset, bytes needed).
    last_need: (u64, u64),
    /// Bytes read, counting re-reads of incomplete units.
    scanned: u64,
}

impl State {
    fn new(limits: Limits) -> State {
        State {
            limits,
            phase: Phase::Preamble,
            pos: 0,
            version: 0,
            n_tensors: 0,
            n_kv: 0,
            alignment: DEFAULT_ALIGNMENT,
            metadata: Metadata::new(),
            pending: None,
            tensors: Vec::new(),
            info_at: Vec::new(),
            names: HashSet::new(),
            need_total: 0,
            last_need: (0, 0),
            scanned: 0,
        }
    }

    fn advance(&mut self, prefix: &[u8], file_len: Option<u64>) -> Result<Step, GgufError> {
        let have = prefix.len() as u64;
        if have < self.need_total && file_len.is_none_or(|len| have < len) {
            return Ok(Step::NeedMore { total: self.need_total });
        }
        match self.run(prefix, file_len) {
            Ok(()) => {
                let header = self.finish(file_len)?;
                let scanned = self.scanned;
                *self = State::new(self.limits.clone());
                self.scanned = scanned;
                Ok(Step::Done(header))
            }
            Err(Stop::Fail(e)) => Err(e),
            Err(Stop::Need { offset, needed }) => {
                self.last_need = (offset, needed);
                self.need_total = offset.saturating_add(needed);
                Ok(Step::NeedMore { total: self.need_total })
            }
        }
    }

    fn run(&mut self, prefix: &[u8], file_len: Option<u64>) -> Parse<()> {
        if self.phase == Phase::Preamble {
            self.unit(prefix, file_len, Self::preamble)?;
        }
        while (self.metadata.len() as u64) < self.n_kv {
            if self.pending.is_some() {
                self.fill_pending(prefix, file_len)?;
            } else {
                self.unit(prefix, file_len, Self::kv)?;
            }
        }
        if self.tensors.is_empty() {
            let cur = Cursor::new(prefix, self.pos, file_len, self.limits.max_header_bytes);
            cur.check_fits(8, Quantity::Tensors, self.n_tensors, MIN_TENSOR_INFO_BYTES)?;
        }
        while (self.tensors.len() as u64) < self.n_tensors {
            self.unit(prefix, file_len, Self::tensor)?;
        }
        Ok(())
    }

    /// Parses one unit at `self.pos`; moves past it only if it is complete and valid.
    fn unit(
        &mut self,
        prefix: &[u8],
        file_len: Option<u64>,
        parse: fn(&mut Self, &mut Cursor<'_>) -> Parse<()>,
    ) -> Parse<()> {
        let mut cur = Cursor::new(prefix, self.pos, file_len, self.limits.max_header_bytes);
        let result = parse(self, &mut cur);
        self.scanned = self.scanned.saturating_add(cur.taken());
        if result.is_ok() {
            self.pos = cur.offset();
        }
        result
    }

    fn preamble(&mut self, cur: &mut Cursor<'_>) -> Parse<()> {
        let magic = cur.array::<4>()?;
        if &magic != b"GGUF" {
            return Err(GgufError::BadMagic { offset: 0, found: magic }.into());
        }
        let version = cur.u32()?;
        check_version(version)?;
        let n_tensors = cur.u64()?;
        check_cap(8, Quantity::Tensors, n_tensors, self.limits.max_tensors)?;
        let n_kv = cur.u64()?;
        check_cap(16, Quantity::KvPairs, n_kv, self.limits.max_kv)?;
        cur.check_fits(16, Quantity::KvPairs, n_kv, MIN_KV_BYTES)?;
        cur.check_fits(8, Quantity::Tensors, n_tensors, MIN_TENSOR_INFO_BYTES)?;
        debug_assert_eq!(cur.offset(), PREAMBLE_BYTES);
        (self.version, self.n_tensors, self.n_kv) = (version, n_tensors, n_kv);
        self.phase = Phase::Body;
        Ok(())
    }

    /// Reads a metadata pair; an array value only up to its head (see `fill_pending`).
    fn kv(&mut self, cur: &mut Cursor<'_>) -> Parse<()> {
        let at = cur.offset();
        let key = cur.str(self.limits.max_string_len)?;
        let type_at = cur.offset();
        let ty = read_value_type(cur)?;
        if ty == ValueType::Array {
            let fill = ArrayFill::start(cur, &self.limits)?;
            self.check_key(key, at, type_at, ty)?;
            self.pending = Some(PendingArray { key: key.to_owned(), at, fill });
            return Ok(());
        }
        let value = read_value(cur, ty, &self.limits)?;
        self.check_key(key, at, type_at, ty)?;
        if key == "general.alignment" {
            self.alignment = alignment_of(&value, type_at + 4)?;
        }
        self.insert(key.to_owned(), value, at)
    }

    /// Rejects a duplicate key, and `general.alignment` of a type other than u32.
    fn check_key(&self, key: &str, at: u64, type_at: u64, ty: ValueType) -> Parse<()> {
        if self.metadata.contains_key(key) {
            return Err(GgufError::DuplicateKey { offset: at, key: key.to_owned() }.into());
        }
        if key == "general.alignment" && ty != ValueType::U32 {
            let (key, expected) = (key.to_owned(), ValueType::U32);
            return Err(
                GgufError::WrongKeyType { offset: type_at, key, expected, found: ty }.into()
            );
        }
        Ok(())
    }

    fn insert(&mut self, key: String, value: Value, at: u64) -> Parse<()> {
        if self.metadata.contains_key(&key) {
            return Err(GgufError::DuplicateKey { offset: at, key }.into());
        }
        // The key was checked absent above, so this always succeeds.
        let _ = self.metadata.insert(key, value);
        Ok(())
    }

    /// Appends the received elements to the pending top-level array; stores it once complete.
    fn fill_pending(&mut self, prefix: &[u8], file_len: Option<u64>) -> Parse<()> {
        let Some(mut pending) = self.pending.take() else {
            return Ok(());
        };
        let mut cur = Cursor::new(prefix, self.pos, file_len, self.limits.max_header_bytes);
        let result = pending.fill.fill(&mut cur, &self.limits);
        self.scanned = self.scanned.saturating_add(cur.taken());
        // Elements are read whole, so the cursor is just past the last one appended.
        self.pos = cur.offset();
        if let Err(stop) = result {
            self.pending = Some(pending);
            return Err(stop);
        }
        self.insert(pending.key, Value::Array(pending.fill.into_array()), pending.at)
    }

    fn tensor(&mut self, cur: &mut Cursor<'_>) -> Parse<()> {
        let at = cur.offset();
        let info = read_tensor_info(cur, &self.limits, self.alignment)?;
        if self.names.contains(&info.name) {
            return Err(GgufError::DuplicateTensor { offset: at, tensor: info.name }.into());
        }
        self.names.insert(info.name.clone());
        self.tensors.push(info);
        self.info_at.push(at);
        Ok(())
    }

    /// Places the tensor data and checks the layout.
    fn finish(&mut self, file_len: Option<u64>) -> Result<Header, GgufError> {
        let tensor_info_end = self.pos;
        let data_offset = tensor_info_end.checked_next_multiple_of(self.alignment).ok_or(
            GgufError::LimitExceeded {
                offset: tensor_info_end,
                what: Quantity::HeaderBytes,
                max: self.limits.max_header_bytes,
                found: u64::MAX,
            },
        )?;
        let data_len = check_layout(&self.tensors, &self.info_at, data_offset, file_len)?;
        Ok(Header {
            version: self.version,
            alignment: self.alignment,
            metadata: std::mem::take(&mut self.metadata),
            tensors: std::mem::take(&mut self.tensors),
            tensor_info_end,
            data_offset,
            data_len,
        })
    }
}

fn check_version(version: u32) -> Result<(), GgufError> {
    match version {
        2 | 3 => Ok(()),
        _ if matches!(version.swap_bytes(), 1..=3) => {
            Err(GgufError::BigEndian { offset: 4, found: version, swapped: version.swap_bytes() })
        }
        _ => Err(GgufError::UnsupportedVersion { offset: 4, found: version }),
    }
}

fn check_cap(offset: u64, what: Quantity, found: u64, max: u64) -> Result<(), GgufError> {
    if found > max {
        return Err(GgufError::LimitExceeded { offset, what, max, found });
    }
    Ok(())
}

/// `general.alignment` (already known to be a u32) must be a nonzero power of two.
fn alignment_of(value: &Value, value_at: u64) -> Result<u64, GgufError> {
    match *value {
        Value::U32(a) if a.is_power_of_two() => Ok(a.into()),
        _ => Err(GgufError::InvalidAlignment {
            offset: value_at,
            found: value.as_u64().unwrap_or(0),
        }),
    }
}

/// Parses a complete header from `bytes` with default limits; `Truncated` if it is incomplete.
pub fn parse_header(bytes: &[u8], file_len: Option<u64>) -> Result<Header, GgufError> {
    parse_header_with(bytes, file_len, Limits::default())
}

/// Like `parse_header`, with explicit limits.
pub fn parse_header_with(
    bytes: &[u8],
    file_len: Option<u64>,
    limits: Limits,
) -> Result<Header, GgufError> {
    let mut parser = HeaderParser::new(limits);
    match parser.advance(bytes, file_len)? {
        Step::Done(header) => Ok(header),
        Step::NeedMore { .. } => {
            let (offset, needed) = parser.state.last_need;
            let available = (bytes.len() as u64).saturating_sub(offset);
            Err(GgufError::Truncated { offset, needed, available })
        }
    }
}
