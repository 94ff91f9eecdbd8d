// gguf64: stream GGUF language models of any size into 64-bit WebAssembly memories.
//
//   import { loadModel } from 'gguf64';
//   const model = await loadModel('/models/SmolLM2-135M-Instruct.Q4_1.gguf', { onProgress });
//   console.log(model.info); // { build, arch, nLayers, nTensors, fileBytes, ... }

import { ErrorCode, Gguf64Error, toGguf64Error } from './errors.js';
import { detectFeatures } from './features.js';
import { readPrefix } from './range.js';
import { createStorage } from './storage.js';
import { openSource } from './source.js';
import { megabytesPerSecond, writeChunk } from './stream.js';

export { ErrorCode, Gguf64Error } from './errors.js';
export { detectFeatures } from './features.js';
export { cache } from './cache.js';

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
 * Bytes of the main memory of each build instantiated so far, e.g. `{ wasm64: 104857600 }`.
 * WebAssembly memories never shrink: unloading a model frees its space for the next one.
 */
export async function memoryUsage() {
  const usage = {};
  for (const [build, ready] of runtimes) usage[build] = (await ready).memory.buffer.byteLength;
  return usage;
}

/**
 * Streams a GGUF model into WebAssembly memory, each tensor straight to the place its MemoryPlan
 * gives, and reports every group (embeddings, each layer, the output) as it lands.
 * @param {string | URL | Blob} source a URL, or a File/Blob
 * @param {LoadOptions} [options]
 * @returns {Promise<LoadedModel>}
 *
 * @typedef {object} LoadOptions
 * @property {(p: LoadProgress) => void} [onProgress]
 * @property {AbortSignal} [signal]
 * @property {'auto' | 'wasm64' | 'wasm32'} [build]
 * @property {'auto' | 'standard' | 'memory64' | 'paged' | 'multi'} [layout]
 * @property {number} [shardCap] bytes per storage memory
 * @property {number} [memoryBudget] main-memory bytes for layer weights
 * @property {{ attempts: number, baseDelayMs: number }} [retry] resuming after dropped connections (default 5 attempts, 250 ms doubling)
 * @property {boolean} [cache] keep the file in the persistent cache and read it from there next time (default true)
 * @property {'background' | 'before'} [revalidate] when a complete cached copy exists: 'background' (default) loads it
 *   with no request, then asks the server (HEAD) whether the file changed and drops a stale copy (warning CACHE_STALE);
 *   'before' asks first and refetches a changed file
 * @property {string} [sha256] the file's SHA-256 (hex): hashed while streaming, INTEGRITY error on a mismatch
 *
 * @typedef {object} LoadProgress
 * @property {'header' | 'data' | 'group' | 'resume' | 'warning' | 'done'} phase ('resume': the connection dropped at `offset`, attempt `attempt` follows; 'warning': `code` CACHE_QUOTA or CACHE_WRITE, the load goes on without caching)
 * @property {{ kind: 'embeddings' | 'layer' | 'output', layer: number | null, bytes: number, memory: number } | undefined} group
 * @property {number | null} layer the layer that just landed ('group' events)
 * @property {object | undefined} layout the MemoryPlan, once the header is parsed (as in `model.info.layout`)
 * @property {number} layersDone
 * @property {number | null} layersTotal
 * @property {number} bytesLoaded
 * @property {number | null} bytesTotal
 * @property {number} mbPerSec
 */
