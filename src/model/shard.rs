//! A shard of a tensor-parallel model: which heads, feed-forward rows, embedding rows and
//! vocabulary rows this file holds, read from `gguf64.shard.*` metadata that `crate::parallel`
//! writes into each worker's shard header. The model's config then describes its own heads and
//! feed-forward width (so the KV cache holds only its heads), and every matrix is cut by output
//! rows: each output is computed by exactly one shard, with the very inputs and kernel a whole
//! model uses, so the shards' results are bit for bit the whole model's. The price is four
//! exchanges per layer (the attention output, the attention projection, the feed-forward
//! hidden state and the down projection, each gathered from its slices).

use std::ops::Range;

use crate::gguf::{Header, Value};

use super::config::ConfigError;

const PREFIX: &str = "gguf64.shard.";

/// The slice of the whole model one shard holds. Ranges index the whole model's heads,
/// feed-forward rows and vocabulary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardSlice {
    pub index: usize,
    pub count: usize,
    pub q_heads: Range<usize>,
    pub kv_heads: Range<usize>,
    pub ff: Range<usize>,
    /// Rows of the attention output and down projections (elements of the residual stream).
    pub embd: Range<usize>,
    /// The rows of the output projection (logits) this shard computes.
    pub vocab: Range<usize>,
    /// The whole model's sizes.
    pub whole: WholeSizes,
}

/// The whole model's sizes a slice is checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WholeSizes {
    pub n_embd: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub n_ff: usize,
    pub n_vocab: usize,
}

impl ShardSlice {
    /// The metadata pairs that describe this slice in a shard header.
    pub fn metadata(&self) -> Vec<(String, Value)> {
        let n = |v: usize| Value::U64(v as u64);
        let mut out = vec![(format!("{PREFIX}index"), n(self.index)), (format!("{PREFIX}count"), n(self.count))];
        for (name, r) in [("q_heads", &self.q_heads), ("kv_heads", &self.kv_heads), ("ff", &self.ff), ("embd", &self.embd), ("vocab", &self.vocab)] {
            out.push((format!("{PREFIX}{name}_start"), n(r.start)));
            out.push((format!("{PREFIX}{name}_end"), n(r.end)));
        }
        out
    }

    /// The slice a shard header describes, `None` for a whole model. Checked against `whole`:
    /// every range inside the model, non-empty, and the query heads exactly those that share the
    /// key/value heads (so grouped-query attention maps local heads as the whole model does).
    pub fn from_header(h: &Header, whole: WholeSizes) -> Result<Option<ShardSlice>, ConfigError> {
        if h.metadata.get(&format!("{PREFIX}count")).is_none() {
            return Ok(None);
        }
        let get = |name: &str| -> Result<usize, ConfigError> {
            let key = format!("{PREFIX}{name}");
            let v = h.metadata.get_u64(&key).ok_or_else(|| ConfigError::MissingKey { key: key.clone() })?;
            usize::try_from(v).map_err(|_| ConfigError::Invalid { key, value: v.to_string(), reason: "out of range" })
        };
        let range = |name: &str, limit: usize| -> Result<Range<usize>, ConfigError> {
            let (start, end) = (get(&format!("{name}_start"))?, get(&format!("{name}_end"))?);
            if start >= end || end > limit {
                let key = format!("{PREFIX}{name}_end");
                return Err(ConfigError::Invalid { key, value: format!("{start}..{end}"), reason: "must be a non-empty range inside the model" });
            }
            Ok(start..end)
        };
        let slice = ShardSlice {
            index: get("index")?,
            count: get("count")?,
            q_heads: range("q_heads", whole.n_heads)?,
            kv_heads: range("kv_heads", whole.n_kv_heads)?,
            ff: range("ff", whole.n_ff)?,
            embd: range("embd", whole.n_embd)?,
            vocab: range("vocab", whole.n_vocab)?,
            whole,
        };
        if slice.index >= slice.count {
            let key = format!("{PREFIX}index");
            return Err(ConfigError::Invalid { key, value: slice.index.to_string(), reason: "must be below gguf64.shard.count" });
        }
        let group = whole.n_heads / whole.n_kv_heads;
        let first_kv = slice.q_heads.start / group;
        let last_kv = (slice.q_heads.end - 1) / group;
        let group_local = slice.q_heads.len() / slice.kv_heads.len();
        let consistent = slice.kv_heads == (first_kv..last_kv + 1)
            && slice.q_heads.len().is_multiple_of(slice.kv_heads.len())
            && (slice.kv_heads.len() == 1 || group_local == group);
        if !consistent {
            let key = format!("{PREFIX}kv_heads_start");
            return Err(ConfigError::Invalid {
                key,
                value: format!("{:?} for query heads {:?}", slice.kv_heads, slice.q_heads),
                reason: "must be exactly the key/value heads of the shard's query heads",
            });
        }
        Ok(Some(slice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gguf::{Metadata, layout_header, parse_header};

    fn header_with(slice: &ShardSlice) -> Header {
        let mut m = Metadata::new();
        for (k, v) in slice.metadata() {
            m.insert(k, v).unwrap();
        }
        let layout = layout_header(&m, &[]).unwrap();
        parse_header(&layout.bytes, None).unwrap()
    }

    const WHOLE: WholeSizes = WholeSizes { n_embd: 576, n_heads: 9, n_kv_heads: 3, n_ff: 1536, n_vocab: 49152 };

    #[test]
    fn a_slice_round_trips_through_metadata() {
        let s = ShardSlice { index: 1, count: 2, q_heads: 6..9, kv_heads: 2..3, ff: 768..1536, embd: 288..576, vocab: 24576..49152, whole: WHOLE };
        assert_eq!(ShardSlice::from_header(&header_with(&s), WHOLE).unwrap(), Some(s));
    }

    #[test]
    fn a_whole_model_has_no_slice() {
        let layout = layout_header(&Metadata::new(), &[]).unwrap();
        assert_eq!(ShardSlice::from_header(&parse_header(&layout.bytes, None).unwrap(), WHOLE).unwrap(), None);
    }

    #[test]
    fn query_heads_must_match_their_key_value_heads() {
        // Heads 5..9 straddle kv heads 1 and 2 with an uneven group: refused, naming the key.
        let s = ShardSlice { index: 1, count: 2, q_heads: 5..9, kv_heads: 1..3, ff: 0..768, embd: 0..288, vocab: 0..10, whole: WHOLE };
        let err = ShardSlice::from_header(&header_with(&s), WHOLE).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { ref key, .. } if key == "gguf64.shard.kv_heads_start"), "{err}");
        // A range beyond the model.
        let s = ShardSlice { index: 0, count: 2, q_heads: 0..3, kv_heads: 0..1, ff: 0..2000, embd: 0..288, vocab: 0..10, whole: WHOLE };
        let err = ShardSlice::from_header(&header_with(&s), WHOLE).unwrap_err();
        assert!(matches!(err, ConfigError::Invalid { ref key, .. } if key == "gguf64.shard.ff_end"), "{err}");
        // Part of one kv head's group (Gemma 3 with 1 kv head over 2 workers) is fine.
        let whole = WholeSizes { n_embd: 640, n_heads: 4, n_kv_heads: 1, n_ff: 2048, n_vocab: 100 };
        let s = ShardSlice { index: 1, count: 2, q_heads: 2..4, kv_heads: 0..1, ff: 1024..2048, embd: 320..640, vocab: 50..100, whole };
        assert!(ShardSlice::from_header(&header_with(&s), whole).unwrap().is_some());
    }
}
