//! Malformed GGUF headers, built in code, must give typed errors (matched by variant), never
//! panics; truncation at every byte of a real header must give `Truncated` / `NeedMore`.

#[path = "support/models.rs"]
mod models;

use gguf64::gguf::{
    Array, GgufError as E, Header, HeaderParser, Limits, Quantity as Q, Step, parse_header,
    parse_header_with,
};

/// Asserts that a result matches a pattern (guards allowed), printing it if not.
macro_rules! assert_err {
    ($result:expr, $($pattern:tt)+) => {{
        let r = $result;
        assert!(matches!(r, $($pattern)+), "{r:?}");
    }};
}

// ---- a tiny GGUF writer -----------------------------------------------------------------------

const F32: u32 = 0;
const Q4_0: u32 = 2;
const T_U8: u32 = 0;
const T_U32: u32 = 4;
const T_I32: u32 = 5;
const T_BOOL: u32 = 7;
const T_STRING: u32 = 8;
const T_ARRAY: u32 = 9;
const T_U64: u32 = 10;

/// Serialises a GGUF header field by field (little-endian).
struct Gguf(Vec<u8>);

impl Gguf {
    /// Magic, version and counts.
    fn new(version: u32, n_tensors: u64, n_kv: u64) -> Gguf {
        Gguf(b"GGUF".to_vec()).u32(version).u64(n_tensors).u64(n_kv)
    }
    fn raw(mut self, b: &[u8]) -> Gguf {
        self.0.extend_from_slice(b);
        self
    }
    fn u32(self, v: u32) -> Gguf {
        self.raw(&v.to_le_bytes())
    }
    fn u64(self, v: u64) -> Gguf {
        self.raw(&v.to_le_bytes())
    }
    fn str(self, s: &str) -> Gguf {
        self.bytes_str(s.as_bytes())
    }
    fn bytes_str(self, s: &[u8]) -> Gguf {
        self.u64(s.len() as u64).raw(s)
    }
    /// A metadata key and its value type.
    fn key(self, key: &str, ty: u32) -> Gguf {
        self.str(key).u32(ty)
    }
    /// An array head: element type and count.
    fn arr(self, elem: u32, count: u64) -> Gguf {
        self.u32(elem).u64(count)
    }
    fn kv_u32(self, key: &str, v: u32) -> Gguf {
        self.key(key, T_U32).u32(v)
    }
    fn tensor(self, name: &str, dims: &[u64], ty: u32, offset: u64) -> Gguf {
        let g = self.str(name).u32(dims.len() as u32);
        dims.iter().fold(g, |g, &d| g.u64(d)).u32(ty).u64(offset)
    }
    /// Pads to `align` and appends `data_len` zero bytes of tensor data.
    fn data(mut self, align: usize, data_len: usize) -> Vec<u8> {
        let len = self.0.len().next_multiple_of(align) + data_len;
        self.0.resize(len, 0);
        self.0
    }
    fn header(self) -> Vec<u8> {
        self.0
    }
}

/// Two metadata pairs and two F32 tensors of 4 elements (16 bytes) at offsets 0 and 32.
fn minimal() -> Gguf {
    let g = Gguf::new(3, 2, 2).key("general.architecture", T_STRING).str("llama");
    let g = g.kv_u32("llama.block_count", 2);
    g.tensor("a", &[4], F32, 0).tensor("b", &[4], F32, 32)
}

/// A file with one metadata pair `k` of type `ty`; the value is appended by the caller.
fn kv(ty: u32) -> Gguf {
    Gguf::new(3, 0, 1).key("k", ty)
}

/// Parses a whole file (its length is the file length).
fn parse(bytes: &[u8]) -> Result<Header, E> {
    parse_header(bytes, Some(bytes.len() as u64))
}

