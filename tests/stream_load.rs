//! The streaming load on real files: fed in uneven chunks, every tensor's bytes land at the place
//! the MemoryPlan gives, groups register as they complete, and bad streams are typed errors.

#[path = "support/models.rs"]
mod models;

use std::fs;
use std::path::PathBuf;

use gguf64::gguf::{GgufError, Limits, parse_header};
use gguf64::loader::{Dest, LoadError, LoadedModel, StreamLoad};
use gguf64::memory::{GroupId, LayoutKind, PlanLimits, Target};
use gguf64::quant::interleave;

fn model(name: &str) -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models").join(name);
    match fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            models::absent(&path);
            None
        }
    }
}

fn wasm64() -> PlanLimits {
    PlanLimits::for_target(Target::Wasm64)
}

fn new_load(announced: Option<u64>) -> StreamLoad {
    StreamLoad::new(announced, Limits::default(), wasm64())
}

/// Plays the JS shim: storage memories (1..) owned by the caller, created once the plan is known.
#[derive(Default)]
struct Feeder {
    storage: Vec<Vec<u8>>,
    completed: Vec<GroupId>,
}

impl Feeder {
    /// Feeds `bytes` through `dest`/`commit` in chunks whose sizes cycle through `sizes`.
    fn feed(&mut self, load: &mut StreamLoad, bytes: &[u8], sizes: &[usize]) -> Result<(), LoadError> {
        let (mut at, mut i) = (0, 0);
        while at < bytes.len() {
            let chunk = &bytes[at..(at + sizes[i % sizes.len()]).min(bytes.len())];
            i += 1;
            let mut done = 0;
            while done < chunk.len() {
                let (n, to_storage) = self.write(load.dest(0, (chunk.len() - done) as u64)?, &chunk[done..]);
                assert!(n > 0, "dest offered no room at byte {}", at + done);
                if to_storage && load.hashes_storage(0) {
                    load.hash_storage_piece(0, &chunk[done..done + n]);
                }
                done += load.commit(0, n as u64)? as usize;
                if self.storage.is_empty()
                    && let Some(p) = load.placed()
                {
                    self.storage = p.plan.memories[1..].iter().map(|m| vec![0; m.bytes as usize]).collect();
                }
                self.completed.extend(load.take_completed());
            }
            at += chunk.len();
        }
        Ok(())
    }

    /// Writes to the destination; returns the byte count and whether it went to storage.
    fn write(&mut self, dest: Dest<'_>, src: &[u8]) -> (usize, bool) {
        match dest {
            Dest::Bytes(slice) => {
                let n = slice.len();
                slice.copy_from_slice(&src[..n]);
                (n, false)
            }
            Dest::Storage { memory, offset, len } => {
                let shard = &mut self.storage[memory as usize - 1];
                shard[offset as usize..(offset + len) as usize].copy_from_slice(&src[..len as usize]);
                (len as usize, true)
            }
        }
    }

    /// Every tensor's bytes, wherever the plan put them, equal the file's (in the stored order).
    fn check_tensors(&self, loaded: &LoadedModel, file: &[u8]) {
        let h = loaded.placed.header();
        for t in &h.tensors {
            let reg = loaded.placed.registry.tensor(&t.name).expect("every tensor is registered");
            let mem = if reg.memory == 0 { loaded.placed.main.as_slice() } else { &self.storage[reg.memory as usize - 1][..] };
            let got = &mem[reg.offset as usize..(reg.offset + reg.n_bytes) as usize];
            let mut want = file[(h.data_offset + t.offset) as usize..][..t.n_bytes as usize].to_vec();
            // The main memory holds the interleaved order of the types that take it.
            if reg.memory == 0 {
                interleave::to_stored_order(t.ggml_type, t.dims[0], &mut want, &mut Vec::new());
            }
            assert!(got == want, "bytes of {} differ", t.name);
            assert_eq!(reg.offset % 64, 0, "{} is not 64-byte aligned", t.name);
        }
    }
}

#[test]
fn smollm2_streams_into_place_in_odd_chunks() {
    let Some(bytes) = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return };
    for sizes in [&[65536][..], &[1, 7, 4093, 100_003], &[3 << 20]] {
        let mut load = new_load(Some(bytes.len() as u64));
        let mut feeder = Feeder::default();
        feeder.feed(&mut load, &bytes, sizes).unwrap();
        let loaded = load.finish().unwrap();
        assert_eq!(loaded.file_len, bytes.len() as u64);
        assert_eq!(loaded.placed.plan.kind, LayoutKind::Standard);
        feeder.check_tensors(&loaded, &bytes);
        // Registered in file order (this file stores layers as 0, 1, 10, 11, …): embeddings
        // first, then each of the 30 layers once, the output norm last.
        assert_eq!(feeder.completed.len(), 32, "chunks {sizes:?}");
        assert_eq!(feeder.completed[0], GroupId::Embeddings);
        assert_eq!(feeder.completed[31], GroupId::Output);
        let mut layers = feeder.completed[1..31].to_vec();
        layers.sort();
        assert_eq!(layers, (0..30).map(GroupId::Layer).collect::<Vec<_>>());
    }
}

