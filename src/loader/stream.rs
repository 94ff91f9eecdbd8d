//! The streaming load: a GGUF model (one file, or the parts of a split model) arrives as byte
//! streams, and every byte is written once, straight to its final place as the MemoryPlan says.
//!
//! For each part the caller (the JS shim in the browser, a test natively) repeats: ask
//! [`StreamLoad::dest`] where the next bytes go, copy them there, then [`StreamLoad::commit`] how
//! many it wrote. While a part's header is incomplete its bytes go to a growing header buffer that
//! the incremental parser reads. Once every part's header is known, the tensors are grouped
//! (embeddings, layers, output), the plan gives each group a memory and an offset, the main
//! memory's weight block is allocated at its final size, and every later byte goes to its tensor's
//! place: in the main block, or in a storage memory the caller owns ([`Dest::Storage`]). Bytes that
//! complete a header and reach past it are handed back (`commit` keeps fewer), so they too go
//! straight to their place. A group is registered the moment its last byte lands.
//!
//! A single file is one part whose data follows its header in the same stream. For a split model
//! the caller feeds every part's header first (bytes the load does not keep are handed back), and
//! streams each part's data from [`StreamLoad::position`] once the model is planned.

use crate::digest::{Sha256, to_hex};
use crate::gguf::{Header, HeaderParser, Limits, Step};
use crate::memory::plan::MemoryPlan;
use crate::memory::{AlignedRegion, GroupId, Groups, LayerRegistry, PlanLimits};
use crate::model::ModelConfig;
use crate::model::weights::check_types;

use super::error::LoadError;
use super::part::{Last, Part, PartPhase};
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

/// A model whose headers are all known: the headers, groups, plan, main weight block, registry.
pub struct Placed {
    /// One header per part (one for an unsplit file); the first carries the model metadata.
    pub parts: Vec<Header>,
    pub groups: Groups,
    pub plan: MemoryPlan,
    /// The main memory's weight block: resident groups and the working set.
    pub main: AlignedRegion,
    pub registry: LayerRegistry,
    maps: Vec<FileMap>,
    /// Bytes still missing per group (index as in `groups.groups`).
    missing: Vec<u64>,
    /// Groups completed since the caller last asked.
    fresh: Vec<GroupId>,
}

impl Placed {
    /// The header of the first part: the model's metadata.
    pub fn header(&self) -> &Header {
        &self.parts[0]
    }
}

/// The state of one model being streamed into memory.
pub struct StreamLoad {
    parts: Vec<Part>,
    placed: Option<Box<Placed>>,
    max_header_bytes: u64,
    plan_limits: PlanLimits,
    scratch: Box<[u8; SCRATCH]>,
}

impl StreamLoad {
    /// Starts the load of a single file. `announced_len` is its length if the source knows it
    /// (Content-Length, `Blob.size`): headers that describe a different file are refused.
    pub fn new(announced_len: Option<u64>, limits: Limits, plan_limits: PlanLimits) -> Self {
        Self::split(&[announced_len], limits, plan_limits)
    }

    /// Starts the load of a model split into `announced.len()` files, in `split.no` order.
    pub fn split(announced: &[Option<u64>], limits: Limits, plan_limits: PlanLimits) -> Self {
        let parts = announced.iter().map(|&len| Part::new(len, HeaderParser::new(limits.clone()))).collect();
        StreamLoad {
            parts,
            placed: None,
            max_header_bytes: limits.max_header_bytes,
            plan_limits,
            scratch: Box::new([0; SCRATCH]),
        }
    }

    pub fn n_parts(&self) -> usize {
        self.parts.len()
    }

    /// Bytes committed so far, over all parts.
    pub fn received(&self) -> u64 {
        self.parts.iter().map(|p| p.received).sum()
    }

    /// Where part `part`'s stream stands: the next file byte it expects.
    pub fn position(&self, part: usize) -> u64 {
        self.parts.get(part).map_or(0, |p| p.received)
    }

    /// Whether part `part`'s header has been parsed.
    pub fn header_complete(&self, part: usize) -> bool {
        self.parts.get(part).is_some_and(|p| !matches!(p.phase, PartPhase::Header { .. }))
    }

    /// The headers, groups and plan, once every part's header is parsed.
    pub fn placed(&self) -> Option<&Placed> {
        self.placed.as_deref()
    }

    /// The total length of all parts, once every header is known.
    pub fn expected_len(&self) -> Option<u64> {
        self.parts.iter().map(|p| p.ends().map(|(end, _)| end)).sum()
    }

    /// Makes `finish` fail unless part `part`'s SHA-256 is `expected`. Bytes written to storage
    /// memories must then be passed to [`Self::hash_storage_piece`] before they are committed.
    pub fn verify_sha256(&mut self, part: usize, expected: [u8; 32]) {
        if let Some(p) = self.parts.get_mut(part) {
            p.digest = Some((Sha256::new(), expected));
        }
    }

    /// Whether part `part`'s storage pieces must be passed to [`Self::hash_storage_piece`].
    pub fn hashes_storage(&self, part: usize) -> bool {
        self.parts.get(part).is_some_and(|p| p.digest.is_some())
    }

