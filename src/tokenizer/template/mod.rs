//! The chat template stored in a GGUF file (`tokenizer.chat_template`, Jinja source) rendered
//! the way Hugging Face transformers renders it, with the `minijinja` engine:
//!
//! - jinja2's `ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)` with the
//!   loop-controls extension: `break`/`continue` work, nothing can mutate a value (minijinja has
//!   no mutating methods), Python's string and dict methods (`.strip()`, `.split()`, `.items()`,
//!   `.startswith()`, …) come from minijinja-contrib's `pycompat`;
//! - globals `raise_exception(message)` (→ `ChatTemplateError::Raised`) and `strftime_now(fmt)`;
//!   the `tojson` filter is Python's `json.dumps(x, ensure_ascii=False, ...)`; printed values use
//!   Python's `str()` (`None`, `True`, `['a']`) rather than minijinja's spelling (`python`);
//! - variables `messages`, `tools` and `documents` (None unless given), `add_generation_prompt`,
//!   `bos_token`, `eos_token`;
//! - transformers' `{% generation %}…{% endgeneration %}` tag (it marks assistant text for
//!   training masks and renders its body unchanged) is rewritten to an always-true `if` block,
//!   which has the same whitespace handling.
//!
//! The template is untrusted input. One render gets a fuel budget (minijinja charges every
//! instruction and every byte or list slot it creates, and refuses an allocation the remaining
//! fuel cannot pay for, so fuel bounds both time and memory), a recursion limit, and an output
//! cap; each ends in a typed `ChatTemplateError`.

mod clock;
mod error;
mod json_text;
mod python;
mod value;

#[cfg(test)]
mod tests;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, ErrorKind, State};

pub use clock::{CivilTime, now_local_unix};
pub use error::ChatTemplateError;
pub use json_text::{JsonError, parse_json};
pub use value::ChatValue;

use python::{Bounded, JsonDumpError, JsonStyle};

/// Fuel for any conversation: about 2 million instructions, or 128 MiB of created data (64 bytes
/// per fuel). llama.cpp's 70 real templates spend at most 2,485 (Kimi K3) on the six short
/// conversations of tests/chat_templates.rs, which holds them under a twentieth of this.
pub const FUEL_BASE: u64 = 2_000_000;
/// Extra fuel per byte of message and tool text, so a long conversation is not cut short.
const FUEL_PER_INPUT_BYTE: u64 = 1;
/// Output for any conversation; a prompt is far smaller than this.
const OUTPUT_BASE: usize = 8 << 20;
/// Extra output per byte of message and tool text (a template may repeat a message).
const OUTPUT_PER_INPUT_BYTE: usize = 8;
/// Nesting depth (a macro call counts 4, a block or loop 1). Real templates nest a few levels;
/// deep recursion could overflow the 1 MiB wasm stack before minijinja's own limit of 500.
pub const RECURSION_LIMIT: usize = 200;

/// What a template is rendered with.
#[derive(Clone, Debug)]
pub struct ChatInput<'a> {
    /// The conversation: maps with at least `role` and `content`.
    pub messages: &'a [ChatValue],
    /// Tool schemas (a list), or None.
    pub tools: Option<&'a ChatValue>,
    pub add_generation_prompt: bool,
    pub bos_token: &'a str,
    pub eos_token: &'a str,
    /// What `strftime_now` formats: local time as Unix seconds (`now_local_unix()`).
    pub now_unix: i64,
}

/// A Jinja chat template, checked to parse.
#[derive(Clone, PartialEq, Eq)]
pub struct JinjaTemplate {
    /// The source with transformers' `generation` tags rewritten.
    source: String,
}

/// A summary: templates run to tens of KiB.
impl std::fmt::Debug for JinjaTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JinjaTemplate").field("bytes", &self.source.len()).finish()
    }
}

