//! `PlacedWeights`: the forward pass's `WeightSource` over a loaded model. A layer that lives
//! in a storage memory is copied into a working-set slot by the host when `begin_layer` misses,
//! and stays pinned until `end_layer`, its matrices put in the order the kernels read
//! (`quant::interleave`) as every matrix in the main memory is.

use crate::loader::LoadedModel;
use crate::memory::GroupId;
use crate::memory::pager::{Access, Pager};
use crate::model::{ModelError, TensorId, TensorView, WeightSource};
use crate::quant::interleave::interleaves;

use super::index::{TensorEntry, TensorIndex};

/// Copies bytes out of the storage memories, which only the host can reach.
pub trait StorageHost {
    /// Copies `dst.len()` bytes from offset `src` of storage memory `memory` into `dst`.
    fn copy_in(&mut self, memory: u32, src: u64, dst: &mut [u8]) -> Result<(), String>;
}

/// A loaded model's weights, its pager (for paged layouts) and the host that copies layers in.
pub struct PlacedWeights<'a, H: StorageHost + ?Sized> {
    pub model: &'a mut LoadedModel,
    pub pager: Option<&'a mut Pager>,
    pub index: &'a TensorIndex,
    pub host: &'a mut H,
}

impl<H: StorageHost + ?Sized> PlacedWeights<'_, H> {
    /// Copies layer `layer` into the slot `access` names if it missed there.
    fn fill(&mut self, layer: usize, access: Access) -> Result<(), ModelError> {
        let Access::Miss { slot, .. } = access else { return Ok(()) };
        let page_err = |reason: String| ModelError::Page { layer, reason };
        let home = self.model.placed.plan.placement(GroupId::Layer(layer as u32)).ok_or_else(|| page_err("the layer has no placement".into()))?;
        let (memory, src, len) = (home.home.memory, home.home.offset, home.bytes as usize);
        let pager = self.pager.as_deref().ok_or_else(|| page_err("the layout has no working set".into()))?;
        let start = pager.slot_offset(slot) as usize;
        let main = self.model.placed.main.as_mut_slice();
        let dst = main.get_mut(start..start + len).ok_or_else(|| page_err("the slot lies outside the main memory".into()))?;
        self.host.copy_in(memory, src, dst).map_err(page_err)?;
        // Storage holds the file's order; the main memory, the order the kernels read.
        let placed = &mut self.model.placed;
        let group = placed.groups.groups.iter().find(|g| g.id == GroupId::Layer(layer as u32));
        if let Some(group) = group {
            group.interleave_in(&placed.parts, &mut placed.main.as_mut_slice()[start..start + len], &mut Vec::new());
        }
        Ok(())
    }

    /// Layer `layer`'s group size if it lives in storage (so must be paged), else `None`.
    fn paged_bytes(&self, layer: usize) -> Option<u64> {
        let home = self.model.placed.plan.placement(GroupId::Layer(layer as u32))?;
        (home.home.memory != 0).then_some(home.bytes)
    }

    fn bytes_of(&self, id: TensorId, e: &TensorEntry) -> Result<&[u8], ModelError> {
        let main = self.model.placed.main.as_slice();
        let start = if e.memory == 0 {
            e.offset
        } else {
            let layer = id.layer().ok_or_else(|| ModelError::Page { layer: 0, reason: format!("{} lives in storage", id.name()) })?;
            let not_in = || ModelError::Page { layer, reason: format!("{} was used outside begin_layer/end_layer", id.name()) };
            let pager = self.pager.as_deref().ok_or_else(not_in)?;
            let slot = pager.resident(layer as u32).ok_or_else(not_in)?;
            pager.slot_offset(slot) + e.offset_in_group
        };
        let end = start.checked_add(e.n_bytes).ok_or(ModelError::MissingTensor { name: id.name() })?;
        main.get(start as usize..end as usize).ok_or(ModelError::MissingTensor { name: id.name() })
    }
}

impl<H: StorageHost + ?Sized> WeightSource for PlacedWeights<'_, H> {
    fn begin_layer(&mut self, layer: usize) -> Result<(), ModelError> {
        let Some(bytes) = self.paged_bytes(layer) else { return Ok(()) };
        let pager = self.pager.as_deref_mut().ok_or(ModelError::Page { layer, reason: "the layout has no working set".into() })?;
        let access = pager.acquire(layer as u32, bytes).map_err(|e| ModelError::Page { layer, reason: e.to_string() })?;
        let filled = self.fill(layer, access);
        if filled.is_err()
            && let Some(p) = self.pager.as_deref_mut()
        {
            p.forget(layer as u32);
        }
        filled
    }

    fn end_layer(&mut self, layer: usize) {
        if let Some(p) = self.pager.as_deref_mut() {
            p.release(layer as u32);
        }
    }

    fn prefetch(&mut self, layer: usize) {
        let Some(bytes) = self.paged_bytes(layer) else { return };
        let Some(access) = self.pager.as_deref_mut().and_then(|p| p.prefetch(layer as u32, bytes)) else { return };
        // A failed prefetch is retried, and reported, by the `begin_layer` that needs the layer.
        if self.fill(layer, access).is_err()
            && let Some(p) = self.pager.as_deref_mut()
        {
            p.forget(layer as u32);
        }
    }

    fn tensor(&self, id: TensorId) -> Result<TensorView<'_>, ModelError> {
        let e = self.index.get(id).ok_or(ModelError::MissingTensor { name: id.name() })?;
        Ok(TensorView { ty: e.ty, dims: e.dims, bytes: self.bytes_of(id, e)?, interleaved: interleaves(e.ty) })
    }
}