    /// Hashes bytes the caller wrote to a storage memory at part `part`'s last `dest`.
    pub fn hash_storage_piece(&mut self, part: usize, bytes: &[u8]) {
        if let Some(Part { digest: Some((h, _)), last: Last::Storage, .. }) = self.parts.get_mut(part) {
            h.update(bytes);
        }
    }

    /// Groups registered since the last call, in completion order.
    pub fn take_completed(&mut self) -> Vec<GroupId> {
        self.placed.as_mut().map_or_else(Vec::new, |p| std::mem::take(&mut p.fresh))
    }

    /// Where the next bytes of part `part` go: at most `want` bytes, possibly fewer (the caller
    /// then asks again for the rest). The destination is to be overwritten, then committed.
    pub fn dest(&mut self, part: usize, want: u64) -> Result<Dest<'_>, LoadError> {
        let p = self.parts.get_mut(part).ok_or(LoadError::NoSuchPart { part })?;
        let start = p.received;
        let dest = match &p.phase {
            PartPhase::Header { .. } => {
                let room = self.max_header_bytes.saturating_sub(start);
                if room == 0 {
                    return Err(LoadError::HeaderTooLarge { limit: self.max_header_bytes });
                }
                p.last = Last::Prefix(start as usize);
                Dest::Bytes(grow_tail(&mut p.prefix, start, want.min(room)))
            }
            PartPhase::Known { data_offset, .. } if start < *data_offset => {
                let len = want.min(data_offset - start);
                p.last = Last::Prefix(start as usize);
                Dest::Bytes(grow_tail(&mut p.prefix, start, len))
            }
            PartPhase::Known { data_end, padded_end, .. } => {
                let (end, limit) = (*data_end, padded_end.max(data_end));
                if start >= *limit {
                    return Err(LoadError::TrailingBytes { offset: start, expected: end });
                }
                let model = self.placed.as_deref_mut().ok_or(LoadError::NotPlanned { part })?;
                match model.maps[part].at(start, want.min(limit - start)) {
                    Slot::Tensor { run, skip, len } if run.memory == 0 => {
                        let at = (run.offset + skip) as usize;
                        p.last = Last::Main(at);
                        Dest::Bytes(&mut model.main.as_mut_slice()[at..at + len as usize])
                    }
                    Slot::Tensor { run, skip, len } => {
                        p.last = Last::Storage;
                        Dest::Storage { memory: run.memory, offset: run.offset + skip, len }
                    }
                    Slot::Gap { len } => {
                        p.last = Last::Scratch;
                        Dest::Bytes(&mut self.scratch[..len.min(SCRATCH as u64) as usize])
                    }
                }
            }
        };
        p.reserved = dest.len();
        Ok(dest)
    }

    /// Records that the first `n` bytes of part `part`'s last `dest` now hold file bytes, and
    /// returns how many of them the load kept: all `n`, except when they complete the header and
    /// reach past the start of the tensor data. Those bytes are handed back (the return value is
    /// smaller) and the caller offers them again, so that they too go straight to their place.
    pub fn commit(&mut self, part: usize, n: u64) -> Result<u64, LoadError> {
        let p = self.parts.get_mut(part).ok_or(LoadError::NoSuchPart { part })?;
        if n > p.reserved {
            return Err(LoadError::CommitTooLarge { committed: n, reserved: p.reserved });
        }
        p.reserved = 0;
        let start = p.received;
        p.received += n;
        let kept = match &mut p.phase {
            PartPhase::Header { parser, need } => {
                p.prefix.truncate(p.received as usize);
                match (p.received >= *need).then(|| parser.advance(&p.prefix, p.announced_len)).transpose()? {
                    Some(Step::NeedMore { total }) => {
                        *need = total;
                        n
                    }
                    Some(Step::Done(header)) => p.header_done(header, start)?,
                    None => n,
                }
            }
            PartPhase::Known { data_offset, .. } if start < *data_offset => {
                p.prefix.truncate(p.received as usize);
                n
            }
            PartPhase::Known { .. } => n,
        };
        let tensor_data = matches!(p.phase, PartPhase::Known { data_offset, .. } if start >= data_offset);
        // Hashed before they are counted: a group they complete is then rearranged.
        self.hash_committed(part, kept);
        if tensor_data && let Some(model) = self.placed.as_deref_mut() {
            model.account(part, start, n);
        }
        if self.placed.is_none() && self.parts.iter().all(|p| p.header.is_some()) {
            self.plan()?;
        }
        Ok(kept)
    }

    /// Feeds the `kept` bytes just committed to the part's digest, if it has one.
    fn hash_committed(&mut self, part: usize, kept: u64) {
        let p = &mut self.parts[part];
        let Some((h, _)) = &mut p.digest else { return };
        let k = kept as usize;
        match p.last {
            Last::Prefix(at) => h.update(&p.prefix[at..at + k]),
            Last::Main(at) => {
                if let Some(model) = &self.placed {
                    h.update(&model.main.as_slice()[at..at + k]);
                }
            }
            Last::Scratch => h.update(&self.scratch[..k]),
            Last::Storage => {} // hashed by the caller before the commit
        }
    }

    /// Every header is known: group the tensors, plan, allocate the main block, map each part.
    fn plan(&mut self) -> Result<(), LoadError> {
        let parts: Vec<Header> = self.parts.iter_mut().filter_map(|p| p.header.take()).collect();
        let groups = if parts.len() == 1 { Groups::from_header(&parts[0])? } else { split_groups(&parts)? };
        check_tensor_types(&parts)?;
        let limits = parts.first().map_or_else(|| self.plan_limits.clone(), |h| self.plan_limits.with_room_for(h));
        let plan = MemoryPlan::new(&groups, &limits)?;
        let main = AlignedRegion::zeroed(plan.memories[0].bytes)?;
        let maps = parts.iter().enumerate().map(|(i, h)| FileMap::new(h, i, &groups, &plan)).collect();
        let missing = groups.groups.iter().map(|g| g.tensors.iter().map(|t| t.n_bytes).sum()).collect();
        let registry = LayerRegistry::default();
        self.placed = Some(Box::new(Placed { parts, groups, plan, main, registry, maps, missing, fresh: Vec::new() }));
        Ok(())
    }

    /// Ends the load: every byte every header announces has arrived (and at most the alignment
    /// padding after it: `dest` refuses anything further), every group is registered, and every
    /// part with an expected SHA-256 has it.
    pub fn finish(self) -> Result<LoadedModel, LoadError> {
        let received = self.received();
        let Some(placed) = self.placed else {
            return Err(LoadError::Truncated { received, expected: received + 1 });
        };
        for p in self.parts {
            let (end, _) = p.ends().unwrap_or((u64::MAX, u64::MAX));
            if p.received < end {
                return Err(LoadError::Truncated { received: p.received, expected: end });
            }
            if let Some((h, want)) = p.digest {
                let found = h.finish();
                if found != want {
                    return Err(LoadError::DigestMismatch { expected: to_hex(&want), found: to_hex(&found) });
                }
            }
        }
        if placed.registry.len() != placed.groups.groups.len() {
            return Err(LoadError::Truncated { received, expected: received + 1 });
        }
        Ok(LoadedModel { placed: *placed, file_len: received })
    }
}

