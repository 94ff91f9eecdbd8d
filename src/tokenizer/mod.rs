//! Text to token ids and back, from GGUF metadata, exactly as llama.cpp does it (the build
//! node-llama-cpp 3.21.1 bundles; tests/tokenizer_llamacpp.rs compares every id).
//!
//! Three tokenizer models:
//! - "llama" (SentencePiece-style, e.g. Gemma 3): spaces escaped to `▁`, an optional space
//!   prefix (`tokenizer.ggml.add_space_prefix`), merging by token score, byte fallback to
//!   `<0xNN>` tokens (`spm`).
//! - "gpt2" (byte-level BPE, e.g. SmolLM2): a pre-tokenizer chosen by `tokenizer.ggml.pre` cuts
//!   words (`pretokenize`, every list llama.cpp has), each word is spelled in GPT-2's byte
//!   alphabet (`byte_level`) and merged by `tokenizer.ggml.merges` rank (`bpe`). "gemma4" is the
//!   same merging on raw UTF-8 with spaces as `▁`, cut only at newlines.
//! - "bert" (WordPiece): BERT's normalizer, then the longest tokens first (`wpm`).
//!
//! Before any runs, special-token text is cut out of the input (`special`): control tokens
//! only when asked (`parse_special`), user-defined tokens always. Decoding (`decode`) maps each
//! token back to bytes; `StreamDecoder` does it token by token without splitting characters.
//! Chat prompts come from `chat` (the model's Jinja template through `template`). Building a tokenizer indexes the whole vocabulary once
//! (hostile metadata gives a `TokenizerError`, never a panic); encoding is then
//! O(n log n) in the input length (WordPiece: O(n) lookups per char, up to the longest token).

pub mod attr;
mod bpe;
mod byte_level;
mod chat;
mod decode;
mod detect;
mod error;
mod meta;
mod pretokenize;
mod special;
mod special_ids;
mod spm;
mod table;
pub mod template;
mod unicode;
mod unicode_table;
mod vocab;
mod wpm;

#[cfg(test)]
mod tests;

pub use chat::{ChatMessage, ChatOrigin, ChatRequest, ChatSource, ChatTemplate};
pub use template::{ChatTemplateError, ChatValue};
pub use decode::StreamDecoder;
pub use error::TokenizerError;
pub use special_ids::SpecialIds;

use crate::gguf::{Header, Metadata};
use special::{Fragment, SpecialTokens};
use vocab::{Model, Vocab};

/// A tokenizer built from a model's GGUF metadata.
#[derive(Clone)]
pub struct Tokenizer {
    vocab: Vocab,
    special: SpecialTokens,
    pieces: decode::Pieces,
    chat: Result<ChatTemplate, TokenizerError>,
}

/// A summary: printing the whole vocabulary would be megabytes.
impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let model = match &self.vocab.model {
            Model::Spm => "spm",
            Model::Bpe { .. } => "bpe",
            Model::Wpm { .. } => "wpm",
        };
        f.debug_struct("Tokenizer")
            .field("model", &model)
            .field("n_vocab", &self.n_vocab())
            .field("n_merges", &self.n_merges())
            .field("n_special", &self.n_special())
            .field("ids", &self.vocab.ids)
            .field("add_bos", &self.add_bos())
            .field("add_eos", &self.add_eos())
            .field("chat", &self.chat)
            .finish()
    }
}

impl Tokenizer {
    /// Builds the tokenizer of the model whose header is `h`.
    pub fn from_header(h: &Header) -> Result<Tokenizer, TokenizerError> {
        Tokenizer::from_metadata(&h.metadata)
    }

    /// Builds the tokenizer from the `tokenizer.*` metadata keys.
    pub fn from_metadata(m: &Metadata) -> Result<Tokenizer, TokenizerError> {
        let vocab = Vocab::load(m)?;
        let special = SpecialTokens::build(&vocab);
        let pieces = decode::Pieces::build(&vocab);
        let chat = chat::detect_in(m);
        let mut tokenizer = Tokenizer { vocab, special, pieces, chat };
        if matches!(tokenizer.vocab.model, Model::Bpe { .. }) {
            // llama.cpp tokenizes "\n" (before any special token is known) for the BPE newline.
            let mut out = Vec::new();
            tokenizer.encode_text("\n", &mut out);
            tokenizer.vocab.ids.nl = out.first().copied();
        }
        Ok(tokenizer)
    }

