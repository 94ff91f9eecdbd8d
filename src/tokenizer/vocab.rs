//! The vocabulary as llama.cpp loads it (`llama_vocab::impl::load`): token texts, scores and
//! attributes, the tokenizer model and its flags, and the special token ids.

use super::attr;
use super::bpe::Merges;
use super::detect;
use super::error::TokenizerError;
use super::meta;
use super::pretokenize::PreTokenizer;
use super::special_ids::SpecialIds;
use super::table::TokenTable;
use crate::gguf::Metadata;

/// The attribute of a `tokenizer.ggml.token_type` value (1 normal, 2 unknown, 3 control,
/// 4 user-defined, 5 unused, 6 byte; anything else undefined).
fn attr_of_type(t: i32) -> u32 {
    match t {
        1 => attr::NORMAL,
        2 => attr::UNKNOWN,
        3 => attr::CONTROL,
        4 => attr::USER_DEFINED,
        5 => attr::UNUSED,
        6 => attr::BYTE,
        _ => attr::UNDEFINED,
    }
}

/// Which text tokenizer the vocabulary uses.
#[derive(Clone, Debug)]
pub(super) enum Model {
    /// SentencePiece-style merging by score with byte fallback ("llama").
    Spm,
    /// Byte-level BPE by merge rank ("gpt2"). With `ignore_merges`, a word that is a token
    /// is that token, unmerged (llama.cpp's `ignore_merges`, set for llama3's pre-tokenizer).
    Bpe { pre: PreTokenizer, merges: Merges, ignore_merges: bool },
}

/// The loaded vocabulary.
#[derive(Clone, Debug)]
pub(super) struct Vocab {
    pub table: TokenTable,
    pub scores: Vec<f32>,
    attrs: Vec<u32>,
    pub model: Model,
    pub ids: SpecialIds,
    /// Prefix raw text after BOS or a special token with a space (SPM); strip one leading space
    /// when decoding.
    pub add_space_prefix: bool,
    pub add_bos: bool,
    pub add_eos: bool,
    /// Undo "tokenization spaces" (` ,`, ` 's`, ...) when decoding.
    pub clean_spaces: bool,
    /// End-of-generation ids, sorted.
    eog: Vec<u32>,
    /// SPM: the token of each byte (its `<0xNN>` token, else its one-byte text, else unknown).
    /// BPE: the token whose text is that single byte.
    pub byte_tokens: [Option<u32>; 256],
}

/// Defaults of one tokenizer model before the metadata overrides them.
struct Defaults {
    add_space_prefix: bool,
    add_bos: bool,
    clean_spaces: bool,
    bos: Option<u32>,
    eos: Option<u32>,
    unk: Option<u32>,
}

impl Vocab {
    /// Reads the vocabulary from GGUF metadata.
    pub(super) fn load(m: &Metadata) -> Result<Vocab, TokenizerError> {
        let model_name =
            meta::string(m, meta::MODEL)?.ok_or(TokenizerError::MissingKey { key: meta::MODEL })?;
        let pre_name = meta::string(m, meta::PRE)?.unwrap_or("");
        let table = load_table(m)?;
        let n = table.len();
        let (model, defaults) = match model_name {
            "llama" => (Model::Spm, spm_defaults()),
            "gpt2" => {
                let style = pre_tokenizer(pre_name)?;
                let lines = meta::strings(m, meta::MERGES)?
                    .ok_or(TokenizerError::MissingKey { key: meta::MERGES })?;
                let merges = Merges::build(lines.iter(), &table)?;
                let model =
                    Model::Bpe { pre: style.pre, merges, ignore_merges: style.ignore_merges };
                (model, bpe_defaults(&style))
            }
            other => return Err(TokenizerError::UnknownModel { model: other.to_string() }),
        };
        let scores = meta::scores(m, n)?;
        let mut attrs = match meta::token_types(m, n)? {
            Some(types) => types.iter().map(|&t| attr_of_type(t)).collect(),
            None => vec![attr::NORMAL; n],
        };
        let mut ids = special_ids(m, &defaults, n)?;
        let eog = detect::detect(&table, &mut attrs, &mut ids);
        let name = meta::string(m, meta::NAME)?.unwrap_or("");
        let arch = meta::string(m, meta::ARCHITECTURE)?.unwrap_or("");
        detect::strip_attributes(&table, &mut attrs, name, pre_name, arch);
        let byte_tokens = byte_tokens(&table, &model, ids.unk);
        if matches!(model, Model::Spm) {
            // llama.cpp's byte_to_token('\n'), without the unknown-token fallback.
            ids.nl = table.id(b"<0x0A>").or_else(|| table.id(b"\n"));
        }
        Ok(Vocab {
            add_space_prefix: meta::boolean(m, meta::ADD_SPACE_PREFIX)?
                .unwrap_or(defaults.add_space_prefix),
            add_bos: meta::boolean(m, meta::ADD_BOS)?.unwrap_or(defaults.add_bos),
            add_eos: meta::boolean(m, meta::ADD_EOS)?.unwrap_or(false),
            clean_spaces: defaults.clean_spaces,
            table,
            scores,
            attrs,
            model,
            ids,
            eog,
            byte_tokens,
        })
    }

