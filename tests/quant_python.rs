//! Dequantization and Q8_0 activation quantization, bit for bit against Python `gguf.quants`
//! (`tools/golden/quant_golden.py`):
//! * random blocks of every supported type (fixtures in `tests/golden/quant/`);
//! * whole tensors (layer 0 and the last layer) and row slices of the token embeddings of the
//!   two real models, dequantized by Python at test time;
//! * every tensor of synthetic models with every type the generator writes.
//!
//! Python 3 with `gguf` is required: its absence fails the test. Only an absent model file skips
//! (with a notice). `whole_models_match_python` (ignored: about a minute) compares every tensor
//! of both models through SHA-256 digests.

#[path = "support/models.rs"]
mod models;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Command;

use gguf64::digest::Sha256;
use gguf64::gguf::{GgmlType, Header, HeaderParser, Limits, Step, TensorInfo, parse_header};
use gguf64::quant::blocks::BlockQ8_0;
use gguf64::quant::{activation, dequantize_to_vec};
use gguf64::synth::{Preset, QuantPlan, SynthModel};

const SMOLLM: &str = "SmolLM2-135M-Instruct.Q4_1";
const GEMMA: &str = "gemma-3-270m-q4_k_m";
/// Rows taken from each end of a token-embedding matrix.
const EMBD_ROWS: u64 = 64;

// ---- fixtures -------------------------------------------------------------------------------

#[test]
fn random_blocks_of_every_type_match_python() {
    use GgmlType::*;
    for ty in [F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS] {
        let blocks = golden(&format!("{ty}.blocks"));
        let want = f32s(&golden(&format!("{ty}.f32")));
        let got = dequantize_to_vec(ty, &blocks).expect("whole blocks");
        assert_bits_eq(&format!("random {ty} blocks"), &got, &want);
    }
}

#[test]
fn q8_0_activations_match_python_quantize() {
    let x = f32s(&golden("q8_0_act.in.f32"));
    let want = golden("q8_0_act.blocks");
    let got = activation::quantize_q8_0(&x).expect("whole blocks");
    assert_eq!(got.len() * size_of::<BlockQ8_0>(), want.len());
    for (i, (b, w)) in got.iter().zip(want.as_chunks::<34>().0).enumerate() {
        assert_eq!(b.d, w[..2], "block {i} scale");
        let qs: Vec<u8> = b.qs.iter().map(|&q| q as u8).collect();
        assert_eq!(qs, w[2..], "block {i} quants");
    }
}

// ---- real models ----------------------------------------------------------------------------

#[test]
fn smollm2_tensors_match_python() {
    check_model(SMOLLM, &["blk.0.", "blk.29."]);
}

#[test]
fn gemma3_tensors_match_python() {
    check_model(GEMMA, &["blk.0.", "blk.17."]);
}

/// Whole tensors whose names start with one of `layers`, the output norm, and the first and last
/// `EMBD_ROWS` rows of the token embeddings.
fn check_model(name: &str, layers: &[&str]) {
    let Some((mut file, header)) = open_model(name) else {
        return;
    };
    let mut specs = Vec::new();
    for t in &header.tensors {
        if layers.iter().any(|l| t.name.starts_with(l)) || t.name == "output_norm.weight" {
            specs.push((t, 0, rows_of(t)));
        }
    }
    let embd = header.tensor("token_embd.weight").expect("token_embd");
    specs.push((embd, 0, EMBD_ROWS));
    specs.push((embd, rows_of(embd) - EMBD_ROWS, EMBD_ROWS));
    let reads: Vec<_> = specs.iter().map(|&(t, start, n)| read_rows(&mut file, &header, t, start, n)).collect();
    compare_with_python(&model_path(name), &specs, &reads, name);
}

#[test]
fn synthetic_model_with_every_generated_type_matches_python() {
    let types = check_synthetic(&Preset::Tiny.config(), "synth");
    assert!(types.len() >= 6, "the synthetic model has types {types:?}");
}

/// The generator's IQ4 blocks (not in the mixed plan): a tiny model with every matrix in each.
#[test]
fn synthetic_iq4_models_match_python() {
    for ty in [GgmlType::IQ4_NL, GgmlType::IQ4_XS] {
        let mut config = Preset::Tiny.config();
        config.quant = QuantPlan::Uniform(ty);
        let types = check_synthetic(&config, &format!("synth-{ty}"));
        assert!(types.contains(ty.name()), "{ty}: the model has types {types:?}");
    }
}

/// Writes the synthetic model of `config`, dequantizes every tensor with Python and the crate and
/// compares; returns the type names it holds.
fn check_synthetic(config: &gguf64::synth::ModelConfig, what: &str) -> std::collections::BTreeSet<&'static str> {
    let model = SynthModel::new(config, 1).expect("config");
    let bytes = model.write_to(Vec::new(), |_, _| {}).expect("write");
    let path = temp_dir(what).join("model.gguf");
    std::fs::write(&path, &bytes).expect("write model");
    let header = parse_header(&bytes, Some(bytes.len() as u64)).expect("parse");
    let specs: Vec<_> = header.tensors.iter().map(|t| (t, 0, rows_of(t))).collect();
    let base = header.data_offset as usize;
    let reads: Vec<_> =
        header.tensors.iter().map(|t| bytes[base + t.offset as usize..][..t.n_bytes as usize].to_vec()).collect();
    let types = header.tensors.iter().map(|t| t.ggml_type.name()).collect();
    compare_with_python(&path, &specs, &reads, what);
    types
}