export async function loadModel(source, options = {}) {
  const { onProgress = () => {}, signal, build: requested = 'auto', layout, shardCap, memoryBudget, retry, cache: useCache = true, revalidate, sha256 } = options;
  const context = typeof source === 'string' || source instanceof URL ? { url: String(source) } : {};
  let loader;
  let body;
  try {
    const { bindings, memory, build } = await runtime(chooseBuild(requested));
    const startMs = performance.now();
    const onResume = ({ offset, attempt }) => onProgress({ phase: 'resume', offset, attempt, layersDone, layersTotal: null,
      bytesLoaded: offset, bytesTotal: loader?.expectedLen ?? body?.length ?? null, mbPerSec: 0 });
    const onWarning = ({ code, message }) => onProgress({ phase: 'warning', code, message, layersDone, layersTotal: null,
      bytesLoaded: loader?.received ?? 0, bytesTotal: loader?.expectedLen ?? body?.length ?? null, mbPerSec: 0 });
    body = await openSource(source, { signal, retry, onResume, useCache, revalidate, onWarning });
    loader = new bindings.StreamLoader(body.length, shardCap, memoryBudget, layout);
    if (sha256) loader.verifySha256(sha256);
    let storage; // created when the first byte for a storage memory arrives
    let plan;
    let layersDone = 0;
    const storageFor = (index) => {
      storage ??= createStorage(loader.layout(), build);
      return storage[index];
    };
    const report = (phase, group) => onProgress({
      phase,
      group,
      layout: plan,
      layer: group?.layer ?? null,
      layersDone,
      layersTotal: plan ? plan.memories.reduce((n, m) => n + m.layers.length, 0) : null,
      bytesLoaded: loader.received,
      bytesTotal: loader.expectedLen ?? body.length ?? null,
      mbPerSec: megabytesPerSecond(loader.received, startMs, performance.now()),
    });
    for (;;) {
      signal?.throwIfAborted();
      const { done, value } = await body.read(loader.received, loader.expectedLen);
      if (done) break;
      writeChunk(loader, memory, storageFor, value);
      plan ??= loader.layout();
      for (const group of loader.takeRegistered()) {
        if (group.kind === 'layer') layersDone += 1;
        report('group', group);
      }
      report(plan ? 'data' : 'header');
    }
    // finish() consumes the loader on the wasm side, whether it succeeds or throws.
    const finishing = loader;
    loader = undefined;
    const handle = finishing.finish();
    await body.finish(); // the last cache writes
    const model = new LoadedModel(handle, build, performance.now() - startMs, storage, { bytesFromCache: body.fromCache });
    onProgress({ phase: 'done', group: undefined, layer: null, layersDone, layersTotal: layersDone,
      bytesLoaded: model.info.fileBytes, bytesTotal: model.info.fileBytes,
      mbPerSec: megabytesPerSecond(model.info.fileBytes, startMs, performance.now()) });
    return model;
  } catch (err) {
    body?.cancel();
    throw toGguf64Error(err, context);
  } finally {
    loader?.free();
  }
}

/**
 * Reads only the header of a GGUF file (through Range requests) and reports its metadata, its
 * tensors, its config and the layout it would get, without downloading the weights.
 * @param {string | URL} url
 * @param {{ signal?: AbortSignal, build?: 'auto' | 'wasm64' | 'wasm32', layout?: string, shardCap?: number, memoryBudget?: number }} [options]
 */
export async function inspect(url, options = {}) {
  const { signal, build: requested = 'auto', layout, shardCap, memoryBudget } = options;
  const href = new URL(String(url), globalThis.location?.href).href;
  let inspector;
  try {
    const { bindings, build } = await runtime(chooseBuild(requested));
    const read = await readPrefix(href, (bytes, fileBytes) => {
      inspector ??= new bindings.HeaderInspector(fileBytes);
      return inspector.push(bytes);
    }, signal);
    const report = inspector.report(shardCap, memoryBudget, layout);
    return { url: href, build, ...report, fileBytes: read.fileBytes ?? report.fileBytes, bytesRead: read.bytesRead, rangeRequests: read.rangeRequests };
  } catch (err) {
    throw toGguf64Error(err, { url: href });
  } finally {
    inspector?.free();
  }
}

/** A model in memory. `info` describes it; `unload()` releases its memory for reuse. */
export class LoadedModel {
  #handle;

  #storage;

  constructor(handle, build, loadMs, storage, cacheInfo) {
    this.#handle = handle;
    this.#storage = storage;
    /** @type {{ build: string, arch: string|null, name: string|null, nLayers: number|null, nTensors: number, fileBytes: number, dataOffset: number, dataBytes: number, ggufVersion: number, alignment: number, layout: object, loadMs: number }} */
    this.info = Object.freeze({ build, ...handle.info(), loadMs, cache: cacheInfo });
  }

  /** SHA-256 over every tensor's bytes in header order, read back from memory (for verification). */
  tensorSha256() {
    return this.#handle.tensorSha256((memory, offset, length) => new Uint8Array(this.#storage[memory].buffer, offset, length));
  }

  /** Frees the model's memory (the wasm memory keeps its size and reuses the space). */
  unload() {
    this.#handle?.free();
    this.#handle = undefined;
    this.#storage = undefined;
  }
}