/// Every cap lifted, so the checks against the bytes left are what stops absurd counts.
fn relaxed() -> Limits {
    let max = u64::MAX;
    let l = Limits { max_header_bytes: max, max_tensors: max, max_kv: max, ..Limits::default() };
    Limits { max_string_len: max, max_array_len: max, ..l }
}

// ---- well-formed input ------------------------------------------------------------------------

#[test]
fn minimal_file_parses() {
    let file = minimal().data(32, 48);
    let h = parse(&file).expect("parse");
    assert_eq!((h.version, h.alignment, h.data_offset % 32), (3, 32, 0));
    assert_eq!((h.data_len, h.file_len()), (48, file.len() as u64));
    assert_eq!((h.architecture(), h.block_count()), (Some("llama"), Some(2)));
    let b = h.tensor("b").expect("tensor b");
    assert_eq!((b.offset, b.n_elements, b.n_bytes, b.ne(1)), (32, 4, 16, 1));
    assert_eq!(parse(&Gguf::new(2, 0, 0).header()).expect("v2").version, 2);
}

#[test]
fn alignment_key_is_honoured() {
    let g = Gguf::new(3, 1, 1).kv_u32("general.alignment", 64);
    let h = parse(&g.tensor("t", &[4], F32, 64).data(64, 80)).expect("parse");
    assert_eq!((h.alignment, h.data_offset % 64), (64, 0));
    let g = Gguf::new(3, 1, 1).kv_u32("general.alignment", 64);
    let r = parse(&g.tensor("t", &[4], F32, 32).data(64, 80));
    assert_err!(r, Err(E::MisalignedTensor { alignment: 64, found: 32, .. }));
}

/// ggml reads a 0-dim tensor as a scalar and allows zero-length dimensions.
#[test]
fn scalar_and_empty_tensors_are_allowed() {
    let g = Gguf::new(3, 3, 0).tensor("s", &[], F32, 0).tensor("z", &[0, 7], F32, 32);
    let h = parse(&g.tensor("e", &[32, 0], Q4_0, 32).data(32, 32)).expect("parse");
    let s = &h.tensors[0];
    assert_eq!((s.dims.len(), s.n_elements, s.n_bytes), (0, 1, 4));
    assert_eq!((h.tensors[1].n_bytes, h.tensors[2].n_bytes, h.data_len), (0, 0, 32));
}

#[test]
fn typed_metadata_helpers() {
    let g = Gguf::new(3, 0, 3).key("i", T_I32).raw(&7i32.to_le_bytes());
    let g = g.key("n", T_I32).raw(&(-1i32).to_le_bytes());
    let g = g.key("arr", T_ARRAY).arr(T_U8, 3).raw(&[1, 2, 3]);
    let m = parse(&g.header()).expect("parse").metadata;
    assert_eq!((m.get_u64("i"), m.get_u64("n"), m.get_i64("n")), (Some(7), None, Some(-1)));
    assert_eq!(m.get_array("arr"), Some(&Array::U8(vec![1, 2, 3])));
    assert_eq!((m.get_str("i"), m.get_f32("i")), (None, None));
}

// ---- preamble ---------------------------------------------------------------------------------

#[test]
fn bad_magic_old_and_big_endian_versions() {
    let mut bytes = minimal().header();
    bytes[3] = b'X';
    assert_err!(parse(&bytes), Err(E::BadMagic { offset: 0, found: [b'G', b'G', b'U', b'X'] }));
    for v in [0, 1, 4, 0xdead] {
        let r = parse(&Gguf::new(v, 0, 0).header());
        assert_err!(r, Err(E::UnsupportedVersion { offset: 4, found }) if found == v);
    }
    for v in [1u32, 2, 3] {
        let r = parse(&Gguf::new(v.swap_bytes(), 0, 0).header());
        assert_err!(r, Err(E::BigEndian { offset: 4, swapped, .. }) if swapped == v);
    }
}

