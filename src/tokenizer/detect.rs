//! What llama.cpp infers from token texts at load time (src/llama-vocab.cpp, after the special
//! ids are read): end-of-turn and fill-in-the-middle ids the metadata did not give, "unused"
//! control tokens, the set of end-of-generation tokens, and a few per-model attribute fixes.
//!
//! Where several tokens of a model match one list, llama.cpp keeps the first it meets while
//! iterating a hash map, an order the C++ library leaves unspecified; this takes the lowest id,
//! which agrees with llama.cpp on both test models (SmolLM2: `<|endoftext|>` = 0 over
//! `<|im_end|>` = 2 as end of turn).

use super::attr;
use super::special_ids::SpecialIds;
use super::table::TokenTable;

const EOT: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
const EOM: &[&str] = &["<|eom_id|>"];
const FIM_PRE: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
const FIM_PAD: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP: &[&str] = &["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"];
const FIM_SEP: &[&str] = &["<|file_sep|>"];

/// Texts of tokens that end generation whatever their ids.
const EOG: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

/// gpt-oss tokens llama.cpp always renders (made user-defined).
const ALWAYS_RENDERED: &[&str] = &["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"];

/// Fills the ids `ids` lacks, updates `attrs`, and returns the end-of-generation ids (sorted).
pub(super) fn detect(table: &TokenTable, attrs: &mut [u32], ids: &mut SpecialIds) -> Vec<u32> {
    let slots: [(&mut Option<u32>, &[&str]); 8] = [
        (&mut ids.eot, EOT),
        (&mut ids.eom, EOM),
        (&mut ids.fim_pre, FIM_PRE),
        (&mut ids.fim_suf, FIM_SUF),
        (&mut ids.fim_mid, FIM_MID),
        (&mut ids.fim_pad, FIM_PAD),
        (&mut ids.fim_rep, FIM_REP),
        (&mut ids.fim_sep, FIM_SEP),
    ];
    for (slot, texts) in slots {
        if slot.is_none() {
            *slot = texts.iter().filter_map(|t| table.id(t.as_bytes())).min();
            if let Some(id) = *slot {
                attrs[id as usize] |= attr::CONTROL;
            }
        }
    }
    for (id, a) in attrs.iter_mut().enumerate() {
        if *a & attr::CONTROL != 0 && table.text(id as u32).contains("unused") {
            *a |= attr::UNUSED;
        }
    }
    let mut eog: Vec<u32> = [ids.fim_pad, ids.fim_rep, ids.fim_sep].into_iter().flatten().collect();
    for id in EOG.iter().filter_map(|t| table.id(t.as_bytes())) {
        eog.push(id);
        attrs[id as usize] |= attr::CONTROL;
    }
    for id in ALWAYS_RENDERED.iter().filter_map(|t| table.id(t.as_bytes())) {
        attrs[id as usize] = attr::USER_DEFINED;
    }
    eog.extend([ids.eos, ids.eot, ids.eom].into_iter().flatten());
    eog.sort_unstable();
    eog.dedup();
    drop_conflicting_eog(table, attrs, &mut eog);
    eog
}

/// llama.cpp's two workarounds: with `<|return|>` and `<|call|>` (o200k_harmony) or `<|calls|>`
/// and `<|flush|>` (solar-open), `<|end|>` does not end generation; with `<|tool_response>`
/// (gemma4, paddleocr), `</s>` does not.
fn drop_conflicting_eog(table: &TokenTable, attrs: &mut [u32], eog: &mut Vec<u32>) {
    let has = |eog: &[u32], text: &str| eog.iter().copied().find(|&id| table.text(id) == text);
    let call = has(eog, "<|call|>").or_else(|| has(eog, "<|calls|>"));
    let end = has(eog, "<|end|>");
    if let Some(end) = end {
        let harmony = has(eog, "<|return|>").is_some() && call.is_some();
        let solar = call.is_some() && has(eog, "<|flush|>").is_some();
        if harmony || solar {
            eog.retain(|&id| id != end);
            attrs[end as usize] = attr::USER_DEFINED;
        }
    }
    if let (Some(_), Some(s)) = (has(eog, "<|tool_response>"), has(eog, "</s>")) {
        eog.retain(|&id| id != s);
        attrs[s as usize] = attr::NORMAL;
    }
}

/// Per-model strip attributes llama.cpp sets by model name or pre-tokenizer.
pub(super) fn strip_attributes(
    table: &TokenTable,
    attrs: &mut [u32],
    name: &str,
    pre: &str,
    arch: &str,
) {
    let name = name.to_ascii_lowercase();
    let jina = ["jina-v2-de", "jina-v2-es", "jina-v2-code"].iter().any(|p| pre.contains(p));
    if jina || ["nomic-bert-moe", "jina-bert-v3"].iter().any(|a| arch.contains(a)) {
        set_flag(table, attrs, "<mask>", attr::LSTRIP, true);
    } else if name.contains("phi-3") || name.contains("phi3") {
        let special = attr::CONTROL | attr::USER_DEFINED | attr::UNKNOWN;
        for a in attrs.iter_mut().filter(|a| **a & special != 0) {
            *a |= attr::RSTRIP;
        }
        set_flag(table, attrs, "</s>", attr::RSTRIP, true);
        for text in ["<unk>", "<s>", "<|endoftext|>"] {
            set_flag(table, attrs, text, attr::RSTRIP, false);
        }
    } else if name.contains("modern-bert") {
        set_flag(table, attrs, "[MASK]", attr::LSTRIP, true);
    }
}

/// Sets or clears `flag` on the token whose text is `text`, if there is one.
fn set_flag(table: &TokenTable, attrs: &mut [u32], text: &str, flag: u32, on: bool) {
    if let Some(id) = table.id(text.as_bytes()) {
        let a = &mut attrs[id as usize];
        *a = if on { *a | flag } else { *a & !flag };
    }
}
