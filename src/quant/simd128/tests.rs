//! SIMD128 kernels against their scalar twins, in the browser (`cargo test --lib` with
//! CHROMEDRIVER set, as tools/dev/test.sh runs it), on the random-block fixtures of
//! `tests/golden/quant/` (the same bytes Python dequantized) and on odd block counts.

use wasm_bindgen_test::*;

use crate::quant::activation::{quantize_q8_0, quantize_q8_1, quantize_q8_k};
use crate::quant::blocks::*;
use crate::quant::{scalar, simd128};

wasm_bindgen_test_configure!(run_in_browser);

/// Block counts for the dot products: one block, a few, and counts that leave every lane and
/// unrolling remainder.
const BLOCK_COUNTS: [usize; 5] = [1, 3, 8, 17, 24];

/// Every quantized dot product sums exact integers and then evaluates the scalar reference's
/// float expressions in its order (per block, per sub-block for IQ4_XS, in eight lanes for
/// Q3_K..Q6_K), and the plain ones are the scalar kernels: equal bit for bit.
const QUANT_DOT_TOLERANCE: f64 = 0.0;

macro_rules! fixture {
    ($ty:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/quant/", $ty, ".blocks"))
    };
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.as_chunks::<4>().0.iter().map(|b| f32::from_le_bytes(*b)).collect()
}

/// Deterministic activations in [-2, 2) with a few larger spikes, as residual streams have.
fn activations(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let v = (s >> 40) as f32 / (1u64 << 24) as f32 * 4.0 - 2.0;
            if i % 97 == 5 { v * 8.0 } else { v }
        })
        .collect()
}

/// Dequantization has no tolerance: SIMD and scalar do the same float operations per value.
fn same_bits(what: &str, a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.to_bits(), y.to_bits(), "{what}: value {i}: {x} vs {y}");
    }
}

