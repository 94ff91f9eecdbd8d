//! The MemoryPlan: which memory holds each tensor group, at which offset, and how much of the
//! main memory is a working set for paged layers.
//!
//! | kind       | when (auto)                                       | weights                          |
//! |------------|---------------------------------------------------|----------------------------------|
//! | `Standard` | below the memory64 threshold (3 GiB)              | main memory; a wasm32 build can serve |
//! | `Memory64` | fits the main memory with working room and budget | main memory (wasm64)             |
//! | `Paged`    | fits one storage memory, not the budget           | one storage memory, layers paged into main |
//! | `Multi`    | larger than one memory                            | several storage memories (≤ cap each) |
//! | `Disk`     | the memory layouts exceed the memory limit        | one file on disk (the browser's OPFS), layers read into main |
//!
//! Memory 0 is the main memory (the module's own, where kernels compute); 1.. are storage.
//! Embeddings and the output stay in the main memory in every layout. A group never straddles
//! two memories. Every limit is a setting, so tests can force any layout with a small model.
//!
//! A forced paged layout, or one with a layer budget or a working-set count, keeps every layer in
//! storage and pages it through the slots. When the plan pages only because the model is larger
//! than the main memory, the first layers stay resident in the main memory as far as it holds
//! them, and the rest page through `AUTO_PAGED_SLOTS` slots: the page holds each byte once plus
//! two layers, and a token copies only the layers in storage.
//!
//! A memory limit bounds everything the model holds in memory: every memory's weights plus the
//! working room. When the layout chosen in memory would exceed it, the layers go to the disk tier
//! instead, the first ones resident in the main memory as far as the limit allows.

use std::fmt;

use super::groups::{GroupId, Groups, align_up};
use crate::gguf::Header;
use crate::model::kv_cache::{DEFAULT_CONTEXT, KvCache};
use crate::model::ModelConfig;

const GIB: u64 = 1 << 30;
/// Offsets of groups inside a memory are multiples of this.
pub const GROUP_ALIGN: u64 = 64;
/// Working-set slots when the plan pages because the model is larger than the main memory, and
/// no budget or working set was asked for: one layer computing, the next one copied in. Layers
/// are used in a cycle, so any number of slots below the layer count misses on every layer;
/// the main memory's room goes to resident layers instead, which are never copied.
pub const AUTO_PAGED_SLOTS: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayoutKind {
    Standard,
    Memory64,
    Paged,
    Multi,
    /// Layers in one storage area that is a file, not a memory (the disk tier): any size.
    Disk,
}

impl LayoutKind {
    pub fn name(self) -> &'static str {
        match self {
            LayoutKind::Standard => "standard",
            LayoutKind::Memory64 => "memory64",
            LayoutKind::Paged => "paged",
            LayoutKind::Multi => "multi",
            LayoutKind::Disk => "disk",
        }
    }

    pub fn from_name(name: &str) -> Option<LayoutKind> {
        [LayoutKind::Standard, LayoutKind::Memory64, LayoutKind::Paged, LayoutKind::Multi, LayoutKind::Disk]
            .into_iter()
            .find(|k| k.name() == name)
    }

    /// Whether layers live outside the main memory and are paged in.
    pub fn is_paged(self) -> bool {
        matches!(self, LayoutKind::Paged | LayoutKind::Multi | LayoutKind::Disk)
    }
}

/// The build that will run the plan: its main memory cap, and what storage memories are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// memory64: main and storage memories up to 16 GiB each.
    Wasm64,
    /// The fallback: a 4 GiB main memory; storage in JS ArrayBuffers of at most 2 GiB.
    Wasm32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PlanLimits {
    pub target: Target,
    /// Bytes one memory may hold. Default: 16 GiB (wasm64), 4 GiB (wasm32).
    pub memory_cap: u64,
    /// Bytes one storage memory may hold. Default: the memory cap (wasm32: 2 GiB ArrayBuffers).
    pub shard_cap: u64,
    /// Main-memory bytes for layer weights (resident or the paged working set), not counting
    /// embeddings, output, KV cache and activations. `None`: whatever the main memory holds.
    pub layer_budget: Option<u64>,
    /// At most this many layers in the main memory: below the layer count, layers live in
    /// storage memories and a working set of this many slots pages them in.
    pub working_set_layers: Option<usize>,
    /// Main-memory bytes kept free for code, KV cache and activations.
    pub working_room: u64,
    /// Models at least this large leave the standard layout (the seed's 3 GiB).
    pub memory64_threshold: u64,
    /// Bytes the model may hold in memory altogether: the weights of every memory (main and
    /// storage) plus the working room. The main memory stays within it in every layout; a chosen
    /// layout that exceeds it becomes the disk tier. `None`: no limit but the memories' caps.
    pub memory_limit: Option<u64>,
    /// Use this layout instead of choosing one.
    pub force: Option<LayoutKind>,
}

