// gguf64: stream GGUF language models of any size into 64-bit WebAssembly memories.
//
//   import { loadModel } from 'gguf64';
//   const model = await loadModel('/models/SmolLM2-135M-Instruct.Q4_1.gguf', { onProgress });
//   console.log(model.info); // { build, arch, nLayers, nTensors, fileBytes, ... }

import { ErrorCode, Gguf64Error, toGguf64Error } from './errors.js';
import { detectFeatures } from './features.js';
import { createBridge } from './bridge.js';
import { readPrefix } from './range.js';
import { createStorage } from './storage.js';
import { openSource } from './source.js';
import { megabytesPerSecond, writeChunk, writeHeader } from './stream.js';
// Both builds' glue is imported statically (a few tens of KB each); only the chosen build's .wasm
// is fetched, from `new URL('gguf64_bg.wasm', import.meta.url)` beside its glue, which webpack 5
// and Vite emit as an asset. Static imports keep the worker bundle one chunk (Vite's default
// worker format cannot split).
import * as wasm64 from '../../pkg/wasm64/gguf64.js';
import * as wasm32 from '../../pkg/wasm32/gguf64.js';

export { ErrorCode, Gguf64Error } from './errors.js';
export { detectFeatures } from './features.js';
export { cache } from './cache.js';
export { createBridge } from './bridge.js';

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

/** The instantiated build (`{ bindings, memory, build }`): for tools and tests of the runtime. */
export function runtimeFor(build = 'wasm64') {
  return runtime(build);
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
 * @param {string | URL | Blob | Array<string | URL>} source a URL, a File/Blob, or the URLs of a split model's parts
 *   in order (the name of any part, `…-00002-of-00003.gguf`, also stands for all of them)
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
 * @property {number} [workingSetLayers] at most this many layers in the main memory (the rest paged in from storage)
 * @property {{ attempts: number, baseDelayMs: number }} [retry] resuming after dropped connections (default 5 attempts, 250 ms doubling)
 * @property {boolean} [cache] keep the file in the persistent cache and read it from there next time (default true)
 * @property {'background' | 'before'} [revalidate] when a complete cached copy exists: 'background' (default) loads it
 *   with no request, then asks the server (HEAD) whether the file changed and drops a stale copy (warning CACHE_STALE);
 *   'before' asks first and refetches a changed file
 * @property {string | string[]} [sha256] the file's SHA-256 (hex; one per part for a split model): hashed while streaming, INTEGRITY error on a mismatch
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
  const { onProgress = () => {}, signal, build: requested = 'auto', layout, shardCap, memoryBudget, workingSetLayers } = options;
  const parts = splitParts(source);
  const context = parts ? { url: parts[0] } : typeof source === 'string' || source instanceof URL ? { url: String(source) } : {};
  const session = { loader: undefined, body: undefined, storage: undefined, plan: undefined, layersDone: 0, lengthHint: undefined };
  try {
    const { bindings, memory, build } = await runtime(chooseBuild(requested));
    const startMs = performance.now();
    const report = (phase, extra = {}) => onProgress({
      phase,
      layout: session.plan,
      layer: extra.group?.layer ?? null,
      layersDone: session.layersDone,
      layersTotal: session.plan ? session.plan.memories.reduce((n, m) => n + m.layers.length, 0) : null,
      bytesLoaded: session.loader?.received ?? 0,
      bytesTotal: session.loader?.expectedLen ?? session.lengthHint ?? null,
      mbPerSec: megabytesPerSecond(session.loader?.received ?? 0, startMs, performance.now()),
      ...extra,
    });
    const io = {
      memory,
      signal,
      retry: options.retry,
      onResume: ({ offset, attempt }) => report('resume', { offset, attempt }),
      onWarning: ({ code, message }) => report('warning', { code, message }),
      storageFor: (index) => {
        session.storage ??= createStorage(session.loader.layout(), build);
        return session.storage[index];
      },
      /** After every chunk: the plan once known, the groups that landed, a progress event. */
      afterChunk: () => {
        session.plan ??= session.loader.layout();
        for (const group of session.loader.takeRegistered()) {
          if (group.kind === 'layer') session.layersDone += 1;
          report('group', { group });
        }
        report(session.plan ? 'data' : 'header');
      },
    };
    const limits = [shardCap, memoryBudget, layout, workingSetLayers];
    const fromCache = parts
      ? await streamParts(parts, bindings, limits, session, io, options)
      : await streamOne(source, bindings, limits, session, io, options);
    // finish() consumes the loader on the wasm side, whether it succeeds or throws.
    const finishing = session.loader;
    session.loader = undefined;
    const handle = finishing.finish();
    await session.body?.finish(); // the last cache writes
    const model = new LoadedModel(handle, { bindings, memory, build }, performance.now() - startMs, session.storage, { bytesFromCache: fromCache() });
    onProgress({ phase: 'done', layout: session.plan, layer: null, layersDone: session.layersDone, layersTotal: session.layersDone,
      bytesLoaded: model.info.fileBytes, bytesTotal: model.info.fileBytes,
      mbPerSec: megabytesPerSecond(model.info.fileBytes, startMs, performance.now()) });
    return model;
  } catch (err) {
    session.body?.cancel();
    throw toGguf64Error(err, context);
  } finally {
    session.loader?.free();
  }
}

