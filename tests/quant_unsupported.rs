//! A model whose forward pass would read a tensor of a type without kernels (IQ2_XXS here) is
//! refused from its header, before any weight byte is taken, with a typed error naming the
//! tensor and the type; the same file with a supported type (IQ4_XS) in that place plans.

use gguf64::error_code::ErrorCode;
use gguf64::gguf::{GgmlType, HeaderLayout, Limits, layout_header};
use gguf64::loader::{LoadError, StreamLoad};
use gguf64::memory::{PlanLimits, Target};
use gguf64::model::ModelError;
use gguf64::synth::{Preset, SynthModel};

const TENSOR: &str = "blk.1.ffn_down.weight";

/// The header of the tiny synthetic llama with `TENSOR` declared as `ty` (ne0 = 512: whole
/// blocks of every 256-element type).
fn header_with(ty: GgmlType) -> HeaderLayout {
    let model = SynthModel::new(&Preset::Tiny.config(), 1).expect("tiny config");
    let mut specs = model.specs();
    specs.iter_mut().find(|s| s.name == TENSOR).expect("tensor in the plan").ggml_type = ty;
    layout_header(model.metadata(), &specs).expect("layout")
}

/// Feeds the header bytes (everything before the tensor data) in 100-byte pieces, as the JS
/// shim would; returns the first error and how many bytes had been taken by then.
fn feed_header(layout: &HeaderLayout) -> (StreamLoad, Option<LoadError>) {
    let mut load = StreamLoad::new(Some(layout.file_len), Limits::default(), PlanLimits::for_target(Target::Wasm64));
    let bytes = &layout.bytes[..layout.data_offset as usize];
    let mut at = 0;
    while at < bytes.len() {
        let dest = match load.dest(0, 100.min(bytes.len() - at) as u64) {
            Ok(gguf64::loader::Dest::Bytes(d)) => d,
            Ok(other) => panic!("header bytes sent to {other:?}"),
            Err(e) => return (load, Some(e)),
        };
        let n = dest.len();
        dest.copy_from_slice(&bytes[at..at + n]);
        match load.commit(0, n as u64) {
            Ok(kept) => at += kept as usize,
            Err(e) => return (load, Some(e)),
        }
    }
    (load, None)
}

#[test]
fn unsupported_type_fails_at_the_header_naming_tensor_and_type() {
    let layout = header_with(GgmlType::IQ2_XXS);
    let (load, err) = feed_header(&layout);
    let err = err.expect("the header alone must be refused");
    assert!(load.received() <= layout.data_offset, "refused after {} bytes, past the header", load.received());
    assert!(load.placed().is_none(), "nothing planned or allocated");
    match &err {
        LoadError::Model(ModelError::UnsupportedType { name, ty }) => {
            assert_eq!((name.as_str(), *ty), (TENSOR, GgmlType::IQ2_XXS));
        }
        other => panic!("expected UnsupportedType, got {other:?}"),
    }
    assert_eq!(err.code(), ErrorCode::ModelUnsupported);
    let text = err.to_string();
    assert!(text.contains(TENSOR) && text.contains("IQ2_XXS"), "{text}");
}

#[test]
fn supported_iq4_types_plan_from_the_header() {
    for ty in [GgmlType::IQ4_XS, GgmlType::IQ4_NL] {
        let layout = header_with(ty);
        let (load, err) = feed_header(&layout);
        assert!(err.is_none(), "{ty}: {err:?}");
        let placed = load.placed().expect("planned once the header is in");
        assert_eq!(placed.header().tensor(TENSOR).map(|t| t.ggml_type), Some(ty));
    }
}
