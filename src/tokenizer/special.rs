//! Cutting special-token text out of the input before the text tokenizer runs, as llama.cpp's
//! `tokenizer_st_partition` does.
//!
//! The special tokens are the control, user-defined and unknown tokens, longest text first.
//! Each in turn replaces every occurrence of its text in the fragments still raw (left to right,
//! non-overlapping), splitting them; so a longer token wins over a shorter one inside it, and an
//! earlier occurrence wins among equals. Control and unknown tokens take part only when the
//! caller asks for special parsing; user-defined tokens always do (Gemma's runs of spaces, tabs
//! and newlines are user-defined). A token with the LSTRIP (RSTRIP) attribute also eats the ASCII
//! whitespace before (after) it.
//!
//! llama.cpp scans the input once per special token (thousands for Gemma). Here a byte trie of
//! all special texts first finds which of them occur at all; only those are applied, in
//! llama.cpp's order, which gives the same fragments.

use super::attr;
use super::vocab::Vocab;

/// A piece of the input: raw text (a byte range) or a special token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fragment {
    Text { start: usize, end: usize },
    Token(u32),
}

/// The special tokens in application order and a trie of their texts.
#[derive(Clone, Debug, Default)]
pub(super) struct SpecialTokens {
    /// Token ids, longest text first (ties: lower id first).
    order: Vec<u32>,
    /// Trie nodes: `(byte, child)` edges sorted by byte, and the position in `order` of the
    /// token ending here.
    nodes: Vec<Node>,
}

#[derive(Clone, Debug, Default)]
struct Node {
    edges: Vec<(u8, u32)>,
    rank: Option<u32>,
}

impl SpecialTokens {
    /// Collects the control, user-defined and unknown tokens of `vocab`.
    pub(super) fn build(vocab: &Vocab) -> SpecialTokens {
        let special = attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN;
        let mut order: Vec<u32> =
            (0..vocab.len() as u32).filter(|&id| vocab.attr(id) & special != 0).collect();
        // llama.cpp's std::sort leaves the order of equal lengths unspecified; equal-length
        // texts can only both match where they overlap, which no real vocabulary has.
        order.sort_by_key(|&id| std::cmp::Reverse(vocab.text(id).len()));
        let mut tokens = SpecialTokens { order, nodes: vec![Node::default()] };
        for rank in 0..tokens.order.len() {
            tokens.insert(vocab.text(tokens.order[rank]).as_bytes(), rank as u32);
        }
        tokens
    }

    /// The number of special tokens.
    pub(super) fn len(&self) -> usize {
        self.order.len()
    }

    fn insert(&mut self, text: &[u8], rank: u32) {
        let mut node = 0usize;
        for &b in text {
            let edges = &self.nodes[node].edges;
            node = match edges.binary_search_by_key(&b, |&(e, _)| e) {
                Ok(i) => edges[i].1 as usize,
                Err(i) => {
                    let child = self.nodes.len();
                    self.nodes[node].edges.insert(i, (b, child as u32));
                    self.nodes.push(Node::default());
                    child
                }
            };
        }
        self.nodes[node].rank = Some(rank);
    }

    /// The ranks (positions in `order`) of the special tokens that occur somewhere in `text`.
    fn present(&self, text: &[u8]) -> Vec<u32> {
        let mut seen = vec![false; self.order.len()];
        for start in 0..text.len() {
            let mut node = &self.nodes[0];
            for &b in &text[start..] {
                let Ok(i) = node.edges.binary_search_by_key(&b, |&(e, _)| e) else { break };
                node = &self.nodes[node.edges[i].1 as usize];
                if let Some(rank) = node.rank {
                    seen[rank as usize] = true;
                }
            }
        }
        (0..seen.len() as u32).filter(|&r| seen[r as usize]).collect()
    }

    /// Splits `text` into raw fragments and special tokens. `parse_special`: whether control
    /// and unknown tokens are recognised (user-defined ones always are).
    pub(super) fn partition(
        &self,
        vocab: &Vocab,
        text: &str,
        parse_special: bool,
    ) -> Vec<Fragment> {
        if text.is_empty() {
            return Vec::new();
        }
        let mut fragments = vec![Fragment::Text { start: 0, end: text.len() }];
        for rank in self.present(text.as_bytes()) {
            let id = self.order[rank as usize];
            let a = vocab.attr(id);
            if !parse_special && a & (attr::CONTROL | attr::UNKNOWN) != 0 {
                continue;
            }
            let needle = vocab.text(id);
            let mut next = Vec::with_capacity(fragments.len() + 2);
            for f in fragments {
                match f {
                    Fragment::Token(_) => next.push(f),
                    Fragment::Text { start, end } => {
                        split_at_token(text, start, end, needle, id, a, &mut next)
                    }
                }
            }
            fragments = next;
        }
        fragments
    }
}

/// Replaces every occurrence of `needle` (token `id`, attributes `a`) in `text[start..end]`.
fn split_at_token(
    text: &str,
    mut start: usize,
    end: usize,
    needle: &str,
    id: u32,
    a: u32,
    out: &mut Vec<Fragment>,
) {
    let bytes = text.as_bytes();
    while start < end {
        let Some(found) = text[start..end].find(needle).map(|i| start + i) else {
            out.push(Fragment::Text { start, end });
            return;
        };
        let mut left_end = found;
        if a & attr::LSTRIP != 0 {
            while left_end > start && is_c_space(bytes[left_end - 1]) {
                left_end -= 1;
            }
        }
        if left_end > start {
            out.push(Fragment::Text { start, end: left_end });
        }
        out.push(Fragment::Token(id));
        start = found + needle.len();
        if a & attr::RSTRIP != 0 {
            while start < end && is_c_space(bytes[start]) {
                start += 1;
            }
        }
    }
}

/// C's `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}
