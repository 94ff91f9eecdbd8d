// Copies between the main memory and storage memories: through the generated multi-memory
// bridge module (`memory.copy` across memories, see src/memory/bridge.rs) where the browser has
// multi-memory, else through TypedArray views; and reads of the disk tier's file.

/**
 * @param {{ bridgeModule(n: number): Uint8Array }} bindings the wasm64 build
 * @param {WebAssembly.Memory} main
 * @param {Array<WebAssembly.Memory | { buffer: ArrayBuffer } | undefined>} storage index 1.. (0 unused)
 * @param {{ multiMemory: boolean }} features
 * @returns {{ kind: 'multi-memory' | 'typed-array' | 'disk', load(memory: number, src: number, dst: number, len: number): void, store(memory: number, src: number, dst: number, len: number): void }}
 */
export function createBridge(bindings, main, storage, features) {
  const n = storage.length - 1;
  if (storage.some((s) => typeof s?.readInto === 'function')) {
    // The disk tier: synchronous reads and writes of its file, straight into the main memory.
    return {
      kind: 'disk',
      load: (memory, src, dst, len) => storage[memory].readInto(new Uint8Array(main.buffer, dst, len), src),
      store: (memory, src, dst, len) => storage[memory].write(new Uint8Array(main.buffer, src, len), dst),
    };
  }
  if (features.multiMemory && n > 0 && storage.slice(1).every((m) => m instanceof WebAssembly.Memory)) {
    const imports = { m: { main } };
    for (let i = 1; i <= n; i++) imports.m[`s${i}`] = storage[i];
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(bindings.bridgeModule(n)), imports);
    return {
      kind: 'multi-memory',
      /** main[dst..] ← storage[memory][src..] */
      load: (memory, src, dst, len) => exports[`copy${memory}`](BigInt(dst), BigInt(src), BigInt(len)),
      /** storage[memory][dst..] ← main[src..] */
      store: (memory, src, dst, len) => exports[`store${memory}`](BigInt(dst), BigInt(src), BigInt(len)),
    };
  }
  const view = (m, at, len) => new Uint8Array(m.buffer, at, len);
  return {
    kind: 'typed-array',
    load: (memory, src, dst, len) => view(main, dst, len).set(view(storage[memory], src, len)),
    store: (memory, src, dst, len) => view(storage[memory], dst, len).set(view(main, src, len)),
  };
}
