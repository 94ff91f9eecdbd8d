//! The GGUF writer and the synthetic models: round trips through `parse_header`, typed writer
//! errors, the `tiny` preset checked tensor by tensor (shapes, offsets, sizes, metadata, and
//! every block dequantized with reference formulas written here from ggml's layouts), and the
//! `synth` command line (determinism, `.part` handling, exit codes).

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::Command;

use gguf64::gguf::{
    Array, GgmlType, GgufWriter, Metadata, StringArray, TensorSpec, Value, WriteError,
    layout_header, parse_header,
};
use gguf64::synth::{ModelConfig, Preset, QuantPlan, RopeScaling, STREAM_BLOCKS, SynthModel};
use half::f16;

// ---- helpers ------------------------------------------------------------------------------------

fn md(pairs: Vec<(&str, Value)>) -> Metadata {
    let mut m = Metadata::new();
    for (k, v) in pairs {
        m.insert(k.to_owned(), v).expect("unique keys");
    }
    m
}

fn strings(items: &[&str]) -> StringArray {
    let mut s = StringArray::with_capacity(items.len());
    items.iter().for_each(|x| s.push(x));
    s
}

/// Every value type, arrays of each, an empty array and arrays nested two deep.
fn every_value() -> Metadata {
    md(vec![
        ("general.architecture", Value::String("llama".into())),
        ("u8", Value::U8(200)),
        ("i8", Value::I8(-100)),
        ("u16", Value::U16(60000)),
        ("i16", Value::I16(-30000)),
        ("u32", Value::U32(4_000_000_000)),
        ("i32", Value::I32(-2_000_000_000)),
        ("u64", Value::U64(u64::MAX)),
        ("i64", Value::I64(i64::MIN)),
        ("f32", Value::F32(-1.5e-7)),
        ("f64", Value::F64(std::f64::consts::PI)),
        ("bool", Value::Bool(true)),
        ("string", Value::String("▁héllo\n\"wörld\" 🦙".into())),
        ("empty string", Value::String(String::new())),
        ("a.u8", Value::Array(Array::U8(vec![0, 1, 255]))),
        ("a.i8", Value::Array(Array::I8(vec![-128, 127]))),
        ("a.u16", Value::Array(Array::U16(vec![1, 65535]))),
        ("a.i16", Value::Array(Array::I16(vec![-1, 2]))),
        ("a.u32", Value::Array(Array::U32(vec![7; 5]))),
        ("a.i32", Value::Array(Array::I32(vec![-7, 3, 6, 1]))),
        ("a.u64", Value::Array(Array::U64(vec![u64::MAX, 0]))),
        ("a.i64", Value::Array(Array::I64(vec![i64::MIN, i64::MAX]))),
        (
            "a.f32",
            Value::Array(Array::F32(vec![0.0, -0.0, 1e30, f32::MIN_POSITIVE])),
        ),
        ("a.f64", Value::Array(Array::F64(vec![1e-300, -2.5]))),
        ("a.bool", Value::Array(Array::Bool(vec![true, false, true]))),
        (
            "a.string",
            Value::Array(Array::String(strings(&["<s>", "", "▁a", "日本"]))),
        ),
        ("a.empty", Value::Array(Array::F32(Vec::new()))),
        (
            "a.nested",
            Value::Array(Array::Array(vec![
                Array::U32(vec![1, 2]),
                Array::String(strings(&["x", "yz"])),
                Array::Array(vec![Array::Bool(vec![false]), Array::I64(Vec::new())]),
            ])),
        ),
    ])
}

fn specs() -> Vec<TensorSpec> {
    vec![
        TensorSpec::new("a.f32", &[3], GgmlType::F32),
        TensorSpec::new("b.q4_k", &[256, 3], GgmlType::Q4_K),
        TensorSpec::new("c.q8_0", &[64, 2, 1], GgmlType::Q8_0),
        TensorSpec::new("d.f16", &[5, 1, 1, 3], GgmlType::F16),
        TensorSpec::new("e.scalar", &[], GgmlType::F32),
        TensorSpec::new("f.q6_k", &[512, 1], GgmlType::Q6_K),
    ]
}

/// Writes `specs` with each tensor's bytes set to a per-tensor pattern.
fn write_patterned(
    metadata: &Metadata,
    specs: &[TensorSpec],
) -> (Vec<u8>, Vec<gguf64::gguf::TensorInfo>) {
    let mut w = GgufWriter::new(Vec::new(), metadata, specs).expect("header");
    let infos = w.tensors().to_vec();
    for (i, t) in infos.iter().enumerate() {
        let data: Vec<u8> = (0..t.n_bytes)
            .map(|b| (b as u8).wrapping_mul(31).wrapping_add(i as u8))
            .collect();
        // Odd-sized pieces exercise the streaming path.
        w.begin_tensor(&t.name).unwrap();
        for piece in data.chunks(7) {
            w.write_data(piece).unwrap();
        }
        w.end_tensor().unwrap();
    }
    let file_len = w.file_len();
    let bytes = w.finish().expect("finish");
    assert_eq!(bytes.len() as u64, file_len);
    (bytes, infos)
}

fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gguf64-synth-{}-{test}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");
    dir
}

// ---- writer round trips -------------------------------------------------------------------------