macro_rules! dequant_case {
    ($name:ident, $file:literal, $block:ty, $f:ident) => {
        #[wasm_bindgen_test]
        fn $name() {
            let w = cast_blocks::<$block>(fixture!($file)).unwrap();
            let want = f32s(include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/quant/", $file, ".f32")));
            let per = <$block as WeightBlock>::ELEMENTS;
            for n in [1, 3, 17, w.len()] {
                let (mut s, mut v) = (vec![0.0; n * per], vec![1.0; n * per]);
                scalar::$f(&w[..n], &mut s);
                simd128::$f(&w[..n], &mut v);
                same_bits(concat!($file, " simd vs scalar"), &v, &s);
                same_bits(concat!($file, " simd vs Python"), &v, &want[..n * per]);
            }
        }
    };
}

dequant_case!(dequant_f16, "F16", BlockF16, dequantize_f16);
dequant_case!(dequant_bf16, "BF16", BlockBF16, dequantize_bf16);
dequant_case!(dequant_q4_0, "Q4_0", BlockQ4_0, dequantize_q4_0);
dequant_case!(dequant_q4_1, "Q4_1", BlockQ4_1, dequantize_q4_1);
dequant_case!(dequant_q5_0, "Q5_0", BlockQ5_0, dequantize_q5_0);
dequant_case!(dequant_q5_1, "Q5_1", BlockQ5_1, dequantize_q5_1);
dequant_case!(dequant_q8_0, "Q8_0", BlockQ8_0, dequantize_q8_0);
dequant_case!(dequant_q4_k, "Q4_K", BlockQ4K, dequantize_q4_k);
dequant_case!(dequant_q5_k, "Q5_K", BlockQ5K, dequantize_q5_k);
dequant_case!(dequant_q6_k, "Q6_K", BlockQ6K, dequantize_q6_k);
dequant_case!(dequant_iq4_nl, "IQ4_NL", BlockIQ4NL, dequantize_iq4_nl);
dequant_case!(dequant_iq4_xs, "IQ4_XS", BlockIQ4XS, dequantize_iq4_xs);

#[wasm_bindgen_test]
fn every_f16_bit_pattern_converts_like_half() {
    let bits: Vec<u8> = (0..=u16::MAX).flat_map(|h| h.to_le_bytes()).collect();
    let w = cast_blocks::<BlockF16>(&bits).unwrap();
    let (mut s, mut v) = (vec![0.0; w.len()], vec![0.0; w.len()]);
    scalar::dequantize_f16(w, &mut s);
    simd128::dequantize_f16(w, &mut v);
    for (h, (a, b)) in s.iter().zip(&v).enumerate() {
        assert_eq!(a.to_bits(), b.to_bits(), "f16 {h:#06x}");
    }
}

fn check_dot(what: &str, n: usize, simd: f32, scalar: f32, tolerance: f64) {
    let diff = (simd as f64 - scalar as f64).abs();
    assert!(
        diff <= tolerance,
        "{what} over {n} blocks: simd {simd} vs scalar {scalar} (diff {diff:e} > {tolerance:e})"
    );
}

macro_rules! dot_case_32 {
    ($name:ident, $file:literal, $block:ty, $quantize:ident, $dot:ident) => {
        #[wasm_bindgen_test]
        fn $name() {
            let w = cast_blocks::<$block>(fixture!($file)).unwrap();
            for (seed, n) in BLOCK_COUNTS.into_iter().enumerate() {
                let x = activations(n * QK, seed as u64);
                let q = $quantize(&x).unwrap();
                let (s, v) = (scalar::$dot(&w[..n], &q), simd128::$dot(&w[..n], &q));
                check_dot($file, n, v, s, QUANT_DOT_TOLERANCE);
            }
        }
    };
}

dot_case_32!(dot_q4_0, "Q4_0", BlockQ4_0, quantize_q8_0, vec_dot_q4_0_q8_0);
dot_case_32!(dot_q4_1, "Q4_1", BlockQ4_1, quantize_q8_1, vec_dot_q4_1_q8_1);
dot_case_32!(dot_q5_0, "Q5_0", BlockQ5_0, quantize_q8_0, vec_dot_q5_0_q8_0);
dot_case_32!(dot_q5_1, "Q5_1", BlockQ5_1, quantize_q8_1, vec_dot_q5_1_q8_1);
dot_case_32!(dot_q8_0, "Q8_0", BlockQ8_0, quantize_q8_0, vec_dot_q8_0_q8_0);
dot_case_32!(dot_iq4_nl, "IQ4_NL", BlockIQ4NL, quantize_q8_0, vec_dot_iq4_nl_q8_0);

macro_rules! dot_case_k {
    ($name:ident, $file:literal, $block:ty, $dot:ident) => {
        #[wasm_bindgen_test]
        fn $name() {
            let w = cast_blocks::<$block>(fixture!($file)).unwrap();
            for (seed, n) in BLOCK_COUNTS.into_iter().enumerate() {
                let q = quantize_q8_k(&activations(n * QK_K, seed as u64)).unwrap();
                let (s, v) = (scalar::$dot(&w[..n], &q), simd128::$dot(&w[..n], &q));
                check_dot($file, n, v, s, QUANT_DOT_TOLERANCE);
            }
        }
    };
}

dot_case_k!(dot_q2_k, "Q2_K", BlockQ2K, vec_dot_q2_k_q8_k);
dot_case_k!(dot_q3_k, "Q3_K", BlockQ3K, vec_dot_q3_k_q8_k);
dot_case_k!(dot_q4_k, "Q4_K", BlockQ4K, vec_dot_q4_k_q8_k);
dot_case_k!(dot_q5_k, "Q5_K", BlockQ5K, vec_dot_q5_k_q8_k);
dot_case_k!(dot_q6_k, "Q6_K", BlockQ6K, vec_dot_q6_k_q8_k);
dot_case_k!(dot_iq4_xs, "IQ4_XS", BlockIQ4XS, vec_dot_iq4_xs_q8_k);

/// Lane order puts elements k, k + 8, k + 16, k + 24 (float lane k) in bytes 4 k .. 4 k + 4 of
/// the first vector for k < 4, of the second for lane 4 + k; the Q8_K copy keeps `d` and `bsums`.
#[wasm_bindgen_test]
fn lane_order_groups_each_lanes_elements() {
    let elements: [u8; 32] = core::array::from_fn(|i| i as u8);
    let e = elements.as_chunks::<16>().0;
    let v = simd128::in_lane_order(simd128::load(&e[0]), simd128::load(&e[1]));
    let mut got = [[0u8; 16]; 2];
    simd128::store(&mut got[0], v[0]);
    simd128::store(&mut got[1], v[1]);
    for (p, &element) in got.as_flattened().iter().enumerate() {
        let (lane, m) = (p / 4, p % 4);
        assert_eq!(element as usize, lane + 8 * m, "byte {p}");
    }
    let q = quantize_q8_k(&activations(2 * QK_K, 5)).unwrap();
    let ordered = simd128::q8_k_in_lane_order(&q);
    for (b, o) in q.iter().zip(&ordered) {
        assert_eq!((b.d.to_bits(), b.bsums), (o.d.to_bits(), o.bsums));
        for (sub, (x, y)) in b.qs.as_chunks::<32>().0.iter().zip(o.qs.as_chunks::<32>().0).enumerate() {
            for (p, &v) in y.iter().enumerate() {
                assert_eq!(v, x[p / 4 + 8 * (p % 4)], "sub-block {sub}, byte {p}");
            }
        }
    }
}

macro_rules! dot_case_plain {
    ($name:ident, $file:literal, $block:ty, $dot:ident, $encode:expr) => {
        #[wasm_bindgen_test]
        fn $name() {
            // Well-scaled weights (the random-bit fixtures overflow f32 products).
            let bytes: Vec<u8> = activations(1000, 99).into_iter().flat_map($encode).collect();
            let w = cast_blocks::<$block>(&bytes).unwrap();
            // Element counts that are not multiples of the 8-wide loop, to cover the tail.
            for (seed, n) in [1usize, 7, 8, 33, 255, 1000].into_iter().enumerate() {
                let x = activations(n, seed as u64);
                let (s, v) = (scalar::$dot(&w[..n], &x), simd128::$dot(&w[..n], &x));
                check_dot($file, n, v, s, QUANT_DOT_TOLERANCE);
            }
        }
    };
}

dot_case_plain!(dot_f32, "F32", BlockF32, vec_dot_f32, |v: f32| v.to_le_bytes().to_vec());
dot_case_plain!(dot_f16, "F16", BlockF16, vec_dot_f16, |v: f32| f16_bytes(v).to_vec());
dot_case_plain!(dot_bf16, "BF16", BlockBF16, vec_dot_bf16, |v: f32| {
    ((v.to_bits() >> 16) as u16).to_le_bytes().to_vec()
});

/// The one dispatch point binds every type to its SIMD128 kernel (compared bit for bit with a
/// direct call), and `matvec` goes through it.
#[wasm_bindgen_test]
fn dispatch_uses_the_simd_kernels() {
    use crate::gguf::GgmlType as T;
    use crate::quant::{KERNELS, QuantizedActivation, WeightMatrix, matvec, vec_dot};
    assert_eq!(KERNELS, "simd128");
    macro_rules! same {
        ($ty:expr, $file:literal, $block:ty, $dot:ident) => {{
            let bytes = fixture!($file);
            let per = <$block as WeightBlock>::ELEMENTS;
            let row = &bytes[..bytes.len() / 2 / size_of::<$block>() * size_of::<$block>()];
            let n = row.len() / size_of::<$block>() * per;
            let x = QuantizedActivation::for_weights($ty, &activations(n, 3)).unwrap();
            let direct = simd128::$dot(cast_blocks::<$block>(row).unwrap(), crate::quant::ActBlock::view(&x).unwrap());
            assert_eq!(vec_dot($ty, row, &x).unwrap().to_bits(), direct.to_bits(), $file);
            let w = WeightMatrix::new($ty, n, row).unwrap();
            let mut y = [0.0];
            matvec(&w, 0..1, &x, &mut y).unwrap();
            assert_eq!(y[0].to_bits(), direct.to_bits(), $file);
        }};
    }
    same!(T::Q4_0, "Q4_0", BlockQ4_0, vec_dot_q4_0_q8_0);
    same!(T::Q4_1, "Q4_1", BlockQ4_1, vec_dot_q4_1_q8_1);
    same!(T::Q5_0, "Q5_0", BlockQ5_0, vec_dot_q5_0_q8_0);
    same!(T::Q5_1, "Q5_1", BlockQ5_1, vec_dot_q5_1_q8_1);
    same!(T::Q8_0, "Q8_0", BlockQ8_0, vec_dot_q8_0_q8_0);
    same!(T::Q2_K, "Q2_K", BlockQ2K, vec_dot_q2_k_q8_k);
    same!(T::Q3_K, "Q3_K", BlockQ3K, vec_dot_q3_k_q8_k);
    same!(T::Q4_K, "Q4_K", BlockQ4K, vec_dot_q4_k_q8_k);
    same!(T::Q5_K, "Q5_K", BlockQ5K, vec_dot_q5_k_q8_k);
    same!(T::Q6_K, "Q6_K", BlockQ6K, vec_dot_q6_k_q8_k);
    same!(T::IQ4_NL, "IQ4_NL", BlockIQ4NL, vec_dot_iq4_nl_q8_0);
    same!(T::IQ4_XS, "IQ4_XS", BlockIQ4XS, vec_dot_iq4_xs_q8_k);
    same!(T::F32, "F32", BlockF32, vec_dot_f32);
}

/// The tiled `matmul` (rows × activations per kernel call) equals one single-activation dot
/// product per row and activation, bit for bit, for every type with a tiled kernel, for every
/// tile height and with row and activation counts that leave every tile remainder.
#[wasm_bindgen_test]
fn tiled_matmul_equals_single_dots() {
    use crate::gguf::GgmlType as T;
    use crate::quant::matvec::matmul_tiled;
    use crate::quant::{QuantizedActivation, WeightMatrix, matmul, vec_dot};
    let cases = [
        (T::Q4_0, "Q4_0"),
        (T::Q4_1, "Q4_1"),
        (T::Q5_0, "Q5_0"),
        (T::Q5_1, "Q5_1"),
        (T::Q8_0, "Q8_0"),
        (T::Q4_K, "Q4_K"),
        (T::Q5_K, "Q5_K"),
        (T::Q6_K, "Q6_K"),
        (T::IQ4_NL, "IQ4_NL"),
        (T::IQ4_XS, "IQ4_XS"),
    ];
    for (ty, file) in cases {
        let bytes: &[u8] = match file {
            "Q4_0" => fixture!("Q4_0"),
            "Q4_1" => fixture!("Q4_1"),
            "Q5_0" => fixture!("Q5_0"),
            "Q5_1" => fixture!("Q5_1"),
            "Q8_0" => fixture!("Q8_0"),
            "Q4_K" => fixture!("Q4_K"),
            "Q5_K" => fixture!("Q5_K"),
            "IQ4_NL" => fixture!("IQ4_NL"),
            "IQ4_XS" => fixture!("IQ4_XS"),
            _ => fixture!("Q6_K"),
        };
        let block = ty.type_size() as usize;
        let per_row = 2;
        let rows = (bytes.len() / block / per_row).min(7);
        let cols = per_row * ty.block_size() as usize;
        let w = WeightMatrix::new(ty, cols, &bytes[..rows * per_row * block]).unwrap();
        for t in [1usize, 2, 4, 5, 9] {
            let xs: Vec<_> = (0..t)
                .map(|k| QuantizedActivation::for_weights(ty, &activations(cols, 10 + k as u64)).unwrap())
                .collect();
            for tile_rows in [0, 1, 2, 4] {
                let mut y = vec![0.0; t * rows];
                match tile_rows {
                    0 => matmul(&w, 0..rows, &xs, &mut y).unwrap(),
                    r => matmul_tiled(&w, 0..rows, &xs, &mut y, r).unwrap(),
                }
                for (k, x) in xs.iter().enumerate() {
                    for r in 0..rows {
                        let single = vec_dot(ty, &w.row(r).unwrap(), x).unwrap();
                        let what = format!("{file}: T {t}, tile rows {tile_rows}, activation {k}, row {r}");
                        assert_eq!(y[k * rows + r].to_bits(), single.to_bits(), "{what}");
                    }
                }
            }
        }
    }
}

/// Q8_0 weights that take every byte value, -128 included, against activations at ±127 and
/// random ones: every tile shape gives the scalar dot product bit for bit (the relaxed build
/// splits the activations into their positive and negative parts for this).
#[wasm_bindgen_test]
fn q8_0_tiles_are_exact_over_every_weight_byte() {
    use crate::gguf::GgmlType as T;
    use crate::quant::matvec::matmul_tiled;
    use crate::quant::{QuantizedActivation, WeightMatrix};
    const PER_ROW: usize = 8; // 8 blocks of 32: the 256 byte values once per row
    let rows = 5;
    let mut bytes = Vec::new();
    for r in 0..rows {
        for b in 0..PER_ROW {
            bytes.extend(half::f16::from_f32(0.25 + (r * PER_ROW + b) as f32 / 16.0).to_le_bytes());
            bytes.extend((0..32).map(|i| ((b * 32 + i) * (2 * r + 1) + 7 * r) as u8));
        }
    }
    let cols = PER_ROW * 32;
    let w = WeightMatrix::new(T::Q8_0, cols, &bytes).unwrap();
    let extremes: Vec<f32> = (0..cols).map(|i| if i % 3 == 0 { -1.0 } else { 1.0 }).collect();
    let inputs = [extremes, activations(cols, 77), activations(cols, 78), activations(cols, 79)];
    let xs: Vec<_> = inputs.iter().map(|x| QuantizedActivation::for_weights(T::Q8_0, x).unwrap()).collect();
    let blocks = cast_blocks::<BlockQ8_0>(&bytes).unwrap();
    for t in [1usize, 4] {
        for tile_rows in [1, 2, 4] {
            let mut y = vec![0.0; t * rows];
            matmul_tiled(&w, 0..rows, &xs[..t], &mut y, tile_rows).unwrap();
            for (k, x) in inputs[..t].iter().enumerate() {
                let q = quantize_q8_0(x).unwrap();
                assert!(q.iter().all(|b| b.qs.contains(&127) || b.qs.contains(&-127)));
                for r in 0..rows {
                    let single = scalar::vec_dot_q8_0_q8_0(&blocks[r * PER_ROW..(r + 1) * PER_ROW], &q);
                    let what = format!("T {t}, tile rows {tile_rows}, activation {k}, row {r}");
                    assert_eq!(y[k * rows + r].to_bits(), single.to_bits(), "{what}");
                }
            }
        }
    }
}

/// Block scales of every kind through the four-row decoding tiles, which widen four rows' f16
/// scales at once by a fast path for finite halves (zeros of both signs and subnormals
/// included) and the general one where a row holds an infinity or a NaN: Q4_1 (d and m in one
/// lane per row) and Q4_0 (d alone) equal the scalar dot products bit for bit.
#[wasm_bindgen_test]
fn four_row_tiles_widen_every_kind_of_scale() {
    use crate::gguf::GgmlType as T;
    use crate::quant::matvec::matmul_tiled;
    use crate::quant::{QuantizedActivation, WeightMatrix};
    // Per (row, block): finite scales in blocks 0..4 (normal, subnormal, zeros), a special one
    // in a single row of blocks 4 and 5.
    const SCALES: [u16; 8] = [0x3C00, 0x0001, 0x83FF, 0x8000, 0x0000, 0x2E66, 0xB400, 0x0200];
    let scale = |r: usize, b: usize, which: usize| match (b, r) {
        (4, 2) => [0x7C00u16, 0xFC00][which],
        (5, 1) => [0x3C00u16, 0x7E01][which],
        _ => SCALES[(r * 3 + b * 5 + which) % 8],
    };
    let (rows, per_row) = (4usize, 6usize);
    let cols = per_row * 32;
    let x = activations(cols, 91);
    for ty in [T::Q4_1, T::Q4_0] {
        let mut bytes = Vec::new();
        for r in 0..rows {
            for b in 0..per_row {
                bytes.extend(scale(r, b, 0).to_le_bytes());
                if ty == T::Q4_1 {
                    bytes.extend(scale(r, b, 1).to_le_bytes());
                }
                bytes.extend((0..16).map(|i| (i * 37 + r * 11 + b * 5) as u8));
            }
        }
        let w = WeightMatrix::new(ty, cols, &bytes).unwrap();
        let xq = QuantizedActivation::for_weights(ty, &x).unwrap();
        let mut y = vec![0.0; rows];
        matmul_tiled(&w, 0..rows, std::slice::from_ref(&xq), &mut y, 4).unwrap();
        for (r, got) in y.iter().enumerate() {
            let row = w.row(r).unwrap();
            let want = match ty {
                T::Q4_1 => scalar::vec_dot_q4_1_q8_1(cast_blocks(&row).unwrap(), &quantize_q8_1(&x).unwrap()),
                _ => scalar::vec_dot_q4_0_q8_0(cast_blocks(&row).unwrap(), &quantize_q8_0(&x).unwrap()),
            };
            assert_eq!(bits(&[*got]), bits(&[want]), "{ty:?}, row {r}");
        }
        // Rows 0 and 3 have only finite scales, so their sums are finite.
        assert!(y[0].is_finite() && y[3].is_finite(), "{ty:?}: {y:?}");
    }
}

/// Cache entries for the attention kernels: activations rounded to f16, with every 61st entry
/// a subnormal, an infinity or a NaN pattern, so every path of the widening is taken.
fn halves(n: usize, seed: u64) -> Vec<u16> {
    const ODD: [u16; 4] = [0x0001, 0x83FF, 0x7C00, 0x7E01];
    let values = activations(n, seed);
    (0..n).map(|i| if i % 61 == 7 { ODD[i / 61 % 4] } else { half::f16::from_f32(values[i]).to_bits() }).collect()
}

/// Bits of f32s, NaNs made one pattern (neither kernel promises a NaN's payload).
fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| if x.is_nan() { u32::MAX } else { x.to_bits() }).collect()
}

