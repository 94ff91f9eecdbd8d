//! The one table of error codes. Every error gguf64 reports, from Rust or from the JS shim, carries
//! one of these as its `code`; programs branch on it. `src/js/errors.js` (`ErrorCode`) and
//! `types/index.d.ts` (`ErrorCodeName`) list the same set: `tests/error_codes.rs` proves it.

/// A stable identifier of what went wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The file is not GGUF, or its header is malformed or hostile.
    GgufInvalid,
    /// The header is still incomplete after the parser's byte limit.
    HeaderTooLarge,
    /// The body ended before the bytes the header announces.
    Truncated,
    /// The body is longer than the header announces.
    TrailingBytes,
    /// Content-Length disagrees with the header.
    LengthMismatch,
    /// Memory for the weights, the KV cache or a storage memory could not be had.
    OutOfMemory,
    /// The server answered with a status other than 2xx.
    HttpStatus,
    /// `fetch` failed, or the connection dropped and resuming failed.
    Network,
    /// Reading a local source (a File, a Blob, a file on disk) failed.
    ReadFailed,
    /// The file changed on the server (ETag / Last-Modified) while it was loading.
    SourceChanged,
    /// The model does not fit the memory limits.
    DoesNotFit,
    /// The file's SHA-256 is not the one given.
    Integrity,
    /// The files are not the parts of one split model, in order.
    SplitInvalid,
    /// The caller's AbortSignal fired.
    Aborted,
    /// The browser lacks something gguf64 needs (memory64 when asked for, Web Workers).
    UnsupportedBrowser,
    /// An architecture, tensor type or shape gguf64 does not run.
    ModelUnsupported,
    /// The tokenizer metadata is missing or malformed.
    TokenizerInvalid,
    /// The model has no chat template gguf64 renders, or the conversation breaks its rules.
    ChatTemplate,
    /// The prompt does not fit the context length.
    ContextFull,
    /// A layer could not be copied in from its storage memory.
    PageFailed,
    /// The model was unloaded: none of its methods can run any more.
    Unloaded,
    /// An argument a caller passed is out of range or of the wrong kind.
    InvalidArgument,
    /// A bug in gguf64: please report it.
    Internal,
}

impl ErrorCode {
    /// Every code, in the order of the table above.
    pub const ALL: [ErrorCode; 23] = [
        ErrorCode::GgufInvalid,
        ErrorCode::HeaderTooLarge,
        ErrorCode::Truncated,
        ErrorCode::TrailingBytes,
        ErrorCode::LengthMismatch,
        ErrorCode::OutOfMemory,
        ErrorCode::HttpStatus,
        ErrorCode::Network,
        ErrorCode::ReadFailed,
        ErrorCode::SourceChanged,
        ErrorCode::DoesNotFit,
        ErrorCode::Integrity,
        ErrorCode::SplitInvalid,
        ErrorCode::Aborted,
        ErrorCode::UnsupportedBrowser,
        ErrorCode::ModelUnsupported,
        ErrorCode::TokenizerInvalid,
        ErrorCode::ChatTemplate,
        ErrorCode::ContextFull,
        ErrorCode::PageFailed,
        ErrorCode::Unloaded,
        ErrorCode::InvalidArgument,
        ErrorCode::Internal,
    ];

    /// The code as programs see it: `"GGUF_INVALID"`, `"NETWORK"`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::GgufInvalid => "GGUF_INVALID",
            ErrorCode::HeaderTooLarge => "HEADER_TOO_LARGE",
            ErrorCode::Truncated => "TRUNCATED",
            ErrorCode::TrailingBytes => "TRAILING_BYTES",
            ErrorCode::LengthMismatch => "LENGTH_MISMATCH",
            ErrorCode::OutOfMemory => "OUT_OF_MEMORY",
            ErrorCode::HttpStatus => "HTTP_STATUS",
            ErrorCode::Network => "NETWORK",
            ErrorCode::ReadFailed => "READ_FAILED",
            ErrorCode::SourceChanged => "SOURCE_CHANGED",
            ErrorCode::DoesNotFit => "DOES_NOT_FIT",
            ErrorCode::Integrity => "INTEGRITY",
            ErrorCode::SplitInvalid => "SPLIT_INVALID",
            ErrorCode::Aborted => "ABORTED",
            ErrorCode::UnsupportedBrowser => "UNSUPPORTED_BROWSER",
            ErrorCode::ModelUnsupported => "MODEL_UNSUPPORTED",
            ErrorCode::TokenizerInvalid => "TOKENIZER_INVALID",
            ErrorCode::ChatTemplate => "CHAT_TEMPLATE",
            ErrorCode::ContextFull => "CONTEXT_FULL",
            ErrorCode::PageFailed => "PAGE_FAILED",
            ErrorCode::Unloaded => "UNLOADED",
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn names_are_distinct_and_upper_snake_case() {
        for code in ErrorCode::ALL {
            assert!(code.as_str().bytes().all(|b| b.is_ascii_uppercase() || b == b'_'), "{code}");
        }
        let mut names: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
    }
}
