// gguf64: stream GGUF language models of any size into 64-bit WebAssembly memories.
//
//   import { loadModel } from 'gguf64';
//   const model = await loadModel('/models/SmolLM2-135M-Instruct.Q4_1.gguf', { onProgress });
//   console.log(model.info); // { build, arch, nLayers, nTensors, fileBytes, ... }

import { ErrorCode, Gguf64Error, toGguf64Error } from './errors.js';
import { detectFeatures } from './features.js';
import { megabytesPerSecond, openSource, writeChunk } from './stream.js';

export { ErrorCode, Gguf64Error } from './errors.js';
export { detectFeatures } from './features.js';

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
    throw new Gguf64Error(ErrorCode.INVALID_ARGUMENT, `unknown build "${requested}"`);
  }
  return memory64 ? 'wasm64' : 'wasm32';
}

/** Instantiates a build once per page; later calls share it. */
function runtime(build) {
  if (!runtimes.has(build)) {
    runtimes.set(build, (async () => {
      const bindings = build === 'wasm64'
        ? await import('../../pkg/wasm64/gguf64.js')
        : await import('../../pkg/wasm32/gguf64.js');
      const exports = await bindings.default();
      return { bindings, memory: exports.memory, build };
    })());
  }
  return runtimes.get(build);
}

/**
 * Streams a GGUF model into WebAssembly memory.
 * @param {string | URL | Blob} source a URL, or a File/Blob
 * @param {{ onProgress?: (p: object) => void, signal?: AbortSignal, build?: 'auto' | 'wasm64' | 'wasm32' }} [options]
 * @returns {Promise<LoadedModel>}
 */
export async function loadModel(source, options = {}) {
  const { onProgress = () => {}, signal, build: requested = 'auto' } = options;
  const context = typeof source === 'string' || source instanceof URL ? { url: String(source) } : {};
  let loader;
  let reader;
  try {
    const { bindings, memory, build } = await runtime(chooseBuild(requested));
    const startMs = performance.now();
    const opened = await openSource(source, signal);
    reader = opened.reader;
    loader = new bindings.StreamLoader(opened.length);
    const progress = (phase) => {
      const bytesLoaded = loader.received;
      onProgress({
        phase,
        bytesLoaded,
        bytesTotal: loader.expectedLen ?? opened.length ?? null,
        mbPerSec: megabytesPerSecond(bytesLoaded, startMs, performance.now()),
      });
    };
    for (;;) {
      signal?.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) break;
      writeChunk(loader, memory, value);
      progress(loader.expectedLen === undefined ? 'header' : 'data');
    }
    const handle = loader.finish(); // consumes the loader
    loader = undefined;
    const loadMs = performance.now() - startMs;
    const model = new LoadedModel(handle, build, loadMs);
    onProgress({ phase: 'done', bytesLoaded: model.info.fileBytes, bytesTotal: model.info.fileBytes,
      mbPerSec: megabytesPerSecond(model.info.fileBytes, startMs, performance.now()) });
    return model;
  } catch (err) {
    reader?.cancel().catch(() => {});
    throw toGguf64Error(err, context);
  } finally {
    loader?.free();
  }
}

/** A model in memory. `info` describes it; `unload()` releases its memory for reuse. */
export class LoadedModel {
  #handle;

  constructor(handle, build, loadMs) {
    this.#handle = handle;
    /** @type {{ build: string, arch: string|null, name: string|null, nLayers: number|null, nTensors: number, fileBytes: number, dataOffset: number, dataBytes: number, ggufVersion: number, alignment: number, loadMs: number }} */
    this.info = Object.freeze({ build, ...handle.info(), loadMs });
  }

  /** Frees the model's memory (the wasm memory keeps its size and reuses the space). */
  unload() {
    this.#handle?.free();
    this.#handle = undefined;
  }
}