impl JinjaTemplate {
    /// Parses `text`; a syntax error is reported now rather than at every render.
    pub fn parse(text: &str) -> Result<JinjaTemplate, ChatTemplateError> {
        let template = JinjaTemplate { source: rewrite_generation_tags(text) };
        let mut env = Environment::new();
        env.set_syntax(hf_syntax());
        env.template_from_str(&template.source).map_err(|e| ChatTemplateError::Syntax {
            line: e.line().unwrap_or(0),
            detail: e.to_string(),
        })?;
        Ok(template)
    }

    /// The text the template renders for `input`.
    pub fn render(&self, input: &ChatInput) -> Result<String, ChatTemplateError> {
        self.render_counting_fuel(input).map(|(text, _)| text)
    }

    /// The text the template renders for `input`, and the fuel the render consumed (to size
    /// the budget against real templates).
    pub fn render_counting_fuel(&self, input: &ChatInput) -> Result<(String, u64), ChatTemplateError> {
        let limits = Limits::for_input(input);
        let flags = Flags::default();
        let env = environment(&limits, &flags, input.now_unix);
        let template = env.template_from_str(&self.source).map_err(|e| ChatTemplateError::Syntax {
            line: e.line().unwrap_or(0),
            detail: e.to_string(),
        })?;
        let context = context(input);
        let mut out = CappedWriter { bytes: Vec::new(), limit: limits.output, overflowed: false };
        let result = template.render_captured_to(context, &mut out);
        if out.overflowed {
            return Err(ChatTemplateError::OutputTooLarge { limit: limits.output });
        }
        match result {
            Ok(captured) => {
                let fuel = captured.state().fuel_levels().map_or(0, |(consumed, _)| consumed);
                let text = String::from_utf8(out.bytes).map_err(|_| ChatTemplateError::Render {
                    line: 0,
                    detail: "the output is not UTF-8".to_string(),
                })?;
                Ok((text, fuel))
            }
            Err(e) => Err(classify(e, &flags, &limits)),
        }
    }
}

/// The per-render budget.
struct Limits {
    fuel: u64,
    output: usize,
}

impl Limits {
    /// The base budget, grown with the bytes of text the conversation brings.
    fn for_input(input: &ChatInput) -> Limits {
        let input_bytes = input.messages.iter().map(ChatValue::text_bytes).sum::<usize>()
            + input.tools.map_or(0, ChatValue::text_bytes);
        Limits {
            fuel: FUEL_BASE.saturating_add(FUEL_PER_INPUT_BYTE.saturating_mul(input_bytes as u64)),
            output: OUTPUT_BASE.saturating_add(OUTPUT_PER_INPUT_BYTE.saturating_mul(input_bytes)),
        }
    }
}

/// What the template's own functions saw, read back to name the error precisely.
#[derive(Clone, Default)]
struct Flags {
    /// The message of `raise_exception`.
    raised: Arc<Mutex<Option<String>>>,
    /// A printed or `tojson` value exceeded the output limit.
    too_large: Arc<AtomicBool>,
}

/// The engine's error, named.
fn classify(e: minijinja::Error, flags: &Flags, limits: &Limits) -> ChatTemplateError {
    if let Some(message) = flags.raised.lock().ok().and_then(|mut m| m.take()) {
        return ChatTemplateError::Raised { message };
    }
    if flags.too_large.load(Ordering::Relaxed) {
        return ChatTemplateError::OutputTooLarge { limit: limits.output };
    }
    match e.kind() {
        ErrorKind::OutOfFuel => ChatTemplateError::OutOfFuel { fuel: limits.fuel },
        ErrorKind::SyntaxError => {
            ChatTemplateError::Syntax { line: e.line().unwrap_or(0), detail: e.to_string() }
        }
        _ if e.detail() == Some("recursion limit exceeded") => {
            ChatTemplateError::TooDeep { limit: RECURSION_LIMIT }
        }
        _ => ChatTemplateError::Render { line: e.line().unwrap_or(0), detail: e.to_string() },
    }
}