#[test]
fn every_value_type_and_tensor_info_round_trips() {
    let metadata = every_value();
    let (bytes, infos) = write_patterned(&metadata, &specs());
    let h = parse_header(&bytes, Some(bytes.len() as u64)).expect("parses");
    assert_eq!(h.version, 3);
    assert_eq!(h.metadata, metadata);
    assert_eq!(h.tensors, infos);
    assert_eq!(h.alignment, 32);
    assert_eq!(h.data_offset % 32, 0);
    for (i, t) in h.tensors.iter().enumerate() {
        assert_eq!(t.offset % 32, 0, "{}", t.name);
        let start = (h.data_offset + t.offset) as usize;
        let data = &bytes[start..start + t.n_bytes as usize];
        let expected = (0..t.n_bytes).map(|b| (b as u8).wrapping_mul(31).wrapping_add(i as u8));
        assert!(data.iter().copied().eq(expected), "data of {}", t.name);
    }
    // Every tensor is padded to the alignment, the last one included (as ggml writes).
    assert_eq!(
        bytes.len() as u64,
        (h.data_offset + h.data_len).next_multiple_of(32)
    );
}

#[test]
fn custom_alignment_places_every_tensor_on_it() {
    let metadata = md(vec![("general.alignment", Value::U32(256))]);
    let (bytes, infos) = write_patterned(&metadata, &specs());
    let h = parse_header(&bytes, Some(bytes.len() as u64)).expect("parses");
    assert_eq!(h.alignment, 256);
    assert_eq!(h.tensors, infos);
    assert_eq!(h.data_offset % 256, 0);
    assert!(h.tensors.iter().all(|t| t.offset % 256 == 0));
    let layout = layout_header(&metadata, &specs()).unwrap();
    assert_eq!(layout.data_offset, h.data_offset);
    assert_eq!(layout.tensor_info_end, h.tensor_info_end);
    assert_eq!(layout.file_len, bytes.len() as u64);
}

#[test]
fn no_tensors_and_no_metadata_is_a_valid_file() {
    let w = GgufWriter::new(Vec::new(), &Metadata::new(), &[]).unwrap();
    let bytes = w.finish().unwrap();
    let h = parse_header(&bytes, Some(bytes.len() as u64)).unwrap();
    assert!(h.tensors.is_empty() && h.metadata.is_empty());
}

// ---- writer errors ------------------------------------------------------------------------------

#[test]
fn bad_headers_are_typed_errors() {
    let one = |ty, dims: &[u64]| vec![TensorSpec::new("t", dims, ty)];
    let none = Metadata::new();
    let err =
        |m: &Metadata, s: &[TensorSpec]| GgufWriter::new(Vec::new(), m, s).expect_err("error");
    assert!(matches!(
        err(&none, &one(GgmlType::Q4_K, &[128, 2])),
        WriteError::BadShape { .. }
    ));
    assert!(matches!(
        err(&none, &one(GgmlType::Q8_0, &[33])),
        WriteError::BadShape { .. }
    ));
    assert!(matches!(
        err(&none, &one(GgmlType::F32, &[1, 1, 1, 1, 1])),
        WriteError::BadShape { .. }
    ));
    assert!(matches!(
        err(&none, &one(GgmlType::F32, &[u64::MAX])),
        WriteError::BadShape { .. }
    ));
    assert!(matches!(
        err(&none, &one(GgmlType::F32, &[1 << 40, 1 << 40])),
        WriteError::BadShape { .. }
    ));
    let twice = [
        TensorSpec::new("t", &[1], GgmlType::F32),
        TensorSpec::new("t", &[2], GgmlType::F32),
    ];
    assert!(matches!(err(&none, &twice), WriteError::DuplicateTensor { tensor } if tensor == "t"));
    let as_u64 = md(vec![("general.alignment", Value::U64(32))]);
    assert!(matches!(err(&as_u64, &[]), WriteError::WrongKeyType { .. }));
    for bad in [0, 48] {
        let m = md(vec![("general.alignment", Value::U32(bad))]);
        assert!(
            matches!(err(&m, &[]), WriteError::InvalidAlignment { found } if found == u64::from(bad))
        );
    }
}

#[test]
fn misordered_or_missized_data_is_a_typed_error() {
    let s = specs();
    let new = || GgufWriter::new(Vec::new(), &Metadata::new(), &s).unwrap();
    let mut w = new();
    let e = w.write_tensor_data("b.q4_k", &[0; 432]).unwrap_err();
    assert!(
        matches!(e, WriteError::UnexpectedTensor { expected: Some(x), found } if x == "a.f32" && found == "b.q4_k")
    );
    let e = w.write_tensor_data("a.f32", &[0; 13]).unwrap_err();
    assert!(matches!(
        e,
        WriteError::SizeMismatch {
            expected: 12,
            found: 13,
            ..
        }
    ));
    let mut w = new();
    w.begin_tensor("a.f32").unwrap();
    w.write_data(&[0; 11]).unwrap();
    assert!(matches!(
        w.end_tensor(),
        Err(WriteError::SizeMismatch {
            expected: 12,
            found: 11,
            ..
        })
    ));
    assert!(matches!(
        w.begin_tensor("a.f32"),
        Err(WriteError::TensorOpen { .. })
    ));
    w.write_data(&[0]).unwrap();
    w.end_tensor().unwrap();
    assert!(matches!(w.write_data(&[0]), Err(WriteError::NoOpenTensor)));
    assert!(matches!(w.end_tensor(), Err(WriteError::NoOpenTensor)));
    assert!(matches!(
        new().finish(),
        Err(WriteError::MissingTensors { remaining: 6, .. })
    ));
    let one = [TensorSpec::new("x", &[1], GgmlType::F32)];
    let mut w = GgufWriter::new(Vec::new(), &Metadata::new(), &one).unwrap();
    w.write_tensor_data("x", &[0; 4]).unwrap();
    let e = w.write_tensor_data("y", &[0; 4]).unwrap_err();
    assert!(matches!(
        e,
        WriteError::UnexpectedTensor { expected: None, .. }
    ));
    assert!(w.finish().is_ok());
}

/// A sink that fails after `left` bytes.
struct Failing {
    left: usize,
}

