//! Chat prompts: the model's own template (`tokenizer.chat_template`) rendered by a Jinja engine
//! as Hugging Face transformers renders it (`template`), or, for a file without one, a built-in
//! format:
//!
//! - Gemma (`<start_of_turn>user\n...<end_of_turn>\n`, the assistant is `model`) for a
//!   Gemma-architecture file, as Gemma 3's published template renders it: the text starts with
//!   the BOS string, a leading system message is folded into the first turn (its content, then a
//!   blank line), contents are trimmed of whitespace, and roles must alternate user/assistant
//!   (else `ChatRoles`). gemma-3-270m-q4_k_m.gguf has no template; llama.cpp would fall back to
//!   ChatML, which Gemma was not trained on.
//! - ChatML (`<|im_start|>role\ncontent<|im_end|>\n`, then `<|im_start|>assistant\n`) for any
//!   other file without a template, as llama.cpp does.
//!
//! A caller may also pass a template of its own, which replaces the file's.
//!
//! BOS. Templates often start with `{{ bos_token }}`, and our callers tokenize chat text with
//! `add_special = true` (which adds BOS when the model says so) and `parse_special = true`.
//! llama.cpp's tokenizer does not deduplicate: that gives `<bos><bos>...` (it only logs a
//! warning). llama.cpp's chat code (common/chat.cpp) avoids it by dropping a leading BOS string
//! from the rendered text when the model adds BOS itself (and a trailing EOS string when it adds
//! EOS); `Tokenizer::render_chat` does the same, `ChatTemplate::render` does not.

use super::Tokenizer;
use super::error::TokenizerError;
use super::meta;
use super::template::{ChatInput, ChatTemplateError, ChatValue, JinjaTemplate, now_local_unix};

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

    /// The message as a template value (`{role, content}`).
    pub fn to_value(&self) -> ChatValue {
        ChatValue::message(&self.role, &self.content)
    }
}

/// How a model's chat prompts are made.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatTemplate {
    /// A Jinja template: the file's `tokenizer.chat_template` or one the caller gave.
    Jinja(JinjaTemplate),
    /// Built-in ChatML, for a file without a template.
    ChatMl,
    /// Built-in Gemma turns, for a Gemma-architecture file without a template.
    Gemma,
}

/// One chat rendering: the conversation and how to render it.
#[derive(Clone, Debug, Default)]
pub struct ChatRequest<'a> {
    /// Maps with at least `role` and `content` (Jinja templates may read more: `tool_calls`,
    /// `reasoning_content`, …).
    pub messages: &'a [ChatValue],
    /// Tool schemas for templates that describe tools; None otherwise.
    pub tools: Option<&'a ChatValue>,
    /// End with the opening of an assistant turn.
    pub add_generation_prompt: bool,
    /// Jinja source that replaces the model's template.
    pub template: Option<&'a str>,
    /// The time `strftime_now` formats (local Unix seconds); None: now.
    pub now_unix: Option<i64>,
}

impl ChatTemplate {
    /// The template of a model whose `tokenizer.chat_template` is `template`, of architecture
    /// `arch`: that template if there is one (it must parse), else a built-in format.
    pub fn detect(
        template: Option<&str>,
        arch: Option<&str>,
    ) -> Result<ChatTemplate, TokenizerError> {
        match template {
            Some(t) => ChatTemplate::parse(t),
            None if matches!(arch, Some("gemma" | "gemma2" | "gemma3")) => Ok(ChatTemplate::Gemma),
            None => Ok(ChatTemplate::ChatMl),
        }
    }

    /// A Jinja template from its source.
    pub fn parse(source: &str) -> Result<ChatTemplate, TokenizerError> {
        JinjaTemplate::parse(source).map(ChatTemplate::Jinja).map_err(TokenizerError::ChatTemplate)
    }

    /// What kind of template this is, for reports: `jinja`, `chatml` or `gemma` (the last two
    /// built in).
    pub fn kind(&self) -> &'static str {
        match self {
            ChatTemplate::Jinja(_) => "jinja",
            ChatTemplate::ChatMl => "chatml",
            ChatTemplate::Gemma => "gemma",
        }
    }

    /// The text the template renders for `request` (`bos`/`eos` are the BOS/EOS tokens' text).
    pub fn render(&self, request: &ChatRequest, bos: &str, eos: &str) -> Result<String, TokenizerError> {
        match self {
            ChatTemplate::Jinja(t) => {
                let input = ChatInput {
                    messages: request.messages,
                    tools: request.tools,
                    add_generation_prompt: request.add_generation_prompt,
                    bos_token: bos,
                    eos_token: eos,
                    now_unix: request.now_unix.unwrap_or_else(now_local_unix),
                };
                t.render(&input).map_err(TokenizerError::ChatTemplate)
            }
            ChatTemplate::ChatMl => {
                Ok(render_chatml(&role_content(request.messages)?, request.add_generation_prompt))
            }
            ChatTemplate::Gemma => {
                render_gemma(&role_content(request.messages)?, request.add_generation_prompt, bos)
            }
        }
    }
}