#[test]
fn absurd_counts() {
    for (n_tensors, n_kv, what) in [(1 << 62, 0, Q::Tensors), (0, 1 << 62, Q::KvPairs)] {
        let bytes = Gguf::new(3, n_tensors, n_kv).header();
        assert_err!(parse_header(&bytes, None), Err(E::LimitExceeded { what: w, .. }) if w == what);
        // Past the caps, the count still cannot fit in the bytes left.
        let r = parse_header_with(&bytes, None, relaxed());
        assert_err!(r, Err(E::CountTooLarge { what: w, .. }) if w == what);
        let r = parse_header_with(&bytes, Some(1 << 40), relaxed());
        assert_err!(r, Err(E::CountTooLarge { what: w, .. }) if w == what);
    }
    let array = kv(T_ARRAY).arr(T_U32, 1 << 62).header();
    assert_err!(parse(&array), Err(E::LimitExceeded { what: Q::ArrayLen, offset: 41, .. }));
    let r = parse_header_with(&array, None, relaxed());
    assert_err!(r, Err(E::CountTooLarge { what: Q::ArrayLen, offset: 41, .. }));
}

#[test]
fn absurd_string_lengths() {
    let huge = 1u64 << 63;
    let key = Gguf::new(3, 0, 1).u64(huge);
    let value = kv(T_STRING).u64(huge);
    let name = Gguf::new(3, 1, 0).u64(huge);
    let element = kv(T_ARRAY).arr(T_STRING, 1).u64(huge);
    for g in [key, value, name, element] {
        let bytes = g.header();
        let r = parse_header(&bytes, None);
        assert_err!(r, Err(E::LimitExceeded { what: Q::StringLen, .. }));
        let r = parse_header_with(&bytes, Some(1 << 20), relaxed());
        assert_err!(r, Err(E::CountTooLarge { what: Q::StringLen, .. }));
    }
}

#[test]
fn header_cap() {
    let limits = Limits { max_header_bytes: 100, ..Limits::default() };
    let r = parse_header_with(&minimal().header(), None, limits);
    assert_err!(r, Err(E::LimitExceeded { what: Q::HeaderBytes, max: 100, .. }));
}

// ---- metadata ---------------------------------------------------------------------------------

#[test]
fn bad_alignment_values_and_types() {
    for a in [0, 3, 48] {
        let r = parse(&Gguf::new(3, 0, 1).kv_u32("general.alignment", a).header());
        assert_err!(r, Err(E::InvalidAlignment { found, .. }) if found == u64::from(a));
    }
    let wide = Gguf::new(3, 0, 1).key("general.alignment", T_U64).u64(32);
    let array = Gguf::new(3, 0, 1).key("general.alignment", T_ARRAY).arr(T_U32, 0);
    for g in [wide, array] {
        assert_err!(parse(&g.header()), Err(E::WrongKeyType { .. }));
    }
}

#[test]
fn unknown_value_types() {
    let r = parse(&kv(13).u64(0).header());
    assert_err!(r, Err(E::UnknownValueType { found: 13, offset: 33 }));
    let r = parse(&kv(T_ARRAY).arr(u32::MAX, 0).header());
    assert_err!(r, Err(E::UnknownValueType { found: u32::MAX, offset: 37 }));
}

#[test]
fn duplicate_keys() {
    let g = Gguf::new(3, 0, 2).kv_u32("k", 1).kv_u32("k", 2);
    assert_err!(parse(&g.header()), Err(E::DuplicateKey { offset: 41, .. }));
    let g = Gguf::new(3, 0, 2).kv_u32("k", 1).key("k", T_ARRAY).arr(T_U8, 1).raw(&[0]);
    assert_err!(parse(&g.header()), Err(E::DuplicateKey { offset: 41, .. }));
}

/// `depth` arrays nested in each other, the innermost one an empty u8 array.
fn nested(depth: usize) -> Vec<u8> {
    let outer = Gguf(Vec::new()).arr(T_ARRAY, 1).header().repeat(depth - 1);
    kv(T_ARRAY).raw(&outer).arr(T_U8, 0).header()
}