impl Write for Failing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::other("disk full"));
        }
        let n = buf.len().min(self.left);
        self.left -= n;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn an_io_error_is_reported_and_the_writer_refuses_more() {
    let header_len = layout_header(&Metadata::new(), &specs())
        .unwrap()
        .bytes
        .len();
    let e = GgufWriter::new(Failing { left: 10 }, &Metadata::new(), &specs())
        .err()
        .unwrap();
    assert!(matches!(e, WriteError::Io(_)));
    let mut w = GgufWriter::new(
        Failing {
            left: header_len + 5,
        },
        &Metadata::new(),
        &specs(),
    )
    .unwrap();
    assert!(matches!(
        w.write_tensor_data("a.f32", &[0; 12]),
        Err(WriteError::Io(_))
    ));
    assert!(matches!(
        w.write_tensor_data("a.f32", &[0; 12]),
        Err(WriteError::Failed)
    ));
    assert!(matches!(w.finish(), Err(WriteError::Failed)));
}

// ---- reference dequantization (ggml-common.h layouts, written independently of src/synth) ------

fn f16_at(b: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([b[at], b[at + 1]]).to_f32()
}

fn dequantize(ty: GgmlType, data: &[u8]) -> Vec<f32> {
    let mut out = Vec::new();
    match ty {
        GgmlType::F32 => out.extend(
            data.as_chunks::<4>()
                .0
                .iter()
                .map(|c| f32::from_le_bytes(*c)),
        ),
        GgmlType::F16 => out.extend(data.as_chunks::<2>().0.iter().map(|c| f16_at(c, 0))),
        GgmlType::Q8_0 => {
            for b in data.as_chunks::<34>().0 {
                let d = f16_at(b, 0);
                out.extend(b[2..].iter().map(|&q| d * f32::from(q as i8)));
            }
        }
        GgmlType::Q4_0 => {
            for b in data.as_chunks::<18>().0 {
                let d = f16_at(b, 0);
                let qs = &b[2..];
                out.extend(qs.iter().map(|&q| d * (f32::from(q & 0xF) - 8.0)));
                out.extend(qs.iter().map(|&q| d * (f32::from(q >> 4) - 8.0)));
            }
        }
        GgmlType::Q5_0 => {
            // f16 d, u32 qh (bit j: weight j's fifth bit), 16 bytes of nibbles as in Q4_0.
            for b in data.as_chunks::<22>().0 {
                let d = f16_at(b, 0);
                let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
                let qs = &b[6..];
                let q = |j: usize, nibble: u8| f32::from(nibble | ((((qh >> j) & 1) as u8) << 4));
                out.extend((0..16).map(|j| d * (q(j, qs[j] & 0xF) - 16.0)));
                out.extend((0..16).map(|j| d * (q(j + 16, qs[j] >> 4) - 16.0)));
            }
        }
        GgmlType::Q4_K => {
            for b in data.as_chunks::<144>().0 {
                let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
                let sc = &b[4..16];
                let scale_min = |j: usize| -> (f32, f32) {
                    let (s, m) = if j < 4 {
                        (sc[j] & 63, sc[j + 4] & 63)
                    } else {
                        (
                            (sc[j + 4] & 0xF) | ((sc[j - 4] >> 6) << 4),
                            (sc[j + 4] >> 4) | ((sc[j] >> 6) << 4),
                        )
                    };
                    (d * f32::from(s), dmin * f32::from(m))
                };
                for (g, qs) in b[16..].as_chunks::<32>().0.iter().enumerate() {
                    let (d1, m1) = scale_min(2 * g);
                    let (d2, m2) = scale_min(2 * g + 1);
                    out.extend(qs.iter().map(|&q| d1 * f32::from(q & 0xF) - m1));
                    out.extend(qs.iter().map(|&q| d2 * f32::from(q >> 4) - m2));
                }
            }
        }
        GgmlType::Q6_K => {
            for b in data.as_chunks::<210>().0 {
                let (ql, qh, scales, d) = (&b[0..128], &b[128..192], &b[192..208], f16_at(b, 208));
                let mut y = [0f32; 256];
                for half in 0..2 {
                    let (ql, qh, sc, y) = (
                        &ql[64 * half..],
                        &qh[32 * half..],
                        &scales[8 * half..],
                        &mut y[128 * half..],
                    );
                    for l in 0..32 {
                        let is = l / 16;
                        let q =
                            |lo: u8, shift: u32| i32::from(lo | (((qh[l] >> shift) & 3) << 4)) - 32;
                        let s = |k: usize| d * f32::from(sc[is + k] as i8);
                        y[l] = s(0) * q(ql[l] & 0xF, 0) as f32;
                        y[l + 32] = s(2) * q(ql[l + 32] & 0xF, 2) as f32;
                        y[l + 64] = s(4) * q(ql[l] >> 4, 4) as f32;
                        y[l + 96] = s(6) * q(ql[l + 32] >> 4, 6) as f32;
                    }
                }
                out.extend_from_slice(&y);
            }
        }
        other => panic!("no reference dequantizer for {other}"),
    }
    out
}