#[test]
fn a_layer_registers_the_moment_its_last_byte_lands() {
    let Some(bytes) = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return };
    let h = parse_header(&bytes, None).unwrap();
    let layer0_end = h.tensors.iter().filter(|t| t.name.starts_with("blk.0.")).map(|t| h.data_offset + t.end()).max().unwrap() as usize;
    let mut load = new_load(None);
    let mut feeder = Feeder::default();
    feeder.feed(&mut load, &bytes[..layer0_end - 1], &[1 << 16]).unwrap();
    assert!(!feeder.completed.contains(&GroupId::Layer(0)), "layer 0 registered one byte early");
    feeder.feed(&mut load, &bytes[layer0_end - 1..layer0_end], &[1]).unwrap();
    assert_eq!(feeder.completed.last(), Some(&GroupId::Layer(0)));
}

#[test]
fn a_paged_plan_sends_layers_to_storage_memories() {
    let Some(bytes) = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return };
    let limits = PlanLimits { shard_cap: 20_000_000, layer_budget: Some(10_000_000), ..wasm64() };
    let mut load = StreamLoad::new(None, Limits::default(), limits);
    let mut feeder = Feeder::default();
    feeder.feed(&mut load, &bytes, &[1 << 20, 999]).unwrap();
    let loaded = load.finish().unwrap();
    assert_eq!(loaded.placed.plan.kind, LayoutKind::Multi);
    assert!(feeder.storage.len() >= 4, "{} storage memories", feeder.storage.len());
    feeder.check_tensors(&loaded, &bytes);
    let reg = &loaded.placed.registry;
    assert!(reg.iter().filter(|g| matches!(g.id, GroupId::Layer(_))).all(|g| g.memory > 0));
    assert_eq!(reg.get(GroupId::Embeddings).unwrap().memory, 0);
}

#[test]
fn gemma3_streams_without_a_known_length() {
    let Some(bytes) = model("gemma-3-270m-q4_k_m.gguf") else { return };
    let mut load = new_load(None);
    let mut feeder = Feeder::default();
    feeder.feed(&mut load, &bytes, &[64 << 10, 12345]).unwrap();
    let loaded = load.finish().unwrap();
    assert_eq!(loaded.placed.header().architecture(), Some("gemma3"));
    feeder.check_tensors(&loaded, &bytes);
    assert_eq!(feeder.completed.len(), 18 + 2);
}

#[test]
fn a_body_cut_short_is_truncated() {
    let Some(bytes) = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return };
    let cut = &bytes[..bytes.len() - 1000];
    let mut load = new_load(None);
    Feeder::default().feed(&mut load, cut, &[1 << 20]).unwrap();
    let err = load.finish().err().unwrap();
    assert!(matches!(err, LoadError::Truncated { received, expected }
        if received == cut.len() as u64 && expected == bytes.len() as u64), "{err:?}");
}

#[test]
fn a_body_cut_inside_the_header_is_truncated() {
    let Some(bytes) = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return };
    let mut load = new_load(None);
    Feeder::default().feed(&mut load, &bytes[..5000], &[1000]).unwrap();
    assert!(matches!(load.finish(), Err(LoadError::Truncated { received: 5000, .. })));
}

#[test]
fn extra_bytes_after_the_last_tensor_are_refused() {
    let Some(mut bytes) = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return };
    let len = bytes.len() as u64;
    bytes.extend_from_slice(&[0u8; 100]);
    let mut load = new_load(None);
    let err = Feeder::default().feed(&mut load, &bytes, &[1 << 20]).err().unwrap();
    assert!(matches!(err, LoadError::TrailingBytes { offset, expected } if offset == len && expected == len), "{err:?}");
}

#[test]
fn an_announced_length_that_disagrees_with_the_header_is_refused() {
    let Some(bytes) = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return };
    let mut load = new_load(Some(bytes.len() as u64 + 5));
    let err = Feeder::default().feed(&mut load, &bytes, &[1 << 16]).err().unwrap();
    let expected = bytes.len() as u64;
    assert!(matches!(err, LoadError::LengthMismatch { announced, expected: e } if announced == expected + 5 && e == expected), "{err:?}");
}

