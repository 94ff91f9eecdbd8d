//! The streaming load: a GGUF file arrives as a sequence of chunks, and every byte is written
//! once, straight to its final place.
//!
//! The caller (the JS shim in the browser, a test natively) repeats: ask [`StreamLoad::dest`] where
//! the next bytes go, copy them there, then [`StreamLoad::commit`] how many it wrote. While the
//! header is incomplete the bytes go to a growing header buffer that the incremental parser reads;
//! once the header is parsed, the tensor data region is allocated at its final size and every
//! later byte is written into it at its file position. The few bytes of the chunk that crossed the
//! end of the header are the only ones ever moved (less than one chunk).

use crate::gguf::{Header, HeaderParser, Limits, Step};
use crate::memory::AlignedRegion;

use super::error::LoadError;

/// What the load has learned so far; the tensor data region exists once the header is known.
enum Phase {
    /// Collecting the header; the parser wants `need` bytes before it is worth calling again.
    Header { parser: HeaderParser, need: u64 },
    /// Header parsed; bytes up to `header.data_offset` (alignment padding) still go to `prefix`.
    Data { header: Header, data: AlignedRegion },
}

/// The state of one file being streamed into memory.
pub struct StreamLoad {
    phase: Phase,
    /// File bytes `[0, received)` while in the header phase; afterwards `[0, data_offset)`.
    prefix: Vec<u8>,
    received: u64,
    /// Bytes handed out by the last `dest` and not yet committed.
    reserved: u64,
    announced_len: Option<u64>,
    max_header_bytes: u64,
    /// Where the zero padding after the last tensor is written (and forgotten).
    padding: [u8; PADDING_SCRATCH],
}

/// ggml pads every tensor's data to the alignment, the last one included; those trailing
/// bytes carry nothing and go through this small scratch, a piece at a time.
const PADDING_SCRATCH: usize = 256;

/// The end of the last tensor's data, and that end rounded up to the alignment: a file may
/// end anywhere between the two.
fn data_ends(h: &Header) -> (u64, u64) {
    let end = h.data_offset + h.data_len;
    let padded = end.checked_next_multiple_of(h.alignment.max(1)).unwrap_or(end);
    (end, padded)
}

impl StreamLoad {
    /// Starts a load. `announced_len` is the file length if the source knows it (Content-Length,
    /// `Blob.size`): the parser then rejects headers that describe a different file.
    pub fn new(announced_len: Option<u64>, limits: Limits) -> Self {
        let max_header_bytes = limits.max_header_bytes;
        Self {
            phase: Phase::Header { parser: HeaderParser::new(limits), need: 0 },
            prefix: Vec::new(),
            received: 0,
            reserved: 0,
            announced_len,
            max_header_bytes,
            padding: [0; PADDING_SCRATCH],
        }
    }

    /// Bytes committed so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The parsed header, once complete.
    pub fn header(&self) -> Option<&Header> {
        match &self.phase {
            Phase::Data { header, .. } => Some(header),
            Phase::Header { .. } => None,
        }
    }

    /// The file length the header implies, once it is known.
    pub fn expected_len(&self) -> Option<u64> {
        self.header().map(|h| h.data_offset + h.data_len)
    }

    /// The tensor data region (`data_len` bytes, the file from `data_offset` on).
    pub fn data(&self) -> Option<&[u8]> {
        match &self.phase {
            Phase::Data { data, .. } => Some(data.as_slice()),
            Phase::Header { .. } => None,
        }
    }

    /// Where the next bytes of the file go: a slice of at most `want` bytes, possibly fewer (the
    /// caller then asks again for the rest). Its contents are to be overwritten, then committed.
    pub fn dest(&mut self, want: u64) -> Result<&mut [u8], LoadError> {
        let len = self.dest_len(want)?;
        self.reserved = len;
        let start = self.received;
        match &mut self.phase {
            Phase::Data { header, data } if start >= header.data_offset => {
                let at = (start - header.data_offset) as usize;
                match data.as_mut_slice().get_mut(at..at + len as usize) {
                    Some(slice) => Ok(slice),
                    None => Ok(&mut self.padding[..len as usize]),
                }
            }
            // The header, or the alignment padding between the header and the tensor data.
            _ => Ok(grow_tail(&mut self.prefix, start, len)),
        }
    }