    /// The number of tokens.
    pub(super) fn len(&self) -> usize {
        self.table.len()
    }

    /// The text of token `id` as stored (empty for an id out of range).
    pub(super) fn text(&self, id: u32) -> &str {
        self.table.text(id)
    }

    /// The attribute bits of token `id` (`UNDEFINED` out of range).
    pub(super) fn attr(&self, id: u32) -> u32 {
        self.attrs.get(id as usize).copied().unwrap_or(attr::UNDEFINED)
    }

    /// Whether `id` ends generation.
    pub(super) fn is_eog(&self, id: u32) -> bool {
        self.eog.binary_search(&id).is_ok()
    }

    /// The end-of-generation ids, sorted.
    pub(super) fn eog(&self) -> &[u32] {
        &self.eog
    }
}

/// The token texts (an empty one becomes `[EMPTY_<id>]`, as in llama.cpp) and their index.
fn load_table(m: &Metadata) -> Result<TokenTable, TokenizerError> {
    let tokens =
        meta::strings(m, meta::TOKENS)?.ok_or(TokenizerError::MissingKey { key: meta::TOKENS })?;
    let n = tokens.len();
    if n == 0 {
        return Err(TokenizerError::EmptyVocab);
    }
    // Ids are int32_t in llama.cpp and the text offsets u32 here.
    let empty_bytes = n.saturating_mul(20);
    if n > i32::MAX as usize || tokens.blob().len().saturating_add(empty_bytes) > u32::MAX as usize
    {
        return Err(TokenizerError::VocabTooLarge { n_vocab: n });
    }
    let texts = tokens.iter().enumerate().map(|(i, t)| {
        if t.is_empty() { std::borrow::Cow::Owned(format!("[EMPTY_{i}]")) } else { t.into() }
    });
    TokenTable::build(texts, tokens.blob().len())
        .map_err(|(id, first)| TokenizerError::DuplicateToken { id, first })
}

fn spm_defaults() -> Defaults {
    Defaults {
        add_space_prefix: true,
        add_bos: true,
        clean_spaces: false,
        bos: Some(1),
        eos: Some(2),
        unk: Some(0),
    }
}

fn bpe_defaults(style: &PreStyle) -> Defaults {
    Defaults {
        add_space_prefix: false,
        add_bos: style.add_bos,
        clean_spaces: style.clean_spaces,
        bos: if style.no_default_bos { None } else { Some(11) },
        eos: Some(11),
        unk: None,
    }
}

/// What a `tokenizer.ggml.pre` value selects in llama.cpp besides the regex list.
struct PreStyle {
    pre: PreTokenizer,
    clean_spaces: bool,
    ignore_merges: bool,
    /// The default of `tokenizer.ggml.add_bos_token`.
    add_bos: bool,
    /// No BOS unless `tokenizer.ggml.bos_token_id` names one (GLM), instead of id 11.
    no_default_bos: bool,
}

impl PreStyle {
    fn new(pre: PreTokenizer, clean_spaces: bool) -> PreStyle {
        PreStyle { pre, clean_spaces, ignore_merges: false, add_bos: false, no_default_bos: false }
    }
}