    /// The token ids of `text`, as `llama_tokenize`: with `add_special`, BOS first when the
    /// model adds BOS and EOS last when it adds EOS (nothing if the model has no such token,
    /// where llama.cpp aborts); with `parse_special`, control-token text in `text`
    /// (`<|im_start|>`, `<start_of_turn>`) becomes that token instead of being spelled out.
    /// Text that already starts with the BOS string gets a second BOS, as in llama.cpp (see
    /// `apply_chat_template`).
    pub fn encode(&self, text: &str, add_special: bool, parse_special: bool) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 2);
        // WordPiece puts [CLS] first and [SEP] last whenever special tokens are added.
        let wpm = matches!(self.vocab.model, Model::Wpm { .. });
        if add_special && (self.vocab.add_bos || wpm) {
            out.extend(self.vocab.ids.bos);
        }
        // SPM puts its space prefix before raw text that follows the start or a special token.
        let mut after_special = true;
        for fragment in self.special.partition(&self.vocab, text, parse_special) {
            match fragment {
                Fragment::Token(id) => {
                    out.push(id);
                    after_special = true;
                }
                Fragment::Text { start, end } => {
                    let raw = &text[start..end];
                    if matches!(self.vocab.model, Model::Spm)
                        && self.vocab.add_space_prefix
                        && after_special
                    {
                        self.encode_text(&format!(" {raw}"), &mut out);
                    } else {
                        self.encode_text(raw, &mut out);
                    }
                    after_special = false;
                }
            }
        }
        if add_special && wpm {
            out.extend(self.vocab.ids.sep);
        } else if add_special && self.vocab.add_eos {
            out.extend(self.vocab.ids.eos);
        }
        out
    }

    /// Appends the ids of raw text (no special tokens in it) to `out`.
    fn encode_text(&self, text: &str, out: &mut Vec<u32>) {
        let v = &self.vocab;
        match &v.model {
            Model::Spm => {
                spm::encode(&text.replace(' ', "▁"), &v.table, &v.scores, &v.byte_tokens, out);
            }
            Model::Wpm { normalizer, max_token_len } => {
                wpm::encode(text, *normalizer, &v.table, *max_token_len, v.ids.unk, out);
            }
            Model::Bpe { pre, merges, flags } => {
                let escaped;
                let text = if flags.escape_spaces {
                    escaped = text.replace(' ', "▁");
                    escaped.as_str()
                } else {
                    text
                };
                let mut spelled = String::new();
                for raw in pretokenize::split(text, *pre) {
                    let word = if flags.byte_level {
                        spelled.clear();
                        byte_level::encode_into(raw, &mut spelled);
                        spelled.as_str()
                    } else {
                        raw
                    };
                    let newlines = flags.newline_tokens && word.bytes().all(|b| b == b'\n');
                    let whole = if flags.ignore_merges || newlines {
                        v.table.id(word.as_bytes())
                    } else {
                        None
                    };
                    match whole {
                        Some(id) => out.push(id),
                        None => bpe::encode_word(word, merges, &v.table, &v.byte_tokens, out),
                    }
                }
            }
        }
    }

    /// A streaming decoder over this tokenizer (see `StreamDecoder`).
    pub fn stream(&self, special: bool) -> StreamDecoder<&Tokenizer> {
        StreamDecoder::new(self, special)
    }

    /// The number of tokens in the vocabulary.
    pub fn n_vocab(&self) -> usize {
        self.vocab.len()
    }

    /// The beginning-of-sequence token.
    pub fn bos(&self) -> Option<u32> {
        self.vocab.ids.bos
    }

    /// The end-of-sequence token.
    pub fn eos(&self) -> Option<u32> {
        self.vocab.ids.eos
    }

    /// The end-of-turn token: `tokenizer.ggml.eot_token_id`, else inferred from token texts
    /// (`<end_of_turn>`, `<|im_end|>`, `<|endoftext|>`, ...; the lowest id when several match).
    pub fn eot(&self) -> Option<u32> {
        self.vocab.ids.eot
    }

    /// All special ids (BOS, EOS, EOT, padding, newline, fill-in-the-middle ...).
    pub fn special_ids(&self) -> SpecialIds {
        self.vocab.ids
    }

    /// Whether `encode(.., add_special = true, ..)` starts with BOS.
    pub fn add_bos(&self) -> bool {
        self.vocab.add_bos && self.vocab.ids.bos.is_some()
    }

    /// Whether `encode(.., add_special = true, ..)` ends with EOS.
    pub fn add_eos(&self) -> bool {
        self.vocab.add_eos && self.vocab.ids.eos.is_some()
    }

    /// Whether generating `id` ends generation (EOS, EOT, `<end_of_turn>`, `<|im_end|>`, ...;
    /// llama.cpp's `llama_vocab_is_eog`).
    pub fn is_end_of_generation(&self, id: u32) -> bool {
        self.vocab.is_eog(id)
    }

    /// The end-of-generation ids, sorted.
    pub fn end_of_generation_ids(&self) -> &[u32] {
        self.vocab.eog()
    }

    /// The stored text of token `id` (byte-level or `▁` spelling), if `id` is in range.
    pub fn token_text(&self, id: u32) -> Option<&str> {
        ((id as usize) < self.vocab.len()).then(|| self.vocab.text(id))
    }

    /// The attribute bits of token `id` (see `attr`; llama.cpp's `llama_vocab_get_attr`).
    pub fn token_attr(&self, id: u32) -> u32 {
        self.vocab.attr(id)
    }

    /// The token whose text is exactly `text`.
    pub fn token_id(&self, text: &str) -> Option<u32> {
        self.vocab.table.id(text.as_bytes())
    }

    /// The number of merge pairs (0 for SentencePiece-style vocabularies).
    pub fn n_merges(&self) -> usize {
        match &self.vocab.model {
            Model::Spm | Model::Wpm { .. } => 0,
            Model::Bpe { merges, .. } => merges.len(),
        }
    }

    /// The number of special (control, user-defined, unknown) tokens.
    pub fn n_special(&self) -> usize {
        self.special.len()
    }
}
