//! The pager: a working set of layer slots in the main memory, for layouts whose layers live in
//! storage memories. A layer in use is pinned; a miss takes a free slot or evicts the least
//! recently used unpinned layer; the caller copies the layer in (through the multi-memory bridge)
//! and may prefetch the next ones. Statistics say what it cost.

use super::plan::WorkingSet;

/// Counters of one pager.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PagerStats {
    pub hits: u64,
    pub misses: u64,
    /// Misses for layers asked ahead of use (prefetch).
    pub prefetches: u64,
    pub evictions: u64,
    pub bytes_paged: u64,
}

/// What `acquire` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The layer is already in `slot`.
    Hit { slot: usize },
    /// The layer must be copied into `slot`, which held `evicted` before (if any).
    Miss { slot: usize, evicted: Option<u32> },
}

impl Access {
    pub fn slot(self) -> usize {
        match self {
            Access::Hit { slot } | Access::Miss { slot, .. } => slot,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PagerError {
    /// Every slot is pinned: nothing can be evicted for `layer`.
    AllPinned { layer: u32 },
}

impl std::fmt::Display for PagerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PagerError::AllPinned { layer } => write!(f, "no slot for layer {layer}: every slot is pinned"),
        }
    }
}

impl std::error::Error for PagerError {}

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    layer: Option<u32>,
    last_use: u64,
    pinned: bool,
}

pub struct Pager {
    ws: WorkingSet,
    slots: Vec<Slot>,
    clock: u64,
    stats: PagerStats,
}

impl Pager {
    pub fn new(ws: WorkingSet) -> Pager {
        Pager { ws, slots: vec![Slot::default(); ws.slots], clock: 0, stats: PagerStats::default() }
    }

    /// Offset of slot `slot` in the main memory's weight block.
    pub fn slot_offset(&self, slot: usize) -> u64 {
        self.ws.offset + slot as u64 * self.ws.slot_bytes
    }

    pub fn stats(&self) -> PagerStats {
        self.stats
    }

    /// The slot holding `layer`, if resident.
    pub fn resident(&self, layer: u32) -> Option<usize> {
        self.slots.iter().position(|s| s.layer == Some(layer))
    }

    /// Makes `layer` (of `bytes` bytes) resident and pins it until `release`. On a miss the
    /// caller copies the layer into the returned slot before using it.
    pub fn acquire(&mut self, layer: u32, bytes: u64) -> Result<Access, PagerError> {
        let access = self.place(layer, bytes, false)?;
        let slot = &mut self.slots[access.slot()];
        slot.pinned = true;
        Ok(access)
    }

    /// Brings `layer` in ahead of use, without pinning it; `None` if resident or nowhere to go.
    pub fn prefetch(&mut self, layer: u32, bytes: u64) -> Option<Access> {
        if self.resident(layer).is_some() {
            return None;
        }
        self.place(layer, bytes, true).ok()
    }

    /// Unpins `layer`.
    pub fn release(&mut self, layer: u32) {
        if let Some(i) = self.resident(layer) {
            self.slots[i].pinned = false;
        }
    }

    /// Empties the slot holding `layer` (its copy failed, so its bytes cannot be trusted).
    pub fn forget(&mut self, layer: u32) {
        if let Some(i) = self.resident(layer) {
            self.slots[i] = Slot::default();
        }
    }

    fn place(&mut self, layer: u32, bytes: u64, ahead: bool) -> Result<Access, PagerError> {
        self.clock += 1;
        if let Some(i) = self.resident(layer) {
            self.slots[i].last_use = self.clock;
            if !ahead {
                self.stats.hits += 1;
            }
            return Ok(Access::Hit { slot: i });
        }
        let victim = self.victim().ok_or(PagerError::AllPinned { layer })?;
        let evicted = self.slots[victim].layer;
        self.slots[victim] = Slot { layer: Some(layer), last_use: self.clock, pinned: false };
        self.stats.misses += u64::from(!ahead);
        self.stats.prefetches += u64::from(ahead);
        self.stats.evictions += u64::from(evicted.is_some());
        self.stats.bytes_paged += bytes;
        Ok(Access::Miss { slot: victim, evicted })
    }

    /// A free slot, else the least recently used unpinned one.
    fn victim(&self) -> Option<usize> {
        if let Some(free) = self.slots.iter().position(|s| s.layer.is_none()) {
            return Some(free);
        }
        self.slots.iter().enumerate().filter(|(_, s)| !s.pinned).min_by_key(|(_, s)| s.last_use).map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pager(slots: usize) -> Pager {
        Pager::new(WorkingSet { slots, slot_bytes: 1000, offset: 5000 })
    }

    #[test]
    fn a_full_model_pass_with_two_slots_misses_every_layer_and_evicts_the_oldest() {
        let mut p = pager(2);
        for layer in 0..5 {
            let a = p.acquire(layer, 900).unwrap();
            assert!(matches!(a, Access::Miss { .. }), "layer {layer}: {a:?}");
            if layer >= 2 {
                assert_eq!(a, Access::Miss { slot: (layer % 2) as usize, evicted: Some(layer - 2) });
            }
            p.release(layer);
        }
        assert_eq!(p.stats(), PagerStats { hits: 0, misses: 5, prefetches: 0, evictions: 3, bytes_paged: 4500 });
        assert_eq!(p.slot_offset(1), 6000);
    }

    #[test]
    fn resident_layers_hit_and_lru_spares_the_recently_used() {
        let mut p = pager(3);
        for layer in [0, 1, 2] {
            p.acquire(layer, 10).unwrap();
            p.release(layer);
        }
        assert_eq!(p.acquire(0, 10).unwrap(), Access::Hit { slot: 0 });
        p.release(0);
        // Layer 1 is now the least recently used.
        assert_eq!(p.acquire(3, 10).unwrap(), Access::Miss { slot: 1, evicted: Some(1) });
        assert_eq!(p.stats().hits, 1);
    }

    #[test]
    fn the_layer_in_use_is_never_evicted() {
        let mut p = pager(1);
        p.acquire(7, 10).unwrap();
        assert_eq!(p.acquire(8, 10), Err(PagerError::AllPinned { layer: 8 }));
        assert_eq!(p.prefetch(8, 10), None);
        p.release(7);
        assert_eq!(p.acquire(8, 10).unwrap(), Access::Miss { slot: 0, evicted: Some(7) });
    }

    #[test]
    fn prefetched_layers_count_apart_and_then_hit() {
        let mut p = pager(2);
        p.acquire(0, 10).unwrap();
        assert_eq!(p.prefetch(1, 10), Some(Access::Miss { slot: 1, evicted: None }));
        assert_eq!(p.prefetch(1, 10), None, "already resident");
        p.release(0);
        assert_eq!(p.acquire(1, 10).unwrap(), Access::Hit { slot: 1 });
        assert_eq!(p.stats(), PagerStats { hits: 1, misses: 1, prefetches: 1, evictions: 0, bytes_paged: 20 });
    }
}