/// The attention kernels equal the scalar ones bit for bit: keys widened and transposed, their
/// dot products (sixteen, four and single keys' paths), values widened, and the value sums over
/// many positions, for head sizes with and without a remainder and position counts with and
/// without a tail.
#[wasm_bindgen_test]
fn attention_kernels_equal_the_scalar_ones() {
    for (seed, (hd, m)) in [(8usize, 1usize), (64, 7), (64, 37), (67, 16), (128, 21), (256, 64), (3, 5)].into_iter().enumerate() {
        let stride = hd + 5;
        let src = halves(stride * m, 50 + seed as u64);
        let (mut a, mut b) = (vec![0.0f32; hd * m], vec![0.0f32; hd * m]);
        simd128::transpose_f16(&src, stride, m, hd, &mut a);
        scalar::transpose_f16(&src, stride, m, hd, &mut b);
        let what = format!("{hd} elements, {m} positions");
        assert_eq!(bits(&a), bits(&b), "transposed keys, {what}");
        let q: Vec<f32> = activations(hd, 40 + seed as u64).iter().map(|&v| half::f16::from_f32(v).to_f32()).collect();
        let (mut x, mut y) = (vec![0.0f32; m], vec![0.0f32; m]);
        simd128::dots_columns(&q, &b, m, &mut x);
        scalar::dots_columns(&q, &b, m, &mut y);
        assert_eq!(bits(&x), bits(&y), "key dot products, {what}");

        let (mut v, mut w) = (vec![0.0f32; stride * m], vec![0.0f32; stride * m]);
        simd128::widen_f16(&src, &mut v);
        scalar::widen_f16(&src, &mut w);
        assert_eq!(bits(&v), bits(&w), "widened values, {what}");
        let p: Vec<f32> = activations(m, 60 + seed as u64).iter().map(|&x| half::f16::from_f32(x / 4.0).to_f32()).collect();
        let (mut s, mut t) = (vec![0.5f64; stride], vec![0.5f64; stride]);
        for _ in 0..3 {
            simd128::add_products_rows(&mut s, &p, &w);
            scalar::add_products_rows(&mut t, &p, &w);
        }
        let wide = |v: &[f64]| v.iter().map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() }).collect::<Vec<_>>();
        assert_eq!(wide(&s), wide(&t), "value sums, {what}");
    }
}

