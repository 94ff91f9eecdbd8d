//! The kernels' semantics (native: the scalar reference path):
//! * activation quantization rounds as llama.cpp's reference does (Q8_0 / Q8_1: roundf, half
//!   away from zero; Q8_K: nearest_int, half to even, scale -127 / max);
//! * every dot product against an f64 dot of the dequantized weights and the dequantized
//!   activation, within a stated bound, on odd block counts of random blocks and on real rows;
//! * matvec / matmul over row ranges equal the per-row dot products bit for bit;
//! * bad lengths and types are typed errors.

#[path = "support/models.rs"]
mod models;

use gguf64::gguf::GgmlType;
use gguf64::quant::blocks::*;
use gguf64::quant::{
    ActivationFormat, QuantError, QuantizedActivation, WeightMatrix, activation, dequantize, dequantize_to_vec, matmul,
    matmul_f32, matvec, matvec_f32, vec_dot,
};

/// Each block of a dot product goes through at most 6 f32 roundings (the product of the two
/// scales, i32 -> f32 of a sum above 2^24, the scaled sum, the min term, the subtraction, the
/// running sum); the dequantized weights the reference uses carry 2 more. Each is at most
/// u = ε / 2 of a magnitude M = Σ (|w_i| + 2 |offset_i|) |x_i| (the offset term bounds the
/// cancelled parts of `d·sc·q - dmin·m`), so |dot - ref| <= (n + 8) u M; we allow (n + 8) ε M.
const DOT_ROUNDINGS_PER_CALL: f64 = 8.0;
/// Q8_1's `s = f16(d · Σq)` differs from Σ of the dequantized activation by two f16 roundings
/// (of d for the quants, of the product for s): <= 2^-10 relative; we allow 2^-9 of Σ|m · s|.
const Q8_1_SUM_REL: f64 = 1.0 / 512.0;

// ---- activation rounding ----------------------------------------------------------------------

#[test]
fn q8_0_rounds_half_away_from_zero() {
    // amax = 127 makes d = 1 and x / d = x: every half lands on a tie.
    let mut x = [0.0f32; 32];
    x[..7].copy_from_slice(&[127.0, 2.5, -2.5, 0.5, -0.5, 1.5, -126.5]);
    let b = activation::quantize_q8_0(&x).unwrap()[0];
    assert_eq!(f16_le(b.d), 1.0);
    assert_eq!(b.qs[..7], [127, 3, -3, 1, -1, 2, -127]);
    let zero = activation::quantize_q8_0(&[0.0; 32]).unwrap()[0];
    assert_eq!((f16_le(zero.d), zero.qs), (0.0, [0; 32]));
}

#[test]
fn q8_1_sum_uses_the_unrounded_scale() {
    let x: Vec<f32> = (0..32).map(|i| (i as f32 - 10.0) / 21.0).collect();
    let b = activation::quantize_q8_1(&x).unwrap()[0];
    let d = (21.0f32 / 21.0) / 127.0; // amax / 127, unrounded
    let sum: i32 = b.qs.iter().map(|&q| q as i32).sum();
    assert_eq!(b.s, f16_bytes(sum as f32 * d));
    assert_eq!(b.d, f16_bytes(d));
    let q8_0 = activation::quantize_q8_0(&x).unwrap()[0];
    assert_eq!((b.d, b.qs), (q8_0.d, q8_0.qs), "Q8_1 quants are Q8_0's");
}

#[test]
fn q8_k_rounds_half_to_even_with_scale_minus_127_over_max() {
    // max = -127 (the first of the largest magnitudes): iscale = 1, d = 1.
    let mut x = [0.0f32; 256];
    x[..8].copy_from_slice(&[-127.0, 127.0, 2.5, 3.5, -2.5, 0.5, -0.5, 1.5]);
    let b = activation::quantize_q8_k(&x).unwrap()[0];
    assert_eq!(b.d, 1.0);
    assert_eq!(b.qs[..8], [-127, 127, 2, 4, -2, 0, 0, 2]);
    assert_eq!(b.bsums[0], 2 + 4 - 2 + 2, "-127 and 127 cancel");
    // max = +127: iscale = -1, so the quants flip sign and d = -1.
    x[0] = 127.0;
    x[1] = -127.0;
    let b = activation::quantize_q8_k(&x).unwrap()[0];
    assert_eq!(b.d, -1.0);
    assert_eq!(b.qs[..8], [-127, 127, -2, -4, 2, 0, 0, -2]);
    let zero = activation::quantize_q8_k(&[0.0; 256]).unwrap()[0];
    assert_eq!((zero.d, zero.qs, zero.bsums), (0.0, [0; 256], [0; 16]));
}

