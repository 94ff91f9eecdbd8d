//! Split models: SmolLM2 re-written as three `gguf-split`-style parts must resolve, tensor by
//! tensor, to the same bytes as the original file.

#[path = "support/models.rs"]
mod models;

use std::fs;
use std::path::PathBuf;

use gguf64::gguf::{GgufWriter, Header, Metadata, ModelView, SplitError, TensorSpec, Value, parse_header, split_keys};

fn smollm() -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    fs::read(&path).map_err(|_| models::absent(&path)).ok()
}

/// Writes part `no` of `count`: the tensors `names` with their original bytes; part 0 also
/// carries the model metadata, as gguf-split does.
fn write_part(src: &Header, bytes: &[u8], no: u16, count: u16, names: &[&str]) -> Vec<u8> {
    let mut meta = Metadata::new();
    if no == 0 {
        for (k, v) in src.metadata.iter() {
            meta.insert(k.to_string(), v.clone()).unwrap();
        }
    }
    meta.insert("split.no".into(), Value::U16(no)).unwrap();
    meta.insert("split.count".into(), Value::U16(count)).unwrap();
    meta.insert("split.tensors.count".into(), Value::I32(src.tensors.len() as i32)).unwrap();
    let infos: Vec<_> = names.iter().map(|n| src.tensor(n).unwrap()).collect();
    let specs: Vec<TensorSpec> = infos.iter().map(|t| TensorSpec::new(&t.name, &t.dims, t.ggml_type)).collect();
    let mut w = GgufWriter::new(Vec::new(), &meta, &specs).unwrap();
    for t in &infos {
        let start = (src.data_offset + t.offset) as usize;
        w.write_tensor_data(&t.name, &bytes[start..start + t.n_bytes as usize]).unwrap();
    }
    w.finish().unwrap()
}

/// Which part a tensor goes to: non-layer tensors and layers 0-9 to part 0, 10-19 to 1, 20-29 to 2.
fn part_of(name: &str) -> usize {
    let layer = name.strip_prefix("blk.").and_then(|r| r.split('.').next()?.parse::<usize>().ok());
    layer.map_or(0, |l| l / 10)
}

/// The original header and its three parts.
fn three_parts(bytes: &[u8]) -> (Header, Vec<Vec<u8>>) {
    let src = parse_header(bytes, Some(bytes.len() as u64)).unwrap();
    let mut names: Vec<Vec<&str>> = vec![Vec::new(); 3];
    for t in &src.tensors {
        names[part_of(&t.name)].push(&t.name);
    }
    let parts = (0..3).map(|no| write_part(&src, bytes, no as u16, 3, &names[no])).collect();
    (src, parts)
}

fn headers(parts: &[Vec<u8>]) -> Vec<Header> {
    parts.iter().map(|p| parse_header(p, Some(p.len() as u64)).unwrap()).collect()
}

#[test]
fn a_split_model_resolves_every_tensor_to_the_original_bytes() {
    let Some(bytes) = smollm() else { return };
    let (src, parts) = three_parts(&bytes);
    // Given in a scrambled order, the view still orders parts by split.no.
    let mut given = headers(&parts);
    given.swap(0, 2);
    let view = ModelView::new(given).unwrap();
    assert_eq!(view.n_tensors(), src.tensors.len());
    assert_eq!(view.header().architecture(), Some("llama"));
    assert_eq!(view.header().block_count(), Some(30));
    for t in &src.tensors {
        let (info, loc) = view.tensor(&t.name).unwrap();
        assert_eq!((&info.dims, info.ggml_type), (&t.dims, t.ggml_type), "{}", t.name);
        let want = &bytes[(src.data_offset + t.offset) as usize..][..t.n_bytes as usize];
        let got = &parts[loc.file][loc.offset as usize..][..info.n_bytes as usize];
        assert!(want == got, "bytes of {} differ", t.name);
        assert_eq!(loc.file, part_of(&t.name), "{} is in the wrong part", t.name);
    }
    assert_eq!(split_keys(&view.parts[1]).unwrap().unwrap().no, 1);
}

#[test]
fn incomplete_or_inconsistent_part_sets_are_typed_errors() {
    let Some(bytes) = smollm() else { return };
    let (_, parts) = three_parts(&bytes);
    let h = headers(&parts);
    let missing = vec![h[0].clone(), h[1].clone()];
    assert!(matches!(ModelView::new(missing), Err(SplitError::Inconsistent { count: 3, files: 2 })));
    let repeated = vec![h[0].clone(), h[1].clone(), h[1].clone()];
    assert!(matches!(ModelView::new(repeated), Err(SplitError::BadPart { no: 1, count: 3 })));
    let original = parse_header(&bytes, None).unwrap();
    let mixed = vec![original.clone(), h[1].clone(), h[2].clone()];
    assert!(matches!(ModelView::new(mixed), Err(SplitError::NotSplit { files: 3 })));
    // An unsplit file is a view of one part.
    assert_eq!(ModelView::new(vec![original]).unwrap().n_tensors(), 272);
}

