//! GGUF header parsing: metadata, tensor infos and the ggml type table.
//!
//! The parser is incremental (`HeaderParser::advance` takes the bytes received so far) and
//! treats its input as hostile: every count is checked against the bytes left and against
//! `Limits` before anything is allocated, and every problem is a typed `GgufError` carrying
//! the byte offset where it was found.

mod cursor;
mod decode;
pub mod error;
pub mod header;
pub mod metadata;
mod parser;
pub mod split;
mod tensor;
pub mod types;
pub mod value;
pub mod writer;

pub use error::{GgufError, Quantity};
pub use header::{Header, HeaderParser, Limits, Step, TensorInfo, parse_header, parse_header_with};
pub use metadata::Metadata;
pub use types::{GgmlType, TypeTraits};
pub use value::{Array, StringArray, Value, ValueType};
pub use writer::{GgufWriter, HeaderLayout, TensorSpec, WriteError, layout_header};
pub use split::{ModelView, SplitError, SplitKeys, TensorLocation, split_keys, split_names};