#[test]
fn q8_k_bsums_are_sums_of_16_quants() {
    let x: Vec<f32> = (0..512).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.03).collect();
    for b in activation::quantize_q8_k(&x).unwrap() {
        for (g, s) in b.bsums.iter().enumerate() {
            assert_eq!(*s as i32, b.qs[16 * g..16 * g + 16].iter().map(|&q| q as i32).sum::<i32>());
        }
        assert!(b.qs.iter().all(|&q| q >= -127));
    }
}

/// The activation format of each weight type is llama.cpp's `vec_dot_type` (ggml-cpu.c's type
/// traits): IQ4_NL shares Q4_0's 32-element blocks and takes Q8_0, IQ4_XS takes Q8_K.
#[test]
fn activation_formats_are_llama_cpps_vec_dot_types() {
    use GgmlType::*;
    let cases = [
        (F16, ActivationFormat::F32),
        (Q4_0, ActivationFormat::Q8_0),
        (Q4_1, ActivationFormat::Q8_1),
        (Q4_K, ActivationFormat::Q8K),
        (IQ4_NL, ActivationFormat::Q8_0),
        (IQ4_XS, ActivationFormat::Q8K),
    ];
    for (ty, format) in cases {
        assert_eq!(ActivationFormat::for_weights(ty), Ok(format), "{ty}");
    }
    assert_eq!(ActivationFormat::for_weights(IQ2_XXS), Err(QuantError::Unsupported(IQ2_XXS)));
}

// ---- dot products against f64 -----------------------------------------------------------------

const TYPES: [GgmlType; 15] = {
    use GgmlType::*;
    [F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS]
};

#[test]
fn dots_match_f64_on_odd_block_counts() {
    for ty in TYPES {
        let bytes = golden_blocks(ty);
        let per = ty.type_size() as usize;
        for n in [1usize, 3, 17] {
            let row = &bytes[..(n * per).min(bytes.len())];
            let x = activations(row.len() / per * ty.block_size() as usize, n as u64);
            check_dot(ty, row, &x, &format!("random {ty} x{n}"));
        }
    }
}

#[test]
fn real_model_rows_match_f64() {
    let rows = [
        ("SmolLM2-135M-Instruct.Q4_1", "blk.0.attn_q.weight"),
        ("SmolLM2-135M-Instruct.Q4_1", "blk.0.ffn_down.weight"),
        ("SmolLM2-135M-Instruct.Q4_1", "token_embd.weight"),
        ("gemma-3-270m-q4_k_m", "blk.0.attn_q.weight"),
        ("gemma-3-270m-q4_k_m", "blk.0.attn_output.weight"),
        ("gemma-3-270m-q4_k_m", "blk.0.ffn_down.weight"),
        ("gemma-3-270m-q4_k_m", "blk.0.attn_v.weight"),
    ];
    for (model, name) in rows {
        let Some((ty, cols, bytes)) = read_tensor_rows(model, name, 8) else {
            continue;
        };
        for (r, row) in bytes.chunks_exact(bytes.len() / 8).enumerate() {
            check_dot(ty, row, &activations(cols, r as u64), &format!("{model} {name} row {r}"));
        }
    }
}

