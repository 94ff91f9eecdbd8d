//! The streaming load on real files: fed in uneven chunks, every tensor byte lands at its place.

use std::fs;
use std::path::PathBuf;

use gguf64::gguf::{GgufError, Limits};
use gguf64::loader::{LoadError, StreamLoad};

fn model(name: &str) -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models").join(name);
    match fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            eprintln!("skipped: {} is absent (tools/fetch-models.sh fetches it)", path.display());
            None
        }
    }
}

/// Feeds `bytes` through `dest`/`commit` in chunks whose sizes cycle through `sizes`.
fn feed(load: &mut StreamLoad, bytes: &[u8], sizes: &[usize]) -> Result<(), LoadError> {
    let mut at = 0;
    let mut i = 0;
    while at < bytes.len() {
        let chunk = &bytes[at..(at + sizes[i % sizes.len()]).min(bytes.len())];
        i += 1;
        let mut done = 0;
        while done < chunk.len() {
            let dest = load.dest((chunk.len() - done) as u64)?;
            let n = dest.len();
            assert!(n > 0, "dest offered no room at byte {}", at + done);
            dest.copy_from_slice(&chunk[done..done + n]);
            load.commit(n as u64)?;
            done += n;
        }
        at += chunk.len();
    }
    Ok(())
}

#[test]
fn smollm2_streams_into_place_in_odd_chunks() {
    let Some(bytes) = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return };
    for sizes in [&[65536][..], &[1, 7, 4093, 100_003], &[3 << 20]] {
        let mut load = StreamLoad::new(Some(bytes.len() as u64), Limits::default());
        feed(&mut load, &bytes, sizes).unwrap();
        let file = load.finish().unwrap();
        let start = file.header.data_offset as usize;
        assert_eq!(file.file_len, bytes.len() as u64);
        assert_eq!(file.header.tensors.len(), 272);
        assert!(file.data.as_slice() == &bytes[start..], "tensor data differs (chunks {sizes:?})");
    }
}

#[test]
fn gemma3_streams_without_a_known_length() {
    let Some(bytes) = model("gemma-3-270m-q4_k_m.gguf") else { return };
    let mut load = StreamLoad::new(None, Limits::default());
    feed(&mut load, &bytes, &[64 << 10, 12345]).unwrap();
    let file = load.finish().unwrap();
    assert_eq!(file.header.architecture(), Some("gemma3"));
    assert!(file.data.as_slice() == &bytes[file.header.data_offset as usize..]);
}

#[test]
fn a_body_cut_short_is_truncated() {
    let Some(bytes) = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return };
    let cut = &bytes[..bytes.len() - 1000];
    let mut load = StreamLoad::new(None, Limits::default());
    feed(&mut load, cut, &[1 << 20]).unwrap();
    let err = load.finish().err().unwrap();
    assert!(matches!(err, LoadError::Truncated { received, expected }
        if received == cut.len() as u64 && expected == bytes.len() as u64), "{err:?}");
}

#[test]
fn a_body_cut_inside_the_header_is_truncated() {
    let Some(bytes) = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return };
    let mut load = StreamLoad::new(None, Limits::default());
    feed(&mut load, &bytes[..5000], &[1000]).unwrap();
    assert!(matches!(load.finish(), Err(LoadError::Truncated { received: 5000, .. })));
}

#[test]
fn extra_bytes_after_the_last_tensor_are_refused() {
    let Some(mut bytes) = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return };
    let len = bytes.len() as u64;
    bytes.extend_from_slice(&[0u8; 100]);
    let mut load = StreamLoad::new(None, Limits::default());
    let err = feed(&mut load, &bytes, &[1 << 20]).err().unwrap();
    assert!(matches!(err, LoadError::TrailingBytes { offset, expected } if offset == len && expected == len), "{err:?}");
}

#[test]
fn an_announced_length_that_disagrees_with_the_header_is_refused() {
    let Some(bytes) = model("SmolLM2-135M-Instruct.Q4_1.gguf") else { return };
    let mut load = StreamLoad::new(Some(bytes.len() as u64 + 5), Limits::default());
    let err = feed(&mut load, &bytes, &[1 << 16]).err().unwrap();
    let expected = bytes.len() as u64;
    assert!(matches!(err, LoadError::LengthMismatch { announced, expected: e } if announced == expected + 5 && e == expected), "{err:?}");
}

#[test]
fn a_header_larger_than_the_limit_is_refused() {
    let Some(bytes) = model("gemma-3-270m-q4_k_m.gguf") else { return };
    let limits = Limits { max_header_bytes: 1 << 20, ..Limits::default() };
    let mut load = StreamLoad::new(None, limits);
    let err = feed(&mut load, &bytes[..4 << 20], &[1 << 16]).err().unwrap();
    // The parser sees first that the 262144-token array cannot fit under the cap.
    assert!(matches!(err, LoadError::Gguf(GgufError::CountTooLarge { .. }) | LoadError::HeaderTooLarge { .. }), "{err:?}");
}

#[test]
fn committing_more_than_reserved_is_refused() {
    let mut load = StreamLoad::new(None, Limits::default());
    let n = load.dest(10).unwrap().len() as u64;
    assert!(matches!(load.commit(n + 1), Err(LoadError::CommitTooLarge { .. })));
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
    let header = gguf64::gguf::parse_header(&bytes, Some(bytes.len() as u64)).unwrap();
    (bytes, header.data_offset + header.data_len)
}

#[test]
fn the_alignment_padding_after_the_last_tensor_is_accepted() {
    let (bytes, data_end) = padded_file();
    assert!((bytes.len() as u64) > data_end, "the writer pads the last tensor");
    for announced in [Some(bytes.len() as u64), None] {
        let mut load = StreamLoad::new(announced, Limits::default());
        feed(&mut load, &bytes, &[5, 64]).unwrap();
        let file = load.finish().unwrap();
        assert_eq!(file.file_len, bytes.len() as u64);
        assert_eq!(&file.data.as_slice()[32..44], &[2u8; 12]);
    }
    // Stopping right after the last tensor, before its padding, is a complete file too.
    let mut load = StreamLoad::new(None, Limits::default());
    feed(&mut load, &bytes[..data_end as usize], &[7]).unwrap();
    assert!(load.finish().is_ok());
    // But not one byte past the padding.
    let mut longer = bytes.clone();
    longer.push(0);
    let mut load = StreamLoad::new(None, Limits::default());
    let err = feed(&mut load, &longer, &[64]).err().unwrap();
    assert!(matches!(err, LoadError::TrailingBytes { offset, .. } if offset == bytes.len() as u64), "{err:?}");
}
