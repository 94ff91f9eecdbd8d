//! Chat formatting for the two template families of the test models, recognised by inspecting
//! `tokenizer.chat_template` and rendered by hand (no Jinja engine), to the exact text Python
//! jinja2 renders from the template (checked by tests/tokenizer_llamacpp.rs against
//! tools/golden/chat_golden.py).
//!
//! - ChatML (`<|im_start|>role\ncontent<|im_end|>\n`, then `<|im_start|>assistant\n`).
//!   SmolLM2's and Qwen2.5's templates also open with a default system turn when the
//!   conversation does not start with one; its text is read from the template.
//! - Gemma (`<start_of_turn>user\n...<end_of_turn>\n`, the assistant is `model`). As Gemma 3's
//!   template does: the text starts with the BOS string, a leading system message is folded into
//!   the first turn (its content, then a blank line), contents are trimmed of whitespace, and
//!   roles must alternate user/assistant (else `ChatRoles`).
//!
//! gemma-3-270m-q4_k_m.gguf has no `tokenizer.chat_template`: a Gemma-architecture file without
//! one gets the Gemma format (llama.cpp itself would fall back to ChatML, which Gemma was not
//! trained on); any other file without one gets ChatML, as llama.cpp does.
//!
//! BOS. Gemma's text starts with `<bos>`, and our callers tokenize chat text with
//! `add_special = true` (which adds BOS for Gemma) and `parse_special = true`. llama.cpp's
//! tokenizer does not deduplicate: that gives `<bos><bos>...` (it only logs a warning). llama.cpp's
//! chat code (common/chat.cpp) avoids it by dropping a leading BOS string from the rendered text
//! when the model adds BOS itself (and a trailing EOS string when it adds EOS);
//! `Tokenizer::apply_chat_template` does the same, `ChatTemplate::render` does not.

use super::Tokenizer;
use super::error::TokenizerError;
use super::meta;

/// One chat message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` (or another role the template passes through).
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    /// A message from string slices.
    pub fn new(role: &str, content: &str) -> ChatMessage {
        ChatMessage { role: role.to_string(), content: content.to_string() }
    }
}

/// A recognised chat template.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatTemplate {
    /// ChatML; `default_system` is the system turn's content the template inserts when the
    /// first message is not a system message (SmolLM2's "You are a helpful AI assistant ...").
    ChatMl { default_system: Option<String> },
    /// Gemma's turns.
    Gemma,
}

impl ChatTemplate {
    /// Recognises `template` (the `tokenizer.chat_template` text, if any) of a model of
    /// architecture `arch`.
    pub fn detect(
        template: Option<&str>,
        arch: Option<&str>,
    ) -> Result<ChatTemplate, TokenizerError> {
        let Some(t) = template else {
            let gemma = matches!(arch, Some("gemma" | "gemma2" | "gemma3"));
            return Ok(if gemma {
                ChatTemplate::Gemma
            } else {
                ChatTemplate::ChatMl { default_system: None }
            });
        };
        if t.contains("<|im_start|>") {
            Ok(ChatTemplate::ChatMl { default_system: default_system(t) })
        } else if t.contains("<start_of_turn>") {
            Ok(ChatTemplate::Gemma)
        } else {
            Err(TokenizerError::UnknownChatTemplate)
        }
    }

    /// The text the template renders for `messages` (`bos` is the BOS token's text).
    pub fn render(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
        bos: &str,
    ) -> Result<String, TokenizerError> {
        match self {
            ChatTemplate::ChatMl { default_system } => {
                Ok(render_chatml(messages, add_generation_prompt, default_system.as_deref()))
            }
            ChatTemplate::Gemma => render_gemma(messages, add_generation_prompt, bos),
        }
    }
}

/// The system text a ChatML template writes itself when `messages[0]` is not a system message:
/// the content of a `<|im_start|>system` turn inside a string literal of the template.
fn default_system(template: &str) -> Option<String> {
    let tests_first_role = ["messages[0]['role'] != 'system'", "messages[0]['role'] == 'system'"];
    if !tests_first_role.iter().any(|t| template.contains(t)) {
        return None;
    }
    // The first system turn written out as one literal (SmolLM2's `if ... != 'system'` branch,
    // Qwen2.5's `else` branch); a turn built from `messages[0]['content']` has quotes in it.
    template.match_indices("<|im_start|>system").find_map(|(at, open)| {
        let rest = &template[at + open.len()..];
        let body = rest.strip_prefix('\n').or_else(|| rest.strip_prefix("\\n"))?;
        let text = &body[..body.find("<|im_end|>")?];
        (!text.is_empty() && !text.contains(['\'', '"'])).then(|| unescape_jinja(text))
    })
}