impl PlanLimits {
    pub fn for_target(target: Target) -> PlanLimits {
        let (memory_cap, shard_cap) = match target {
            Target::Wasm64 => (16 * GIB, 16 * GIB),
            Target::Wasm32 => (4 * GIB, 2 * GIB),
        };
        PlanLimits {
            target,
            memory_cap,
            shard_cap,
            layer_budget: None,
            working_set_layers: None,
            working_room: GIB,
            memory64_threshold: 3 * GIB,
            memory_limit: None,
            force: None,
        }
    }
}

/// Main-memory bytes for activations, code and the allocator beside the KV cache.
const ROOM_BESIDE_KV: u64 = GIB / 2;

impl PlanLimits {
    /// These limits with the working room raised, where needed, to hold the KV cache the engine
    /// makes by default for the model `header` describes (`DEFAULT_CONTEXT` positions, or its
    /// trained context if shorter) and `ROOM_BESIDE_KV` more. Unchanged when the header makes
    /// no model config. Every plan of a header (load, `inspect`, the native tools) goes through
    /// this, so they agree.
    pub fn with_room_for(&self, header: &Header) -> PlanLimits {
        let mut limits = self.clone();
        if let Ok(c) = ModelConfig::from_header(header) {
            let kv = KvCache::bytes_for(&c, DEFAULT_CONTEXT.min(c.n_ctx_train));
            limits.working_room = limits.working_room.max(kv.saturating_add(ROOM_BESIDE_KV));
        }
        limits
    }

    /// Main-memory bytes for weights and slots: the memory cap or the memory limit, less the
    /// working room.
    pub fn main_room(&self) -> u64 {
        self.memory_cap.min(self.memory_limit.unwrap_or(u64::MAX)).saturating_sub(self.working_room)
    }
}

/// Where a group lives: memory index (0 = main) and byte offset inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub memory: u32,
    pub offset: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupPlacement {
    pub id: GroupId,
    pub bytes: u64,
    pub home: Placement,
}

/// One memory of the plan: the main one (0) or a storage memory, and the weight bytes it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemorySpec {
    pub index: u32,
    pub bytes: u64,
}

/// Slots in the main memory into which paged layers are copied for compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkingSet {
    pub slots: usize,
    pub slot_bytes: u64,
    /// Offset of the first slot in the main memory.
    pub offset: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MemoryPlan {
    pub kind: LayoutKind,
    pub target: Target,
    pub groups: Vec<GroupPlacement>,
    pub memories: Vec<MemorySpec>,
    pub working_set: Option<WorkingSet>,
    /// Weight bytes of the model (all groups).
    pub model_bytes: u64,
    /// The limit the plan was made under (`PlanLimits::memory_limit`).
    pub memory_limit: Option<u64>,
}

impl MemoryPlan {
    /// Chooses a layout (or takes the forced one) and places every group.
    pub fn new(groups: &Groups, limits: &PlanLimits) -> Result<MemoryPlan, PlanError> {
        match limits.force {
            Some(kind) => Self::place(groups, limits, kind),
            None => Self::choose(groups, limits),
        }
    }

    /// The smallest layout in memory, or the disk tier where that exceeds the memory limit.
    fn choose(groups: &Groups, limits: &PlanLimits) -> Result<MemoryPlan, PlanError> {
        let in_memory = Self::place(groups, limits, choose_kind(groups, limits));
        let Some(limit) = limits.memory_limit else { return in_memory };
        if let Ok(plan) = &in_memory
            && plan.memory_bytes().saturating_add(limits.working_room) <= limit
        {
            return in_memory;
        }
        // Not even the disk tier fits: because of the limit (say what it needs), or of another setting.
        let needs = [groups.non_layer_bytes(GROUP_ALIGN), align_up(groups.max_layer_bytes(), GROUP_ALIGN).unwrap_or(u64::MAX), limits.working_room]
            .into_iter()
            .fold(0, u64::saturating_add);
        Self::place(groups, limits, LayoutKind::Disk).map_err(|e| if limit < needs { PlanError::LimitTooSmall { limit, needs } } else { e })
    }