/// Blocks that reach every path of the activation quantization: random values, exact halves
/// (amax 127 makes `id` 1, so 2.5 must go to 3 and -0.5 to -1), the largest value below a half,
/// zeros of both signs, subnormals, an all-zero block, and NaN and infinity.
fn q8_inputs() -> Vec<[f32; 32]> {
    let mut blocks: Vec<[f32; 32]> =
        activations(32 * 40, 90).as_chunks::<32>().0.to_vec();
    let mut halves = [0.0f32; 32];
    for (i, v) in halves.iter_mut().enumerate() {
        *v = [2.5, -3.5, 126.5, -0.5, 0.5, 0.499_999_97, -126.5, 1.5][i % 8] * if i < 8 { 1.0 } else { 0.5 };
    }
    halves[31] = 127.0;
    blocks.push(halves);
    blocks.push([0.0; 32]);
    let mut odd = [1e-40f32; 32];
    odd[3] = -0.0;
    odd[9] = -2e-39;
    blocks.push(odd);
    let mut nan = blocks[0];
    nan[5] = f32::NAN;
    blocks.push(nan);
    let mut inf = blocks[1];
    inf[30] = f32::NEG_INFINITY;
    blocks.push(inf);
    blocks
}

/// The activation quantization equals the scalar reference bit for bit: the scale and every
/// quant.
#[wasm_bindgen_test]
fn q8_blocks_equal_the_scalar_ones() {
    for (i, xs) in q8_inputs().iter().enumerate() {
        let (d, q) = simd128::q8_block(xs);
        let (want_d, want_q) = scalar::q8_block(xs);
        assert_eq!(d.to_bits(), want_d.to_bits(), "block {i}");
        assert_eq!(q, want_q, "block {i}");
    }
    // The halves block by hand: d = 1, so the quants are the values rounded away from zero.
    let (d, q) = simd128::q8_block(&q8_inputs()[40]);
    assert_eq!((d, &q[..8]), (1.0, &[3i8, -4, 127, -1, 1, 0, -127, 2][..]));
}