/// `vec_dot` against the f64 reference, within (n + 8) ε M (+ the Q8_1 sum term).
fn check_dot(ty: GgmlType, row: &[u8], x: &[f32], what: &str) {
    let act = QuantizedActivation::for_weights(ty, x).unwrap();
    let got = vec_dot(ty, row, &act).unwrap() as f64;
    let w = dequantize_to_vec(ty, row).unwrap();
    // F16 and BF16 rows multiply the activation rounded to their own type (ggml's vec_dot_type).
    let xd: Vec<f64> = match ty {
        GgmlType::F16 => x.iter().map(|&v| half::f16::from_f32(v).to_f64()).collect(),
        GgmlType::BF16 => x.iter().map(|&v| half::bf16::from_f32(v).to_f64()).collect(),
        _ => activation_values(&act),
    };
    let offsets = offsets(ty, row);
    let reference: f64 = w.iter().zip(&xd).map(|(&w, &x)| w as f64 * x).sum();
    let m: f64 = w.iter().zip(&xd).zip(&offsets).map(|((&w, &x), o)| (w.abs() as f64 + 2.0 * o) * x.abs()).sum();
    let n = (w.len() / ty.block_size() as usize) as f64;
    let mut tolerance = (n + DOT_ROUNDINGS_PER_CALL) * f32::EPSILON as f64 * m;
    if let QuantizedActivation::Q8_1(blocks) = &act {
        let ms: f64 = blocks.iter().zip(offsets.iter().step_by(QK)).map(|(b, o)| o * f16_le(b.s).abs() as f64).sum();
        tolerance += Q8_1_SUM_REL * ms;
    }
    let err = (got - reference).abs();
    assert!(err <= tolerance, "{what}: {got} vs f64 {reference}: error {err:e} > {tolerance:e}");
}

/// The dequantized activation, in f64 (exact: an 8-bit quant times an f16 or f32 scale).
fn activation_values(act: &QuantizedActivation) -> Vec<f64> {
    match act {
        QuantizedActivation::F32(v) => v.iter().map(|&v| v as f64).collect(),
        QuantizedActivation::Q8_0(b) => b.iter().flat_map(|b| b.qs.map(|q| q as f64 * f16_le(b.d) as f64)).collect(),
        QuantizedActivation::Q8_1(b) => b.iter().flat_map(|b| b.qs.map(|q| q as f64 * f16_le(b.d) as f64)).collect(),
        QuantizedActivation::Q8K(b) => b.iter().flat_map(|b| b.qs.map(|q| q as f64 * b.d as f64)).collect(),
    }
}

/// |offset| of each weight: m (Q4_1, Q5_1) or dmin · min (Q2_K, Q4_K, Q5_K), else 0.
fn offsets(ty: GgmlType, row: &[u8]) -> Vec<f64> {
    let spread = |v: Vec<f32>, each: usize| v.into_iter().flat_map(|o| vec![o.abs() as f64; each]).collect();
    match ty {
        GgmlType::Q4_1 => spread(cast_blocks::<BlockQ4_1>(row).unwrap().iter().map(|b| f16_le(b.m)).collect(), 32),
        GgmlType::Q5_1 => spread(cast_blocks::<BlockQ5_1>(row).unwrap().iter().map(|b| f16_le(b.m)).collect(), 32),
        GgmlType::Q2_K => spread(
            cast_blocks::<BlockQ2K>(row)
                .unwrap()
                .iter()
                .flat_map(|b| b.scales.map(|s| f16_le(b.dmin) * (s >> 4) as f32))
                .collect(),
            16,
        ),
        GgmlType::Q4_K => spread(
            cast_blocks::<BlockQ4K>(row)
                .unwrap()
                .iter()
                .flat_map(|b| b.scales_mins().1.map(|m| f16_le(b.dmin) * m as f32))
                .collect(),
            32,
        ),
        GgmlType::Q5_K => spread(
            cast_blocks::<BlockQ5K>(row)
                .unwrap()
                .iter()
                .flat_map(|b| b.scales_mins().1.map(|m| f16_le(b.dmin) * m as f32))
                .collect(),
            32,
        ),
        _ => vec![0.0; row.len() / ty.type_size() as usize * ty.block_size() as usize],
    }
}

// ---- matvec and matmul ------------------------------------------------------------------------