    /// How many of `want` bytes fit contiguously at the current position.
    fn dest_len(&self, want: u64) -> Result<u64, LoadError> {
        let room = match &self.phase {
            Phase::Header { .. } => {
                let room = self.max_header_bytes.saturating_sub(self.received);
                if room == 0 {
                    return Err(LoadError::HeaderTooLarge { limit: self.max_header_bytes });
                }
                room
            }
            Phase::Data { header, .. } if self.received < header.data_offset => {
                header.data_offset - self.received
            }
            Phase::Data { header, .. } => {
                let (end, padded) = data_ends(header);
                if self.received < end {
                    end - self.received
                } else if self.received < padded {
                    (padded - self.received).min(PADDING_SCRATCH as u64)
                } else {
                    return Err(LoadError::TrailingBytes { offset: self.received, expected: end });
                }
            }
        };
        Ok(want.min(room))
    }

    /// Records that the first `n` bytes of the last `dest` slice now hold file bytes.
    pub fn commit(&mut self, n: u64) -> Result<(), LoadError> {
        if n > self.reserved {
            return Err(LoadError::CommitTooLarge { committed: n, reserved: self.reserved });
        }
        self.reserved = 0;
        self.received += n;
        if let Phase::Header { parser, need } = &mut self.phase {
            self.prefix.truncate(self.received as usize);
            if self.received >= *need {
                match parser.advance(&self.prefix, self.announced_len)? {
                    Step::NeedMore { total } => *need = total,
                    Step::Done(header) => self.enter_data_phase(header)?,
                }
            }
        } else if self.prefix.len() as u64 > self.received {
            self.prefix.truncate(self.received as usize);
        }
        Ok(())
    }

    /// Allocates the tensor data region and moves into it the bytes that crossed the header end.
    fn enter_data_phase(&mut self, header: Header) -> Result<(), LoadError> {
        let (expected, padded) = data_ends(&header);
        if let Some(announced) = self.announced_len {
            if announced < expected || announced > padded {
                return Err(LoadError::LengthMismatch { announced, expected });
            }
        }
        if self.prefix.len() as u64 > padded {
            return Err(LoadError::TrailingBytes { offset: padded, expected });
        }
        let mut data = AlignedRegion::zeroed(header.data_len)?;
        let data_offset = header.data_offset as usize;
        if self.prefix.len() > data_offset {
            let overflow = &self.prefix[data_offset..];
            let n = overflow.len().min(data.len());
            data.as_mut_slice()[..n].copy_from_slice(&overflow[..n]);
            self.prefix.truncate(data_offset);
        }
        self.prefix.shrink_to_fit();
        self.phase = Phase::Data { header, data };
        Ok(())
    }

    /// Ends the load: every byte the header announces has arrived, and no more than the
    /// alignment padding after it (`dest` refuses anything further).
    pub fn finish(self) -> Result<LoadedFile, LoadError> {
        let received = self.received;
        match self.phase {
            Phase::Header { .. } => Err(LoadError::Truncated { received, expected: received + 1 }),
            Phase::Data { header, data } => {
                let (expected, _) = data_ends(&header);
                if received < expected {
                    return Err(LoadError::Truncated { received, expected });
                }
                Ok(LoadedFile { header, data, file_len: received })
            }
        }
    }
}

/// Extends `buf` (holding `[0, start)`) by `len` bytes and returns the new tail.
fn grow_tail(buf: &mut Vec<u8>, start: u64, len: u64) -> &mut [u8] {
    let start = start as usize;
    buf.resize(start + len as usize, 0);
    &mut buf[start..]
}

/// A completely received GGUF file: its header and its tensor data, in place.
pub struct LoadedFile {
    pub header: Header,
    pub data: AlignedRegion,
    pub file_len: u64,
}