#[test]
fn nesting_depth_is_bounded() {
    let h = parse(&nested(8)).expect("depth 8");
    assert!(matches!(h.metadata.get_array("k"), Some(Array::Array(v)) if v.len() == 1));
    let r = parse(&nested(9));
    assert_err!(r, Err(E::LimitExceeded { what: Q::Depth, max: 8, found: 9, .. }));
    // A larger limit is clamped, so the fill stack stays small.
    let limits = Limits { max_depth: u32::MAX, ..Limits::default() };
    let r = parse_header_with(&nested(100_000), None, limits);
    assert_err!(r, Err(E::LimitExceeded { what: Q::Depth, max: 64, .. }));
}

#[test]
fn invalid_utf8() {
    let bad = b"ok\xff";
    let key = Gguf::new(3, 0, 1).bytes_str(bad).u32(T_U32).u32(0);
    let value = kv(T_STRING).bytes_str(bad);
    let element = kv(T_ARRAY).arr(T_STRING, 2).str("fine").bytes_str(bad);
    let name = Gguf::new(3, 1, 0).bytes_str(bad);
    // A two-byte character split across two strings: each must be valid on its own.
    let split = kv(T_ARRAY).arr(T_STRING, 2).bytes_str(b"\xc3").bytes_str(b"\xa9");
    for (g, at, byte) in [
        (key, 34, 0xff),
        (value, 47, 0xff),
        (element, 71, 0xff),
        (name, 34, 0xff),
        (split, 57, 0xc3),
    ] {
        let r = parse_header(&g.header(), None);
        assert_err!(r, Err(E::InvalidUtf8 { offset, found }) if offset == at && found == byte);
    }
}

#[test]
fn invalid_bools() {
    let r = parse(&kv(T_BOOL).raw(&[2]).header());
    assert_err!(r, Err(E::InvalidBool { found: 2, offset: 37 }));
    let r = parse(&kv(T_ARRAY).arr(T_BOOL, 3).raw(&[1, 0, 7]).header());
    assert_err!(r, Err(E::InvalidBool { found: 7, offset: 51 }));
}

// ---- tensor infos -----------------------------------------------------------------------------

fn one_tensor(dims: &[u64], ty: u32, offset: u64) -> Result<Header, E> {
    parse(&Gguf::new(3, 1, 0).tensor("t", dims, ty, offset).data(32, 64))
}

#[test]
fn unknown_ggml_types() {
    for id in [4, 5, 31, 32, 33, 36, 37, 38, 40, 1000, u32::MAX] {
        let r = one_tensor(&[32], id, 0);
        assert_err!(&r, Err(E::UnknownGgmlType { found, tensor, .. }) if *found == id && tensor == "t");
    }
}

#[test]
fn bad_shapes() {
    let r = one_tensor(&[1, 1, 1, 1, 1], F32, 0);
    assert_err!(r, Err(E::LimitExceeded { what: Q::Dims, found: 5, .. }));
    let r = one_tensor(&[31, 2], Q4_0, 0);
    assert_err!(r, Err(E::NotBlockMultiple { ne0: 31, block_size: 32, .. }));
    // Element counts past i64 (ggml's limit), and byte counts past u64.
    for dims in [&[1 << 32, 1 << 32][..], &[1 << 63], &[u64::MAX], &[1 << 62, 2], &[1 << 61, 2]] {
        assert_err!(one_tensor(dims, F32, 0), Err(E::ShapeOverflow { .. }));
    }
}

