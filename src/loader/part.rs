//! One file of a load (the whole model, or one part of a split model): its stream position, its
//! header while it is parsed, and where its tensor data begins and ends.

use crate::digest::Sha256;
use crate::gguf::{Header, HeaderParser};

use super::error::LoadError;

pub(super) enum PartPhase {
    /// Collecting the header; the parser wants `need` bytes before it is worth calling again.
    Header { parser: HeaderParser, need: u64 },
    /// Header parsed. The tensor data spans `[data_offset, data_end)`; ggml pads every tensor to
    /// the alignment, the last one included, so the file may end anywhere up to `padded_end`.
    Known { data_offset: u64, data_end: u64, padded_end: u64 },
}

/// The kind of place a part's last `dest` handed out, so that `commit` can hash what was written.
#[derive(Clone, Copy)]
pub(super) enum Last {
    Prefix(usize),
    Main(usize),
    Scratch,
    /// Storage bytes are hashed by the caller (`StreamLoad::hash_storage_piece`).
    Storage,
}

pub(super) struct Part {
    pub phase: PartPhase,
    /// The parsed header, until the model is planned (then the plan owns it).
    pub header: Option<Header>,
    /// File bytes `[0, received)` while in the header phase; afterwards `[0, data_offset)`.
    pub prefix: Vec<u8>,
    pub received: u64,
    /// Bytes handed out by the last `dest` and not yet committed.
    pub reserved: u64,
    pub announced_len: Option<u64>,
    pub last: Last,
    /// SHA-256 of the file so far and the digest it must end with, when the caller asked.
    pub digest: Option<(Sha256, [u8; 32])>,
}

impl Part {
    pub fn new(announced_len: Option<u64>, parser: HeaderParser) -> Part {
        Part {
            phase: PartPhase::Header { parser, need: 0 },
            header: None,
            prefix: Vec::new(),
            received: 0,
            reserved: 0,
            announced_len,
            last: Last::Scratch,
            digest: None,
        }
    }

    /// `(data_end, padded_end)` once the header is known.
    pub fn ends(&self) -> Option<(u64, u64)> {
        match self.phase {
            PartPhase::Known { data_end, padded_end, .. } => Some((data_end, padded_end)),
            PartPhase::Header { .. } => None,
        }
    }

    /// The header is complete after a commit that began at file position `start`. Returns how
    /// many of that commit's bytes are kept: those past the start of the tensor data are handed
    /// back, to be offered again once the model is planned.
    pub fn header_done(&mut self, header: Header, start: u64) -> Result<u64, LoadError> {
        let data_end = header.data_offset + header.data_len;
        let padded_end = data_end.checked_next_multiple_of(header.alignment.max(1)).unwrap_or(data_end);
        if let Some(announced) = self.announced_len
            && (announced < data_end || announced > padded_end)
        {
            return Err(LoadError::LengthMismatch { announced, expected: data_end });
        }
        let kept_end = self.received.min(header.data_offset);
        self.received = kept_end;
        self.prefix.truncate(kept_end as usize);
        self.prefix.shrink_to_fit();
        self.phase = PartPhase::Known { data_offset: header.data_offset, data_end, padded_end };
        self.header = Some(header);
        Ok(kept_end.saturating_sub(start))
    }
}