/// SwiGLU equals the scalar kernel bit for bit, for row widths with and without a tail, and
/// with gates far enough out (±100) that ggml's exponential leaves its fast range, or NaN.
#[wasm_bindgen_test]
fn swiglu_equals_the_scalar_one() {
    for width in [1usize, 3, 4, 7, 8, 9, 64, 1536] {
        let mut gate = activations(3 * width, width as u64);
        let up = activations(3 * width, 7 + width as u64);
        for (i, g) in gate.iter_mut().enumerate() {
            match i % 37 {
                3 => *g = -100.0,
                11 => *g = 100.0,
                20 => *g = f32::NAN,
                _ => *g *= 4.0,
            }
        }
        let mut want = gate.clone();
        scalar::swiglu(&mut want, &up, width);
        simd128::swiglu(&mut gate, &up, width);
        assert_eq!(bits(&gate), bits(&want), "width {width}");
    }
}

/// Matrices stored interleaved multiply as their file order does, bit for bit: whole groups read
/// in place by the four-row kernels (`Interleaved4`), rows of cut groups and batches gathered.
#[wasm_bindgen_test]
fn interleaved_matrices_multiply_as_the_file_order_does() {
    use crate::gguf::GgmlType as T;
    use crate::quant::matvec::tests::interleaved_matmul_equals_file_order as check;
    check(T::Q4_0, fixture!("Q4_0"));
    check(T::Q4_1, fixture!("Q4_1"));
    check(T::Q5_0, fixture!("Q5_0"));
    check(T::Q5_1, fixture!("Q5_1"));
    check(T::Q8_0, fixture!("Q8_0"));
    check(T::IQ4_NL, fixture!("IQ4_NL"));
}
