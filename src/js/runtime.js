// The builds of the wasm module and the choice between them. Each build is instantiated once per
// thread and shared by every model loaded there.

import { ErrorCode, Gguf64Error } from './errors.js';
import { detectFeatures } from './features.js';
// Both builds' glue is imported statically (a few tens of KB each); only the chosen build's .wasm
// is fetched, from `new URL('gguf64_bg.wasm', import.meta.url)` beside its glue, which webpack 5
// and Vite emit as an asset. Static imports keep the worker bundle one chunk (Vite's default
// worker format cannot split).
import * as wasm64 from '../../pkg/wasm64/gguf64.js';
import * as wasm32 from '../../pkg/wasm32/gguf64.js';

/**
 * Each build comes in two SIMD variants: 'simd128' (gguf64_bg.wasm, which the glue fetches by
 * itself) and 'relaxed', compiled with relaxed SIMD too (gguf64_relaxed_bg.wasm beside it). Both
 * variants of a build share its glue (tools/dev/build.sh checks that it is the same file), so the
 * relaxed one is passed to the glue's init by URL, written here in the `new URL(literal,
 * import.meta.url)` form that bundlers emit as an asset.
 */
const RELAXED_WASM = {
  wasm64: () => new URL('../../pkg/wasm64/gguf64_relaxed_bg.wasm', import.meta.url),
  wasm32: () => new URL('../../pkg/wasm32/gguf64_relaxed_bg.wasm', import.meta.url),
};

/** `${build}/${simd}` -> the promise of that runtime. */
const runtimes = new Map();
/**
 * build -> the SIMD variant its glue holds on this thread. A glue module instantiates once per
 * thread (it keeps the instance in a module variable), so a thread runs one variant of each build.
 */
const variants = new Map();

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

/**
 * Picks the SIMD variant: 'relaxed' (relaxed SIMD) where the browser validates it, else 'simd128'.
 * @param {'auto' | 'relaxed' | 'simd128'} requested
 */
export function chooseSimd(requested = 'auto') {
  if (requested !== 'auto' && requested !== 'relaxed' && requested !== 'simd128') {
    throw new Gguf64Error(ErrorCode.INVALID_ARGUMENT, `unknown simd "${requested}" (auto, relaxed, simd128)`);
  }
  if (requested === 'simd128') return 'simd128';
  const { relaxedSimd } = detectFeatures();
  if (requested === 'relaxed' && !relaxedSimd) {
    throw new Gguf64Error(ErrorCode.UNSUPPORTED_BROWSER, 'this browser has no WebAssembly relaxed SIMD');
  }
  return relaxedSimd ? 'relaxed' : 'simd128';
}

/**
 * The instantiated build, `{ bindings, memory, build, simd }`; the first call instantiates it.
 * `simd` is a variant chooseSimd returned (default: what it picks by itself). A thread holds one
 * variant of each build: asking for the other is INVALID_ARGUMENT (models in workers, the
 * default, each have their own thread).
 */
export function runtimeFor(build, simd = chooseSimd()) {
  const key = `${build}/${simd}`;
  if (!runtimes.has(key)) {
    const held = variants.get(build);
    if (held !== undefined && held !== simd) {
      return Promise.reject(new Gguf64Error(ErrorCode.INVALID_ARGUMENT, `this thread already runs the ${held} variant of the `
        + `${build} build, and one thread holds one variant of a build: load the model in a worker or ask for simd "${held}"`));
    }
    variants.set(build, simd);
    runtimes.set(key, (async () => {
      const bindings = build === 'wasm64' ? wasm64 : wasm32;
      const exports = await (simd === 'relaxed' ? bindings.default({ module_or_path: RELAXED_WASM[build]() }) : bindings.default());
      return { bindings, memory: exports.memory, build, simd };
    })().catch((err) => {
      // a failed start (e.g. the .wasm did not download) may be retried, with either variant
      runtimes.delete(key);
      variants.delete(build);
      throw err;
    }));
  }
  return runtimes.get(key);
}

/**
 * Bytes of the main memory of each build instantiated so far, e.g. `{ wasm64: 104857600 }`.
 * WebAssembly memories never shrink: unloading a model frees its space for the next one.
 */
export async function memoryUsage() {
  const usage = {};
  for (const ready of runtimes.values()) {
    const { build, memory } = await ready;
    usage[build] = memory.buffer.byteLength;
  }
  return usage;
}
