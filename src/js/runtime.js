// The two builds of the wasm module and the choice between them. Each build is instantiated
// once per thread and shared by every model loaded there.

import { ErrorCode, Gguf64Error } from './errors.js';
import { detectFeatures } from './features.js';
// Both builds' glue is imported statically (a few tens of KB each); only the chosen build's .wasm
// is fetched, from `new URL('gguf64_bg.wasm', import.meta.url)` beside its glue, which webpack 5
// and Vite emit as an asset. Static imports keep the worker bundle one chunk (Vite's default
// worker format cannot split).
import * as wasm64 from '../../pkg/wasm64/gguf64.js';
import * as wasm32 from '../../pkg/wasm32/gguf64.js';

const runtimes = new Map();

/**
 * Picks the build: wasm64 where the browser has memory64, else the wasm32 fallback.
 * @param {'auto' | 'wasm64' | 'wasm32'} requested
 */
export function chooseBuild(requested = 'auto') {
  const { memory64 } = detectFeatures();
  if (requested === 'wasm32') return 'wasm32';
  if (requested === 'wasm64' && !memory64) {
    throw new Gguf64Error(ErrorCode.UNSUPPORTED_BROWSER, 'this browser has no WebAssembly memory64');
  }
  if (requested !== 'auto' && requested !== 'wasm64') {
    throw new Gguf64Error(ErrorCode.INVALID_ARGUMENT, `unknown build "${requested}" (auto, wasm64, wasm32)`);
  }
  return memory64 ? 'wasm64' : 'wasm32';
}

/** The instantiated build, `{ bindings, memory, build }`; the first call instantiates it. */
export function runtimeFor(build) {
  if (!runtimes.has(build)) {
    runtimes.set(build, (async () => {
      const bindings = build === 'wasm64' ? wasm64 : wasm32;
      const exports = await bindings.default();
      return { bindings, memory: exports.memory, build };
    })().catch((err) => {
      runtimes.delete(build); // a failed start (e.g. the .wasm did not download) may be retried
      throw err;
    }));
  }
  return runtimes.get(build);
}

/**
 * Bytes of the main memory of each build instantiated so far, e.g. `{ wasm64: 104857600 }`.
 * WebAssembly memories never shrink: unloading a model frees its space for the next one.
 */
export async function memoryUsage() {
  const usage = {};
  for (const [build, ready] of runtimes) usage[build] = (await ready).memory.buffer.byteLength;
  return usage;
}