    /// Bytes the plan's memories hold (the disk tier's file is not memory).
    pub fn memory_bytes(&self) -> u64 {
        let in_memory = |m: &&MemorySpec| m.index == 0 || self.kind != LayoutKind::Disk;
        self.memories.iter().filter(in_memory).map(|m| m.bytes).sum()
    }

    fn place(groups: &Groups, limits: &PlanLimits, kind: LayoutKind) -> Result<MemoryPlan, PlanError> {
        if kind == LayoutKind::Memory64 && limits.target == Target::Wasm32 {
            return Err(PlanError::NeedsMemory64);
        }
        let mut placer = Placer::new(limits);
        for g in groups.groups.iter().filter(|g| !matches!(g.id, GroupId::Layer(_)) || !kind.is_paged()) {
            placer.place_main(g.id, g.bytes)?;
        }
        // Chosen (not forced) paging with no budget or slot count: a small working set, and the
        // main memory's room filled with resident layers first.
        let nothing_asked = limits.layer_budget.is_none() && limits.working_set_layers.is_none();
        let resident_first = kind.is_paged() && limits.force.is_none() && nothing_asked;
        let working_set = if kind.is_paged() {
            let max_slots = if resident_first || (kind == LayoutKind::Disk && nothing_asked) {
                Some(AUTO_PAGED_SLOTS)
            } else {
                limits.working_set_layers
            };
            Some(placer.working_set(groups, limits, max_slots)?)
        } else {
            None
        };
        if kind.is_paged() {
            let mut main_full = !resident_first;
            for g in groups.layers() {
                main_full = main_full || placer.place_main(g.id, g.bytes).is_err();
                if main_full {
                    placer.place_storage(g.id, g.bytes, kind)?;
                }
            }
            if kind == LayoutKind::Paged && placer.memories.len() > 2 {
                let bytes = groups.layers().map(|g| g.bytes).sum();
                return Err(PlanError::DoesNotFit { what: "one storage memory", bytes, cap: limits.shard_cap });
            }
        }
        let mut placed = placer.groups;
        placed.sort_by_key(|p| p.id);
        Ok(MemoryPlan {
            kind,
            target: limits.target,
            groups: placed,
            memories: placer.memories,
            working_set,
            model_bytes: groups.total_bytes(),
            memory_limit: limits.memory_limit,
        })
    }

    pub fn placement(&self, id: GroupId) -> Option<&GroupPlacement> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// Groups whose home is memory `index`.
    pub fn groups_in(&self, index: u32) -> impl Iterator<Item = &GroupPlacement> {
        self.groups.iter().filter(move |g| g.home.memory == index)
    }
}

/// The automatic choice, from the smallest layout up.
fn choose_kind(groups: &Groups, limits: &PlanLimits) -> LayoutKind {
    let total = groups.total_bytes();
    let layer_bytes: u64 = groups.layers().map(|g| g.bytes).sum();
    let main_room = limits.main_room();
    let within_budget = limits.layer_budget.is_none_or(|b| layer_bytes <= b)
        && limits.working_set_layers.is_none_or(|n| n >= groups.n_layers());
    if total <= main_room && within_budget {
        let small = total < limits.memory64_threshold || limits.target == Target::Wasm32;
        return if small { LayoutKind::Standard } else { LayoutKind::Memory64 };
    }
    let storage_fits_one = layer_bytes <= limits.shard_cap;
    if storage_fits_one { LayoutKind::Paged } else { LayoutKind::Multi }
}

/// Assigns offsets, memory by memory.
struct Placer<'a> {
    limits: &'a PlanLimits,
    groups: Vec<GroupPlacement>,
    memories: Vec<MemorySpec>,
}

