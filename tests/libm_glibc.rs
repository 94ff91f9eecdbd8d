//! gguf64's libm (src/model/libm) against the host's glibc, bit for bit. Natively on
//! x86_64-linux-gnu, Rust's `f32::sin`/`cos`/`tanh`/`powf`/`ln` are glibc's `sinf`/`cosf`/`tanhf`/`powf`/`logf`;
//! glibc picks its FMA build of sinf, cosf, powf and logf on CPUs with FMA and AVX2 and its SSE2 build
//! otherwise, or when told to with `GLIBC_TUNABLES=glibc.cpu.hwcaps=-AVX2,-FMA`; the test
//! compares the matching variant of ours.
//!
//! Always on: strided sweeps (every 97th f32 of [-4, 4], every 1021st encoding) and RoPE's
//! frequency steps for common bases. `--ignored`: every f32 encoding (all 2^32, so every RoPE
//! angle of every position) for sinf, cosf, tanhf and logf; powf over a wide grid of (base, n_dims)
//! and 50 million random pairs.
#![cfg(all(target_arch = "x86_64", target_os = "linux", target_env = "gnu"))]

use std::thread;

use gguf64::model::libm::{Rounding, cosf_with, logf_with, powf_with, sinf_with, tanhf};

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

/// A function of one f32: ours with the host's rounding, and glibc's.
type Pair = (fn(f32, Rounding) -> f32, fn(f32) -> f32, &'static str);

const SIN: Pair = (sinf_with, f32::sin, "sinf");
const COS: Pair = (cosf_with, f32::cos, "cosf");
const TANH: Pair = (|x, _| tanhf(x), f32::tanh, "tanhf");
const LN: Pair = (logf_with, f32::ln, "logf");

/// The first encoding in `first..=last` (every `step`-th) where ours and glibc's differ, split
/// over the machine's threads; and how many were compared.
fn sweep(pair: Pair, first: u32, last: u32, step: u32) -> (u64, Option<(f32, f32, f32)>) {
    let k = host_rounding();
    let threads = thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let total = (u64::from(last) - u64::from(first)) / u64::from(step) + 1;
    let chunk = total.div_ceil(threads);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            thread::spawn(move || {
                let (lo, hi) = (t * chunk, ((t + 1) * chunk).min(total));
                (lo..hi).find_map(|i| {
                    let x = f32::from_bits((u64::from(first) + i * u64::from(step)) as u32);
                    let (ours, glibc) = (pair.0(x, k), pair.1(x));
                    (!same(ours, glibc)).then_some((x, ours, glibc))
                })
            })
        })
        .collect();
    let mismatch = handles.into_iter().filter_map(|h| h.join().expect("sweep thread")).next();
    (total, mismatch)
}

fn assert_sweep(pair: Pair, first: u32, last: u32, step: u32) {
    let start = std::time::Instant::now();
    let (n, mismatch) = sweep(pair, first, last, step);
    eprintln!("{}: {n} values ({:?} build) in {:.1} s", pair.2, host_rounding(), start.elapsed().as_secs_f64());
    if let Some((x, ours, glibc)) = mismatch {
        panic!("{}({x:e} = {:#010x}): ours {ours:e} ({:#010x}), glibc {glibc:e} ({:#010x})", pair.2, x.to_bits(), ours.to_bits(), glibc.to_bits());
    }
}

#[test]
fn small_arguments_strided() {
    for pair in [SIN, COS, TANH, LN] {
        assert_sweep(pair, 0, 4f32.to_bits(), 97);
        assert_sweep(pair, 0x8000_0000, (-4f32).to_bits(), 97);
    }
}

#[test]
fn every_encoding_strided() {
    for pair in [SIN, COS, TANH, LN] {
        assert_sweep(pair, 0, u32::MAX, 1021);
    }
}

#[test]
#[ignore = "every f32 for sinf, cosf, tanhf and logf: a few minutes in release"]
fn every_encoding() {
    for pair in [SIN, COS, TANH, LN] {
        assert_sweep(pair, 0, u32::MAX, 1);
    }
}

/// The first (base, n_dims) whose step `base^(-2/n_dims)` differs from glibc's.
fn rope_steps(bases: impl Iterator<Item = f32>, dims: &[usize]) -> Option<(f32, usize, f32, f32)> {
    let k = host_rounding();
    bases.flat_map(|b| dims.iter().map(move |&d| (b, d))).find_map(|(b, d)| {
        let e = -2.0 / d as f32;
        let (ours, glibc) = (powf_with(b, e, k), b.powf(e));
        (!same(ours, glibc)).then_some((b, d, ours, glibc))
    })
}

#[test]
fn rope_steps_of_common_bases() {
    let dims: Vec<usize> = (1..=256).map(|k| 2 * k).collect();
    let bases = [1e4, 1e5, 5e5, 1e6, 2e6, 5e6, 8e6, 1e7, 1e8, 75_000.0, 40_000.0, 160_000.0, 150_000.0, 250_000.0];
    assert_eq!(rope_steps(bases.into_iter(), &dims), None);
    assert_eq!(rope_steps((1..=20_000).map(|b| b as f32), &[32, 64, 80, 96, 128, 256]), None);
}

#[test]
#[ignore = "powf over a wide grid and 50 million random pairs: about a minute in release"]
fn powf_wide() {
    let dims: Vec<usize> = (1..=512).map(|k| 2 * k).collect();
    assert_eq!(rope_steps((1..=200_000).map(|b| b as f32), &dims), None);
    assert_eq!(rope_steps((1..=100_000).map(|k| (k * 1000) as f32), &dims), None);
    let k = host_rounding();
    let mut state = 0x9e37_79b9_7f4a_7c15u64; // xorshift64*
    for _ in 0..50_000_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let bits = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let (x, y) = (f32::from_bits(bits as u32), f32::from_bits((bits >> 32) as u32));
        // Half the exponents drawn near 1, where results neither overflow nor underflow.
        let y = if bits & 1 == 0 { y } else { f32::from_bits(((bits >> 32) as u32 & 0x807f_ffff) | 0x3c00_0000) };
        let (ours, glibc) = (powf_with(x, y, k), x.powf(y));
        assert!(same(ours, glibc), "powf({x:e}, {y:e}): ours {ours:e}, glibc {glibc:e}");
    }
}

/// Every f32 where glibc's two builds differ (found by comparing ours over all 2^32): 12 sines
/// and 22 cosines, all below 120 (±x alike). The strided sweeps cannot tell the builds apart;
/// these can, and the host's build must match its variant of ours here too.
const SIN_SPLITS: [f32; 6] = [53.42252, 81.67974, 81.68216, 84.72534, 103.672516, 116.23893];
const COS_SPLITS: [f32; 11] = [17.278738, 17.27874, 17.278742, 17.278744, 23.558031, 32.72978, 58.119465, 64.40265, 67.52783, 98.686844, 108.41063];

#[test]
fn where_the_builds_differ() {
    let k = host_rounding();
    for (pair, xs) in [(SIN, &SIN_SPLITS[..]), (COS, &COS_SPLITS[..])] {
        // black_box: LLVM would fold glibc's sinf of a constant with its own, correctly rounded, sine.
        for x in xs.iter().flat_map(|&x| [x, -x]).map(std::hint::black_box) {
            assert_ne!(pair.0(x, Rounding::Fused).to_bits(), pair.0(x, Rounding::Separate).to_bits(), "{}({x})", pair.2);
            assert!(same(pair.0(x, k), pair.1(x)), "{}({x:e}): ours {:e}, glibc {:e}", pair.2, pair.0(x, k), pair.1(x));
        }
    }
}