fn mean_sd(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = v
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

// ---- the tiny preset ----------------------------------------------------------------------------

fn tiny_bytes(seed: u64) -> Vec<u8> {
    let model = SynthModel::new(&Preset::Tiny.config(), seed).unwrap();
    model.write_to(Vec::new(), |_, _| {}).unwrap()
}

/// The tensors llama.cpp expects for a llama model, with their shapes (ne0 first).
fn expected_tensors(c: &ModelConfig) -> Vec<(String, Vec<u64>)> {
    let kv = c.n_embd / u64::from(c.n_head) * u64::from(c.n_head_kv);
    let (e, f, v) = (c.n_embd, c.n_ff, u64::from(c.n_vocab));
    let mut out = vec![("token_embd.weight".to_owned(), vec![e, v])];
    for l in 0..c.n_layer {
        for (part, dims) in [
            ("attn_norm", vec![e]),
            ("attn_q", vec![e, e]),
            ("attn_k", vec![e, kv]),
            ("attn_v", vec![e, kv]),
            ("attn_output", vec![e, e]),
            ("ffn_norm", vec![e]),
            ("ffn_gate", vec![e, f]),
            ("ffn_up", vec![e, f]),
            ("ffn_down", vec![f, e]),
        ] {
            out.push((format!("blk.{l}.{part}.weight"), dims));
        }
    }
    out.push(("output_norm.weight".to_owned(), vec![e]));
    out.push(("output.weight".to_owned(), vec![e, v]));
    out
}

#[test]
fn tiny_parses_back_with_llama_shapes_and_metadata() {
    let c = Preset::Tiny.config();
    let bytes = tiny_bytes(1);
    let h = parse_header(&bytes, Some(bytes.len() as u64)).expect("tiny parses");
    let m = &h.metadata;
    assert_eq!(h.architecture(), Some("llama"));
    assert_eq!(h.block_count(), Some(2));
    assert_eq!(m.get_u64("general.alignment"), Some(32));
    assert_eq!(m.get_u64("llama.embedding_length"), Some(256));
    assert_eq!(m.get_u64("llama.feed_forward_length"), Some(512));
    assert_eq!(m.get_u64("llama.attention.head_count"), Some(4));
    assert_eq!(m.get_u64("llama.attention.head_count_kv"), Some(2));
    assert_eq!(m.get_u64("llama.rope.dimension_count"), Some(64));
    assert_eq!(m.get_u64("llama.context_length"), Some(512));
    assert_eq!(m.get_f32("llama.rope.freq_base"), Some(10000.0));
    assert_eq!(
        m.get_f32("llama.attention.layer_norm_rms_epsilon"),
        Some(1e-5)
    );
    assert_eq!(m.get_str("tokenizer.ggml.model"), Some("llama"));
    assert_eq!(m.get_u64("tokenizer.ggml.bos_token_id"), Some(1));
    assert_eq!(m.get_u64("tokenizer.ggml.eos_token_id"), Some(2));
    assert_eq!(m.get_u64("tokenizer.ggml.unknown_token_id"), Some(0));

    let tokens = m
        .get_array("tokenizer.ggml.tokens")
        .and_then(Array::as_strings)
        .expect("tokens");
    assert_eq!(tokens.len(), 512);
    let toks: Vec<&str> = tokens.iter().collect();
    assert_eq!(&toks[..4], ["<unk>", "<s>", "</s>", "<0x00>"]);
    assert_eq!(toks[3 + 0x0A], "<0x0A>");
    assert_eq!(toks[258], "<0xFF>");
    assert_eq!(&toks[259..262], ["▁", "▁a", "a"]);
    assert_eq!(
        toks.iter().collect::<std::collections::HashSet<_>>().len(),
        512,
        "distinct tokens"
    );
    let Some(Array::I32(types)) = m.get_array("tokenizer.ggml.token_type") else {
        panic!("token types")
    };
    assert_eq!(
        (
            types[0], types[1], types[2], types[3], types[258], types[259]
        ),
        (2, 3, 3, 6, 6, 1)
    );
    assert_eq!(types.len(), 512);
    let Some(Array::F32(scores)) = m.get_array("tokenizer.ggml.scores") else {
        panic!("scores")
    };
    assert_eq!(scores.len(), 512);
    assert!(scores[260] > scores[300]);

    let expected = expected_tensors(&c);
    assert_eq!(h.tensors.len(), expected.len());
    let mut next = 0;
    for (t, (name, dims)) in h.tensors.iter().zip(&expected) {
        assert_eq!((&t.name, &t.dims), (name, dims));
        assert_eq!(t.offset, next, "{name} follows the previous tensor, padded");
        assert_eq!(
            Some(t.n_bytes),
            t.ggml_type.bytes_for(dims.iter().product()),
            "{name}"
        );
        next = (t.offset + t.n_bytes).next_multiple_of(32);
    }
    assert_eq!(bytes.len() as u64, h.data_offset + next);
    let ty = |n: &str| h.tensor(n).unwrap().ggml_type;
    assert_eq!(ty("token_embd.weight"), GgmlType::F16);
    assert_eq!(ty("blk.0.attn_q.weight"), GgmlType::Q4_K);
    assert_eq!(ty("blk.0.attn_k.weight"), GgmlType::Q8_0);
    assert_eq!(ty("blk.1.attn_v.weight"), GgmlType::Q4_0);
    assert_eq!(ty("blk.1.ffn_down.weight"), GgmlType::Q6_K);
    assert_eq!(ty("output.weight"), GgmlType::Q6_K);
    assert_eq!(ty("output_norm.weight"), GgmlType::F32);
}

#[test]
fn tiny_weights_are_finite_centred_and_scaled() {
    let bytes = tiny_bytes(7);
    let h = parse_header(&bytes, Some(bytes.len() as u64)).unwrap();
    for t in &h.tensors {
        let start = (h.data_offset + t.offset) as usize;
        let w = dequantize(t.ggml_type, &bytes[start..start + t.n_bytes as usize]);
        assert_eq!(w.len() as u64, t.n_elements);
        assert!(
            w.iter().all(|x| x.is_finite()),
            "{} has a non-finite weight",
            t.name
        );
        let (mean, sd) = mean_sd(&w);
        if t.name.ends_with("norm.weight") {
            assert!(w.iter().all(|&x| (0.97..=1.03).contains(&x)), "{}", t.name);
            continue;
        }
        // The generator aims at sd = 1/sqrt(ne0); per-block jitter and rounding allow +-25%.
        let sigma = 1.0 / (t.dims[0] as f64).sqrt();
        assert!(
            (0.75 * sigma..1.25 * sigma).contains(&sd),
            "{}: sd {sd}, aimed at {sigma}",
            t.name
        );
        assert!(mean.abs() < 0.1 * sigma, "{}: mean {mean}", t.name);
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_weights() {
    let a = tiny_bytes(1);
    assert_eq!(a, tiny_bytes(1));
    let b = tiny_bytes(2);
    assert_eq!(a.len(), b.len());
    let h = parse_header(&a, None).unwrap();
    let data = h.data_offset as usize;
    assert_eq!(
        a[..data],
        b[..data],
        "the header does not depend on the seed"
    );
    assert_ne!(a[data..], b[data..]);
}

#[test]
fn fill_does_not_depend_on_how_streams_are_split() {
    // 4 layers of 1024-wide Q4_K: ffn matrices span several streams.
    let c = ModelConfig {
        n_embd: 1024,
        n_ff: 2816 * 4,
        quant: QuantPlan::Uniform(GgmlType::Q4_K),
        ..Preset::Tiny.config()
    };
    let model = SynthModel::new(&c, 9).unwrap();
    let (i, t) = model
        .tensors()
        .iter()
        .enumerate()
        .find(|(_, t)| t.spec.name == "blk.0.ffn_up.weight")
        .unwrap();
    let n_bytes = t
        .spec
        .ggml_type
        .bytes_for(t.spec.dims.iter().product())
        .unwrap() as usize;
    let stream = model.stream_bytes(i).unwrap() as usize;
    assert!(n_bytes > 2 * stream, "the tensor spans several streams");
    let mut whole = vec![0u8; n_bytes];
    model.fill(i, 0, &mut whole).unwrap();
    let mut pieces = vec![0u8; n_bytes];
    for (k, piece) in pieces.chunks_mut(stream).enumerate().rev() {
        model.fill(i, k as u64, piece).unwrap();
    }
    assert_eq!(whole, pieces);
    assert_eq!(STREAM_BLOCKS * 144, stream as u64);
}

#[test]
fn presets_have_llama_sizes() {
    let size = |p: Preset| {
        SynthModel::new(&p.config(), 0)
            .unwrap()
            .layout()
            .unwrap()
            .file_len
    };
    let (tiny, l7, l13) = (
        size(Preset::Tiny),
        size(Preset::Llama7bQ4K),
        size(Preset::Llama13bQ4K),
    );
    assert!((1_000_000..3_000_000).contains(&tiny), "{tiny}");
    // llama.cpp's own Q4_K_M files: 7B 4.08 GB, 13B 7.87 GB.
    assert!((3_900_000_000..4_100_000_000).contains(&l7), "{l7}");
    assert!((7_700_000_000..8_000_000_000).contains(&l13), "{l13}");
    // Beyond one memory: more than 16 GiB of layers alone.
    let l17 = size(Preset::Llama17g);
    eprintln!("llama-17g: {l17} bytes");
    assert!((17 << 30..(35 << 30) / 2).contains(&l17), "{l17}");
}

#[test]
fn bad_configs_are_refused() {
    let base = Preset::Tiny.config();
    for c in [
        ModelConfig {
            n_head: 3,
            ..base.clone()
        },
        ModelConfig {
            n_head_kv: 3,
            ..base.clone()
        },
        ModelConfig {
            n_layer: 0,
            ..base.clone()
        },
        ModelConfig {
            n_vocab: 100,
            ..base.clone()
        },
        ModelConfig {
            quant: QuantPlan::Uniform(GgmlType::Q5_K),
            ..base.clone()
        },
        ModelConfig {
            head_dim: Some(63),
            ..base.clone()
        },
        ModelConfig {
            rope_scaling: RopeScaling::LongRope { original_ctx: 0 },
            ..base.clone()
        },
        ModelConfig {
            rope_scaling: RopeScaling::Linear { factor: 0.0 },
            ..base.clone()
        },
        ModelConfig {
            rope_scaling: RopeScaling::Llama3 {
                factor: 8.0,
                low_freq_factor: 4.0,
                high_freq_factor: 4.0,
                original_ctx: 64,
            },
            ..base.clone()
        },
    ] {
        assert!(SynthModel::new(&c, 0).is_err(), "{c:?}");
    }
}

// ---- the command line ---------------------------------------------------------------------------

fn synth(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_synth"))
        .args(args)
        .output()
        .expect("runs synth")
}

#[test]
fn cli_writes_identical_files_for_a_seed_and_leaves_no_part_file() {
    let dir = temp_dir("cli");
    let (a, b, c) = (dir.join("a.gguf"), dir.join("b.gguf"), dir.join("c.gguf"));
    for (path, seed) in [(&a, "5"), (&b, "5"), (&c, "6")] {
        let out = synth(&[
            "--preset",
            "tiny",
            "--seed",
            seed,
            "--out",
            path.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("bytes"));
    }
    let (a, b, c) = (
        fs::read(a).unwrap(),
        fs::read(b).unwrap(),
        fs::read(c).unwrap(),
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(
        a,
        tiny_bytes(5),
        "the CLI's threaded writer matches SynthModel::write_to"
    );
    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "no .part files: {names:?}");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn cli_custom_shape_parses() {
    let dir = temp_dir("custom");
    let path = dir.join("c.gguf");
    let args = [
        "--preset",
        "custom",
        "--layers",
        "3",
        "--embd",
        "512",
        "--ff",
        "768",
        "--heads",
        "8",
        "--kv-heads",
        "4",
        "--vocab",
        "300",
        "--type",
        "q4_k_m",
        "--seed",
        "1",
        "--out",
        path.to_str().unwrap(),
    ];
    let out = synth(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = fs::read(&path).unwrap();
    let h = parse_header(&bytes, Some(bytes.len() as u64)).unwrap();
    assert_eq!(h.block_count(), Some(3));
    assert_eq!(h.tensor("blk.2.attn_k.weight").unwrap().dims, [512, 256]);
    assert_eq!(h.tensor("blk.0.ffn_down.weight").unwrap().dims, [768, 512]);
    assert_eq!(
        h.tensor("blk.0.attn_q.weight").unwrap().ggml_type,
        GgmlType::Q4_K
    );
    assert_eq!(h.tensor("output.weight").unwrap().ggml_type, GgmlType::Q6_K);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn cli_bad_arguments_exit_2_with_usage() {
    let dir = temp_dir("bad");
    let out_path = dir.join("x.gguf");
    let out = out_path.to_str().unwrap();
    for args in [
        &["--preset", "huge", "--seed", "1", "--out", out][..],
        &["--preset", "tiny", "--out", out],
        &["--preset", "tiny", "--seed", "x", "--out", out],
        &[
            "--preset", "tiny", "--seed", "1", "--out", out, "--layers", "3",
        ],
        &[
            "--preset", "custom", "--heads", "3", "--seed", "1", "--out", out,
        ],
        &[
            "--preset", "custom", "--type", "q5_k", "--seed", "1", "--out", out,
        ],
        &["--preset", "tiny", "--seed", "1", "--out"],
        &["--bogus", "1"],
    ] {
        let o = synth(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("usage:"),
            "{args:?}"
        );
    }
    assert!(!out_path.exists());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn cli_dry_run_prints_the_layout_and_writes_nothing() {
    let out = synth(&["--preset", "llama-7b-q4_k", "--seed", "1", "--dry-run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let layout = SynthModel::new(&Preset::Llama7bQ4K.config(), 1)
        .unwrap()
        .layout()
        .unwrap();
    assert!(
        stdout.contains(&format!("{} bytes, 291 tensors", layout.file_len)),
        "{stdout}"
    );
}

// ---- other architectures ------------------------------------------------------------------------

/// The small preset `p` written with seed 1 and parsed back.
fn preset_header(p: Preset) -> (Vec<u8>, gguf64::gguf::Header) {
    let bytes = SynthModel::new(&p.config(), 1)
        .unwrap()
        .write_to(Vec::new(), |_, _| {})
        .unwrap();
    let h = parse_header(&bytes, Some(bytes.len() as u64)).expect("parses");
    (bytes, h)
}

fn dims(h: &gguf64::gguf::Header, name: &str) -> Vec<u64> {
    h.tensor(name)
        .unwrap_or_else(|| panic!("no tensor {name}"))
        .dims
        .clone()
}

/// F32 tensor `name`'s values.
fn f32_values(bytes: &[u8], h: &gguf64::gguf::Header, name: &str) -> Vec<f32> {
    let t = h.tensor(name).unwrap();
    assert_eq!(t.ggml_type, GgmlType::F32);
    let start = (h.data_offset + t.offset) as usize;
    let (values, _) = bytes[start..start + 4 * t.n_elements as usize].as_chunks::<4>();
    values.iter().map(|&b| f32::from_le_bytes(b)).collect()
}

/// Shapes from llama.cpp's `load_arch_tensors` (src/models/<arch>.cpp) for each tiny preset:
/// 256 wide, ff 512, 4 heads, 2 KV heads, vocab 512.
#[test]
fn each_architecture_has_llama_cpp_tensor_names_and_shapes() {
    let (_, h) = preset_header(Preset::TinyQwen2);
    assert_eq!(h.architecture(), Some("qwen2"));
    assert_eq!(dims(&h, "blk.1.attn_q.bias"), [256]);
    assert_eq!(dims(&h, "blk.1.attn_k.bias"), [128]);
    assert_eq!(dims(&h, "blk.1.attn_v.bias"), [128]);
    assert_eq!(h.metadata.get_f32("qwen2.rope.freq_base"), Some(1e6));

    // Qwen3: heads of 128, so q is 512 wide, not 256; per-head norms.
    let (_, h) = preset_header(Preset::TinyQwen3);
    assert_eq!(h.architecture(), Some("qwen3"));
    assert_eq!(h.metadata.get_u64("qwen3.attention.key_length"), Some(128));
    assert_eq!(dims(&h, "blk.0.attn_q.weight"), [256, 512]);
    assert_eq!(dims(&h, "blk.0.attn_k.weight"), [256, 256]);
    assert_eq!(dims(&h, "blk.0.attn_output.weight"), [512, 256]);
    assert_eq!(dims(&h, "blk.0.attn_q_norm.weight"), [128]);
    assert_eq!(dims(&h, "blk.0.attn_k_norm.weight"), [128]);
    assert!(h.tensor("blk.0.attn_q.bias").is_none());

    // Phi-3: fused q|k|v (256 + 2 * 128) and gate|up (2 * 512); LongRoPE factors of 64 / 2.
    let (bytes, h) = preset_header(Preset::TinyPhi3);
    assert_eq!(h.architecture(), Some("phi3"));
    assert_eq!(dims(&h, "blk.1.attn_qkv.weight"), [256, 512]);
    assert_eq!(dims(&h, "blk.1.ffn_up.weight"), [256, 1024]);
    assert!(h.tensor("blk.1.ffn_gate.weight").is_none());
    assert!(h.tensor("blk.1.attn_q.weight").is_none());
    let long = f32_values(&bytes, &h, "rope_factors_long.weight");
    let short = f32_values(&bytes, &h, "rope_factors_short.weight");
    assert_eq!((long.len(), short.len()), (32, 32));
    assert_ne!(long, short);
    let m = &h.metadata;
    assert_eq!(
        m.get_u64("phi3.rope.scaling.original_context_length"),
        Some(256)
    );
    // The converter's sqrt(1 + ln(8192 / 256) / ln(256)), computed here in f64.
    let attn = (1.0 + (8192.0f64 / 256.0).ln() / 256f64.ln()).sqrt();
    assert!((m.get_f32("phi3.rope.scaling.attn_factor").unwrap() as f64 - attn).abs() < 1e-6);

    // Gemma 2: no output head (llama.cpp always ties it), post norms, soft caps, window.
    let (_, h) = preset_header(Preset::TinyGemma2);
    assert_eq!(h.architecture(), Some("gemma2"));
    assert!(h.tensor("output.weight").is_none());
    assert_eq!(dims(&h, "blk.0.post_attention_norm.weight"), [256]);
    assert_eq!(dims(&h, "blk.0.post_ffw_norm.weight"), [256]);
    assert_eq!(dims(&h, "blk.0.attn_q.weight"), [256, 512]);
    let m = &h.metadata;
    assert_eq!(m.get_f32("gemma2.attn_logit_softcapping"), Some(5.0));
    assert_eq!(m.get_f32("gemma2.final_logit_softcapping"), Some(8.0));
    assert_eq!(m.get_u64("gemma2.attention.sliding_window"), Some(8));

    // Gemma 3: q/k norms, post norms, pattern and the local RoPE base.
    let (_, h) = preset_header(Preset::TinyGemma3);
    assert_eq!(h.architecture(), Some("gemma3"));
    assert!(h.tensor("output.weight").is_none());
    assert_eq!(dims(&h, "blk.1.attn_q_norm.weight"), [128]);
    assert_eq!(dims(&h, "blk.1.post_ffw_norm.weight"), [256]);
    let m = &h.metadata;
    assert_eq!(
        m.get_u64("gemma3.attention.sliding_window_pattern"),
        Some(2)
    );
    assert_eq!(m.get_f32("gemma3.rope.freq_base_swa"), Some(10_000.0));
    assert_eq!(m.get_f32("gemma3.rope.freq_base"), Some(1e6));

    // SmolLM3: llama's tensors under its own name, 4 layers (layer 3 is a NoPE layer in
    // llama.cpp), no rope_freqs and no vocab_size key (llama's converter alone writes it).
    let (_, h) = preset_header(Preset::TinySmolLM3);
    assert_eq!(h.architecture(), Some("smollm3"));
    assert_eq!(h.metadata.get_u64("smollm3.block_count"), Some(4));
    assert_eq!(dims(&h, "blk.3.attn_q.weight"), [256, 256]);
    assert_eq!(dims(&h, "blk.3.attn_k.weight"), [256, 128]);
    assert_eq!(dims(&h, "output.weight"), [256, 512]);
    assert!(h.tensor("rope_freqs.weight").is_none() && h.tensor("blk.0.attn_q_norm.weight").is_none());
    assert!(h.metadata.get("smollm3.vocab_size").is_none());
    assert_eq!(h.metadata.get_f32("smollm3.rope.freq_base"), Some(2e6));

    // Granite: llama's tensors, and the four multipliers under llama.cpp's key names.
    let (_, h) = preset_header(Preset::TinyGranite);
    assert_eq!(h.architecture(), Some("granite"));
    assert_eq!(dims(&h, "blk.1.ffn_gate.weight"), [256, 512]);
    let m = &h.metadata;
    assert_eq!(m.get_f32("granite.embedding_scale"), Some(12.0));
    assert_eq!(m.get_f32("granite.attention.scale"), Some(0.0625));
    assert_eq!(m.get_f32("granite.residual_scale"), Some(0.22));
    assert_eq!(m.get_f32("granite.logit_scale"), Some(2.0));
    assert!(m.get("llama.embedding_scale").is_none() && m.get("granite.vocab_size").is_none());

    // OLMo 2: no attn_norm or ffn_norm; q and k norms as wide as the projections; post norms.
    let (_, h) = preset_header(Preset::TinyOlmo2);
    assert_eq!(h.architecture(), Some("olmo2"));
    assert!(h.tensor("blk.0.attn_norm.weight").is_none() && h.tensor("blk.0.ffn_norm.weight").is_none());
    assert_eq!(dims(&h, "blk.0.attn_q_norm.weight"), [256]);
    assert_eq!(dims(&h, "blk.0.attn_k_norm.weight"), [128]);
    assert_eq!(dims(&h, "blk.1.post_attention_norm.weight"), [256]);
    assert_eq!(dims(&h, "blk.1.post_ffw_norm.weight"), [256]);
    assert_eq!(dims(&h, "output.weight"), [256, 512]);
}

#[test]
fn rope_scaling_variants_write_llama_cpp_keys() {
    let (_, h) = preset_header(Preset::TinyLlamaYarn);
    let m = &h.metadata;
    assert_eq!(m.get_str("llama.rope.scaling.type"), Some("yarn"));
    assert_eq!(m.get_f32("llama.rope.scaling.factor"), Some(4.0));
    assert_eq!(
        m.get_u64("llama.rope.scaling.original_context_length"),
        Some(64)
    );
    let (_, h) = preset_header(Preset::TinyLlamaLinear);
    assert_eq!(h.metadata.get_str("llama.rope.scaling.type"), Some("linear"));
    assert_eq!(h.metadata.get_f32("llama.rope.scaling.factor"), Some(4.0));

    // Llama 3.1: no scaling keys, a rope_freqs tensor. Its values recomputed here from the
    // Llama 3.1 reference rule in f64: wavelength 2*pi*base^(2i/d) below old/high keeps 1,
    // above old/low takes the factor, between interpolates 1 / ((1 - s) / factor + s) with
    // s = (old / wavelength - low) / (high - low). Here d 64, base 500000, factor 8, 1, 4, old 64.
    let (bytes, h) = preset_header(Preset::TinyLlama3);
    assert!(h.metadata.get("llama.rope.scaling.type").is_none());
    let got = f32_values(&bytes, &h, "rope_freqs.weight");
    assert_eq!(got.len(), 32);
    for (i, &g) in got.iter().enumerate() {
        let wavelen = 2.0 * std::f64::consts::PI * 500_000f64.powf(2.0 * i as f64 / 64.0);
        let want = if wavelen < 16.0 {
            1.0
        } else if wavelen > 64.0 {
            8.0
        } else {
            let s = (64.0 / wavelen - 1.0) / 3.0;
            1.0 / ((1.0 - s) / 8.0 + s)
        };
        assert!((g as f64 - want).abs() < 1e-4, "factor {i}: {g} vs {want}");
    }
    assert!(got.iter().any(|&g| g > 1.0 && g < 8.0), "the smooth band is hit");
}

#[test]
fn big_presets_have_the_real_models_shapes_and_exceed_4_gib() {
    for (p, arch, vocab, tensors) in [
        (Preset::Llama3_8bQ4K, "llama", 128_256, 292),
        (Preset::Qwen25_7bQ4K, "qwen2", 152_064, 339),
        (Preset::Gemma2_9bQ4K, "gemma2", 256_000, 464),
    ] {
        let c = p.config();
        assert_eq!((c.arch.name(), c.n_vocab), (arch, vocab));
        let layout = SynthModel::new(&c, 1).unwrap().layout().unwrap();
        assert_eq!(layout.tensors.len(), tensors, "{arch}");
        assert!(layout.file_len > 4 << 30, "{arch}: {}", layout.file_len);
    }
}

/// Every small preset's tensors, dequantized with the reference formulas above: finite, norms
/// near their level, matrices centred with the spread the generator aims at (1/sqrt(ne0),
/// times the embedding gain), biases centred with spread 0.5.
#[test]
fn every_small_preset_has_finite_centred_scaled_weights() {
    for p in Preset::SMALL {
        let c = p.config();
        let (bytes, h) = preset_header(p);
        for t in &h.tensors {
            let start = (h.data_offset + t.offset) as usize;
            let w = dequantize(t.ggml_type, &bytes[start..start + t.n_bytes as usize]);
            let name = format!("{}: {}", p.name(), t.name);
            assert_eq!(w.len() as u64, t.n_elements, "{name}");
            assert!(w.iter().all(|x| x.is_finite()), "{name}: non-finite");
            let (mean, sd) = mean_sd(&w);
            let level = if t.name == "output_norm.weight" { c.output_gain } else { 1.0 };
            if t.name.ends_with("norm.weight") {
                let ok = w.iter().all(|&x| (x - level).abs() <= 0.021 * level);
                assert!(ok, "{name}: a norm weight away from {level}");
                continue;
            }
            if t.name.starts_with("rope_") {
                assert!(w.iter().all(|&x| (1.0..=32.0).contains(&x)), "{name}");
                continue;
            }
            let sigma = if t.name.ends_with(".bias") {
                0.5
            } else if t.name == "token_embd.weight" {
                f64::from(c.embd_gain) / (t.dims[0] as f64).sqrt()
            } else {
                1.0 / (t.dims[0] as f64).sqrt()
            };
            assert!((0.75 * sigma..1.25 * sigma).contains(&sd), "{name}: sd {sd}, aimed at {sigma}");
            // Four standard errors, for short vectors (biases of 128).
            let mean_bound = (0.1 * sigma).max(4.0 * sigma / (w.len() as f64).sqrt());
            assert!(mean.abs() < mean_bound, "{name}: mean {mean}");
        }
    }
}

#[test]
fn cli_arch_starts_from_its_tiny_preset_and_type_overrides_a_preset() {
    let dir = temp_dir("arch");
    let (a, b) = (dir.join("a.gguf"), dir.join("b.gguf"));
    let out = synth(&[
        "--arch", "gemma2", "--layers", "3", "--seed", "1", "--out", a.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = fs::read(&a).unwrap();
    let h = parse_header(&bytes, Some(bytes.len() as u64)).unwrap();
    assert_eq!(h.architecture(), Some("gemma2"));
    assert_eq!(h.block_count(), Some(3));
    assert!(h.tensor("blk.2.post_ffw_norm.weight").is_some());
    assert_eq!(h.metadata.get_f32("gemma2.final_logit_softcapping"), Some(8.0));

    let out = synth(&[
        "--preset", "tiny-phi3", "--type", "f32", "--seed", "1", "--out", b.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bytes = fs::read(&b).unwrap();
    let h = parse_header(&bytes, Some(bytes.len() as u64)).unwrap();
    assert_eq!(h.architecture(), Some("phi3"));
    assert!(h.tensors.iter().all(|t| t.ggml_type == GgmlType::F32));

    for args in [
        &["--arch", "gpt2", "--seed", "1", "--dry-run"][..],
        &["--arch", "qwen3", "--preset", "tiny", "--seed", "1", "--dry-run"],
        &["--preset", "tiny-qwen3", "--layers", "3", "--seed", "1", "--dry-run"],
    ] {
        assert_eq!(synth(args).status.code(), Some(2), "{args:?}");
    }
    let _ = fs::remove_dir_all(&dir);
}