impl<'a> Placer<'a> {
    fn new(limits: &'a PlanLimits) -> Self {
        Placer { limits, groups: Vec::new(), memories: vec![MemorySpec { index: 0, bytes: 0 }] }
    }

    /// Appends a group to memory `index` if it fits under `cap`.
    fn append(&mut self, index: usize, id: GroupId, bytes: u64, cap: u64) -> Option<()> {
        let memory = self.memories.get_mut(index)?;
        let offset = align_up(memory.bytes, GROUP_ALIGN)?;
        let end = offset.checked_add(bytes)?;
        if end > cap {
            return None;
        }
        memory.bytes = end;
        self.groups.push(GroupPlacement { id, bytes, home: Placement { memory: index as u32, offset } });
        Some(())
    }

    fn place_main(&mut self, id: GroupId, bytes: u64) -> Result<(), PlanError> {
        let cap = self.limits.main_room();
        self.append(0, id, bytes, cap).ok_or(PlanError::DoesNotFit { what: "the main memory", bytes, cap })
    }

    /// Layers fill storage memories in order; a new memory opens when the next layer does not fit.
    /// The disk tier's one file has no cap.
    fn place_storage(&mut self, id: GroupId, bytes: u64, kind: LayoutKind) -> Result<(), PlanError> {
        let cap = if kind == LayoutKind::Disk { u64::MAX } else { self.limits.shard_cap };
        if bytes > cap {
            return Err(PlanError::DoesNotFit { what: "one storage memory", bytes, cap });
        }
        let last = self.memories.len() - 1;
        if last > 0 && self.append(last, id, bytes, cap).is_some() {
            return Ok(());
        }
        let index = self.memories.len();
        self.memories.push(MemorySpec { index: index as u32, bytes: 0 });
        self.append(index, id, bytes, cap).ok_or(PlanError::DoesNotFit { what: "one storage memory", bytes, cap })
    }

    /// As many slots of the largest layer's size as the budget (or the main memory) allows, and
    /// at most `max_slots`.
    fn working_set(&mut self, groups: &Groups, limits: &PlanLimits, max_slots: Option<usize>) -> Result<WorkingSet, PlanError> {
        let slot_bytes = align_up(groups.max_layer_bytes(), GROUP_ALIGN).unwrap_or(u64::MAX);
        let main = &mut self.memories[0];
        let offset = align_up(main.bytes, GROUP_ALIGN).unwrap_or(u64::MAX);
        let room = limits.main_room().saturating_sub(offset);
        let by_count = max_slots.map_or(u64::MAX, |n| (n as u64).saturating_mul(slot_bytes));
        let budget = limits.layer_budget.unwrap_or(room).min(room).min(by_count);
        let slots = (budget / slot_bytes.max(1)).min(groups.n_layers() as u64) as usize;
        if slots == 0 {
            return Err(PlanError::BudgetTooSmall { budget, layer_bytes: slot_bytes });
        }
        main.bytes = offset + slots as u64 * slot_bytes;
        Ok(WorkingSet { slots, slot_bytes, offset })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanError {
    /// A group of `bytes` does not fit `what` (at most `cap` bytes).
    DoesNotFit { what: &'static str, bytes: u64, cap: u64 },
    /// The layer budget holds not even one layer.
    BudgetTooSmall { budget: u64, layer_bytes: u64 },
    /// The memory64 layout was forced on the wasm32 build.
    NeedsMemory64,
    /// Under a memory limit of `limit` bytes not even the disk tier fits: it `needs` the
    /// embeddings, the output, one layer's slot and the working room in memory.
    LimitTooSmall { limit: u64, needs: u64 },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::DoesNotFit { what, bytes, cap } => {
                write!(f, "{bytes} bytes do not fit in {what} (at most {cap} bytes)")
            }
            PlanError::BudgetTooSmall { budget, layer_bytes } => {
                write!(f, "a layer budget of {budget} bytes holds no layer of {layer_bytes} bytes")
            }
            PlanError::NeedsMemory64 => f.write_str("the memory64 layout needs the wasm64 build"),
            PlanError::LimitTooSmall { limit, needs } => write!(
                f,
                "a memory limit of {limit} bytes is below what even the disk tier holds in memory: {needs} bytes (embeddings, output, one layer and the working room)"
            ),
        }
    }
}

impl std::error::Error for PlanError {}
