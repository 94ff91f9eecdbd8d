//! The multi-memory bridge: a tiny WebAssembly module, generated here, that imports the main
//! memory and the storage memories and exports one `memory.copy` function per storage memory.
//!
//! Rust (LLVM) cannot emit instructions that name a second memory, so layers are paged from a
//! storage memory into the main memory by this module, instantiated by the JS shim at run time:
//!
//! ```text
//! (module
//!   (import "m" "main" (memory i64 0))                ;; memory 0
//!   (import "m" "s1" (memory i64 0)) …                 ;; memory i = storage memory i
//!   (func (export "copy1") (param $dst i64) (param $src i64) (param $len i64)
//!     (memory.copy 0 1 (local.get $dst) (local.get $src) (local.get $len)))  ;; main ← s1
//!   (func (export "store1") …  (memory.copy 1 0 …))    ;; s1 ← main
//!   …)
//! ```

/// Section ids of the binary format.
const TYPE: u8 = 1;
const IMPORT: u8 = 2;
const FUNCTION: u8 = 3;
const EXPORT: u8 = 7;
const CODE: u8 = 10;

/// Unsigned LEB128.
fn leb(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn name(out: &mut Vec<u8>, s: &str) {
    leb(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn section(out: &mut Vec<u8>, id: u8, body: &[u8]) {
    out.push(id);
    leb(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// One function body: `memory.copy dst src` of its three i64 parameters.
fn copy_body(dst: u32, src: u32) -> Vec<u8> {
    let mut code = vec![0x00]; // no locals besides the parameters
    code.extend_from_slice(&[0x20, 0x00, 0x20, 0x01, 0x20, 0x02]); // local.get 0, 1, 2
    code.extend_from_slice(&[0xfc, 0x0a]); // memory.copy
    leb(&mut code, dst.into());
    leb(&mut code, src.into());
    code.push(0x0b); // end
    let mut body = Vec::new();
    leb(&mut body, code.len() as u64);
    body.extend(code);
    body
}

/// The bridge for `storage` storage memories (1..=storage), all 64-bit: exports `copy{i}`
/// (main ← storage i) and `store{i}` (storage i ← main), each `(dst: i64, src: i64, len: i64)`.
pub fn bridge_module(storage: u32) -> Vec<u8> {
    let mut out = b"\0asm\x01\0\0\0".to_vec();
    // One type: (i64, i64, i64) -> ().
    section(&mut out, TYPE, &[0x01, 0x60, 0x03, 0x7e, 0x7e, 0x7e, 0x00]);
    let mut imports = Vec::new();
    leb(&mut imports, u64::from(storage) + 1);
    for i in 0..=storage {
        name(&mut imports, "m");
        name(&mut imports, &if i == 0 { "main".to_string() } else { format!("s{i}") });
        imports.extend_from_slice(&[0x02, 0x04, 0x00]); // memory, 64-bit without maximum, min 0
    }
    section(&mut out, IMPORT, &imports);
    let n_funcs = 2 * u64::from(storage);
    let mut functions = Vec::new();
    leb(&mut functions, n_funcs);
    functions.extend(std::iter::repeat_n(0x00, n_funcs as usize)); // all of type 0
    section(&mut out, FUNCTION, &functions);
    let mut exports = Vec::new();
    leb(&mut exports, n_funcs);
    let mut code = Vec::new();
    leb(&mut code, n_funcs);
    for i in 1..=storage {
        for (k, (export, dst, src)) in [("copy", 0, i), ("store", i, 0)].into_iter().enumerate() {
            name(&mut exports, &format!("{export}{i}"));
            exports.push(0x00); // a function
            leb(&mut exports, 2 * u64::from(i - 1) + k as u64);
            code.extend(copy_body(dst, src));
        }
    }
    section(&mut out, EXPORT, &exports);
    section(&mut out, CODE, &code);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks the sections: ids in order, sizes that add up to the module's length.
    fn sections(bytes: &[u8]) -> Vec<(u8, usize)> {
        let mut at = 8;
        let mut out = Vec::new();
        while at < bytes.len() {
            let id = bytes[at];
            let (mut size, mut shift, mut i) = (0usize, 0, at + 1);
            loop {
                let b = bytes[i];
                size |= ((b & 0x7f) as usize) << shift;
                shift += 7;
                i += 1;
                if b & 0x80 == 0 {
                    break;
                }
            }
            out.push((id, size));
            at = i + size;
        }
        assert_eq!(at, bytes.len(), "sections overrun the module");
        out
    }

    #[test]
    fn the_module_has_its_sections_in_order() {
        for storage in [1, 2, 9, 200] {
            let bytes = bridge_module(storage);
            assert_eq!(&bytes[..8], b"\0asm\x01\0\0\0");
            let ids: Vec<u8> = sections(&bytes).iter().map(|s| s.0).collect();
            assert_eq!(ids, [TYPE, IMPORT, FUNCTION, EXPORT, CODE]);
        }
    }

    #[test]
    fn leb128_matches_the_spec_examples() {
        let enc = |n| {
            let mut v = Vec::new();
            leb(&mut v, n);
            v
        };
        assert_eq!(enc(0), [0x00]);
        assert_eq!(enc(127), [0x7f]);
        assert_eq!(enc(128), [0x80, 0x01]);
        assert_eq!(enc(624_485), [0xe5, 0x8e, 0x26]);
    }

    #[test]
    fn wabt_validates_it_when_installed() {
        let path = std::env::temp_dir().join(format!("gguf64-bridge-{}.wasm", std::process::id()));
        std::fs::write(&path, bridge_module(3)).unwrap();
        match std::process::Command::new("wasm-validate").args(["--enable-multi-memory", "--enable-memory64"]).arg(&path).output() {
            Ok(out) => assert!(out.status.success(), "wasm-validate: {}", String::from_utf8_lossy(&out.stderr)),
            Err(_) => eprintln!("wasm-validate not installed: the browser test validates the bridge instead"),
        }
        let _ = std::fs::remove_file(&path);
    }
}