/// The `(role, content)` strings the built-in formats need.
fn role_content(messages: &[ChatValue]) -> Result<Vec<(&str, &str)>, TokenizerError> {
    messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let text = |key| m.get(key).and_then(ChatValue::as_str);
            match (text("role"), text("content")) {
                (Some(role), Some(content)) => Ok((role, content)),
                _ => Err(TokenizerError::ChatTemplate(ChatTemplateError::BadInput {
                    detail: format!("message {i} needs a string role and content"),
                })),
            }
        })
        .collect()
}

fn render_chatml(messages: &[(&str, &str)], add_generation_prompt: bool) -> String {
    let mut out = String::new();
    for (role, content) in messages {
        out.push_str(&format!("<|im_start|>{role}\n{content}<|im_end|>\n"));
    }
    if add_generation_prompt {
        out.push_str("<|im_start|>assistant\n");
    }
    out
}

fn render_gemma(
    messages: &[(&str, &str)],
    add_generation_prompt: bool,
    bos: &str,
) -> Result<String, TokenizerError> {
    // Gemma's template reads messages[0] unconditionally; jinja2 fails on an empty list.
    let first = messages.first().ok_or(TokenizerError::ChatRoles { index: 0 })?;
    let (prefix, turns, skipped) = if first.0 == "system" {
        (format!("{}\n\n", first.1), &messages[1..], 1)
    } else {
        (String::new(), messages, 0)
    };
    let mut out = bos.to_string();
    for (i, &(role, content)) in turns.iter().enumerate() {
        if (role == "user") != (i % 2 == 0) {
            return Err(TokenizerError::ChatRoles { index: i + skipped });
        }
        let role = if role == "assistant" { "model" } else { role };
        out.push_str(&format!("<start_of_turn>{role}\n"));
        if i == 0 {
            out.push_str(&prefix);
        }
        out.push_str(py_trim(content));
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

    /// The prompt text for `messages` in the model's chat format; see `render_chat`.
    pub fn apply_chat_template(
        &self,
        messages: &[ChatMessage],
        add_generation_prompt: bool,
    ) -> Result<String, TokenizerError> {
        let values: Vec<ChatValue> = messages.iter().map(ChatMessage::to_value).collect();
        self.render_chat(&ChatRequest { messages: &values, add_generation_prompt, ..ChatRequest::default() })
    }

    /// The prompt text of `request`, ready for `encode(text, add_special = true,
    /// parse_special = true)`: the template's rendering without a leading BOS string when the
    /// model adds BOS itself, and without a trailing EOS string when it adds EOS (llama.cpp's
    /// common/chat.cpp), so neither is doubled.
    pub fn render_chat(&self, request: &ChatRequest) -> Result<String, TokenizerError> {
        let bos = self.special_text(self.bos());
        let eos = self.special_text(self.eos());
        let mut text = match request.template {
            Some(source) => ChatTemplate::parse(source)?.render(request, &bos, &eos)?,
            None => self.chat_template()?.render(request, &bos, &eos)?,
        };
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

/// Where a model's chat prompts come from, as reports tell it (`model.info.chatTemplate`).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatOrigin {
    /// The file's own `tokenizer.chat_template`.
    File,
    /// A built-in format: the file has no template.
    BuiltIn,
    /// None: the file has no tokenizer (`tokenizer.ggml.model`), so no chat.
    None,
}

impl ChatOrigin {
    /// `file`, `builtin` or `none`.
    pub fn name(self) -> &'static str {
        match self {
            ChatOrigin::File => "file",
            ChatOrigin::BuiltIn => "builtin",
            ChatOrigin::None => "none",
        }
    }
}

/// Which chat template a model uses, decided from its metadata as building its tokenizer decides
/// it (a file's template is parsed here too, so one that fails is known before it is used).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatSource {
    pub origin: ChatOrigin,
    /// `jinja` (the file's), `chatml` or `gemma` (built in); None without a tokenizer, or when
    /// the choice itself failed.
    pub format: Option<&'static str>,
    /// Why chat prompts will fail (`CHAT_TEMPLATE` for a template that does not parse, or a
    /// metadata key of the wrong type); None when the template is usable.
    pub error: Option<TokenizerError>,
}

impl ChatSource {
    /// The chat template of a model with metadata `m`.
    pub fn of(m: &crate::gguf::Metadata) -> ChatSource {
        if m.get(meta::MODEL).is_none() {
            return ChatSource { origin: ChatOrigin::None, format: None, error: None };
        }
        let origin = if m.get(meta::CHAT_TEMPLATE).is_some() { ChatOrigin::File } else { ChatOrigin::BuiltIn };
        match detect_in(m) {
            Ok(t) => ChatSource { origin, format: Some(t.kind()), error: None },
            Err(e) => ChatSource { origin, format: None, error: Some(e) },
        }
    }
}

/// Recognises the chat template in GGUF metadata.
pub(super) fn detect_in(m: &crate::gguf::Metadata) -> Result<ChatTemplate, TokenizerError> {
    let template = meta::string(m, meta::CHAT_TEMPLATE)?;
    let arch = meta::string(m, meta::ARCHITECTURE)?;
    ChatTemplate::detect(template, arch)
}
