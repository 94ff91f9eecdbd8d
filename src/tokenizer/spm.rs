//! SentencePiece-style merging (`tokenizer.ggml.model` = "llama"), as llama.cpp's
//! `llm_tokenizer_spm_session` does it.
//!
//! The text (spaces already escaped to `▁`) starts as one symbol per character. Every adjacent
//! pair whose concatenation is a vocabulary token is queued with that token's score; the highest
//! score (then the leftmost pair) is merged first, and the merged symbol's new neighbours are
//! queued. Entries whose symbols have changed since are skipped. Each final symbol is a token,
//! except single characters missing from the vocabulary: those become byte tokens (`<0xNN>`),
//! one per UTF-8 byte (byte fallback).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::table::TokenTable;

/// One symbol: a span of the text, linked to its live neighbours.
#[derive(Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

/// A queued merge of `left` and its right neighbour `right`, `size` bytes long together.
#[derive(Clone, Copy)]
struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    size: usize,
}

impl Ord for Bigram {
    /// Higher score first, then the lower `left` (llama.cpp's `llm_bigram_spm::comparator`).
    fn cmp(&self, other: &Bigram) -> Ordering {
        self.score.total_cmp(&other.score).then(other.left.cmp(&self.left))
    }
}

impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Bigram) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Bigram) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Bigram {}

/// Appends the tokens of `text` to `out`. `scores[id]` is each token's score and
/// `byte_tokens[b]` the token of byte `b` (the `<0xNN>` token, else the one-byte text).
pub(super) fn encode(
    text: &str,
    table: &TokenTable,
    scores: &[f32],
    byte_tokens: &[Option<u32>; 256],
    out: &mut Vec<u32>,
) {
    let mut symbols: Vec<Symbol> = Vec::with_capacity(text.len());
    for (i, (start, c)) in text.char_indices().enumerate() {
        let end = start + c.len_utf8();
        let next = (end < text.len()).then_some(i + 1);
        symbols.push(Symbol { start, len: c.len_utf8(), prev: i.checked_sub(1), next });
    }
    let mut queue = BinaryHeap::new();
    let push = |symbols: &[Symbol], left: usize, right: usize, queue: &mut BinaryHeap<Bigram>| {
        let (l, r) = (symbols[left], symbols[right]);
        let size = l.len + r.len;
        if let Some(id) = table.id(&text.as_bytes()[l.start..l.start + size]) {
            let score = scores.get(id as usize).copied().unwrap_or(0.0);
            queue.push(Bigram { score, left, right, size });
        }
    };
    for i in 1..symbols.len() {
        push(&symbols, i - 1, i, &mut queue);
    }
    while let Some(Bigram { left, right, size, .. }) = queue.pop() {
        let (l, r) = (symbols[left], symbols[right]);
        if l.len == 0 || r.len == 0 || l.len + r.len != size {
            continue;
        }
        symbols[left].len = size;
        symbols[left].next = r.next;
        symbols[right].len = 0;
        if let Some(n) = r.next {
            symbols[n].prev = Some(left);
        }
        if let Some(p) = l.prev {
            push(&symbols, p, left, &mut queue);
        }
        if let Some(n) = r.next {
            push(&symbols, left, n, &mut queue);
        }
    }
    for s in symbols.iter().filter(|s| s.len > 0) {
        let piece = &text.as_bytes()[s.start..s.start + s.len];
        match table.id(piece) {
            Some(id) => out.push(id),
            None => out.extend(piece.iter().filter_map(|&b| byte_tokens[b as usize])),
        }
    }
}