#[test]
fn offsets_out_of_range_misaligned_or_overlapping() {
    assert_err!(
        one_tensor(&[4], F32, 64),
        Err(E::TensorOutOfBounds { end: 144, file_len: 128, .. })
    );
    assert_err!(one_tensor(&[4], F32, u64::MAX - 31), Err(E::TensorOutOfBounds { .. }));
    let r = one_tensor(&[4], F32, 16);
    assert_err!(r, Err(E::MisalignedTensor { found: 16, alignment: 32, .. }));
    let g = Gguf::new(3, 2, 0).tensor("a", &[16], F32, 32).tensor("b", &[16], F32, 0);
    let r = parse(&g.data(32, 128));
    assert_err!(&r, Err(E::TensorOverlap { tensor, other, .. }) if tensor == "a" && other == "b");
    let g = Gguf::new(3, 2, 0).tensor("a", &[8], F32, 0).tensor("b", &[8], F32, 32);
    assert_eq!(parse(&g.data(32, 64)).expect("adjacent").data_len, 64);
}

/// Found by `fuzz/` (parse_header): a file without tensors may end inside the padding before
/// its (empty) data section, as llama.cpp and gguf-py accept; `data_offset` stays aligned, past
/// the file end. Any tensor, even an empty one, must lie inside the file.
#[test]
fn file_without_tensors_may_end_inside_the_padding() {
    let bare = Gguf::new(3, 0, 0).header();
    let h = parse(&bare).expect("no tensors");
    assert_eq!((h.tensor_info_end, h.data_offset, h.data_len), (24, 32, 0));
    let mut parser = HeaderParser::new(Limits::default());
    assert_eq!(parser.advance(&bare, Some(24)), Ok(Step::Done(h)));
    let empty = Gguf::new(3, 1, 0).tensor("e", &[0], F32, 0).header();
    let r = parse(&empty);
    assert_err!(r, Err(E::TensorOutOfBounds { end: 64, file_len: 57, .. }));
}

#[test]
fn duplicate_tensor_names() {
    let g = Gguf::new(3, 2, 0).tensor("a", &[4], F32, 0).tensor("a", &[4], F32, 32);
    assert_err!(parse(&g.data(32, 64)), Err(E::DuplicateTensor { offset: 57, .. }));
}

// ---- truncation -------------------------------------------------------------------------------

/// A small header with every kind of unit: scalars, strings, a string array, bools, a nested
/// array, the alignment key, tensors.
fn varied() -> Vec<u8> {
    let g = Gguf::new(3, 2, 5).kv_u32("general.alignment", 64);
    let g = g.key("name", T_STRING).str("héllo");
    let g = g.key("tokens", T_ARRAY).arr(T_STRING, 3).str("a").str("").str("ü");
    let g = g.key("flags", T_ARRAY).arr(T_BOOL, 3).raw(&[1, 0, 1]);
    let g = g.key("grid", T_ARRAY).arr(T_ARRAY, 2).arr(T_U32, 1).u32(9).arr(T_U8, 0);
    g.tensor("x", &[32, 2], Q4_0, 0).tensor("y", &[3], F32, 64).data(64, 76)
}

#[test]
fn varied_header_truncated_at_every_byte() {
    let file = varied();
    let full = parse(&file).expect("parse");
    let end = full.tensor_info_end as usize;
    for k in 0..end {
        let r = parse_header(&file[..k], None);
        assert_err!(r, Err(E::Truncated { offset, needed, .. }) if offset + needed > k as u64);
    }
    assert_eq!(parse_header(&file[..end], None).expect("header only"), full);
}

/// Feeds `file[..k]` for every k: `NeedMore` until the header end, then `Done` with `full`.
/// Returns the bytes the parser scanned.
fn feed_every_byte(file: &[u8], full: &Header) -> u64 {
    let end = full.tensor_info_end;
    let mut parser = HeaderParser::new(Limits::default());
    for k in 0..end {
        match parser.advance(&file[..k as usize], None) {
            Ok(Step::NeedMore { total }) => assert!(total > k && total <= end, "{k}: {total}"),
            r => panic!("{k}: {r:?}"),
        }
    }
    let r = parser.advance(&file[..end as usize], None);
    assert!(matches!(&r, Ok(Step::Done(h)) if h == full), "at the header end");
    // Done restarts the parser; it parses the same header again.
    assert!(matches!(parser.advance(file, None), Ok(Step::Done(h)) if &h == full));
    parser.bytes_scanned()
}

