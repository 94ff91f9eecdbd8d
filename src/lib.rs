pub fn hello() -> u32 { 1 }
#[cfg(test)] mod t { #[test] fn a() { assert_eq!(super::hello(), 1); } }
