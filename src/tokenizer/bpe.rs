//! Byte-level BPE (`tokenizer.ggml.model` = "gpt2"): merge ranks and the merge loop of
//! llama.cpp's `llm_tokenizer_bpe_session`.
//!
//! A word (already in GPT-2's byte-level alphabet) starts as one symbol per character. Every
//! adjacent pair listed in `tokenizer.ggml.merges` is queued by rank; the lowest rank (then the
//! leftmost pair) is merged first, and the merged symbol's new neighbours are queued. Queue
//! entries whose symbols have changed since are skipped. At the end each symbol is looked up in
//! the vocabulary; one that is not a token (a merge result need not be) falls back to the tokens
//! of its single bytes, and bytes without one are dropped, as llama.cpp does.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::error::TokenizerError;
use super::table::TokenTable;

/// Merge ranks keyed by the two sides' interned ids.
#[derive(Clone, Debug, Default)]
pub(super) struct Merges {
    ranks: HashMap<(u32, u32), u32>,
    /// Ids (from `n_vocab` up) of merge sides that are not vocabulary tokens.
    extra: HashMap<Box<str>, u32>,
}

impl Merges {
    /// Parses merge lines (`"left right"`, split at the first space after the first byte, as
    /// llama.cpp does); a repeated pair keeps its first rank.
    pub(super) fn build<'a>(
        lines: impl Iterator<Item = &'a str>,
        table: &TokenTable,
    ) -> Result<Merges, TokenizerError> {
        let mut merges = Merges::default();
        for (index, line) in lines.enumerate() {
            let space = line.bytes().skip(1).position(|b| b == b' ');
            let Some(pos) = space.map(|p| p + 1) else {
                return Err(TokenizerError::BadMerge { index });
            };
            let left = merges.intern(&line[..pos], table);
            let right = merges.intern(&line[pos + 1..], table);
            let rank = u32::try_from(index).map_err(|_| TokenizerError::BadMerge { index })?;
            merges.ranks.entry((left, right)).or_insert(rank);
        }
        Ok(merges)
    }

    /// The number of distinct merge pairs.
    pub(super) fn len(&self) -> usize {
        self.ranks.len()
    }

    /// The interned id of `text`, adding it if new.
    fn intern(&mut self, text: &str, table: &TokenTable) -> u32 {
        if let Some(id) = table.id(text.as_bytes()) {
            return id;
        }
        let next = (table.len() + self.extra.len()) as u32;
        *self.extra.entry(text.into()).or_insert(next)
    }

    /// The interned id of `text`, if some merge mentions it.
    fn key(&self, text: &str, table: &TokenTable) -> Option<u32> {
        table.id(text.as_bytes()).or_else(|| self.extra.get(text).copied())
    }

    /// The rank of merging `left` and `right`.
    fn rank(&self, left: Option<u32>, right: Option<u32>) -> Option<u32> {
        self.ranks.get(&(left?, right?)).copied()
    }
}

/// One symbol of a word: a span of the word, linked to its live neighbours.
#[derive(Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
    /// The interned id of the span's text.
    key: Option<u32>,
}

/// A queued merge: lowest rank first, then leftmost; `size` detects stale entries.
type Bigram = Reverse<(u32, usize, usize, usize)>;

/// Appends the tokens of one byte-level word to `out`; `byte_tokens[b]` is the token whose text
/// is the single byte `b`.
pub(super) fn encode_word(
    word: &str,
    merges: &Merges,
    table: &TokenTable,
    byte_tokens: &[Option<u32>; 256],
    out: &mut Vec<u32>,
) {
    let mut symbols: Vec<Symbol> = Vec::with_capacity(word.len());
    for (i, (start, c)) in word.char_indices().enumerate() {
        let text = &word[start..start + c.len_utf8()];
        let prev = i.checked_sub(1);
        let next = (start + c.len_utf8() < word.len()).then_some(i + 1);
        symbols.push(Symbol { start, len: c.len_utf8(), prev, next, key: merges.key(text, table) });
    }
    let mut queue = BinaryHeap::new();
    for i in 1..symbols.len() {
        push_bigram(&symbols, merges, i - 1, i, &mut queue);
    }
    while let Some(Reverse((_, left, right, size))) = queue.pop() {
        let (l, r) = (symbols[left], symbols[right]);
        if l.len == 0 || r.len == 0 || l.len + r.len != size {
            continue;
        }
        symbols[left].len = size;
        symbols[left].key = merges.key(&word[l.start..l.start + size], table);
        symbols[left].next = r.next;
        symbols[right].len = 0;
        if let Some(n) = r.next {
            symbols[n].prev = Some(left);
        }
        if let Some(p) = l.prev {
            push_bigram(&symbols, merges, p, left, &mut queue);
        }
        if let Some(n) = r.next {
            push_bigram(&symbols, merges, left, n, &mut queue);
        }
    }
    for s in symbols.iter().filter(|s| s.len > 0) {
        let text = &word.as_bytes()[s.start..s.start + s.len];
        match table.id(text) {
            Some(id) => out.push(id),
            None => out.extend(text.iter().filter_map(|&b| byte_tokens[b as usize])),
        }
    }
}

/// Queues the merge of symbols `left` and `right` if the merges list has it.
fn push_bigram(
    symbols: &[Symbol],
    merges: &Merges,
    left: usize,
    right: usize,
    queue: &mut BinaryHeap<Bigram>,
) {
    let (l, r) = (&symbols[left], &symbols[right]);
    if let Some(rank) = merges.rank(l.key, r.key) {
        queue.push(Reverse((rank, left, right, l.len + r.len)));
    }
}
