//! Browser tests of the boundary (`cargo test --lib` with CHROMEDRIVER or GECKODRIVER set: tools/dev/test.sh).

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// 4 GiB: the first address a 32-bit memory cannot reach.
#[cfg(target_arch = "wasm64")]
const FOUR_GIB: usize = 1 << 32;

#[wasm_bindgen_test]
#[cfg(target_arch = "wasm64")]
fn memory64_writes_and_reads_above_4_gib() {
    use crate::memory::AlignedRegion;
    // A real allocation through the Rust allocator (the same call that holds tensor data), large
    // enough that its end lies past 4 GiB. Zero-filled by calloc on fresh pages: no 4 GiB memset.
    let len = FOUR_GIB + (64 << 20);
    let mut region = AlignedRegion::zeroed(len as u64).expect("memory64 grants 4 GiB + 64 MiB");
    let base = region.as_slice().as_ptr() as usize;
    assert!(base + len - 1 >= FOUR_GIB, "the region ends at {:#x}, below 4 GiB", base + len - 1);
    // Bytes on both sides of the 4 GiB address and at the very end, written then read back.
    let boundary = FOUR_GIB - base;
    let spots = [boundary - 1, boundary, boundary + 1, len - 1];
    let bytes = region.as_mut_slice();
    for (i, &at) in spots.iter().enumerate() {
        bytes[at] = 0xA0 + i as u8;
    }
    for (i, &at) in spots.iter().enumerate() {
        assert_eq!(bytes[at], 0xA0 + i as u8, "byte at address {:#x}", base + at);
    }
    assert_eq!(bytes[boundary + 2], 0, "untouched bytes past 4 GiB stay zero");
    assert_eq!(super::build_kind(), "wasm64");
}

#[wasm_bindgen_test]
fn fractional_and_negative_byte_counts_are_rejected() {
    assert!(super::byte_count("n", 1.5).is_err());
    assert!(super::byte_count("n", -1.0).is_err());
    assert!(super::byte_count("n", f64::NAN).is_err());
    assert_eq!(super::byte_count("n", 4096.0).ok(), Some(4096));
}