#[test]
fn matvec_row_ranges_equal_per_row_dots() {
    for ty in TYPES {
        let bytes = golden_blocks(ty);
        // Rows of 2 blocks (k-quants) or 8 blocks; the fixture holds 12 such rows.
        let cols = ty.block_size() as usize * if ty.block_size() == 256 { 2 } else { 8 };
        let row_bytes = ty.bytes_for(cols as u64).unwrap() as usize;
        let rows = (bytes.len() / row_bytes).min(12);
        let w = WeightMatrix::new(ty, cols, &bytes[..rows * row_bytes]).unwrap();
        assert_eq!((w.rows(), w.cols(), w.row_bytes()), (rows, cols, row_bytes));
        let x = QuantizedActivation::for_weights(ty, &activations(cols, 7)).unwrap();
        let mut full = vec![0.0; rows];
        matvec(&w, 0..rows, &x, &mut full).unwrap();
        for (r, y) in full.iter().enumerate() {
            assert_eq!(y.to_bits(), vec_dot(ty, &w.row(r).unwrap(), &x).unwrap().to_bits(), "{ty} row {r}");
        }
        // A worker's slice of the rows gives the same values.
        let mut part = vec![0.0; 5];
        matvec(&w, 3..8, &x, &mut part).unwrap();
        assert_eq!(part, full[3..8], "{ty} rows 3..8");
        matvec(&w, 4..4, &x, &mut []).unwrap();
    }
}

#[test]
fn matmul_reuses_rows_for_a_batch_and_equals_matvec() {
    let ty = GgmlType::Q4_K;
    let bytes = golden_blocks(ty);
    let w = WeightMatrix::new(ty, 512, &bytes).unwrap();
    let xs: Vec<f32> = (0..3).flat_map(|t| activations(512, 40 + t)).collect();
    let (rows, n) = (2..9, 7);
    let mut batch = vec![0.0; 3 * n];
    matmul_f32(&w, rows.clone(), &xs, &mut batch).unwrap();
    for (t, x) in xs.as_chunks::<512>().0.iter().enumerate() {
        let mut one = vec![0.0; n];
        matvec_f32(&w, rows.clone(), x, &mut one).unwrap();
        assert_eq!(batch[t * n..(t + 1) * n], one, "activation {t}");
    }
    let acts: Vec<_> =
        xs.as_chunks::<512>().0.iter().map(|x| QuantizedActivation::for_weights(ty, x).unwrap()).collect();
    let mut again = vec![0.0; 3 * n];
    matmul(&w, rows, &acts, &mut again).unwrap();
    assert_eq!(again, batch);
}

#[test]
fn embedding_rows_dequantize_in_place() {
    let ty = GgmlType::Q8_0;
    let bytes = golden_blocks(ty);
    let w = WeightMatrix::new(ty, 64, &bytes).unwrap();
    let all = dequantize_to_vec(ty, &bytes).unwrap();
    let mut row = vec![0.0; 64];
    w.dequantize_row(5, &mut row).unwrap();
    assert_eq!(row, all[5 * 64..6 * 64]);
}

// ---- errors -----------------------------------------------------------------------------------