#[test]
fn a_header_larger_than_the_limit_is_refused() {
    let Some(bytes) = model("gemma-3-270m-q4_k_m.gguf") else { return };
    let limits = Limits { max_header_bytes: 1 << 20, ..Limits::default() };
    let mut load = StreamLoad::new(None, limits, wasm64());
    let err = Feeder::default().feed(&mut load, &bytes[..4 << 20], &[1 << 16]).err().unwrap();
    // The parser sees first that the 262144-token array cannot fit under the cap.
    assert!(matches!(err, LoadError::Gguf(GgufError::CountTooLarge { .. }) | LoadError::HeaderTooLarge { .. }), "{err:?}");
}

#[test]
fn a_model_that_cannot_be_placed_is_a_plan_error() {
    let Some(bytes) = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return };
    let limits = PlanLimits { layer_budget: Some(1000), ..wasm64() };
    let mut load = StreamLoad::new(None, Limits::default(), limits);
    let err = Feeder::default().feed(&mut load, &bytes, &[1 << 20]).err().unwrap();
    assert!(matches!(err, LoadError::Plan(_)), "{err:?}");
    assert_eq!(err.code().as_str(), "DOES_NOT_FIT");
}

#[test]
fn committing_more_than_reserved_is_refused() {
    let mut load = new_load(None);
    let n = load.dest(0, 10).unwrap().len();
    assert!(matches!(load.commit(0, n + 1), Err(LoadError::CommitTooLarge { .. })));
}

/// A file written the way ggml writes it: the last tensor (12 bytes) padded to the alignment.
fn padded_file() -> (Vec<u8>, u64) {
    use gguf64::gguf::{GgmlType, GgufWriter, Metadata, TensorSpec, Value};
    let mut meta = Metadata::new();
    meta.insert("general.architecture".into(), Value::String("llama".into())).unwrap();
    let specs = [TensorSpec::new("a", &[8], GgmlType::F32), TensorSpec::new("b", &[3], GgmlType::F32)];
    let mut w = GgufWriter::new(Vec::new(), &meta, &specs).unwrap();
    w.write_tensor_data("a", &[1u8; 32]).unwrap();
    w.write_tensor_data("b", &[2u8; 12]).unwrap();
    let bytes = w.finish().unwrap();
    let header = parse_header(&bytes, Some(bytes.len() as u64)).unwrap();
    (bytes, header.data_offset + header.data_len)
}

#[test]
fn the_alignment_padding_after_the_last_tensor_is_accepted() {
    let (bytes, data_end) = padded_file();
    assert!((bytes.len() as u64) > data_end, "the writer pads the last tensor");
    for announced in [Some(bytes.len() as u64), None] {
        let mut load = new_load(announced);
        Feeder::default().feed(&mut load, &bytes, &[5, 64]).unwrap();
        let loaded = load.finish().unwrap();
        assert_eq!(loaded.file_len, bytes.len() as u64);
        assert_eq!(loaded.main_tensor_bytes("b"), Some(&[2u8; 12][..]));
    }
    // Stopping right after the last tensor, before its padding, is a complete file too.
    let mut load = new_load(None);
    Feeder::default().feed(&mut load, &bytes[..data_end as usize], &[7]).unwrap();
    assert!(load.finish().is_ok());
    // But not one byte past the padding.
    let mut longer = bytes.clone();
    longer.push(0);
    let mut load = new_load(None);
    let err = Feeder::default().feed(&mut load, &longer, &[64]).err().unwrap();
    assert!(matches!(err, LoadError::TrailingBytes { offset, .. } if offset == bytes.len() as u64), "{err:?}");
}

/// SHA-256 of SmolLM2-135M-Instruct.Q4_1.gguf, as tools/dev/fetch-models.sh checks it.
const SMOLLM_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

fn digest_bytes(hex: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

#[test]
fn the_file_digest_is_checked_while_streaming_in_every_layout() {
    let Some(bytes) = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return };
    let paged = PlanLimits { shard_cap: 20_000_000, layer_budget: Some(10_000_000), ..wasm64() };
    for limits in [wasm64(), paged] {
        let mut load = StreamLoad::new(None, Limits::default(), limits.clone());
        load.verify_sha256(0, digest_bytes(SMOLLM_SHA256));
        Feeder::default().feed(&mut load, &bytes, &[65536, 77]).unwrap();
        assert!(load.finish().is_ok());
    }
    let mut wrong = digest_bytes(SMOLLM_SHA256);
    wrong[31] ^= 1;
    let mut load = new_load(None);
    load.verify_sha256(0, wrong);
    Feeder::default().feed(&mut load, &bytes, &[1 << 20]).unwrap();
    let err = load.finish().err().unwrap();
    assert!(matches!(&err, LoadError::DigestMismatch { found, .. } if found == SMOLLM_SHA256), "{err:?}");
    assert_eq!(err.code().as_str(), "INTEGRITY");
}
