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
use super::wpm::Normalizer;
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
    /// BPE by merge rank ("gpt2", "gemma4"), on words cut by `pre`.
    Bpe { pre: PreTokenizer, merges: Merges, flags: BpeFlags },
    /// WordPiece ("bert"): longest tokens first; `max_token_len` in bytes.
    Wpm { normalizer: Normalizer, max_token_len: usize },
}

/// How one BPE vocabulary differs from GPT-2's, per llama.cpp's `tokenizer.ggml.pre` table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct BpeFlags {
    /// A word that is a token is that token, unmerged (`ignore_merges`, llama3 and others).
    pub ignore_merges: bool,
    /// Words are spelled in GPT-2's byte alphabet before merging (false for Gemma 4's
    /// SentencePiece-style BPE on raw UTF-8, whose byte fallback is `<0xNN>` tokens).
    pub byte_level: bool,
    /// Spaces become `▁` before pre-tokenizing, and back when decoding (`escape_whitespaces`).
    pub escape_spaces: bool,
    /// A word of newlines only that is a token is that token (Gemma 4).
    pub newline_tokens: bool,
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
    /// BPE: the token whose text is that single byte (its `<0xNN>` token for raw UTF-8 BPE).
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
    /// Separator, padding and mask (set for WordPiece only).
    sep: Option<u32>,
    pad: Option<u32>,
    mask: Option<u32>,
}

