//! Why a chat template could not be rendered: its own fault (a syntax error, an operation that
//! fails on this conversation, an explicit `raise_exception`) or one of the limits that keep an
//! untrusted template from hanging or exhausting memory.

use std::fmt;

/// A chat template that does not parse, fails on a conversation, or exceeds a limit.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatTemplateError {
    /// The template text is not valid Jinja (`line` is 1-based, 0 when unknown).
    Syntax { line: usize, detail: String },
    /// The template called `raise_exception(message)`: it rejects the conversation (wrong role
    /// order, a role it does not support, …).
    Raised { message: String },
    /// Rendering failed at `line` (an undefined value used, an operation on the wrong kind of
    /// value, an unknown filter or method, a range too long, …); `detail` is the engine's text.
    Render { line: usize, detail: String },
    /// The template used up its step and allocation budget (an endless or huge loop, a huge
    /// string or list built).
    OutOfFuel { fuel: u64 },
    /// Macros or blocks nested deeper than the recursion limit.
    TooDeep { limit: usize },
    /// The rendered text (or one `tojson`/printed value) grew past `limit` bytes.
    OutputTooLarge { limit: usize },
    /// A value given to the template (a message, the tools) is not usable, e.g. a number that
    /// is not finite in a message's JSON.
    BadInput { detail: String },
}

impl fmt::Display for ChatTemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ChatTemplateError::*;
        match self {
            Syntax { line, detail } => write!(f, "syntax error on line {line}: {detail}"),
            Raised { message } => write!(f, "the template rejects the conversation: {message}"),
            Render { line, detail } => write!(f, "rendering failed on line {line}: {detail}"),
            OutOfFuel { fuel } => write!(f, "the template exceeded its budget of {fuel} steps"),
            TooDeep { limit } => write!(f, "the template nests deeper than {limit} levels"),
            OutputTooLarge { limit } => write!(f, "the rendered text exceeds {limit} bytes"),
            BadInput { detail } => write!(f, "unusable template input: {detail}"),
        }
    }
}

impl std::error::Error for ChatTemplateError {}
