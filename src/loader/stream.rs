//! The streaming load: a GGUF file arrives as a sequence of chunks, and every byte is written
//! once, straight to its final place as the MemoryPlan says.
//!
//! The caller (the JS shim in the browser, a test natively) repeats: ask [`StreamLoad::dest`] where
//! the next bytes go, copy them there, then [`StreamLoad::commit`] how many it wrote. While the
//! header is incomplete the bytes go to a growing header buffer that the incremental parser reads.
//! Once the header is parsed, the tensors are grouped (embeddings, layers, output), the plan gives
//! each group a memory and an offset, the main memory's weight block is allocated at its final
//! size, and every later byte goes to its tensor's place: in the main block, or in a storage
//! memory the caller owns ([`Dest::Storage`]). The bytes of the chunk that crossed the end of the
//! header are the only ones ever moved (less than one chunk). A group is registered the moment
//! its last byte lands.

use crate::digest::Sha256;
use crate::gguf::{Header, HeaderParser, Limits, Step};
use crate::memory::plan::MemoryPlan;
use crate::memory::{AlignedRegion, GroupId, Groups, LayerRegistry, PlanLimits};

use super::error::LoadError;
use super::placement::{FileMap, Slot};

/// Bytes that belong to no tensor (alignment padding between and after tensors) are written
/// here, a piece at a time, and forgotten.
const SCRATCH: usize = 4096;

/// Where the next bytes go.
#[derive(Debug, PartialEq, Eq)]
pub enum Dest<'a> {
    /// Bytes in this module's own memory (the main memory).
    Bytes(&'a mut [u8]),
    /// `len` bytes at `offset` in storage memory `memory` (1..), which the caller owns.
    Storage { memory: u32, offset: u64, len: u64 },
}