/// jinja2's whitespace options as transformers sets them; the rest (`keep_trailing_newline`
/// false, `{{ }}`/`{% %}`/`{# #}` delimiters) are jinja2's and minijinja's defaults.
fn hf_syntax() -> minijinja::syntax::SyntaxConfig {
    minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .build()
        .expect("the default delimiters are valid")
}

/// The environment of one render.
fn environment(limits: &Limits, flags: &Flags, now_unix: i64) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_syntax(hf_syntax());
    env.set_fuel(Some(limits.fuel));
    env.set_recursion_limit(RECURSION_LIMIT);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);

    let output_limit = limits.output;
    let too_large = flags.too_large.clone();
    env.set_formatter(move |out, _state, value| {
        let mut text = Bounded::new(output_limit);
        python::write_str(&mut text, value).map_err(|_| overflow(&too_large))?;
        out.write_str(&text.text).map_err(|_| minijinja::Error::new(ErrorKind::WriteFailure, "output"))
    });

    let too_large = flags.too_large.clone();
    env.add_filter(
        "tojson",
        move |value: &Value,
              ensure_ascii: Option<Value>,
              indent: Option<Value>,
              separators: Option<Value>,
              kwargs: Kwargs| {
            let pick = |given: Option<Value>, name: &str| -> Result<Option<Value>, minijinja::Error> {
                Ok(given.or(kwargs.get::<Option<Value>>(name)?))
            };
            let options = JsonOptions {
                ensure_ascii: pick(ensure_ascii, "ensure_ascii")?,
                indent: pick(indent, "indent")?,
                separators: pick(separators, "separators")?,
                // minijinja functions take at most five arguments: the fourth by name only.
                sort_keys: pick(None, "sort_keys")?,
            };
            kwargs.assert_all_used()?;
            tojson(value, options, output_limit).map_err(|e| match e {
                JsonDumpError::TooLarge => overflow(&too_large),
                JsonDumpError::NotSerializable(kind) => minijinja::Error::new(
                    ErrorKind::InvalidOperation,
                    format!("Object of type {kind} is not JSON serializable"),
                ),
            })
        },
    );

    // Python's notion of these tests: None is not iterable, a string or dict is a sequence,
    // and jinja2's Undefined is both (it iterates as empty and has `__getitem__`).
    env.add_test("iterable", |value: &Value| {
        !matches!(value.kind(), ValueKind::None | ValueKind::Bool | ValueKind::Number | ValueKind::Plain)
    });
    env.add_test("sequence", |value: &Value| {
        matches!(value.kind(), ValueKind::Undefined | ValueKind::String | ValueKind::Seq | ValueKind::Map)
    });

    let too_large = flags.too_large.clone();
    env.add_filter("string", move |value: &Value| {
        let mut text = Bounded::new(output_limit);
        python::write_str(&mut text, value).map_err(|_| overflow(&too_large))?;
        Ok::<_, minijinja::Error>(text.text)
    });

    let raised = flags.raised.clone();
    env.add_function("raise_exception", move |message: &Value| {
        let mut text = Bounded::new(output_limit);
        let _ = python::write_str(&mut text, message);
        if let Ok(mut slot) = raised.lock() {
            *slot = Some(text.text);
        }
        Err::<Value, _>(minijinja::Error::new(ErrorKind::InvalidOperation, "raise_exception"))
    });

    let now = CivilTime::from_unix(now_unix);
    env.add_function("strftime_now", move |state: &State, format: &str| {
        // Format strings are short; charging their length bounds a hostile repetition.
        let text = now.format(format);
        state.consume_fuel(text.len() as u64 / 64 + 1)?;
        Ok::<_, minijinja::Error>(text)
    });
    env
}

/// Records that a value outgrew the output limit, as the engine error to stop rendering with.
fn overflow(flag: &AtomicBool) -> minijinja::Error {
    flag.store(true, Ordering::Relaxed);
    minijinja::Error::new(ErrorKind::InvalidOperation, "output limit exceeded")
}

