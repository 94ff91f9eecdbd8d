//! Incremental parsing: the input is split at fuzzer-chosen points and growing prefixes are
//! fed to one `HeaderParser`.
//!
//! Input layout: byte 0 holds flags (bit 0: announce the file length), byte 1 the number of
//! cuts (mod 16), then one little-endian u16 step per cut; the rest is the file. Each step
//! moves the prefix end forward (a step of 0 repeats the last prefix); after the cuts the
//! whole file is fed once.
//!
//! Properties: no panic; `NeedMore { total }` asks for more than it was given and never less
//! than last time; a shorter call than `total` is answered with the same `total`; `Done` on a
//! prefix agrees with the one-shot parser on that prefix (NaN values compared by their bits),
//! and so does an error.
#![no_main]

#[path = "../common/same.rs"]
mod same;

use gguf64::gguf::{HeaderParser, Limits, Step, parse_header};
use libfuzzer_sys::fuzz_target;
use same::same_result;

/// Splits the input into (announce the length?, prefix ends, file).
fn split(data: &[u8]) -> (bool, Vec<usize>, &[u8]) {
    let (Some(&flags), Some(&n_cuts)) = (data.first(), data.get(1)) else {
        return (false, Vec::new(), data);
    };
    let n_cuts = usize::from(n_cuts % 16);
    let steps_end = (2 + 2 * n_cuts).min(data.len());
    let (steps, file) = data.get(2..).unwrap_or_default().split_at(steps_end - 2);
    let mut end = 0usize;
    let mut ends = Vec::with_capacity(n_cuts + 1);
    for step in steps.chunks_exact(2) {
        end = end.saturating_add(usize::from(u16::from_le_bytes([step[0], step[1]])));
        ends.push(end.min(file.len()));
    }
    ends.push(file.len());
    (flags & 1 == 1, ends, file)
}

fuzz_target!(|data: &[u8]| {
    let (announce, ends, file) = split(data);
    let file_len = announce.then_some(file.len() as u64);
    let mut parser = HeaderParser::new(Limits::default());
    let mut last_total = 0u64;
    for end in ends {
        let prefix = &file[..end];
        match parser.advance(prefix, file_len) {
            Ok(Step::NeedMore { total }) => {
                assert!(total > end as u64, "NeedMore {{ total: {total} }} with {end} bytes");
                assert!(total >= last_total, "NeedMore total fell from {last_total} to {total}");
                if end > 0 {
                    // A call with less than asked for changes nothing.
                    let again = parser.advance(&prefix[..end - 1], file_len);
                    assert_eq!(again, Ok(Step::NeedMore { total }));
                }
                last_total = total;
            }
            Ok(Step::Done(header)) => {
                let (once, steps) = (parse_header(prefix, file_len), Ok(header));
                assert!(same_result(&once, &steps), "at prefix {end}: {once:?} != {steps:?}");
                return;
            }
            Err(e) => {
                let (once, steps) = (parse_header(prefix, file_len), Err(e));
                assert!(same_result(&once, &steps), "at prefix {end}: {once:?} != {steps:?}");
                return;
            }
        }
    }
});
