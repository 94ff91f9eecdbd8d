// What this browser's WebAssembly can do, detected by validating tiny modules (no instantiation).

// "\0asm", version 1.
const PREAMBLE = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
// (module (memory i64 1)): memory section, one memory, limits flag 0x04 = 64-bit, no maximum.
const MEMORY64_MODULE = new Uint8Array([...PREAMBLE, 0x05, 0x03, 0x01, 0x04, 0x01]);
// (module (memory 1) (memory 1)): two memories in one module.
const MULTI_MEMORY_MODULE = new Uint8Array([...PREAMBLE, 0x05, 0x05, 0x02, 0x00, 0x01, 0x00, 0x01]);
// (module (func (result v128) (v128.const i64x2 0 0))): SIMD128.
const SIMD_MODULE = new Uint8Array([
  ...PREAMBLE, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00,
  0x0a, 0x16, 0x01, 0x14, 0x00, 0xfd, 0x0c, ...new Array(16).fill(0), 0x0b,
]);

// (module (func (param v128 v128) (result v128)
//   (i16x8.relaxed_dot_i8x16_i7x16_s (local.get 0) (local.get 1)))): relaxed SIMD. The opcode is
// 0xfd 0x112 (the relaxed-simd proposal's binary table), its u32 written as LEB128: 0x92 0x02.
const RELAXED_SIMD_MODULE = new Uint8Array([
  ...PREAMBLE, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7b, 0x7b, 0x01, 0x7b, 0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0b, 0x01, 0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0xfd, 0x92, 0x02, 0x0b,
]);

function validates(bytes) {
  try {
    return WebAssembly.validate(bytes);
  } catch {
    return false;
  }
}

/**
 * @returns {{ memory64: boolean, multiMemory: boolean, simd: boolean, relaxedSimd: boolean }}
 */
export function detectFeatures() {
  return {
    memory64: validates(MEMORY64_MODULE),
    multiMemory: validates(MULTI_MEMORY_MODULE),
    simd: validates(SIMD_MODULE),
    relaxedSimd: validates(RELAXED_SIMD_MODULE),
  };
}
