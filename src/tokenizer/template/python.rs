//! How Python turns template values into text, where templates see the difference: `str()` when
//! a value is printed (`{{ x }}` of None, a bool, a float, a list, a dict) and `json.dumps` with
//! `ensure_ascii=False` behind transformers' `tojson` filter (its spacing, escapes and number
//! formats end up in tool-calling prompts byte for byte).
//!
//! Every function writes into a `Bounded` string, so one printed or serialized value cannot grow
//! past the output limit even when the value itself is small (an indent string repeated on every
//! line of a deep structure).

use minijinja::Value;
use minijinja::value::ValueKind;

/// The value's text grew past the limit.
#[derive(Debug)]
pub struct TooLarge;

/// A string that refuses to grow past `limit` bytes.
pub struct Bounded {
    pub text: String,
    limit: usize,
}

impl Bounded {
    pub fn new(limit: usize) -> Bounded {
        Bounded { text: String::new(), limit }
    }

    pub fn push(&mut self, s: &str) -> Result<(), TooLarge> {
        if self.text.len() + s.len() > self.limit {
            return Err(TooLarge);
        }
        self.text.push_str(s);
        Ok(())
    }

    fn push_char(&mut self, c: char) -> Result<(), TooLarge> {
        self.push(c.encode_utf8(&mut [0; 4]))
    }
}

/// Why a value could not be serialized as JSON.
#[derive(Debug)]
pub enum JsonDumpError {
    TooLarge,
    /// Python's `TypeError: Object of type X is not JSON serializable`.
    NotSerializable(ValueKind),
}

impl From<TooLarge> for JsonDumpError {
    fn from(_: TooLarge) -> Self {
        JsonDumpError::TooLarge
    }
}

/// Python's `repr(float)`: the shortest text that reads back to `x`, in positional notation for
/// 1e-4 <= |x| < 1e16 (always with a fraction, `1.0`), otherwise `1e+16` / `1.5e-05` style.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let magnitude = x.abs();
    if x == 0.0 || (1e-4..1e16).contains(&magnitude) {
        let text = format!("{x}");
        return if text.contains('.') { text } else { format!("{text}.0") };
    }
    // Rust's `{:e}` gives the same shortest digits, as `1.5e-5`; Python signs the exponent and
    // pads it to two digits.
    let sci = format!("{x:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

/// The text of a number value as Python prints it (an int as digits, a float by `float_repr`).
fn number_text(v: &Value) -> String {
    if v.is_integer() {
        return v.to_string();
    }
    match f64::try_from(v.clone()) {
        Ok(x) => float_repr(x),
        Err(_) => v.to_string(),
    }
}

/// Python's `str(v)`: what `{{ v }}` prints.
pub fn write_str(out: &mut Bounded, v: &Value) -> Result<(), TooLarge> {
    match v.kind() {
        ValueKind::Undefined => Ok(()),
        ValueKind::String => out.push(v.as_str().unwrap_or_default()),
        _ => write_repr(out, v),
    }
}

/// Python's `repr(v)`: strings quoted, containers as `[...]` / `{...}`.
pub fn write_repr(out: &mut Bounded, v: &Value) -> Result<(), TooLarge> {
    match v.kind() {
        ValueKind::Undefined => Ok(()),
        ValueKind::None => out.push("None"),
        ValueKind::Bool => out.push(if v.is_true() { "True" } else { "False" }),
        ValueKind::Number => out.push(&number_text(v)),
        ValueKind::String => write_str_repr(out, v.as_str().unwrap_or_default()),
        ValueKind::Seq => {
            out.push("[")?;
            for (i, item) in v.try_iter().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push(", ")?;
                }
                write_repr(out, &item)?;
            }
            out.push("]")
        }
        ValueKind::Map => {
            out.push("{")?;
            for (i, key) in v.try_iter().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push(", ")?;
                }
                write_repr(out, &key)?;
                out.push(": ")?;
                write_repr(out, &v.get_item(&key).unwrap_or_default())?;
            }
            out.push("}")
        }
        _ => out.push(&v.to_string()),
    }
}

/// A Python string literal: single quotes unless the text has a single quote and no double one.
fn write_str_repr(out: &mut Bounded, s: &str) -> Result<(), TooLarge> {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push_char(quote)?;
    for c in s.chars() {
        match c {
            '\\' => out.push("\\\\")?,
            '\n' => out.push("\\n")?,
            '\r' => out.push("\\r")?,
            '\t' => out.push("\\t")?,
            c if c == quote => {
                out.push_char('\\')?;
                out.push_char(c)?;
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                out.push(&format!("\\x{:02x}", c as u32))?
            }
            c => out.push_char(c)?,
        }
    }
    out.push_char(quote)
}

/// `json.dumps` options as transformers' `tojson` passes them.
pub struct JsonStyle {
    pub ensure_ascii: bool,
    /// `None`: one line; `Some(unit)`: one item per line, nested levels indented by `unit`.
    pub indent: Option<String>,
    pub item_separator: String,
    pub key_separator: String,
    pub sort_keys: bool,
}