/// The pre-tokenizer and flags llama.cpp uses for a `tokenizer.ggml.pre` value
/// (`llama_vocab::impl::load`); only the values whose regexes `pretokenize` implements are
/// accepted.
fn pre_tokenizer(pre: &str) -> Result<PreStyle, TokenizerError> {
    use PreTokenizer::*;
    Ok(match pre {
        "smollm" | "command-r" => PreStyle::new(DigitsThenGpt2, false),
        "starcoder" | "refact" | "codeshell" | "exaone" | "minerva-7b" | "mellum2" => {
            PreStyle::new(DigitsThenGpt2, true)
        }
        "gpt-2" | "phi-2" | "gigachat" | "a.x-4.0" | "mellum" | "mpt" | "olmo" | "jais"
        | "exaone4" => PreStyle::new(Gpt2, true),
        "trillion" | "granite-docling" => PreStyle::new(Gpt2, false),
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0"
        | "lfm2" | "jina-v5-nano" => {
            PreStyle { ignore_merges: true, add_bos: true, ..PreStyle::new(Llama3, true) }
        }
        "dbrx" | "smaug-bpe" => PreStyle::new(Llama3, true),
        "chatglm-bpe" => PreStyle { no_default_bos: true, ..PreStyle::new(Llama3, true) },
        "glm4" | "glm5" => {
            PreStyle { no_default_bos: true, ignore_merges: true, ..PreStyle::new(Llama3, true) }
        }
        "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "hunyuan" | "solar-open" => {
            PreStyle::new(Qwen2, false)
        }
        "megrez" | "stablelm2" => PreStyle::new(Qwen2, true),
        "qwen35" => PreStyle::new(Qwen35, false),
        other => return Err(TokenizerError::UnknownPreTokenizer { pre: other.to_string() }),
    })
}

/// Special ids: each model default, dropped if out of range, then the metadata value if in
/// range (an out-of-range value keeps the default, as llama.cpp does).
fn special_ids(m: &Metadata, d: &Defaults, n: usize) -> Result<SpecialIds, TokenizerError> {
    let read = |key: &'static str, default: Option<u32>| -> Result<Option<u32>, TokenizerError> {
        let default = default.filter(|&id| (id as usize) < n);
        Ok(match meta::token_id(m, key)? {
            Some(id) if (id as usize) < n => Some(id),
            _ => default,
        })
    };
    let fim_pre = read("tokenizer.ggml.fim_pre_token_id", None)?;
    let fim_suf = read("tokenizer.ggml.fim_suf_token_id", None)?;
    let fim_mid = read("tokenizer.ggml.fim_mid_token_id", None)?;
    Ok(SpecialIds {
        bos: read("tokenizer.ggml.bos_token_id", d.bos)?,
        eos: read("tokenizer.ggml.eos_token_id", d.eos)?,
        eot: read("tokenizer.ggml.eot_token_id", None)?,
        eom: read("tokenizer.ggml.eom_token_id", None)?,
        unk: read("tokenizer.ggml.unknown_token_id", d.unk)?,
        sep: read("tokenizer.ggml.seperator_token_id", None)?,
        pad: read("tokenizer.ggml.padding_token_id", None)?,
        mask: read("tokenizer.ggml.mask_token_id", None)?,
        // The deprecated prefix/suffix/middle keys are read after, and win.
        fim_pre: read("tokenizer.ggml.prefix_token_id", fim_pre)?,
        fim_suf: read("tokenizer.ggml.suffix_token_id", fim_suf)?,
        fim_mid: read("tokenizer.ggml.middle_token_id", fim_mid)?,
        fim_pad: read("tokenizer.ggml.fim_pad_token_id", None)?,
        fim_rep: read("tokenizer.ggml.fim_rep_token_id", None)?,
        fim_sep: read("tokenizer.ggml.fim_sep_token_id", None)?,
        nl: None,
    })
}

/// The per-byte fallback tokens (see `Vocab::byte_tokens`).
fn byte_tokens(table: &TokenTable, model: &Model, unk: Option<u32>) -> [Option<u32>; 256] {
    let mut out = [None; 256];
    for (b, slot) in out.iter_mut().enumerate() {
        let single = table.id(&[b as u8]);
        *slot = match model {
            Model::Spm => table.id(format!("<0x{b:02X}>").as_bytes()).or(single).or(unk),
            Model::Bpe { .. } => single,
        };
    }
    out
}
