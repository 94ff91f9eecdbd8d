//! One-shot parsing of arbitrary bytes, with the file length known and unknown.
//!
//! Properties: no panic; a header that parses with the length known parses identically
//! without it (the length only adds checks: reads past the end, tensors out of bounds); and
//! its tensor data lies inside the file. (A file without tensors may end inside the padding
//! before its empty data section, as llama.cpp and gguf-py allow: see `tests/gguf_hostile.rs`.)
#![no_main]

#[path = "../common/same.rs"]
mod same;

use gguf64::gguf::parse_header;
use libfuzzer_sys::fuzz_target;
use same::same_result;

fuzz_target!(|data: &[u8]| {
    let known = parse_header(data, Some(data.len() as u64));
    let unknown = parse_header(data, None);
    if let Ok(header) = &known {
        assert!(same_result(&unknown, &known), "the file length changed a valid header");
        assert!(header.tensor_info_end <= data.len() as u64);
        assert!(header.data_offset >= header.tensor_info_end);
        assert!(header.data_len == 0 || header.file_len() <= data.len() as u64);
    }
});