/// Dequantizes each (tensor, first row, row count) with Python and with the crate and compares.
fn compare_with_python(model: &Path, specs: &[(&TensorInfo, u64, u64)], reads: &[Vec<u8>], what: &str) {
    let out = temp_dir(what);
    let mut args = vec!["dequant".to_string(), model.display().to_string(), out.display().to_string()];
    args.extend(specs.iter().map(|(t, start, n)| format!("{}:{start}:{n}", t.name)));
    run_python(&args);
    let (mut values, mut blocks) = (0usize, 0u64);
    for (i, ((t, start, n), bytes)) in specs.iter().zip(reads).enumerate() {
        let want = f32s(&std::fs::read(out.join(format!("{i}.f32"))).expect("python output"));
        let got = dequantize_to_vec(t.ggml_type, bytes).expect("whole blocks");
        assert_bits_eq(&format!("{what} {} ({}) rows {start}+{n}", t.name, t.ggml_type), &got, &want);
        values += got.len();
        blocks += bytes.len() as u64 / t.ggml_type.type_size();
    }
    eprintln!("{what}: {} tensor reads, {blocks} blocks, {values} values bit-exact", specs.len());
    let _ = std::fs::remove_dir_all(out);
}

/// Every tensor of both models, compared through SHA-256 digests of the dequantized values.
#[test]
#[ignore = "about a minute: Python dequantizes 400M values"]
fn whole_models_match_python() {
    for name in [SMOLLM, GEMMA] {
        let Some((mut file, header)) = open_model(name) else {
            continue;
        };
        let listing = run_python(&["digests".into(), model_path(name).display().to_string()]);
        let mut checked = 0;
        for (line, t) in listing.lines().zip(&header.tensors) {
            let (mut hasher, mut n_values) = (Sha256::new(), 0usize);
            // 4096 rows at a time: bounded memory for the 262k-row Gemma embeddings.
            for start in (0..rows_of(t)).step_by(4096) {
                let rows = read_rows(&mut file, &header, t, start, 4096.min(rows_of(t) - start));
                let values = dequantize_to_vec(t.ggml_type, &rows).expect("whole blocks");
                n_values += values.len();
                hasher.update(&values.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>());
            }
            assert_eq!(line, format!("{} {n_values} {}", t.name, hasher.finish_hex()), "{name}");
            checked += 1;
        }
        assert_eq!(checked, header.tensors.len(), "{name}: Python listed every tensor");
        eprintln!("{name}: all {checked} tensors bit-exact");
    }
}

// ---- helpers --------------------------------------------------------------------------------

/// Runs `tools/golden/quant_golden.py` and returns its stdout; a missing Python or `gguf` fails loudly.
fn run_python(args: &[String]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/golden/quant_golden.py");
    let out =
        Command::new("python3").arg(&script).args(args).output().unwrap_or_else(|e| {
            panic!("python3 is required for the quantization references (with the gguf package): {e}")
        });
    assert!(
        out.status.success(),
        "{} failed (is the Python gguf package installed?):\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn assert_bits_eq(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: value count");
    let bad: Vec<usize> = (0..got.len()).filter(|&i| got[i].to_bits() != want[i].to_bits()).collect();
    if let Some(&i) = bad.first() {
        panic!("{what}: {} of {} values differ; first at {i}: {} vs Python {}", bad.len(), got.len(), got[i], want[i]);
    }
}

fn golden(file: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/quant").join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (tools/golden/quant_golden.py fixtures)", path.display()))
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.as_chunks::<4>().0.iter().map(|b| f32::from_le_bytes(*b)).collect()
}

fn temp_dir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gguf64-quant-{}-{what}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn model_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models").join(format!("{name}.gguf"))
}

/// Rows of ne0 elements (every dimension past the first, multiplied).
fn rows_of(t: &TensorInfo) -> u64 {
    t.dims.iter().skip(1).product()
}

/// The open model and its header, or `None` (with a notice) if the file is absent.
fn open_model(name: &str) -> Option<(File, Header)> {
    let path = model_path(name);
    let Ok(mut file) = File::open(&path) else {
        models::absent(&path);
        return None;
    };
    let len = file.metadata().expect("metadata").len();
    let (mut parser, mut prefix) = (HeaderParser::new(Limits::default()), Vec::new());
    loop {
        if let Step::Done(header) = parser.advance(&prefix, Some(len)).expect("header") {
            return Some((file, header));
        }
        let mut chunk = vec![0; 1 << 20];
        let n = file.read(&mut chunk).expect("read");
        assert!(n > 0, "{}: file ended inside the header", path.display());
        prefix.extend_from_slice(&chunk[..n]);
    }
}

/// The bytes of rows `start..start + n` of `t`.
fn read_rows(file: &mut File, header: &Header, t: &TensorInfo, start: u64, n: u64) -> Vec<u8> {
    let row_bytes = t.ggml_type.bytes_for(t.ne(0)).expect("whole blocks per row");
    file.seek(SeekFrom::Start(header.data_offset + t.offset + start * row_bytes)).expect("seek");
    let mut bytes = vec![0; (n * row_bytes) as usize];
    file.read_exact(&mut bytes).expect("read tensor");
    bytes
}
