// Storage memories: where the MemoryPlan puts layers that do not live in the module's own memory.
// With memory64 they are extra 64-bit WebAssembly memories (at most 16 GiB each); in the wasm32
// fallback, plain ArrayBuffers (at most 2 GiB each).

const PAGE = 65536;

/**
 * Creates one storage area per storage memory of the layout (index 0, the main memory, is left empty).
 * @param {{ memories: Array<{ index: number, bytes: number }> }} layout
 * @param {'wasm64' | 'wasm32'} build
 * @returns {Array<WebAssembly.Memory | { buffer: ArrayBuffer } | undefined>}
 */
export function createStorage(layout, build) {
  const storage = [undefined];
  for (const m of layout.memories.slice(1)) {
    const pages = Math.max(1, Math.ceil(m.bytes / PAGE));
    storage[m.index] = build === 'wasm64'
      ? new WebAssembly.Memory({ address: 'i64', initial: BigInt(pages), maximum: BigInt(pages) })
      : { buffer: new ArrayBuffer(pages * PAGE) };
  }
  return storage;
}
