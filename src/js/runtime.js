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
 * Each build comes in two SIMD variants: 'simd128' (gguf64_bg.wasm) and 'relaxed', compiled with
 * relaxed SIMD too (gguf64_relaxed_bg.wasm beside it). Both variants of a build share its glue
 * (tools/dev/build.sh checks that it is the same file). Their URLs are written here in the
 * `new URL(literal, import.meta.url)` form that bundlers emit as an asset.
 */
const WASM = {
  wasm64: {
    simd128: () => new URL('../../pkg/wasm64/gguf64_bg.wasm', import.meta.url),
    relaxed: () => new URL('../../pkg/wasm64/gguf64_relaxed_bg.wasm', import.meta.url),
  },
  wasm32: {
    simd128: () => new URL('../../pkg/wasm32/gguf64_bg.wasm', import.meta.url),
    relaxed: () => new URL('../../pkg/wasm32/gguf64_relaxed_bg.wasm', import.meta.url),
  },
};

/**
 * One attempt to download and compile a .wasm may take this long (ms) before it is abandoned and
 * tried again, up to COMPILE_ATTEMPTS times. The module is about 2 MB; a stalled attempt is the
 * fault being bounded, not a slow one.
 */
export const COMPILE_ATTEMPT_MS = 30_000;
const COMPILE_ATTEMPTS = 3;

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
      // Compiled here, not by the glue's async init: that one keeps its first promise, so an
      // attempt that never settles could not be retried. The glue then instantiates synchronously.
      const exports = bindings.initSync({ module: await compileWasm(WASM[build][simd]()) });
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

/** Downloads and compiles the module at `url`, each attempt bounded by COMPILE_ATTEMPT_MS. */
async function compileWasm(url) {
  for (let attempt = 1; ; attempt++) {
    const controller = new AbortController();
    let timer;
    const stalled = new Promise((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Gguf64Error(ErrorCode.NETWORK, `${url} was not downloaded and compiled within ${COMPILE_ATTEMPT_MS / 1000} s (attempt ${attempt} of ${COMPILE_ATTEMPTS})`));
      }, COMPILE_ATTEMPT_MS);
    });
    try {
      return await Promise.race([stalled, (async () => {
        const response = await fetch(url, { signal: controller.signal });
        if (!response.ok) throw new Gguf64Error(ErrorCode.HTTP_STATUS, `${url} answered ${response.status}`);
        return WebAssembly.compile(await response.arrayBuffer());
      })()]);
    } catch (err) {
      if (attempt >= COMPILE_ATTEMPTS || err?.code === ErrorCode.HTTP_STATUS || err instanceof WebAssembly.CompileError) {
        throw err instanceof Gguf64Error || err instanceof WebAssembly.CompileError ? err : new Gguf64Error(ErrorCode.NETWORK, `${url} could not be downloaded: ${err?.message ?? err}`);
      }
    } finally {
      clearTimeout(timer);
    }
  }
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
