//! How a model splits over N workers: each shard takes whole key/value heads with their query
//! heads (or an equal part of one group's query heads when there are fewer key/value heads than
//! shards), a part of the feed-forward width, a part of the residual stream's rows (of the
//! attention output and down projections) and a part of the vocabulary. Every matrix is cut by
//! output rows, so no cut falls inside a quantization block and every output is computed by
//! exactly one shard, as a whole model computes it.

use std::ops::Range;

use crate::model::shard::WholeSizes;
use crate::model::{ModelConfig, ShardSlice};

use super::error::ShardError;

/// One slice per shard, in shard order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardPlan {
    pub slices: Vec<ShardSlice>,
}

impl ShardPlan {
    /// Splits the whole model of config `c` into `count` shards.
    pub fn new(c: &ModelConfig, count: usize) -> Result<ShardPlan, ShardError> {
        if count < 2 {
            return Err(ShardError::Count { count });
        }
        if c.shard.is_some() {
            return Err(ShardError::AlreadyShard);
        }
        if c.full_width_qk_norm {
            return Err(ShardError::Unsplittable { reason: "its Q/K norms span every head (olmo2)" });
        }
        let narrow = |what, width| ShardError::TooNarrow { what, width, count };
        let heads = head_ranges(c, count)?;
        let ff = even_ranges(c.n_ff, count).ok_or_else(|| narrow("feed_forward_length", c.n_ff))?;
        let embd = even_ranges(c.n_embd, count).ok_or_else(|| narrow("embedding_length", c.n_embd))?;
        let vocab = even_ranges(c.n_vocab, count).ok_or_else(|| narrow("vocabulary", c.n_vocab))?;
        let whole = WholeSizes { n_embd: c.n_embd, n_heads: c.n_heads, n_kv_heads: c.n_kv_heads, n_ff: c.n_ff, n_vocab: c.n_vocab };
        let slices = heads
            .into_iter()
            .zip(ff.into_iter().zip(embd.into_iter().zip(vocab)))
            .enumerate()
            .map(|(index, ((q_heads, kv_heads), (ff, (embd, vocab))))| ShardSlice { index, count, q_heads, kv_heads, ff, embd, vocab, whole })
            .collect();
        Ok(ShardPlan { slices })
    }

    /// The plan for `wanted` shards, or for the most below it that the model's heads allow;
    /// `None` when not even two work (the model then runs on one thread).
    pub fn at_most(c: &ModelConfig, wanted: usize) -> Option<ShardPlan> {
        (2..=wanted).rev().find_map(|n| ShardPlan::new(c, n).ok())
    }
}

/// (query heads, key/value heads) per shard.
fn head_ranges(c: &ModelConfig, count: usize) -> Result<Vec<(Range<usize>, Range<usize>)>, ShardError> {
    let group = c.n_heads / c.n_kv_heads;
    if c.n_kv_heads >= count {
        // Whole groups: the key/value heads as evenly as possible.
        let kv = even_ranges(c.n_kv_heads, count).ok_or(ShardError::Count { count })?;
        return Ok(kv.into_iter().map(|r| (r.start * group..r.end * group, r)).collect());
    }
    // Fewer key/value heads than shards: each group's query heads split evenly over the shards
    // that share its key/value head (each of them holds it).
    let per_group = count / c.n_kv_heads;
    if !count.is_multiple_of(c.n_kv_heads) || !group.is_multiple_of(per_group) {
        return Err(ShardError::Heads { heads: c.n_heads, kv_heads: c.n_kv_heads, count });
    }
    let part = group / per_group;
    Ok((0..count)
        .map(|s| {
            let kv = s / per_group;
            let first = kv * group + (s % per_group) * part;
            (first..first + part, kv..kv + 1)
        })
        .collect())
}

/// `width` cut into `count` non-empty ranges, as evenly as possible.
fn even_ranges(width: usize, count: usize) -> Option<Vec<Range<usize>>> {
    if width < count {
        return None;
    }
    let cut = |i: usize| i * width / count;
    Some((0..count).map(|i| cut(i)..cut(i + 1)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_ranges_cover_the_width() {
        assert_eq!(even_ranges(1536, 2), Some(vec![0..768, 768..1536]));
        assert_eq!(even_ranges(100, 3), Some(vec![0..33, 33..66, 66..100]));
        assert_eq!(even_ranges(1, 2), None);
    }
}
