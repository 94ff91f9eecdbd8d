//! A bounds-checked little-endian reader over the bytes received so far.
//!
//! Offsets are absolute (from byte 0 of the file). A read that runs past the received bytes
//! stops with `Stop::Need`; a read that runs past the end of the file (when known) or past the
//! header cap fails with a typed error instead.

use super::error::{GgufError, Quantity};

/// Why parsing stopped before the end of an item.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The prefix is too short: a read of `needed` bytes at `offset` did not fit.
    Need { offset: u64, needed: u64 },
    /// The input is malformed.
    Fail(GgufError),
}

impl From<GgufError> for Stop {
    fn from(e: GgufError) -> Stop {
        Stop::Fail(e)
    }
}

/// Result of a parsing step.
pub(crate) type Parse<T> = Result<T, Stop>;

/// Reader over `buf` (the file prefix) starting at an absolute position.
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Reads may not end past this offset: min(file length, header cap).
    hard_end: u64,
    /// The file length, when known.
    file_len: Option<u64>,
    /// The header cap (`Limits::max_header_bytes`).
    max_header: u64,
    /// Bytes taken, including any later given back by `rewind` (a measure of parse work).
    taken: u64,
}

impl<'a> Cursor<'a> {
    /// A cursor at absolute offset `pos` of `buf`.
    pub fn new(buf: &'a [u8], pos: u64, file_len: Option<u64>, max_header: u64) -> Cursor<'a> {
        let hard_end = file_len.map_or(max_header, |f| f.min(max_header));
        let pos = usize::try_from(pos).unwrap_or(usize::MAX);
        Cursor { buf, pos, hard_end, file_len, max_header, taken: 0 }
    }

    /// The absolute offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.pos as u64
    }

    /// Bytes taken so far, counting bytes re-read after a `rewind`.
    pub fn taken(&self) -> u64 {
        self.taken
    }

    /// Bytes that may still be read before the file end or the header cap.
    pub fn remaining(&self) -> u64 {
        self.hard_end.saturating_sub(self.offset())
    }

    /// Bytes already received past the current position.
    pub fn buffered(&self) -> u64 {
        (self.buf.len() as u64).saturating_sub(self.offset())
    }

    /// A safe capacity for `count` items of at least `min_size` bytes each: no more than the
    /// received bytes could hold.
    pub fn capacity_for(&self, count: u64, min_size: u64) -> usize {
        let fit = self.buffered() / min_size.max(1);
        usize::try_from(count.min(fit)).unwrap_or(0)
    }

    /// Fails unless `count` items of at least `min_size` bytes each can fit in what is left.
    /// `at` is the offset of the count field, for the error.
    pub fn check_fits(&self, at: u64, what: Quantity, count: u64, min_size: u64) -> Parse<()> {
        let max = self.remaining() / min_size.max(1);
        if count > max {
            return Err(GgufError::CountTooLarge { offset: at, what, found: count, max }.into());
        }
        Ok(())
    }

    /// Takes the next `n` bytes.
    pub fn take(&mut self, n: u64) -> Parse<&'a [u8]> {
        let start = self.offset();
        let end = match start.checked_add(n) {
            Some(end) if end <= self.hard_end => end,
            _ => return Err(self.past_end(start, n)),
        };
        let bytes = usize::try_from(end).ok().and_then(|end| self.buf.get(self.pos..end));
        let Some(bytes) = bytes else {
            return Err(Stop::Need { offset: start, needed: n });
        };
        self.pos += bytes.len();
        self.taken += n;
        Ok(bytes)
    }

    fn past_end(&self, start: u64, n: u64) -> Stop {
        match self.file_len {
            Some(len) if len <= self.max_header => GgufError::Truncated {
                offset: start,
                needed: n,
                available: len.saturating_sub(start),
            }
            .into(),
            _ => GgufError::LimitExceeded {
                offset: start,
                what: Quantity::HeaderBytes,
                max: self.max_header,
                found: start.saturating_add(n),
            }
            .into(),
        }
    }

    /// Takes the next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Parse<[u8; N]> {
        let start = self.offset();
        let bytes = self.take(N as u64)?;
        bytes.first_chunk::<N>().copied().ok_or(Stop::Need { offset: start, needed: N as u64 })
    }

    /// Reads a `u8`.
    pub fn u8(&mut self) -> Parse<u8> {
        self.array::<1>().map(u8::from_le_bytes)
    }

    /// Reads a little-endian `u32`.
    pub fn u32(&mut self) -> Parse<u32> {
        self.array::<4>().map(u32::from_le_bytes)
    }

    /// Reads a little-endian `u64`.
    pub fn u64(&mut self) -> Parse<u64> {
        self.array::<8>().map(u64::from_le_bytes)
    }

    /// Runs `read`; if it stops, moves back to where it started, so a unit is read whole or
    /// not at all.
    pub fn atomic<T>(&mut self, read: impl FnOnce(&mut Self) -> Parse<T>) -> Parse<T> {
        let start = self.pos;
        let result = read(self);
        if result.is_err() {
            self.pos = start;
        }
        result
    }

    /// Moves back to an earlier offset `to` (one this cursor has passed).
    pub fn rewind(&mut self, to: u64) {
        if let Ok(to) = usize::try_from(to) {
            self.pos = self.pos.min(to);
        }
    }

    /// Reads a GGUF string (u64 length, then UTF-8 bytes) of at most `max_len` bytes, whole or
    /// not at all.
    pub fn str(&mut self, max_len: u64) -> Parse<&'a str> {
        let start = self.offset();
        let bytes = self.raw_str(max_len)?;
        let data_at = self.offset() - bytes.len() as u64;
        std::str::from_utf8(bytes).map_err(|e| {
            self.rewind(start);
            let found = bytes.get(e.valid_up_to()).copied().unwrap_or_default();
            GgufError::InvalidUtf8 { offset: data_at + e.valid_up_to() as u64, found }.into()
        })
    }

    /// Reads a GGUF string's bytes without checking UTF-8, whole or not at all.
    pub fn raw_str(&mut self, max_len: u64) -> Parse<&'a [u8]> {
        self.atomic(|cur| {
            let at = cur.offset();
            let len = cur.u64()?;
            if len > max_len {
                let what = Quantity::StringLen;
                return Err(GgufError::LimitExceeded {
                    offset: at,
                    what,
                    max: max_len,
                    found: len,
                }
                .into());
            }
            cur.check_fits(at, Quantity::StringLen, len, 1)?;
            cur.take(len)
        })
    }
}
