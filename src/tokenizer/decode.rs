//! Token ids back to text: each token's bytes (llama.cpp's `token_to_piece`), whole sequences
//! (`llama_detokenize`), and a streaming decoder that never splits a UTF-8 character.

use std::borrow::Borrow;

use super::Tokenizer;
use super::attr;
use super::byte_level;
use super::vocab::{BpeFlags, Model, Vocab};

/// Hostile-input cap: a byte-level token full of characters outside GPT-2's alphabet decodes to
/// one `[UNK_BYTE_0x..<text>]` marker per character (llama.cpp's spelling), which is quadratic
/// in the token's length; a piece stops growing past this many bytes per byte of text.
const UNK_EXPANSION_CAP: usize = 64;

/// Every token's bytes with special tokens rendered, stored once.
#[derive(Clone, Debug)]
pub(super) struct Pieces {
    blob: Vec<u8>,
    ends: Vec<usize>,
}

impl Pieces {
    /// Computes the piece of every token of `vocab`.
    pub(super) fn build(vocab: &Vocab) -> Pieces {
        let mut pieces = Pieces { blob: Vec::new(), ends: Vec::with_capacity(vocab.len()) };
        for id in 0..vocab.len() as u32 {
            append_piece(vocab, id, &mut pieces.blob);
            pieces.ends.push(pieces.blob.len());
        }
        pieces
    }

    /// The piece of token `id` (empty out of range).
    pub(super) fn get(&self, id: u32) -> &[u8] {
        let i = id as usize;
        let Some(&end) = self.ends.get(i) else { return &[] };
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.blob[start..end]
    }
}

/// Appends llama.cpp's `token_to_piece(id, special = true)`: control, unknown and user-defined
/// tokens as their text; normal tokens with `▁` as a space (SPM) or mapped back from the byte-level
/// alphabet (BPE); byte tokens as their byte; unused and undefined tokens as nothing.
fn append_piece(vocab: &Vocab, id: u32, out: &mut Vec<u8>) {
    let a = vocab.attr(id);
    let text = vocab.text(id);
    if a & (attr::UNKNOWN | attr::CONTROL | attr::USER_DEFINED) != 0 {
        out.extend_from_slice(text.as_bytes());
    } else if a & attr::NORMAL != 0 {
        match vocab.model {
            // SentencePiece-style BPE (Gemma 4) spells spaces `▁` too.
            Model::Spm
            | Model::Wpm { .. }
            | Model::Bpe { flags: BpeFlags { escape_spaces: true, .. }, .. } => {
                for (i, part) in text.split('▁').enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    out.extend_from_slice(part.as_bytes());
                }
            }
            Model::Bpe { .. } => append_byte_level(text, out),
        }
    } else if a & attr::BYTE != 0 {
        out.push(byte_of_byte_token(text));
    }
}

/// Maps a byte-level token back to bytes; a character outside the alphabet becomes
/// `[UNK_BYTE_0x<its UTF-8 in hex><the whole token>]`, as llama.cpp's `llama_decode_text` writes.
fn append_byte_level(text: &str, out: &mut Vec<u8>) {
    let limit = out.len() + UNK_EXPANSION_CAP * text.len().max(1);
    for c in text.chars() {
        if let Some(b) = byte_level::byte_of(c) {
            out.push(b);
        } else if out.len() < limit {
            let mut utf8 = [0u8; 4];
            out.extend_from_slice(b"[UNK_BYTE_0x");
            for b in c.encode_utf8(&mut utf8).bytes() {
                out.extend_from_slice(format!("{b:02x}").as_bytes());
            }
            out.extend_from_slice(text.as_bytes());
            out.push(b']');
        }
    }
}

/// The byte of a byte token (`<0xNN>`): llama.cpp reads up to two hex digits from the fourth
/// character with `strtol` and keeps the low 8 bits; non-hex text reads as 0.
fn byte_of_byte_token(text: &str) -> u8 {
    let digits = text.as_bytes().iter().skip(3).take(2).map_while(|&b| (b as char).to_digit(16));
    digits.fold(0u32, |acc, d| acc * 16 + d) as u8
}

impl Tokenizer {
    /// The bytes of token `id`: llama.cpp's `token_to_piece`. Without `special`, control and
    /// unknown tokens give nothing (user-defined ones still give their text). An id out of range
    /// gives nothing.
    pub fn token_bytes(&self, id: u32, special: bool) -> &[u8] {
        if !special && self.vocab.attr(id) & (attr::UNKNOWN | attr::CONTROL) != 0 {
            return &[];
        }
        self.pieces.get(id)
    }

