//! The token texts, stored once, and a hash index from text to id.
//!
//! A 262k-entry vocabulary would cost 262k small allocations as `HashMap<String, u32>`; here the
//! texts live in one buffer and the index is an open-addressing table of ids that compares
//! candidates against that buffer.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

/// Marks an empty slot of the index.
const EMPTY: u32 = u32::MAX;

/// Token texts by id, and ids by text.
#[derive(Clone, Debug)]
pub(super) struct TokenTable {
    /// All texts, concatenated.
    blob: String,
    /// End of text `i` in `blob` (its start is the previous end).
    ends: Vec<u32>,
    /// Open addressing with linear probing; a power-of-two length, at most half full.
    slots: Vec<u32>,
    hasher: RandomState,
}

impl TokenTable {
    /// Builds the table from texts in id order. `Err((id, first))` when text `id` repeats the
    /// text of an earlier id `first`.
    pub(super) fn build(
        texts: impl ExactSizeIterator<Item = impl AsRef<str>>,
        blob_len: usize,
    ) -> Result<TokenTable, (u32, u32)> {
        let n = texts.len();
        let mut table = TokenTable {
            blob: String::with_capacity(blob_len),
            ends: Vec::with_capacity(n),
            slots: vec![EMPTY; (2 * n).next_power_of_two().max(2)],
            hasher: RandomState::new(),
        };
        for (id, text) in texts.enumerate() {
            table.blob.push_str(text.as_ref());
            table.ends.push(table.blob.len() as u32);
            table.insert(id as u32)?;
        }
        Ok(table)
    }

    /// The number of tokens.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The text of token `id` (empty for an id out of range).
    pub(super) fn text(&self, id: u32) -> &str {
        let i = id as usize;
        let Some(&end) = self.ends.get(i) else {
            return "";
        };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.blob[start as usize..end as usize]
    }

    /// The id of the token whose text is exactly `text`.
    pub(super) fn id(&self, text: &[u8]) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut slot = self.hasher.hash_one(text) as usize & mask;
        loop {
            let id = self.slots[slot];
            if id == EMPTY {
                return None;
            }
            if self.text(id).as_bytes() == text {
                return Some(id);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Adds the last pushed text under `id`.
    fn insert(&mut self, id: u32) -> Result<(), (u32, u32)> {
        let slot = self.free_slot(id)?;
        self.slots[slot] = id;
        Ok(())
    }

    /// The empty slot where text `id` belongs, or `Err((id, other))` if `other` has its text.
    fn free_slot(&self, id: u32) -> Result<usize, (u32, u32)> {
        let mask = self.slots.len() - 1;
        let text = self.text(id).as_bytes();
        let mut slot = self.hasher.hash_one(text) as usize & mask;
        loop {
            let other = self.slots[slot];
            if other == EMPTY {
                return Ok(slot);
            }
            if self.text(other).as_bytes() == text {
                return Err((id, other));
            }
            slot = (slot + 1) & mask;
        }
    }
}