impl Vocab {
    /// Reads the vocabulary from GGUF metadata.
    pub(super) fn load(m: &Metadata) -> Result<Vocab, TokenizerError> {
        let model_name =
            meta::string(m, meta::MODEL)?.ok_or(TokenizerError::MissingKey { key: meta::MODEL })?;
        let pre_name = meta::string(m, meta::PRE)?.unwrap_or("");
        let table = load_table(m)?;
        let n = table.len();
        // llama.cpp reads a "gemma4" vocabulary as BPE with the "gemma4" pre-tokenizer, whatever
        // tokenizer.ggml.pre says.
        let pre_name = if model_name == "gemma4" { "gemma4" } else { pre_name };
        let (model, defaults, style) = match model_name {
            "llama" => (Model::Spm, spm_defaults(), None),
            "bert" => {
                // BERT's normalizer: lower-case unless told otherwise, and strip accents when
                // lower-casing unless told otherwise.
                let lowercase = meta::boolean(m, "tokenizer.ggml.normalizer.lowercase")?;
                let lowercase = lowercase.unwrap_or(true);
                let strip = meta::boolean(m, "tokenizer.ggml.normalizer.strip_accents")?;
                let normalizer =
                    Normalizer { lowercase, strip_accents: strip.unwrap_or(lowercase) };
                let max_token_len = (0..n as u32).map(|id| table.text(id).len()).max().unwrap_or(0);
                (Model::Wpm { normalizer, max_token_len }, wpm_defaults(), None)
            }
            "gpt2" | "gemma4" => {
                let style = pre_tokenizer(pre_name)?;
                let merges = match meta::strings(m, meta::MERGES)? {
                    Some(lines) => Merges::build(lines.iter(), &table)?,
                    // Kimi K2 files may come without merges; llama.cpp then merges nothing.
                    None if style.pre == PreTokenizer::KimiK2 => Merges::default(),
                    None => return Err(TokenizerError::MissingKey { key: meta::MERGES }),
                };
                let model = Model::Bpe { pre: style.pre, merges, flags: style.flags };
                let defaults = bpe_defaults(&style, model_name == "gemma4");
                (model, defaults, Some(style))
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
            // llama.cpp turns BOS on for Gemma 4 even if the file turns it off.
            add_bos: meta::boolean(m, meta::ADD_BOS)?.unwrap_or(defaults.add_bos)
                || style.is_some_and(|s| s.force_bos),
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
        sep: None,
        pad: None,
        mask: None,
    }
}

/// llama.cpp's WordPiece defaults (BERT's [CLS], [UNK], [SEP], [PAD] and [MASK] ids).
fn wpm_defaults() -> Defaults {
    Defaults {
        add_space_prefix: false,
        add_bos: true,
        clean_spaces: true,
        bos: Some(101),
        eos: None,
        unk: Some(100),
        sep: Some(102),
        pad: Some(0),
        mask: Some(103),
    }
}

/// BPE defaults; a "gemma4" model has no default special ids at all.
fn bpe_defaults(style: &PreStyle, gemma4: bool) -> Defaults {
    let fallback = if gemma4 { None } else { Some(11) };
    Defaults {
        add_space_prefix: false,
        add_bos: style.add_bos,
        clean_spaces: style.clean_spaces,
        bos: if style.no_default_bos { None } else { fallback },
        eos: fallback,
        unk: None,
        sep: None,
        pad: None,
        mask: None,
    }
}

/// What a `tokenizer.ggml.pre` value selects in llama.cpp besides the regex list.
#[derive(Clone, Copy)]
struct PreStyle {
    pre: PreTokenizer,
    flags: BpeFlags,
    clean_spaces: bool,
    /// The default of `tokenizer.ggml.add_bos_token`.
    add_bos: bool,
    /// BOS even if `tokenizer.ggml.add_bos_token` is false (Gemma 4).
    force_bos: bool,
    /// No BOS unless `tokenizer.ggml.bos_token_id` names one (GLM), instead of id 11.
    no_default_bos: bool,
}

impl PreStyle {
    /// `pre` with llama.cpp's BPE defaults (`clean_spaces` on, byte-level, nothing else).
    fn new(pre: PreTokenizer) -> PreStyle {
        PreStyle {
            pre,
            flags: BpeFlags { byte_level: true, ..BpeFlags::default() },
            clean_spaces: true,
            add_bos: false,
            force_bos: false,
            no_default_bos: false,
        }
    }

    /// Without `clean_spaces` (most newer vocabularies).
    fn raw(pre: PreTokenizer) -> PreStyle {
        PreStyle { clean_spaces: false, ..PreStyle::new(pre) }
    }

    fn ignoring_merges(mut self) -> PreStyle {
        self.flags.ignore_merges = true;
        self
    }

    fn with_bos(self) -> PreStyle {
        PreStyle { add_bos: true, ..self }
    }

    fn without_default_bos(self) -> PreStyle {
        PreStyle { no_default_bos: true, ..self }
    }

    /// SentencePiece-style BPE: raw UTF-8, spaces as `▁` if `escape`.
    fn utf8(mut self, escape: bool) -> PreStyle {
        self.flags.byte_level = false;
        self.flags.escape_spaces = escape;
        self
    }
}

/// The pre-tokenizer and flags llama.cpp uses for a `tokenizer.ggml.pre` value
/// (`llama_vocab::impl::load` of the vendored llama.cpp, commit 0c1e5709: every name it knows).
/// A missing value is "default", as in llama.cpp (which warns); an unknown one is an error.
fn pre_tokenizer(pre: &str) -> Result<PreStyle, TokenizerError> {
    use PreStyle as S;
    use PreTokenizer::*;
    Ok(match pre {
        "" | "default" => S::new(Default),
        "minicpm5" => S::new(MiniCpm5).ignoring_merges(),
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0"
        | "lfm2" | "jina-v5-nano" => S::new(Llama3).ignoring_merges().with_bos(),
        "deepseek-llm" => S::raw(DeepseekLlm),
        "deepseek-coder" => S::raw(DeepseekCoder),
        "deepseek-v3" | "hunyuan-dense" | "hy_v4" | "joyai-llm" => S::raw(Deepseek3),
        "spark2_5" => S::raw(Spark25),
        "youtu" => S::raw(Youtu).ignoring_merges(),
        "falcon" => S::new(Falcon),
        "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es" | "jina-v2-de"
        | "a.x-4.0" | "mellum" | "modern-bert" | "mpt" | "olmo" | "jais" | "exaone4" => {
            S::new(Gpt2)
        }
        // llama.cpp marks these add_sep for its embedding callers; tokenizing ignores it.
        "jina-v1-en" | "jina-v2-code" | "roberta-bpe" => S::new(Gpt2),
        "trillion" | "granite-docling" => S::raw(Gpt2),
        "starcoder" | "refact" | "codeshell" | "exaone" | "minerva-7b" | "mellum2" => {
            S::new(DigitsThenGpt2)
        }
        "smollm" | "command-r" => S::raw(DigitsThenGpt2),
        "jais-2" => S::new(Jais2),
        "gemma4" | "granite-embed-multi-311m" => {
            let style = S::new(Lines).utf8(true);
            PreStyle {
                force_bos: true,
                flags: BpeFlags { newline_tokens: true, ..style.flags },
                ..style
            }
        }
        "sarvam-moe" => S::raw(Lines).utf8(true),
        "whitespace" => S::new(Whitespace).utf8(false),
        "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "hunyuan" | "solar-open"
        | "grok-2" => S::raw(Qwen2),
        "megrez" | "stablelm2" => S::new(Qwen2),
        "qwen35" => S::raw(Qwen35),
        "dbrx" | "smaug-bpe" => S::new(Llama3),
        "chatglm-bpe" => S::new(Llama3).without_default_bos(),
        "glm4" | "glm5" => S::new(Llama3).without_default_bos().ignoring_merges(),
        "poro-chat" => S::raw(Poro),
        "bloom" | "gpt3-finnish" => S::new(Poro),
        "viking" => S::raw(Viking),
        "tekken" => S::raw(Tekken).ignoring_merges().with_bos(),
        "exaone-moe" => S::new(ExaoneMoe),
        "chameleon" => S::raw(Chameleon).with_bos(),
        "gpt-4o" | "llama4" | "kanana2" | "talkie" | "minimax-m2" => S::raw(Gpt4o),
        "granite-embed-multi-97m" => S::raw(GraniteEmbedMulti).ignoring_merges(),
        "tiny_aya" | "cohere2moe" => S::raw(TinyAya),
        "superbpe" => S::raw(SuperBpe),
        "bailingmoe" | "bailingmoe2" | "llada-moe" => S::raw(BailingMoe),
        "seed-coder" => S::raw(SeedCoder),
        "kimi-k2" => S::raw(KimiK2),
        "ufakzeka" => S::raw(Ufakzeka),
        "afmoe" => S::raw(Afmoe),
        "laguna" => S::raw(Laguna),
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
        sep: read("tokenizer.ggml.seperator_token_id", d.sep)?,
        pad: read("tokenizer.ggml.padding_token_id", d.pad)?,
        mask: read("tokenizer.ggml.mask_token_id", d.mask)?,
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
            Model::Bpe { flags, .. } if flags.byte_level => single,
            Model::Bpe { .. } => table.id(format!("<0x{b:02X}>").as_bytes()),
            Model::Wpm { .. } => None,
        };
    }
    out
}