/// Undoes the backslash escapes of a Jinja string literal.
fn unescape_jinja(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn render_chatml(
    messages: &[ChatMessage],
    add_generation_prompt: bool,
    default_system: Option<&str>,
) -> String {
    let mut out = String::new();
    if let (Some(system), Some(first)) = (default_system, messages.first())
        && first.role != "system"
    {
        out.push_str(&format!("<|im_start|>system\n{system}<|im_end|>\n"));
    }
    for m in messages {
        out.push_str(&format!("<|im_start|>{}\n{}<|im_end|>\n", m.role, m.content));
    }
    if add_generation_prompt {
        out.push_str("<|im_start|>assistant\n");
    }
    out
}

fn render_gemma(
    messages: &[ChatMessage],
    add_generation_prompt: bool,
    bos: &str,
) -> Result<String, TokenizerError> {
    // Gemma's template reads messages[0] unconditionally; jinja2 fails on an empty list.
    let first = messages.first().ok_or(TokenizerError::ChatRoles { index: 0 })?;
    let (prefix, turns, skipped) = if first.role == "system" {
        (format!("{}\n\n", first.content), &messages[1..], 1)
    } else {
        (String::new(), messages, 0)
    };
    let mut out = bos.to_string();
    for (i, m) in turns.iter().enumerate() {
        if (m.role == "user") != (i % 2 == 0) {
            return Err(TokenizerError::ChatRoles { index: i + skipped });
        }
        let role = if m.role == "assistant" { "model" } else { &m.role };
        out.push_str(&format!("<start_of_turn>{role}\n"));
        if i == 0 {
            out.push_str(&prefix);
        }
        out.push_str(py_trim(&m.content));
        out.push_str("<end_of_turn>\n");
    }
    if add_generation_prompt {
        out.push_str("<start_of_turn>model\n");
    }
    Ok(out)
}

/// Jinja's `trim` (Python's `str.strip()`): whitespace as `str.isspace` sees it, which adds
/// U+001C..U+001F to Rust's `char::is_whitespace`.
fn py_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1C}'..='\u{1F}').contains(&c))
}

impl Tokenizer {
    /// The model's chat template, recognised when the tokenizer was built.
    pub fn chat_template(&self) -> Result<&ChatTemplate, TokenizerError> {
        self.chat.as_ref().map_err(Clone::clone)
    }

    /// The prompt text for `messages` in the model's chat format, ready for
    /// `encode(text, add_special = true, parse_special = true)`: the template's rendering without
    /// a leading BOS string when the model adds BOS itself, and without a trailing EOS string
    /// when it adds EOS (llama.cpp's common/chat.cpp), so neither is doubled.
    pub fn apply_chat_template(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, TokenizerError> {
        let bos = self.special_text(self.bos());
        let eos = self.special_text(self.eos());
        let mut text = self.chat_template()?.render(messages, add_generation_prompt, &bos)?;
        if self.add_bos() && !bos.is_empty() && text.starts_with(&bos) {
            text.drain(..bos.len());
        }
        if self.add_eos() && !eos.is_empty() && text.ends_with(&eos) {
            text.truncate(text.len() - eos.len());
        }
        Ok(text)
    }

    /// The rendered text of a special token (llama.cpp's `common_token_to_piece(.., true)`).
    fn special_text(&self, id: Option<u32>) -> String {
        id.map(|id| String::from_utf8_lossy(self.token_bytes(id, true)).into_owned())
            .unwrap_or_default()
    }
}

/// Recognises the chat template in GGUF metadata.
pub(super) fn detect_in(m: &crate::gguf::Metadata) -> Result<ChatTemplate, TokenizerError> {
    let template = meta::string(m, meta::CHAT_TEMPLATE)?;
    let arch = meta::string(m, meta::ARCHITECTURE)?;
    ChatTemplate::detect(template, arch)
}
