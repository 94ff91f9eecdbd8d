//! Token attribute bits (llama.cpp's `llama_token_attr`).

pub const UNDEFINED: u32 = 0;
pub const UNKNOWN: u32 = 1 << 0;
pub const UNUSED: u32 = 1 << 1;
pub const NORMAL: u32 = 1 << 2;
pub const CONTROL: u32 = 1 << 3;
pub const USER_DEFINED: u32 = 1 << 4;
pub const BYTE: u32 = 1 << 5;
pub const NORMALIZED: u32 = 1 << 6;
pub const LSTRIP: u32 = 1 << 7;
pub const RSTRIP: u32 = 1 << 8;
pub const SINGLE_WORD: u32 = 1 << 9;