impl JsonStyle {
    /// Python's defaults for `indent`: `(", ", ": ")` on one line, `(",", ": ")` when indented.
    pub fn new(ensure_ascii: bool, indent: Option<String>, sort_keys: bool) -> JsonStyle {
        let item_separator = if indent.is_some() { "," } else { ", " }.to_string();
        JsonStyle { ensure_ascii, indent, item_separator, key_separator: ": ".to_string(), sort_keys }
    }
}

/// `json.dumps(v, ...)` into `out`.
pub fn write_json(out: &mut Bounded, v: &Value, style: &JsonStyle, depth: usize) -> Result<(), JsonDumpError> {
    match v.kind() {
        ValueKind::None => out.push("null")?,
        ValueKind::Bool => out.push(if v.is_true() { "true" } else { "false" })?,
        ValueKind::Number => out.push(&json_number(v))?,
        ValueKind::String => write_json_string(out, v.as_str().unwrap_or_default(), style.ensure_ascii)?,
        ValueKind::Seq => {
            let items: Vec<Value> = v.try_iter().into_iter().flatten().collect();
            write_container(out, style, depth, ('[', ']'), items.len(), |out, i| {
                write_json(out, &items[i], style, depth + 1)
            })?;
        }
        ValueKind::Map => {
            let mut keys: Vec<(String, Value)> = Vec::new();
            for key in v.try_iter().into_iter().flatten() {
                keys.push((json_key(&key)?, key));
            }
            if style.sort_keys {
                keys.sort_by(|a, b| a.0.cmp(&b.0));
            }
            write_container(out, style, depth, ('{', '}'), keys.len(), |out, i| {
                write_json_string(out, &keys[i].0, style.ensure_ascii)?;
                out.push(&style.key_separator)?;
                write_json(out, &v.get_item(&keys[i].1).unwrap_or_default(), style, depth + 1)
            })?;
        }
        other => return Err(JsonDumpError::NotSerializable(other)),
    }
    Ok(())
}

/// `[a, b]`, or with an indent each item on its own line one level deeper; empty is `[]`.
fn write_container(
    out: &mut Bounded,
    style: &JsonStyle,
    depth: usize,
    (open, close): (char, char),
    len: usize,
    mut item: impl FnMut(&mut Bounded, usize) -> Result<(), JsonDumpError>,
) -> Result<(), JsonDumpError> {
    out.push_char(open)?;
    if len == 0 {
        out.push_char(close)?;
        return Ok(());
    }
    for i in 0..len {
        if i > 0 {
            out.push(&style.item_separator)?;
        }
        newline_indent(out, style, depth + 1)?;
        item(out, i)?;
    }
    newline_indent(out, style, depth)?;
    out.push_char(close)?;
    Ok(())
}

fn newline_indent(out: &mut Bounded, style: &JsonStyle, depth: usize) -> Result<(), TooLarge> {
    if let Some(unit) = &style.indent {
        out.push("\n")?;
        for _ in 0..depth {
            out.push(unit)?;
        }
    }
    Ok(())
}

/// A dict key as `json.dumps` writes it: strings as they are, numbers, bools and None as text.
fn json_key(key: &Value) -> Result<String, JsonDumpError> {
    match key.kind() {
        ValueKind::String => Ok(key.as_str().unwrap_or_default().to_string()),
        ValueKind::Number => Ok(json_number(key)),
        ValueKind::Bool => Ok(if key.is_true() { "true" } else { "false" }.to_string()),
        ValueKind::None => Ok("null".to_string()),
        other => Err(JsonDumpError::NotSerializable(other)),
    }
}

/// A number as `json.dumps` writes it: floats by `repr`, except NaN / Infinity.
fn json_number(v: &Value) -> String {
    match f64::try_from(v.clone()) {
        Ok(x) if !v.is_integer() && x.is_nan() => "NaN".to_string(),
        Ok(x) if !v.is_integer() && x.is_infinite() => {
            if x > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
        }
        _ => number_text(v),
    }
}

/// A JSON string literal with Python's escapes: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other
/// control characters as `\u00XX`; with `ensure_ascii` also DEL and everything beyond ASCII
/// (UTF-16 surrogate pairs above U+FFFF).
fn write_json_string(out: &mut Bounded, s: &str, ensure_ascii: bool) -> Result<(), TooLarge> {
    out.push("\"")?;
    for c in s.chars() {
        match c {
            '"' => out.push("\\\"")?,
            '\\' => out.push("\\\\")?,
            '\n' => out.push("\\n")?,
            '\r' => out.push("\\r")?,
            '\t' => out.push("\\t")?,
            '\u{8}' => out.push("\\b")?,
            '\u{c}' => out.push("\\f")?,
            c if (c as u32) < 0x20 || (ensure_ascii && c as u32 >= 0x7f) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push(&format!("\\u{unit:04x}"))?;
                }
            }
            c => out.push_char(c)?,
        }
    }
    out.push("\"")
}