    /// The bytes of `ids` as llama.cpp's `llama_detokenize(remove_special = false,
    /// unparse_special = special)` writes them: pieces concatenated, one leading space of the
    /// first piece dropped when the model adds a space prefix, then the model's space clean-up.
    pub fn decode_bytes(&self, ids: &[u32], special: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, &id) in ids.iter().enumerate() {
            let piece = self.token_bytes(id, special);
            let strip = i == 0 && self.vocab.add_space_prefix && piece.first() == Some(&b' ');
            out.extend_from_slice(if strip { &piece[1..] } else { piece });
        }
        if self.vocab.clean_spaces {
            clean_spaces(&mut out);
        }
        out
    }

    /// `decode_bytes` as text; invalid UTF-8 (e.g. half of a character) becomes U+FFFD.
    pub fn decode(&self, ids: &[u32], special: bool) -> String {
        String::from_utf8_lossy(&self.decode_bytes(ids, special)).into_owned()
    }
}

/// llama.cpp's clean-up of tokenization spaces, three passes over the bytes: drop a space before
/// `?!.,`; drop the spaces around an apostrophe standing alone; drop the space before `'s`,
/// `'m`, `'re` and `'ve`.
fn clean_spaces(text: &mut Vec<u8>) {
    let mut out = Vec::with_capacity(text.len());
    for (i, &x) in text.iter().enumerate() {
        if i > 0 && text[i - 1] == b' ' && matches!(x, b'?' | b'!' | b'.' | b',') {
            out.pop();
        }
        out.push(x);
    }
    // Pass 2 overwrites the space after a lone apostrophe with NUL and skips it, as llama.cpp does
    // in place; the NUL can then be seen as the previous byte.
    let mut t = std::mem::take(&mut out);
    let mut i = 0;
    while i < t.len() {
        let x = t[i];
        let lone = x == b'\'' && i > 0 && i + 1 < t.len() && t[i - 1] == b' ' && t[i + 1] == b' ';
        if lone {
            out.pop();
            t[i + 1] = 0;
            i += 1;
        }
        out.push(x);
        i += 1;
    }
    let t = std::mem::take(&mut out);
    for (i, &x) in t.iter().enumerate() {
        if i > 0 && t[i - 1] == b' ' && x == b'\'' && i + 1 < t.len() {
            let (x1, x2) = (t[i + 1], t.get(i + 2).copied());
            let drop = matches!(x1, b's' | b'm') || matches!((x1, x2), (b'r' | b'v', Some(b'e')));
            if drop {
                out.pop();
            }
        }
        out.push(x);
    }
    *text = out;
}

/// Turns ids into text one at a time, holding back the bytes of a character until it is
/// complete, so each piece of output is whole characters; `finish` flushes what is left.
/// Concatenated, the output equals `Tokenizer::decode` of all the ids (for models without space
/// clean-up, which needs the whole text; both test models have none).
///
/// Holds the tokenizer as any `Borrow<Tokenizer>`: a reference, an `Rc` or an `Arc`.
#[derive(Clone, Debug)]
pub struct StreamDecoder<T: Borrow<Tokenizer>> {
    tokenizer: T,
    special: bool,
    first: bool,
    pending: Vec<u8>,
}

impl<T: Borrow<Tokenizer>> StreamDecoder<T> {
    /// A decoder rendering special tokens as text when `special` is set.
    pub fn new(tokenizer: T, special: bool) -> StreamDecoder<T> {
        StreamDecoder { tokenizer, special, first: true, pending: Vec::new() }
    }

    /// Adds token `id`; returns the characters completed by it (possibly none).
    pub fn push(&mut self, id: u32) -> String {
        let tokenizer = self.tokenizer.borrow();
        let piece = tokenizer.token_bytes(id, self.special);
        let strip = self.first && tokenizer.vocab.add_space_prefix && piece.first() == Some(&b' ');
        self.first = false;
        self.pending.extend_from_slice(if strip { &piece[1..] } else { piece });
        self.take_complete()
    }

    /// The held-back bytes of an unfinished character, as U+FFFD (empty if there are none).
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }

    /// Takes the longest prefix of `pending` that cannot change with more bytes: valid UTF-8,
    /// and invalid sequences (as U+FFFD, like `from_utf8_lossy`); leaves an incomplete tail.
    fn take_complete(&mut self) -> String {
        let mut out = String::new();
        let mut rest = &self.pending[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    let Some(bad) = e.error_len() else {
                        rest = after;
                        break;
                    };
                    out.push('\u{FFFD}');
                    rest = &after[bad..];
                }
            }
        }
        let keep = rest.len();
        self.pending.drain(..self.pending.len() - keep);
        out
    }
}