/** One file (URL, File or Blob), through the cache when it is a URL. Returns a `fromCache()` getter. */
async function streamOne(source, bindings, limits, session, io, options) {
  const { cache: useCache = true, revalidate, sha256 } = options;
  const body = await openSource(source, { signal: io.signal, retry: io.retry, onResume: io.onResume, useCache, revalidate, onWarning: io.onWarning });
  session.body = body;
  session.lengthHint = body.length;
  session.loader = new bindings.StreamLoader(body.length, ...limits);
  if (sha256) session.loader.verifySha256(sha256);
  for (;;) {
    io.signal?.throwIfAborted();
    const { done, value } = await body.read(session.loader.received, session.loader.expectedLen);
    if (done) break;
    writeChunk(session.loader, io.memory, io.storageFor, value);
    io.afterChunk();
  }
  return () => body.fromCache;
}

/** Parts fetched at once, at most. */
const PART_CONCURRENCY = 3;

/**
 * A split model: every part's header first (Range requests), then every part's tensor data, at
 * most PART_CONCURRENCY parts at a time. Each part goes through the cache like a single file
 * (read from the start, its header bytes skipped: they are already known), and resumes on its own
 * after dropped connections.
 */
async function streamParts(urls, bindings, limits, session, io, options) {
  const { cache: useCache = true, revalidate } = options;
  const loader = bindings.StreamLoader.split(urls.length, ...limits);
  session.loader = loader;
  const hashes = Array.isArray(options.sha256) ? options.sha256 : [];
  hashes.forEach((hex, part) => hex && loader.verifySha256(hex, part));
  await pool(urls.map((url, part) => async () => {
    await readPrefix(url, (bytes) => (writeHeader(loader, io.memory, bytes, part) ? 0 : 1), io.signal);
  }));
  io.afterChunk();
  let fromCache = 0;
  await pool(urls.map((url, part) => async () => {
    const body = await openSource(url, { signal: io.signal, retry: io.retry, onResume: io.onResume, useCache, revalidate, onWarning: io.onWarning });
    try {
      const start = loader.position(part);
      for (let at = 0; ;) {
        io.signal?.throwIfAborted();
        const { done, value } = await body.read(at);
        if (done) break;
        const skip = Math.max(0, start - at);
        at += value.length;
        if (skip < value.length) {
          writeChunk(loader, io.memory, io.storageFor, skip ? value.subarray(skip) : value, part);
          io.afterChunk();
        }
      }
      await body.finish();
      fromCache += body.fromCache;
    } catch (err) {
      body.cancel();
      throw err;
    }
  }));
  return () => fromCache;
}

/** Runs the tasks, at most PART_CONCURRENCY at a time; the first failure rejects. */
async function pool(tasks) {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]();
  };
  await Promise.all(Array.from({ length: Math.min(PART_CONCURRENCY, tasks.length) }, worker));
}

/**
 * The part URLs of a split model: an array of URLs as given, or the name of any part
 * (`model-00002-of-00003.gguf`) expanded to all of them. `undefined` for a single file.
 */
export function splitParts(source) {
  if (Array.isArray(source)) return source.map((u) => new URL(String(u), globalThis.location?.href).href);
  if (typeof source !== 'string' && !(source instanceof URL)) return undefined;
  const href = new URL(String(source), globalThis.location?.href).href;
  const m = /^(.*)-(\d{5})-of-(\d{5})\.gguf(\?.*)?$/.exec(href);
  if (!m || Number(m[3]) < 2) return undefined;
  const count = Number(m[3]);
  return Array.from({ length: count }, (_, i) => `${m[1]}-${String(i + 1).padStart(5, '0')}-of-${m[3]}.gguf${m[4] ?? ''}`);
}

