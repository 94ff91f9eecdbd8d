//! gguf64's sinf/cosf (src/model/libm.rs) against the host's glibc, bit for bit. Natively on
//! x86_64-linux-gnu, Rust's `f32::sin`/`f32::cos` are glibc's `sinf`/`cosf`; glibc picks its FMA
//! build on CPUs with FMA and AVX2 and its SSE2 build otherwise, or when told to with
//! `GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA`, and the test compares the matching variant.
//!
//! Always on: every f32 in [-4, 4] at a stride, and a stride over all 2^32 encodings.
//! `--ignored`: every f32 (all 2^32 encodings, so every RoPE angle of every position).
#![cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]

use std::thread;

use gguf64::model::libm::{Rounding, cosf_with, sinf_with};

/// The build the host's glibc runs.
fn host_rounding() -> Rounding {
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    let disabled = tunables.contains("-FMA") || tunables.contains("-AVX2");
    if is_x86_feature_detected!("fma") && is_x86_feature_detected!("avx2") && !disabled {
        Rounding::Fused
    } else {
        Rounding::Separate
    }
}

/// Equal bits, or both NaN.
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// The first encoding in `first..=last` (every `step`-th) where ours and glibc's differ, split
/// over the machine's threads; counts how many were compared.
fn sweep(first: u32, last: u32, step: u32) -> (u64, Option<(f32, &'static str, f32, f32)>) {
    let k = host_rounding();
    let threads = thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let total = (u64::from(last) - u64::from(first)) / u64::from(step) + 1;
    let chunk = total.div_ceil(threads);
    let results: Vec<_> = (0..threads)
        .map(|t| {
            thread::spawn(move || {
                let (lo, hi) = (t * chunk, ((t + 1) * chunk).min(total));
                for i in lo..hi {
                    let x = f32::from_bits((u64::from(first) + i * u64::from(step)) as u32);
                    let (s, c) = (sinf_with(x, k), cosf_with(x, k));
                    if !same(s, x.sin()) {
                        return Some((x, "sin", s, x.sin()));
                    }
                    if !same(c, x.cos()) {
                        return Some((x, "cos", c, x.cos()));
                    }
                }
                None
            })
        })
        .collect();
    let mismatch = results.into_iter().filter_map(|h| h.join().expect("sweep thread")).next();
    (total, mismatch)
}

fn assert_sweep(first: u32, last: u32, step: u32) {
    let start = std::time::Instant::now();
    let (n, mismatch) = sweep(first, last, step);
    eprintln!("{n} values ({:?} build) in {:.1} s", host_rounding(), start.elapsed().as_secs_f64());
    if let Some((x, f, ours, glibc)) = mismatch {
        panic!("{f}({x:e} = {:#010x}): ours {ours:e} ({:#010x}), glibc {glibc:e} ({:#010x})", x.to_bits(), ours.to_bits(), glibc.to_bits());
    }
}

#[test]
fn small_angles_strided() {
    // [0, 4] and [-4, 0]: every path below 120 but the tiny one is taken many times.
    assert_sweep(0, 4f32.to_bits(), 97);
    assert_sweep(0x8000_0000, (-4f32).to_bits(), 97);
}

#[test]
fn every_encoding_strided() {
    assert_sweep(0, u32::MAX, 1021);
}

#[test]
#[ignore = "every f32: about a minute in release on two cores"]
fn every_encoding() {
    assert_sweep(0, u32::MAX, 1);
}