impl Dest<'_> {
    pub fn len(&self) -> u64 {
        match self {
            Dest::Bytes(b) => b.len() as u64,
            Dest::Storage { len, .. } => *len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A model whose header is known: its groups, plan, main weight block and bookkeeping.
pub struct Placed {
    pub header: Header,
    pub groups: Groups,
    pub plan: MemoryPlan,
    /// The main memory's weight block: resident groups and the working set.
    pub main: AlignedRegion,
    pub registry: LayerRegistry,
    map: FileMap,
    /// Bytes still missing per group (index as in `groups.groups`).
    missing: Vec<u64>,
    /// Groups completed since the caller last asked.
    fresh: Vec<GroupId>,
}

enum Phase {
    /// Collecting the header; the parser wants `need` bytes before it is worth calling again.
    Header { parser: HeaderParser, need: u64 },
    /// Header parsed; bytes up to `data_offset` (alignment padding) still go to `prefix`.
    Data(Box<Placed>),
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
    plan_limits: PlanLimits,
    scratch: Box<[u8; SCRATCH]>,
    /// Where the last `dest` pointed, so that `commit` can hash what was written there.
    last: Last,
    /// SHA-256 of the file so far and the digest it must end with, when the caller asked.
    digest: Option<(Sha256, [u8; 32])>,
}

/// The kind of place the last `dest` handed out.
#[derive(Clone, Copy)]
enum Last {
    Prefix(usize),
    Main(usize),
    Scratch,
    /// Storage bytes are hashed by the caller through [`StreamLoad::hash_storage_piece`].
    Storage,
}

/// The end of the last tensor's data, and that end rounded up to the alignment: ggml pads every
/// tensor, the last one included, so a file may end anywhere between the two.
fn data_ends(h: &Header) -> (u64, u64) {
    let end = h.data_offset + h.data_len;
    let padded = end.checked_next_multiple_of(h.alignment.max(1)).unwrap_or(end);
    (end, padded)
}

impl StreamLoad {
    /// Starts a load. `announced_len` is the file length if the source knows it (Content-Length,
    /// `Blob.size`): headers that describe a different file are refused.
    pub fn new(announced_len: Option<u64>, limits: Limits, plan_limits: PlanLimits) -> Self {
        let max_header_bytes = limits.max_header_bytes;
        Self {
            phase: Phase::Header { parser: HeaderParser::new(limits), need: 0 },
            prefix: Vec::new(),
            received: 0,
            reserved: 0,
            announced_len,
            max_header_bytes,
            plan_limits,
            scratch: Box::new([0; SCRATCH]),
            last: Last::Scratch,
            digest: None,
        }
    }

    /// Makes `finish` fail unless the file's SHA-256 is `expected`. Bytes written to storage
    /// memories must then be passed to [`Self::hash_storage_piece`] before they are committed.
    pub fn verify_sha256(&mut self, expected: [u8; 32]) {
        self.digest = Some((Sha256::new(), expected));
    }

    /// Whether storage pieces must be passed to [`Self::hash_storage_piece`].
    pub fn hashes_storage(&self) -> bool {
        self.digest.is_some()
    }

    /// Hashes bytes the caller wrote to a storage memory at the last `dest` (before `commit`).
    pub fn hash_storage_piece(&mut self, bytes: &[u8]) {
        if let (Some((h, _)), Last::Storage) = (&mut self.digest, self.last) {
            h.update(bytes);
        }
    }

    /// Bytes committed so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The header, groups and plan, once the header is parsed.
    pub fn placed(&self) -> Option<&Placed> {
        match &self.phase {
            Phase::Data(p) => Some(p),
            Phase::Header { .. } => None,
        }
    }

    /// The file length the header implies, once it is known.
    pub fn expected_len(&self) -> Option<u64> {
        self.placed().map(|p| data_ends(&p.header).0)
    }

    /// Groups registered since the last call, in completion order.
    pub fn take_completed(&mut self) -> Vec<GroupId> {
        match &mut self.phase {
            Phase::Data(p) => std::mem::take(&mut p.fresh),
            Phase::Header { .. } => Vec::new(),
        }
    }

    /// Where the next bytes of the file go: at most `want` bytes, possibly fewer (the caller then
    /// asks again for the rest). The destination is to be overwritten, then committed.
    pub fn dest(&mut self, want: u64) -> Result<Dest<'_>, LoadError> {
        let start = self.received;
        let (phase, scratch) = (&mut self.phase, &mut self.scratch);
        let dest = match phase {
            Phase::Header { .. } => {
                let room = self.max_header_bytes.saturating_sub(start);
                if room == 0 {
                    return Err(LoadError::HeaderTooLarge { limit: self.max_header_bytes });
                }
                self.last = Last::Prefix(start as usize);
                Dest::Bytes(grow_tail(&mut self.prefix, start, want.min(room)))
            }
            Phase::Data(p) if start < p.header.data_offset => {
                let len = want.min(p.header.data_offset - start);
                self.last = Last::Prefix(start as usize);
                Dest::Bytes(grow_tail(&mut self.prefix, start, len))
            }
            Phase::Data(p) => {
                let (end, padded) = data_ends(&p.header);
                if start >= padded.max(end) {
                    return Err(LoadError::TrailingBytes { offset: start, expected: end });
                }
                match p.map.at(start, want.min(padded.max(end) - start)) {
                    Slot::Tensor { run, skip, len } if run.memory == 0 => {
                        let at = (run.offset + skip) as usize;
                        self.last = Last::Main(at);
                        Dest::Bytes(&mut p.main.as_mut_slice()[at..at + len as usize])
                    }
                    Slot::Tensor { run, skip, len } => {
                        self.last = Last::Storage;
                        Dest::Storage { memory: run.memory, offset: run.offset + skip, len }
                    }
                    Slot::Gap { len } => {
                        self.last = Last::Scratch;
                        Dest::Bytes(&mut scratch[..len.min(SCRATCH as u64) as usize])
                    }
                }
            }
        };
        self.reserved = dest.len();
        Ok(dest)
    }

    /// Records that the first `n` bytes of the last `dest` now hold file bytes, and returns how
    /// many of them the load kept: all `n`, except when they complete the header and reach past
    /// the start of the tensor data. Those bytes are handed back (the return value is smaller)
    /// and the caller offers them again, so that they too go straight to their final place.
    pub fn commit(&mut self, n: u64) -> Result<u64, LoadError> {
        let (last, start) = (self.last, self.received);
        let kept = self.commit_bytes(n)?;
        if let Some((h, _)) = &mut self.digest {
            let k = kept as usize;
            match (last, &self.phase) {
                (Last::Prefix(at), _) => h.update(&self.prefix[at..at + k]),
                (Last::Main(at), Phase::Data(p)) => h.update(&p.main.as_slice()[at..at + k]),
                (Last::Scratch, _) => h.update(&self.scratch[..k]),
                _ => {} // storage: hashed by the caller before the commit
            }
        }
        debug_assert!(self.received == start + kept);
        Ok(kept)
    }

    fn commit_bytes(&mut self, n: u64) -> Result<u64, LoadError> {
        if n > self.reserved {
            return Err(LoadError::CommitTooLarge { committed: n, reserved: self.reserved });
        }
        self.reserved = 0;
        let start = self.received;
        self.received += n;
        match &mut self.phase {
            Phase::Header { parser, need } => {
                self.prefix.truncate(self.received as usize);
                if self.received >= *need {
                    match parser.advance(&self.prefix, self.announced_len)? {
                        Step::NeedMore { total } => *need = total,
                        Step::Done(header) => return self.enter_data_phase(header, start),
                    }
                }
            }
            Phase::Data(p) if start < p.header.data_offset => self.prefix.truncate(self.received as usize),
            Phase::Data(p) => p.account(start, n),
        }
        Ok(n)
    }

    /// Plans the placement and allocates the main weight block. Bytes of this commit (which began
    /// at file position `start`) past the start of the tensor data are handed back.
    fn enter_data_phase(&mut self, header: Header, start: u64) -> Result<u64, LoadError> {
        let (expected, padded) = data_ends(&header);
        if let Some(announced) = self.announced_len {
            if announced < expected || announced > padded {
                return Err(LoadError::LengthMismatch { announced, expected });
            }
        }
        let groups = Groups::from_header(&header)?;
        let plan = MemoryPlan::new(&groups, &self.plan_limits)?;
        let main = AlignedRegion::zeroed(plan.memories[0].bytes)?;
        let map = FileMap::new(&header, &groups, &plan);
        let missing = groups.groups.iter().map(|g| g.tensors.iter().map(|t| t.n_bytes).sum()).collect();
        let kept_end = self.received.min(header.data_offset);
        self.received = kept_end;
        self.prefix.truncate(kept_end as usize);
        self.prefix.shrink_to_fit();
        let placed = Placed { header, groups, plan, main, registry: LayerRegistry::default(), map, missing, fresh: Vec::new() };
        self.phase = Phase::Data(Box::new(placed));
        Ok(kept_end.saturating_sub(start))
    }

    /// Ends the load: every byte the header announces has arrived (and at most the alignment
    /// padding after it: `dest` refuses anything further), every group is registered.
    pub fn finish(self) -> Result<LoadedModel, LoadError> {
        let received = self.received;
        match self.phase {
            Phase::Header { .. } => Err(LoadError::Truncated { received, expected: received + 1 }),
            Phase::Data(p) => {
                let (expected, _) = data_ends(&p.header);
                if received < expected || p.registry.len() != p.groups.groups.len() {
                    return Err(LoadError::Truncated { received, expected });
                }
                if let Some((h, want)) = self.digest {
                    let found = h.finish();
                    if found != want {
                        return Err(LoadError::DigestMismatch { expected: hex(&want), found: hex(&found) });
                    }
                }
                Ok(LoadedModel { placed: *p, file_len: received })
            }
        }
    }
}

impl Placed {
    /// Counts `n` committed bytes from file position `start` against their groups and registers
    /// every group that is now complete.
    fn account(&mut self, start: u64, n: u64) {
        let mut pos = start;
        let end = start + n;
        while pos < end {
            match self.map.at(pos, end - pos) {
                Slot::Tensor { run, len, .. } => {
                    self.missing[run.group] -= len;
                    if self.missing[run.group] == 0 {
                        self.register(run.group);
                    }
                    pos += len;
                }
                Slot::Gap { len } => pos += len,
            }
        }
    }

    fn register(&mut self, gi: usize) {
        let group = &self.groups.groups[gi];
        if let Some(home) = self.plan.placement(group.id) {
            self.registry.register(&self.header, group, home);
            self.fresh.push(group.id);
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Extends `buf` (holding `[0, start)`) by `len` bytes and returns the new tail.
fn grow_tail(buf: &mut Vec<u8>, start: u64, len: u64) -> &mut [u8] {
    let start = start as usize;
    buf.resize(start + len as usize, 0);
    &mut buf[start..]
}

/// A completely received GGUF file: its header, plan, registry and main weight block.
pub struct LoadedModel {
    pub placed: Placed,
    pub file_len: u64,
}

impl LoadedModel {
    /// The bytes of a tensor that lives in the main memory (`None` if paged out or unknown).
    pub fn main_tensor_bytes(&self, name: &str) -> Option<&[u8]> {
        let t = self.placed.registry.tensor(name)?;
        if t.memory != 0 {
            return None;
        }
        self.placed.main.as_slice().get(t.offset as usize..(t.offset + t.n_bytes) as usize)
    }
}