/**
 * Reads only the header of a GGUF file (through Range requests) and reports its metadata, its
 * tensors, its config and the layout it would get, without downloading the weights.
 * @param {string | URL} url
 * @param {{ signal?: AbortSignal, build?: 'auto' | 'wasm64' | 'wasm32', layout?: string, shardCap?: number, memoryBudget?: number }} [options]
 */
export async function inspect(url, options = {}) {
  const { signal, build: requested = 'auto', layout, shardCap, memoryBudget, workingSetLayers } = options;
  const href = new URL(String(url), globalThis.location?.href).href;
  let inspector;
  try {
    const { bindings, build } = await runtime(chooseBuild(requested));
    const read = await readPrefix(href, (bytes, fileBytes) => {
      inspector ??= new bindings.HeaderInspector(fileBytes);
      return inspector.push(bytes);
    }, signal);
    const report = inspector.report(shardCap, memoryBudget, layout, workingSetLayers);
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

  #runtime;

  #bridge;

  constructor(handle, runtime, loadMs, storage, cacheInfo) {
    const { build } = runtime;
    this.#handle = handle;
    this.#runtime = runtime;
    this.#storage = storage;
    /** @type {{ build: string, arch: string|null, name: string|null, nLayers: number|null, nTensors: number, fileBytes: number, dataOffset: number, dataBytes: number, ggufVersion: number, alignment: number, layout: object, loadMs: number }} */
    this.info = Object.freeze({ build, ...handle.info(), loadMs, cache: cacheInfo });
    /** What the last `generate` did: ids, text, speeds and why it stopped; null before the first. */
    this.lastGeneration = null;
    this.#pageMs = 0;
    // The forward pass calls this (synchronously) when a layer must be paged in.
    handle.setCopyIn((memory, src, dst, len) => {
      const t0 = performance.now();
      this.#bridgeFor().load(memory, src, dst, len);
      this.#pageMs += performance.now() - t0;
    });
  }

  #pageMs;

  #bridgeFor() {
    this.#bridge ??= createBridge(this.#runtime.bindings, this.#runtime.memory, this.#storage, detectFeatures());
    return this.#bridge;
  }

  #live() {
    if (!this.#handle) throw new Gguf64Error(ErrorCode.INVALID_ARGUMENT, 'the model was unloaded');
    return this.#handle;
  }

  /**
   * Token ids of `text`. `addSpecial` adds BOS/EOS as the model's flags say, `parseSpecial` turns
   * special-token text (e.g. `<|im_start|>`) into its id; both default to true, as llama.cpp does.
   * @returns {number[]}
   */
  tokenize(text, { addSpecial = true, parseSpecial = true } = {}) {
    return Array.from(this.#call(() => this.#live().tokenize(String(text), addSpecial, parseSpecial)));
  }

  /** The text of token ids (special tokens rendered only with `special: true`). */
  detokenize(ids, { special = false } = {}) {
    return this.#call(() => this.#live().detokenize(Uint32Array.from(ids), special));
  }

  /** The prompt text of `[{ role, content }]` in the model's own chat format. */
  applyChatTemplate(messages, { addGenerationPrompt = true } = {}) {
    return this.#call(() => this.#live().applyChatTemplate(messages, addGenerationPrompt));
  }

  /** Logits (a Float32Array of the vocabulary's size) after `ids`, from an empty context. */
  logits(ids) {
    return this.#call(() => this.#live().logits(Uint32Array.from(ids)));
  }

  /**
   * The prompt's token ids: `prompt` is text, `{ messages }` (formatted with the chat template),
   * or an array of ids. With `chat: true`, text becomes one user message.
   */
  promptIds(prompt, { chat = false } = {}) {
    if (Array.isArray(prompt) || prompt instanceof Uint32Array) return Array.from(prompt);
    if (prompt && typeof prompt === 'object' && Array.isArray(prompt.messages)) {
      return this.tokenize(this.applyChatTemplate(prompt.messages));
    }
    if (chat) return this.tokenize(this.applyChatTemplate([{ role: 'user', content: String(prompt) }]));
    return this.tokenize(String(prompt));
  }

  /**
   * Generates text, as an async iterator of pieces (whole characters). Options: `maxTokens`
   * (256), `temperature` (0 = greedy), `topK`, `topP`, `minP`, `repeatPenalty`, `repeatLastN`,
   * `seed`, `stop` (strings), `ignoreEos`, `chat`, `signal`, `contextLength`, `reuse`. The
   * prompt's cached prefix from the previous call is reused unless `reuse: false`. Between tokens
   * the iterator yields to the event loop.
   * Afterwards `lastGeneration` holds `{ promptIds, outputIds, text, finish, promptTokens,
   * promptMs, decodeMs, promptTokS, decodeTokS }`.
   * @returns {AsyncGenerator<string, void, void>}
   */
  async *generate(prompt, options = {}) {
    const { signal } = options;
    const handle = this.#live();
    if (options.contextLength) this.#call(() => handle.setContextLength(options.contextLength));
    if (options.reuse === false) handle.resetContext();
    const promptIds = this.promptIds(prompt, options);
    const record = { promptIds, outputIds: [], text: '', finish: null, promptTokens: 0, promptMs: 0, decodeMs: 0, promptTokS: 0, decodeTokS: 0 };
    this.lastGeneration = record;
    if (signal?.aborted) {
      record.finish = 'aborted';
      return;
    }
    let t0 = performance.now();
    record.promptTokens = this.#call(() => handle.begin(Uint32Array.from(promptIds), options));
    record.promptMs = performance.now() - t0;
    record.promptTokS = record.promptTokens / (record.promptMs / 1000);
    let evaluated = 0;
    try {
      for (;;) {
        if (signal?.aborted) {
          record.finish = 'aborted';
          break;
        }
        t0 = performance.now();
        const step = this.#call(() => handle.step());
        record.decodeMs += performance.now() - t0;
        if (!step.done) evaluated += 1;
        if (step.text) {
          record.text += step.text;
          yield step.text;
        }
        if (step.done) {
          record.finish = step.finish;
          break;
        }
        await nextTask();
      }
    } catch (err) {
      record.finish = 'error';
      throw err;
    } finally {
      // Also when the caller leaves the loop early (`break` in a for await): what was generated.
      record.finish ??= 'aborted';
      record.outputIds = Array.from(handle.generatedIds());
      record.decodeTokS = evaluated > 0 ? evaluated / (record.decodeMs / 1000) : 0;
    }
  }

  /** Runs a wasm call, turning its errors into Gguf64Errors. */
  #call(fn) {
    try {
      return fn();
    } catch (err) {
      throw toGguf64Error(err);
    }
  }

  /** The seed's plain-text report: model analysis, memory plan, where each group lives. */
  summary() {
    return this.#handle.summary();
  }

  /** SHA-256 over every tensor's bytes in header order, read back from memory (for verification). */
  tensorSha256() {
    return this.#handle.tensorSha256((memory, offset, length) => new Uint8Array(this.#storage[memory].buffer, offset, length));
  }

  /**
   * Makes layer `layer` usable from the main memory (paging it in from its storage memory if the
   * layout pages) and pins it until `releaseLayer`. Returns `{ hit, address, bytes }`.
   */
  acquireLayer(layer) {
    const access = this.#handle.acquireLayer(layer);
    if (access.copy) {
      const { memory, src, dst, len } = access.copy;
      this.#bridgeFor().load(memory, src, dst, len);
    }
    return { hit: access.hit, address: access.address, bytes: access.bytes };
  }

  releaseLayer(layer) {
    this.#handle.releaseLayer(layer);
  }

  /** `{ hits, misses, prefetches, evictions, bytesPaged, pageMs, bridge }` for a paged layout, else undefined. */
  pagerStats() {
    const stats = this.#handle.pagerStats();
    return stats && { ...stats, pageMs: this.#pageMs, bridge: this.#bridge?.kind ?? null };
  }

  /** SHA-256 of `length` bytes of the main memory at `address` (inside the model's weights). */
  mainSha256(address, length) {
    return this.#handle.mainSha256(address, length);
  }

  /** Frees the model's memory (the wasm memory keeps its size and reuses the space). */
  unload() {
    this.#handle?.free();
    this.#handle = undefined;
    this.#storage = undefined;
    this.#bridge = undefined;
  }
}

/** Resolves on a fresh task (not a microtask), so a page can render between two tokens. */
function nextTask() {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}