#[test]
fn bad_inputs_are_typed_errors() {
    use GgmlType::*;
    let q4 = golden_blocks(Q4_0);
    let mut out = vec![0.0; 64];
    assert_eq!(dequantize(Q4_0, &q4[..37], &mut out), Err(QuantError::NotWholeBlocks { ty: Q4_0, bytes: 37 }));
    assert_eq!(
        dequantize(Q4_0, &q4[..36], &mut out[..63]),
        Err(QuantError::LengthMismatch { expected: 64, actual: 63 })
    );
    assert_eq!(dequantize(IQ2_XXS, &q4[..66], &mut out), Err(QuantError::Unsupported(IQ2_XXS)));
    assert_eq!(
        activation::quantize_q8_0(&[0.0; 33]).unwrap_err(),
        QuantError::NotWholeElements { ty: Q8_0, elements: 33 }
    );
    assert!(matches!(activation::quantize_q8_k(&[0.0; 32]), Err(QuantError::NotWholeElements { ty: Q8_K, .. })));

    let x8 = QuantizedActivation::for_weights(Q4_0, &[0.5; 64]).unwrap();
    let xk = QuantizedActivation::for_weights(Q4_K, &[0.5; 256]).unwrap();
    assert_eq!(
        vec_dot(Q4_K, &golden_blocks(Q4_K)[..144], &x8),
        Err(QuantError::WrongActivation {
            weights: Q4_K,
            expected: ActivationFormat::Q8K,
            actual: ActivationFormat::Q8_0
        })
    );
    assert_eq!(vec_dot(Q4_0, &q4[..18], &x8), Err(QuantError::LengthMismatch { expected: 32, actual: 64 }));
    assert!(vec_dot(Q4_0, &q4[..36], &xk).is_err());

    assert_eq!(WeightMatrix::new(Q4_0, 48, &q4).unwrap_err(), QuantError::NotWholeElements { ty: Q4_0, elements: 48 });
    assert_eq!(WeightMatrix::new(Q4_0, 0, &q4).unwrap_err(), QuantError::NotWholeElements { ty: Q4_0, elements: 0 });
    assert_eq!(WeightMatrix::new(Q4_0, 64, &q4[..40]).unwrap_err(), QuantError::NotWholeBlocks { ty: Q4_0, bytes: 40 });
    assert_eq!(WeightMatrix::new(TQ1_0, 256, &[0; 54]).unwrap_err(), QuantError::Unsupported(TQ1_0));
    let w = WeightMatrix::new(Q4_0, 64, &q4[..36 * 4]).unwrap();
    let mut y = [0.0; 4];
    assert_eq!(matvec(&w, 2..5, &x8, &mut y[..3]), Err(QuantError::RowRange { start: 2, end: 5, rows: 4 }));
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = 3..1;
    assert_eq!(matvec(&w, reversed, &x8, &mut []), Err(QuantError::RowRange { start: 3, end: 1, rows: 4 }));
    assert_eq!(matvec(&w, 0..4, &x8, &mut y[..3]), Err(QuantError::LengthMismatch { expected: 4, actual: 3 }));
    assert_eq!(matvec_f32(&w, 0..4, &[0.0; 63], &mut y), Err(QuantError::NotWholeElements { ty: Q8_0, elements: 63 }));
    assert_eq!(w.dequantize_row(4, &mut out), Err(QuantError::RowRange { start: 4, end: 5, rows: 4 }));
    assert!(!QuantError::Unsupported(IQ2_XXS).to_string().is_empty());
}

// ---- helpers ----------------------------------------------------------------------------------

/// Weights of `ty`: the random blocks of `tests/golden/quant/` for the quantized types;
/// 1024 well-scaled values for F32, F16, BF16 (their random-bit fixtures overflow products).
fn golden_blocks(ty: GgmlType) -> Vec<u8> {
    let values = activations(1024, 99).into_iter();
    match ty {
        GgmlType::F32 => return values.flat_map(f32::to_le_bytes).collect(),
        GgmlType::F16 => return values.flat_map(f16_bytes).collect(),
        GgmlType::BF16 => return values.flat_map(|v| ((v.to_bits() >> 16) as u16).to_le_bytes()).collect(),
        _ => {}
    }
    let path = format!("{}/tests/golden/quant/{ty}.blocks", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Deterministic activations in [-2, 2) with a spike every 97 values.
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

/// Type, columns and the bytes of the first `rows` rows of a tensor of a model in `models/`, or
/// `None` (with a notice) if the model is absent.
fn read_tensor_rows(model: &str, name: &str, rows: u64) -> Option<(GgmlType, usize, Vec<u8>)> {
    use std::io::{Read, Seek, SeekFrom};
    let path = format!("{}/models/{model}.gguf", env!("CARGO_MANIFEST_DIR"));
    let Ok(mut file) = std::fs::File::open(&path) else {
        models::absent(&path);
        return None;
    };
    let len = file.metadata().expect("metadata").len();
    let mut prefix = Vec::new();
    (&mut file).take(16 << 20).read_to_end(&mut prefix).expect("read");
    let header = gguf64::gguf::parse_header(&prefix, Some(len)).expect("header within 16 MiB");
    let t = header.tensor(name).expect("tensor");
    let row_bytes = t.ggml_type.bytes_for(t.ne(0)).expect("whole blocks");
    file.seek(SeekFrom::Start(header.data_offset + t.offset)).expect("seek");
    let mut bytes = vec![0; (rows * row_bytes) as usize];
    file.read_exact(&mut bytes).expect("read rows");
    Some((t.ggml_type, t.ne(0) as usize, bytes))
}