#[test]
fn varied_header_fed_byte_by_byte() {
    let file = varied();
    feed_every_byte(&file, &parse(&file).expect("parse"));
}

fn smollm2() -> Option<Vec<u8>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/models/SmolLM2-135M-Instruct.Q4_1.gguf");
    let file = std::fs::read(path);
    if file.is_err() {
        models::absent(path);
    }
    file.ok()
}

/// The incremental parser at every byte of the real SmolLM2 header (1.8 MB): `NeedMore` with a
/// total past the prefix, `Done` exactly at the header end, linear work.
#[test]
fn smollm2_header_fed_byte_by_byte() {
    let Some(file) = smollm2() else { return };
    let full = parse(&file).expect("parse");
    // The second parse after Done (in feed_every_byte) scans the header once more.
    let scanned = feed_every_byte(&file, &full);
    assert!(scanned <= 3 * full.tensor_info_end, "scanned {scanned}");
}

/// The real SmolLM2 header cut at every byte, each cut declared the end of the file: always
/// `Truncated` (or `CountTooLarge` for a count that cannot fit before the cut), never a panic.
/// The parser keeps the units before the cut, so each of the 1.8M cuts re-reads one unit only.
#[test]
fn smollm2_header_truncated_at_every_byte() {
    let Some(file) = smollm2() else { return };
    let full = parse(&file).expect("parse");
    let mut parser = HeaderParser::new(Limits::default());
    for k in 0..full.tensor_info_end {
        match parser.advance(&file[..k as usize], Some(k)) {
            Err(E::Truncated { offset, needed, available }) => {
                assert!(offset + needed > k && offset + available == k, "{k}")
            }
            Err(E::CountTooLarge { found, max, .. }) => assert!(found > max, "{k}"),
            r => panic!("{k}: {r:?}"),
        }
    }
    let r = parser.advance(&file, Some(file.len() as u64));
    assert!(matches!(r, Ok(Step::Done(h)) if h == full));
}

/// One-shot parsing of cuts of the real header. Every byte would cost O(n^2) = 1.6e12 bytes of
/// parsing, so: every cut in the first 8 KiB (preamble, 30 pairs, the start of the vocabulary),
/// 200 cuts spread over the rest, and the last 32 bytes (in the last tensor info).
#[test]
fn smollm2_header_one_shot_cuts() {
    let Some(file) = smollm2() else { return };
    let end = parse(&file).expect("parse").tensor_info_end as usize;
    let spread = (0..200).map(|i| 8192 + i * (end - 8192) / 200);
    for k in (0..8192).chain(spread).chain(end - 32..end) {
        let r = parse_header(&file[..k], None);
        assert_err!(r, Err(E::Truncated { offset, needed, .. }) if offset + needed > k as u64);
    }
}

// ---- mutation fuzzing -------------------------------------------------------------------------

/// Random byte edits and cuts of the varied header: any result is fine, a panic is not, and an
/// accepted header never places tensor data past the end of the file.
#[test]
fn random_mutations_never_panic() {
    let file = varied();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..20_000 {
        let mut bytes = file.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() % bytes.len() as u64) as usize;
            bytes[i] = match next() % 3 {
                0 => next() as u8,
                1 => bytes[i] ^ (1 << (next() % 8)),
                _ => [0, 1, 0x7f, 0x80, 0xff][(next() % 5) as usize],
            };
        }
        let cut = bytes.len() - (next() % 8) as usize;
        if let Ok(h) = parse(&bytes[..cut]) {
            assert!(h.file_len() <= cut as u64);
            assert!(h.tensors.iter().all(|t| h.data_offset + t.end() <= cut as u64));
        }
    }
}
