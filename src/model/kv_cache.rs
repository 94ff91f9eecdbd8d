//! The key/value cache: per layer, one f16 key row and one f16 value row per position, as
//! llama.cpp keeps them (its default cache type is F16), in the main memory.

use half::f16;

use super::config::ModelConfig;
use super::error::ModelError;

/// Keys and values of positions `0..len` for every layer.
pub struct KvCache {
    n_ctx: usize,
    k_width: usize,
    v_width: usize,
    keys: Vec<Vec<f16>>,
    values: Vec<Vec<f16>>,
    len: usize,
}

/// Context positions the engine gives a model until asked otherwise (at most its trained
/// context). The memory plan keeps room for a cache of this size.
pub const DEFAULT_CONTEXT: usize = 2048;

/// An empty vector with room for `n` halves, or `OutOfMemory` (its size comes from the context
/// setting). It grows as positions are stored (`store`), within that room, so a cache for a long
/// context costs resident memory only as positions fill: zeroing it up front would touch every
/// page (wasm's allocator clears what `alloc_zeroed` returns), and a 13B-wide model's cache at
/// 2048 positions is 4 GB.
fn reserved(n: usize) -> Result<Vec<f16>, ModelError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| ModelError::OutOfMemory { bytes: (n as u64).saturating_mul(2) })?;
    Ok(v)
}

impl KvCache {
    /// A cache of `n_ctx` positions for model `c`.
    pub fn new(c: &ModelConfig, n_ctx: usize) -> Result<KvCache, ModelError> {
        if n_ctx == 0 {
            return Err(ModelError::InvalidArgument { what: "context length", value: n_ctx });
        }
        let (k_width, v_width) = (c.n_embd_kv(), c.n_kv_heads * c.head_dim_v);
        let too_big = |w: usize| n_ctx.checked_mul(w).ok_or(ModelError::OutOfMemory { bytes: u64::MAX });
        let (k_len, v_len) = (too_big(k_width)?, too_big(v_width)?);
        let mut keys = Vec::with_capacity(c.n_layers);
        let mut values = Vec::with_capacity(c.n_layers);
        for _ in 0..c.n_layers {
            keys.push(reserved(k_len)?);
            values.push(reserved(v_len)?);
        }
        Ok(KvCache { n_ctx, k_width, v_width, keys, values, len: 0 })
    }

    /// Positions the cache can hold.
    pub fn n_ctx(&self) -> usize {
        self.n_ctx
    }

    /// Positions filled.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Forgets positions from `len` on.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Marks positions up to `len` as filled (after a batch has written them).
    pub(crate) fn set_len(&mut self, len: usize) {
        self.len = len.min(self.n_ctx);
    }

    /// Bytes the cache occupies.
    pub fn bytes(&self) -> u64 {
        (self.keys.len() as u64) * (self.n_ctx as u64) * ((self.k_width + self.v_width) as u64) * 2
    }

    /// Bytes a cache of `n_ctx` positions for model `c` occupies.
    pub fn bytes_for(c: &ModelConfig, n_ctx: usize) -> u64 {
        let width = c.n_embd_kv() + c.n_kv_heads * c.head_dim_v;
        (c.n_layers as u64).saturating_mul(n_ctx as u64).saturating_mul(width as u64).saturating_mul(2)
    }

    /// Stores the key and value rows of position `pos` in layer `layer`, rounded to f16.
    pub(crate) fn store(&mut self, layer: usize, pos: usize, k: &[f32], v: &[f32]) {
        let (kw, vw) = (self.k_width, self.v_width);
        // Within the reserved room (`pos < n_ctx`), so this never reallocates.
        for (rows, width) in [(&mut self.keys[layer], kw), (&mut self.values[layer], vw)] {
            if rows.len() < (pos + 1) * width {
                rows.resize((pos + 1) * width, f16::ZERO);
            }
        }
        for (dst, &x) in self.keys[layer][pos * kw..(pos + 1) * kw].iter_mut().zip(k) {
            *dst = f16::from_f32(x);
        }
        for (dst, &x) in self.values[layer][pos * vw..(pos + 1) * vw].iter_mut().zip(v) {
            *dst = f16::from_f32(x);
        }
    }

    /// Layer `layer`'s keys from position `pos` on, one row of `k_width()` halves per position
    /// (all KV heads).
    pub(crate) fn keys_from(&self, layer: usize, pos: usize) -> &[f16] {
        &self.keys[layer][pos * self.k_width..]
    }

    /// Layer `layer`'s values from position `pos` on, one row of `v_width()` halves per position.
    pub(crate) fn values_from(&self, layer: usize, pos: usize) -> &[f16] {
        &self.values[layer][pos * self.v_width..]
    }

    /// Halves per key row.
    pub(crate) fn k_width(&self) -> usize {
        self.k_width
    }

    /// Halves per value row.
    pub(crate) fn v_width(&self) -> usize {
        self.v_width
    }
}