mod streaming {
    use super::*;
    use gguf64::gguf::Limits;
    use gguf64::loader::{Dest, LoadError, StreamLoad};
    use gguf64::memory::{GroupId, PlanLimits, Target};
    use gguf64::quant::interleave;

    /// Feeds `bytes[from..]` of part `part` in chunks of `chunk`, writing storage into `storage`.
    /// Stops early, as the browser shim does, once a header is complete when `header_only`.
    fn feed(load: &mut StreamLoad, part: usize, bytes: &[u8], from: usize, chunk: usize, storage: &mut [Vec<u8>], header_only: bool) -> Result<(), LoadError> {
        let mut at = from;
        while at < bytes.len() {
            if header_only && load.header_complete(part) {
                return Ok(());
            }
            let piece = &bytes[at..(at + chunk).min(bytes.len())];
            let mut done = 0;
            while done < piece.len() && !(header_only && load.header_complete(part)) {
                let n = match load.dest(part, (piece.len() - done) as u64)? {
                    Dest::Bytes(slice) => {
                        let n = slice.len();
                        slice.copy_from_slice(&piece[done..done + n]);
                        n
                    }
                    Dest::Storage { memory, offset, len } => {
                        let mem = &mut storage[memory as usize - 1];
                        mem[offset as usize..(offset + len) as usize].copy_from_slice(&piece[done..done + len as usize]);
                        len as usize
                    }
                };
                done += load.commit(part, n as u64)? as usize;
            }
            at += done;
            if done == 0 {
                break;
            }
        }
        Ok(())
    }

    #[test]
    fn a_split_model_streams_headers_first_then_parts_into_one_plan() {
        let Some(bytes) = smollm() else { return };
        let (src, parts) = three_parts(&bytes);
        let limits = PlanLimits { shard_cap: 20_000_000, layer_budget: Some(10_000_000), ..PlanLimits::for_target(Target::Wasm64) };
        let mut load = StreamLoad::split(&[None, None, None], Limits::default(), limits);
        let mut storage = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            feed(&mut load, i, p, 0, 1 << 20, &mut storage, true).unwrap();
            assert!(load.header_complete(i));
        }
        let placed = load.placed().expect("planned once every header is known");
        storage = placed.plan.memories[1..].iter().map(|m| vec![0; m.bytes as usize]).collect();
        // Data of the parts in reverse order, each from where its stream stands.
        for i in (0..3).rev() {
            let from = load.position(i) as usize;
            feed(&mut load, i, &parts[i], from, 999_999, &mut storage, false).unwrap();
        }
        let completed = load.take_completed();
        assert_eq!(completed.len(), 32);
        assert!(completed.contains(&GroupId::Layer(29)) && completed.contains(&GroupId::Embeddings));
        let loaded = load.finish().unwrap();
        assert_eq!(loaded.file_len, parts.iter().map(|p| p.len() as u64).sum::<u64>());
        for t in &src.tensors {
            let reg = loaded.placed.registry.tensor(&t.name).unwrap();
            let mem = if reg.memory == 0 { loaded.placed.main.as_slice() } else { &storage[reg.memory as usize - 1][..] };
            let got = &mem[reg.offset as usize..][..reg.n_bytes as usize];
            let mut want = bytes[(src.data_offset + t.offset) as usize..][..t.n_bytes as usize].to_vec();
            // The main memory holds the interleaved order of the types that take it.
            if reg.memory == 0 {
                interleave::to_stored_order(t.ggml_type, t.dims[0], &mut want, &mut Vec::new());
            }
            assert!(got == want, "bytes of {} differ", t.name);
            assert_eq!(reg.part, part_of(&t.name));
        }
    }

    #[test]
    fn parts_given_out_of_order_are_refused() {
        let Some(bytes) = smollm() else { return };
        let (_, parts) = three_parts(&bytes);
        let mut load = StreamLoad::split(&[None, None, None], Limits::default(), PlanLimits::for_target(Target::Wasm64));
        let mut storage = Vec::new();
        let order = [1usize, 0, 2];
        let mut result = Ok(());
        for (slot, &i) in order.iter().enumerate() {
            result = feed(&mut load, slot, &parts[i], 0, 1 << 20, &mut storage, true);
            if result.is_err() {
                break;
            }
        }
        let Err(err) = result else { panic!("the wrong order is refused when the last header arrives") };
        assert!(matches!(err, LoadError::Split(SplitError::OutOfOrder { position: 0, no: 1 })), "{err:?}");
        assert_eq!(err.code().as_str(), "SPLIT_INVALID");
    }
}