impl Placed {
    /// Counts `n` committed bytes of part `part` from file position `start` against their groups
    /// and registers every group that is now complete.
    fn account(&mut self, part: usize, start: u64, n: u64) {
        let (mut pos, end) = (start, start + n);
        while pos < end {
            match self.maps[part].at(pos, end - pos) {
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

    /// Registers a group whose last byte just landed. One in the main memory is first put in
    /// the order the kernels read (`TensorGroup::interleave_in`); one in a storage memory is, when
    /// a layer is paged in (`runtime::weights`).
    fn register(&mut self, gi: usize) {
        let group = &self.groups.groups[gi];
        if let Some(home) = self.plan.placement(group.id) {
            if home.home.memory == 0 {
                let (start, len) = (home.home.offset as usize, group.bytes as usize);
                if let Some(block) = self.main.as_mut_slice().get_mut(start..start + len) {
                    group.interleave_in(&self.parts, block, &mut Vec::new());
                }
            }
            self.registry.register(&self.parts, group, home);
            self.fresh.push(group.id);
        }
    }
}

/// Refuses, from the headers alone, a model of a known architecture whose forward pass would
/// read a tensor of a type without kernels (e.g. IQ2_XXS), naming the tensor and the type.
/// Files of other architectures load as before (their error comes when inference starts).
fn check_tensor_types(parts: &[Header]) -> Result<(), LoadError> {
    let Some(config) = parts.first().and_then(|h| ModelConfig::from_header(h).ok()) else {
        return Ok(());
    };
    let type_of = |name: &str| parts.iter().find_map(|h| h.tensor(name)).map(|t| t.ggml_type);
    check_types(&config, type_of).map_err(LoadError::Model)
}

/// The groups of a split model, after checking the parts form one model, given in order.
fn split_groups(parts: &[Header]) -> Result<Groups, LoadError> {
    crate::gguf::split::check_parts_in_order(parts)?;
    Ok(Groups::from_parts(parts)?)
}

/// Extends `buf` (holding `[0, start)`) by `len` bytes and returns the new tail.
fn grow_tail(buf: &mut Vec<u8>, start: u64, len: u64) -> &mut [u8] {
    let start = start as usize;
    buf.resize(start + len as usize, 0);
    &mut buf[start..]
}

/// A completely received model: its headers, plan, registry and main weight block.
pub struct LoadedModel {
    pub placed: Placed,
    /// Bytes received over all parts.
    pub file_len: u64,
}

impl LoadedModel {
    /// The bytes of a tensor that lives in the main memory (`None` if in storage or unknown), in
    /// the order they are stored in there (`memory::TensorGroup::interleave_in`).
    pub fn main_tensor_bytes(&self, name: &str) -> Option<&[u8]> {
        let t = self.placed.registry.tensor(name)?;
        if t.memory != 0 {
            return None;
        }
        self.placed.main.as_slice().get(t.offset as usize..(t.offset + t.n_bytes) as usize)
    }
}