/// The arguments of transformers' `tojson` filter, given positionally or by name.
struct JsonOptions {
    ensure_ascii: Option<Value>,
    indent: Option<Value>,
    separators: Option<Value>,
    sort_keys: Option<Value>,
}

/// transformers' `tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)`.
fn tojson(value: &Value, options: JsonOptions, output_limit: usize) -> Result<String, JsonDumpError> {
    let given = |v: Option<Value>| v.filter(|v| !v.is_none() && !v.is_undefined());
    let ensure_ascii = given(options.ensure_ascii).is_some_and(|v| v.is_true());
    let indent = given(options.indent).map(|v| match v.as_str() {
        Some(unit) => unit.to_string(),
        // Python: `" " * indent`, where True is 1 and a negative count gives "".
        None => {
            let count = i64::try_from(v.clone()).unwrap_or(i64::from(v.is_true()));
            " ".repeat(count.clamp(0, 64) as usize)
        }
    });
    let sort_keys = given(options.sort_keys).is_some_and(|v| v.is_true());
    let mut style = JsonStyle::new(ensure_ascii, indent, sort_keys);
    if let Some(separators) = given(options.separators) {
        let mut pair = separators.try_iter().into_iter().flatten().map(|v| v.to_string());
        if let (Some(item), Some(key)) = (pair.next(), pair.next()) {
            style.item_separator = item;
            style.key_separator = key;
        }
    }
    let mut out = Bounded::new(output_limit);
    python::write_json(&mut out, value, &style, 0)?;
    Ok(out.text)
}

/// The template's variables, as transformers passes them.
fn context(input: &ChatInput) -> Value {
    let messages: Value = input.messages.iter().map(ChatValue::to_value).collect();
    minijinja::context! {
        messages => messages,
        tools => input.tools.map_or(Value::from(()), ChatValue::to_value),
        documents => Value::from(()),
        add_generation_prompt => input.add_generation_prompt,
        bos_token => input.bos_token,
        eos_token => input.eos_token,
    }
}

/// Rewrites `{% generation %}` / `{% endgeneration %}` (with any `-`/`+` whitespace markers) to
/// `{% if true %}` / `{% endif %}`, which render their body unchanged.
fn rewrite_generation_tags(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(at) = rest.find("{%") {
        out.push_str(&rest[..at]);
        let tag = &rest[at..];
        match generation_tag(tag) {
            Some((len, open_marker, end, close_marker)) => {
                let word = if end { "endif" } else { "if true" };
                out.push_str(&format!("{{%{open_marker} {word} {close_marker}%}}"));
                rest = &tag[len..];
            }
            None => {
                out.push_str("{%");
                rest = &tag[2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// If `tag` starts with a generation tag: its length, its opening and closing whitespace
/// markers, and whether it is the end tag.
fn generation_tag(tag: &str) -> Option<(usize, &str, bool, &str)> {
    let body = &tag[2..];
    let open_marker = if body.starts_with(['-', '+']) { &body[..1] } else { "" };
    let inner = body[open_marker.len()..].trim_start();
    let (end, after) = if let Some(a) = inner.strip_prefix("endgeneration") {
        (true, a)
    } else {
        (false, inner.strip_prefix("generation")?)
    };
    let after_ws = after.trim_start();
    let close_marker = if after_ws.starts_with(['-', '+']) { &after_ws[..1] } else { "" };
    let close = after_ws[close_marker.len()..].strip_prefix("%}")?;
    Some((tag.len() - close.len(), open_marker, end, close_marker))
}

/// The render's output, refusing bytes past `limit` (the engine then stops with a write error).
struct CappedWriter {
    bytes: Vec<u8>,
    limit: usize,
    overflowed: bool,
}

impl io::Write for CappedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > self.limit {
            self.overflowed = true;
            return Err(io::Error::other("output limit exceeded"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
