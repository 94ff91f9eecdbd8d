// gguf64: stream GGUF language models of any size into 64-bit WebAssembly memories.
//
//   import { loadModel } from 'gguf64';
//   const model = await loadModel('/models/SmolLM2-135M-Instruct.Q4_1.gguf', { onProgress });
//   console.log(model.info); // { build, simd, arch, nLayers, nTensors, fileBytes, ... }

import { MODEL_METHODS, TESTING, TESTING_METHODS } from './api.js';
import { ErrorCode, Gguf64Error, toGguf64Error, tokenIds } from './errors.js';
import { detectFeatures } from './features.js';
import { createBridge } from './bridge.js';
import { readPrefix } from './range.js';
import { chooseBuild, chooseSimd, runtimeFor } from './runtime.js';
import { DiskStorage, createStorage } from './storage.js';
import { openSource } from './source.js';
import { megabytesPerSecond, writeChunk, writeHeader } from './stream.js';
import { ShardGroup, resolveThreads } from './shards.js';

export { ErrorCode, Gguf64Error } from './errors.js';
export { detectFeatures } from './features.js';
export { cache } from './cache.js';
export { chooseBuild, memoryUsage } from './runtime.js';

/** A loaded model's wasm handle, for the shard workers (./shard-worker.js): `model[SHARD]()`. */
export const SHARD = Symbol('gguf64.shard');

/** After `unload()`: a promise that settles once the model's storage is released (./worker.js). */
export const STORAGE_CLOSED = Symbol('gguf64.storageClosed');

/** The loader's layout (the MemoryPlan as `model.info.layout` gives it), once the header is parsed. */
function layoutOf(loader) {
  const json = loader.layout();
  return json === undefined ? undefined : JSON.parse(json);
}

const GIB = 2 ** 30;

/**
 * The memory limit when none is given: `navigator.deviceMemory` (GiB, rounded down to a power of
 * two and capped at 8 by the browser) where it says the device has less than 8 GiB, else none.
 * A coarse hint: Firefox does not expose it, and 8 means "8 or more".
 */
export function defaultMemoryLimit() {
  const gib = globalThis.navigator?.deviceMemory;
  return typeof gib === 'number' && gib > 0 && gib < 8 ? gib * GIB : undefined;
}

/** The memory-plan settings of `options`, as the wasm side takes them. */
function planOptions({ shardCap, memoryBudget, memoryLimit = defaultMemoryLimit(), layout, workingSetLayers }) {
  return { shardCap, memoryBudget, memoryLimit, layout, workingSetLayers };
}

/** Opens the disk tier's file once the header's plan puts layers on disk (before any lands). */
async function openDiskIfPlanned(session) {
  session.plan ??= layoutOf(session.loader);
  if (session.plan?.kind === 'disk' && !session.disk) session.disk = await DiskStorage.open();
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
 * @property {'auto' | 'relaxed' | 'simd128'} [simd] the SIMD variant of the build: 'auto' (default) takes 'relaxed' (compiled
 *   with relaxed SIMD too) where the browser validates relaxed SIMD, else 'simd128'; 'relaxed' where it does not is
 *   UNSUPPORTED_BROWSER. One thread holds one variant of a build: with `worker: false`, the loads on one thread must
 *   get the same variant (another is INVALID_ARGUMENT)
 * @property {'auto' | 'standard' | 'memory64' | 'paged' | 'multi' | 'disk'} [layout] 'disk': the layers in one OPFS file,
 *   read into `workingSetLayers` slots (2 by default) as they are used; one thread, in a worker only. 'auto' takes it when
 *   the model and its working room exceed `memoryLimit`
 * @property {number} [shardCap] bytes per storage memory
 * @property {number} [memoryBudget] main-memory bytes for layer weights (the rest in storage memories)
 * @property {number} [memoryLimit] bytes the model may hold in memory altogether (every memory's weights, KV cache and
 *   working room): above it, 'auto' keeps the layers on disk, the first ones resident as far as the limit allows, and the
 *   model loads on one thread (the header is planned first). Default: `navigator.deviceMemory` where below 8 GiB, else none
 * @property {number} [workingSetLayers] at most this many layers in the main memory (the rest paged in from storage)
 * @property {{ attempts?: number, baseDelayMs?: number, stallMs?: number }} [retry] resuming after dropped connections (default 5 attempts, 250 ms doubling; a connection with no byte for stallMs, default 30 000, counts as dropped)
 * @property {boolean} [cache] keep the file in the persistent cache and read it from there next time (default true)
 * @property {'background' | 'before'} [revalidate] when a complete cached copy exists: 'background' (default) loads it
 *   with no request, then asks the server (HEAD) whether the file changed and drops a stale copy (warning CACHE_STALE);
 *   'before' asks first and refetches a changed file
 * @property {string | string[]} [sha256] the file's SHA-256 (hex; one per part for a split model): hashed while streaming, INTEGRITY error on a mismatch
 * @property {number | 'auto'} [threads] workers the model is split over (tensor parallel, ./shards.js): 1 (the default here) runs
 *   it on this thread alone; more start shard workers, and `logits()` then returns a promise (the worker API, ./worker.js, awaits
 *   it; the package entry allows more than 1 only there). A model whose heads do not divide runs on fewer (at least 1);
 *   `info.parallel` says what was used. One file only (not a split model's parts).
 * @property {'auto' | 'shared-memory' | 'message-channel'} [transport] how the threads swap results: 'auto' (default) takes
 *   shared memory on a cross-origin isolated page, else MessageChannels
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
  const { onProgress = () => {}, signal, build: requested = 'auto', simd: requestedSimd = 'auto' } = options;
  const parts = splitParts(source);
  const context = parts ? { url: parts[0] } : typeof source === 'string' || source instanceof URL ? { url: String(source) } : {};
  const session = { loader: undefined, body: undefined, storage: undefined, disk: undefined, plan: undefined, layersDone: 0, lengthHint: undefined, group: undefined, routed: 0 };
  try {
    const { bindings, memory, build, simd } = await runtimeFor(chooseBuild(requested), chooseSimd(requestedSimd));
    // The disk tier runs on one thread. Its file is opened once the header is planned (openDiskIfPlanned).
    const onDisk = options.layout === 'disk';
    if (onDisk && typeof options.threads === 'number' && options.threads > 1) {
      throw new Gguf64Error(ErrorCode.INVALID_ARGUMENT, 'the disk layout runs on one thread: drop threads (or ask for 1)');
    }
    const startMs = performance.now();
    const report = (phase, extra = {}) => onProgress({
      phase,
      layout: session.plan,
      layer: extra.group?.layer ?? null,
      layersDone: session.layersDone,
      layersTotal: session.plan ? session.plan.memories.reduce((n, m) => n + m.layers.length, 0) : null,
      bytesLoaded: session.router ? session.routed : session.loader?.received ?? 0,
      bytesTotal: session.router ? session.lengthHint ?? null : session.loader?.expectedLen ?? session.lengthHint ?? null,
      mbPerSec: megabytesPerSecond(session.router ? session.routed : session.loader?.received ?? 0, startMs, performance.now()),
      ...extra,
    });
    const io = {
      memory,
      signal,
      retry: options.retry,
      onResume: ({ offset, attempt }) => report('resume', { offset, attempt }),
      onWarning: ({ code, message }) => report('warning', { code, message }),
      storageFor: (index) => {
        session.storage ??= createStorage(layoutOf(session.loader), build, session.disk);
        return session.storage[index];
      },
      /** After every chunk: the plan once known, the groups that landed, a progress event. */
      afterChunk: () => {
        session.plan ??= layoutOf(session.loader);
        for (const group of JSON.parse(session.loader.takeRegistered())) {
          if (group.kind === 'layer') session.layersDone += 1;
          report('group', { group });
        }
        report(session.plan ? 'data' : 'header');
      },
    };
    const plan = planOptions(options);
    let fromCache;
    // What was asked for; `parallel.threads` says what ran.
    const threads = parts || onDisk ? 1 : resolveThreads(options.threads ?? 1);
    if (parts) fromCache = await streamParts(parts, bindings, plan, session, io, options);
    else {
      const { cache: useCache = true, revalidate } = options;
      session.body = await openSource(source, { signal, retry: options.retry, onResume: io.onResume, useCache, revalidate, onWarning: io.onWarning });
      session.lengthHint = session.body.length;
      // Under a memory limit, the header's plan says first whether the layers go to the disk tier,
      // which runs on one thread; shards are planned without it (each holds a part of the model).
      // (A header that cannot be planned also loads on one thread, whose loader says why.)
      const oneThread = threads > 1 && plan.memoryLimit !== undefined && ['disk', undefined].includes(await peekLayoutKind(session, bindings, plan));
      if (threads > 1 && !oneThread) fromCache = await streamSharded({ bindings, build, simd, threads }, { ...plan, memoryLimit: undefined }, session, io, options);
      else fromCache = await streamOne(bindings, plan, session, io, options);
    }
    session.disk?.finishWrites();
    // finish() consumes the loader on the wasm side, whether it succeeds or throws.
    const finishing = session.loader;
    session.loader = undefined;
    const handle = finishing.finish();
    await session.body?.finish(); // the last cache writes
    const shards = session.group ? await session.group.finishLoad() : [];
    // Every shard runs the leader's code: the same build and SIMD variant (ShardGroup.start passes them on).
    const odd = shards.find((info) => info.build !== build || info.simd !== simd);
    if (odd) {
      handle.free();
      throw new Gguf64Error(ErrorCode.INTERNAL, `a shard worker runs ${odd.build}/${odd.simd}, the leader ${build}/${simd}`);
    }
    const parallel = { threads: 1 + shards.length, requested: threads, transport: session.group?.transport ?? null,
      crossOriginIsolated: Boolean(globalThis.crossOriginIsolated) };
    const storage = session.storage ?? (session.disk && [undefined, session.disk]);
    const model = new LoadedModel(handle, { bindings, memory, build, simd }, performance.now() - startMs, storage,
      { bytesFromCache: fromCache() }, { group: session.group, parallel, fileBytes: session.lengthHint });
    session.group = undefined;
    onProgress({ phase: 'done', layout: session.plan, layer: null, layersDone: session.layersDone, layersTotal: session.layersDone,
      bytesLoaded: model.info.fileBytes, bytesTotal: model.info.fileBytes,
      mbPerSec: megabytesPerSecond(model.info.fileBytes, startMs, performance.now()) });
    return model;
  } catch (err) {
    session.body?.cancel();
    session.group?.terminate();
    session.disk?.close();
    throw toGguf64Error(err, context);
  } finally {
    session.loader?.free();
    session.router?.free();
  }
}

/**
 * Reads the header from `session.body` ahead of the load and plans it: the layout's kind, or
 * undefined if the file ends first or the plan fails (the load then says why). The bytes read (copied: a body may
 * reuse its buffer) are read again by the load before the body goes on, through `session.body`.
 */
async function peekLayoutKind(session, bindings, plan) {
  const { body } = session;
  const inspector = new bindings.HeaderInspector(body.length);
  const chunks = [];
  try {
    for (let at = 0, complete = false; !complete;) {
      const { done, value } = await body.read(at, body.length);
      if (done) return undefined;
      chunks.push(value.slice());
      at += value.length;
      complete = inspector.push(value) === 0;
    }
    return JSON.parse(inspector.report(plan)).layout?.kind;
  } finally {
    inspector.free();
    session.body = replaying(body, chunks);
  }
}

/** `body` whose first reads return `chunks` (its bytes from offset 0 on) again. */
function replaying(body, chunks) {
  let next = 0;
  return {
    get length() { return body.length; },
    get fromCache() { return body.fromCache; },
    read: (position, expected) => (next < chunks.length ? Promise.resolve({ done: false, value: chunks[next++] }) : body.read(position, expected)),
    cancel: () => body.cancel(),
    finish: () => body.finish(),
  };
}

/**
 * One file (URL, File or Blob; `session.body`, read through the cache when it is a URL). The
 * header's bytes go first; once it is planned, the disk tier's file opens if the plan wants it,
 * before any layer lands. Returns a `fromCache()` getter.
 */
async function streamOne(bindings, plan, session, io, { sha256 }) {
  const { body } = session;
  session.loader = new bindings.StreamLoader(body.length, plan);
  if (sha256) session.loader.verifySha256(sha256, 0);
  for (;;) {
    io.signal?.throwIfAborted();
    const { done, value } = await body.read(session.loader.received, session.loader.expectedLen);
    if (done) break;
    let rest = value;
    if (!session.loader.headerComplete(0)) {
      rest = value.subarray(writeHeader(session.loader, io.memory, value, 0));
      if (session.loader.headerComplete(0)) await openDiskIfPlanned(session);
    }
    if (rest.length) writeChunk(session.loader, io.memory, io.storageFor, rest, 0);
    io.afterChunk();
  }
  return () => body.fromCache;
}

/**
 * One file split over `threads` workers on the way in: the whole file is read once (through the
 * cache), a ShardRouter cuts it into each shard's file, this thread loads shard 0's and posts
 * the others' to their workers (./shards.js). A model that cannot be split arrives whole as
 * shard 0, and no worker starts.
 */
async function streamSharded({ bindings, build, simd, threads }, plan, session, io, options) {
  const { sha256 } = options;
  const { body } = session;
  const router = new bindings.ShardRouter(threads, body.length);
  session.router = router;
  if (sha256) router.verifySha256(sha256);
  for (;;) {
    io.signal?.throwIfAborted();
    const { done, value } = await body.read(session.routed, body.length);
    if (done) break;
    router.push(value);
    session.routed += value.length;
    const count = router.count();
    if (count === undefined) continue;
    if (!session.loader) {
      session.loader = new bindings.StreamLoader(router.fileLen(0), plan);
      if (count > 1) {
        session.group = ShardGroup.start(count, { build, simd }, { transport: options.transport, slots: router.gatherFloats() });
        session.group.beginLoad(Array.from({ length: count }, (_, i) => router.fileLen(i)), plan);
      }
    }
    const mine = router.take(0);
    if (mine.length) writeChunk(session.loader, io.memory, io.storageFor, mine, 0);
    for (let i = 1; i < count; i++) await session.group.send(i, router.take(i));
    io.afterChunk();
  }
  router.finish();
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
async function streamParts(urls, bindings, plan, session, io, options) {
  const { cache: useCache = true, revalidate } = options;
  const loader = bindings.StreamLoader.split(urls.length, plan);
  session.loader = loader;
  const hashes = Array.isArray(options.sha256) ? options.sha256 : [];
  hashes.forEach((hex, part) => hex && loader.verifySha256(hex, part));
  await pool(urls.map((url, part) => async () => {
    await readPrefix(url, (bytes) => {
      writeHeader(loader, io.memory, bytes, part);
      return loader.headerComplete(part) ? 0 : 1;
    }, io.signal);
  }));
  await openDiskIfPlanned(session);
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
 * @param {{ signal?: AbortSignal, build?: 'auto' | 'wasm64' | 'wasm32', simd?: 'auto' | 'relaxed' | 'simd128', layout?: string, shardCap?: number, memoryBudget?: number }} [options]
 */
export async function inspect(url, options = {}) {
  const { signal, build: requested = 'auto', simd: requestedSimd = 'auto' } = options;
  const href = new URL(String(url), globalThis.location?.href).href;
  let inspector;
  try {
    const { bindings, build, simd } = await runtimeFor(chooseBuild(requested), chooseSimd(requestedSimd));
    const read = await readPrefix(href, (bytes, fileBytes) => {
      inspector ??= new bindings.HeaderInspector(fileBytes);
      return inspector.push(bytes);
    }, signal);
    const report = JSON.parse(inspector.report(planOptions(options)));
    return { url: href, build, simd, ...report, fileBytes: read.fileBytes ?? report.fileBytes, bytesRead: read.bytesRead, rangeRequests: read.rangeRequests };
  } catch (err) {
    throw toGguf64Error(err, { url: href });
  } finally {
    inspector?.free();
  }
}

/**
 * A model in memory, answering on this thread. `info` describes it; `unload()` releases its
 * memory for reuse, after which every method throws a Gguf64Error with code UNLOADED.
 */
export class LoadedModel {
  #handle;

  #storage;

  #runtime;

  #bridge;

  #pageMs = 0;

  /** The shard workers of a model split over threads (./shards.js), else undefined. */
  #group;

  constructor(handle, runtime, loadMs, storage, cacheInfo, threading = {}) {
    const { build, simd } = runtime;
    this.#handle = handle;
    this.#runtime = runtime;
    this.#storage = storage;
    this.#group = threading.group;
    const own = JSON.parse(handle.info());
    const parallel = threading.parallel ?? { threads: 1, requested: 1, transport: null, crossOriginIsolated: Boolean(globalThis.crossOriginIsolated) };
    if (this.#group) {
      // This thread holds shard 0: the file is the whole one, the layout this shard's.
      parallel.shards = [handle.shard()];
      Object.assign(own, { fileBytes: threading.fileBytes ?? own.fileBytes, shardBytes: own.fileBytes });
    }
    /**
     * `chatTemplate`: which template chat prompts get: `source` 'file' (the file's
     * `tokenizer.chat_template`, `format` 'jinja'), 'builtin' (the file has none: `format`
     * 'chatml', or 'gemma' for a Gemma file) or 'none' (no tokenizer in the file); `error` the
     * reason chat will fail with CHAT_TEMPLATE (e.g. the file's template does not parse), else null.
     * `parallel`: the threads the model is split over and how they exchange activations.
     * `simd`: the SIMD variant of the build that runs it, 'relaxed' or 'simd128'.
     * @type {{ build: string, simd: 'relaxed' | 'simd128', arch: string|null, name: string|null, nLayers: number|null, nTensors: number, fileBytes: number, dataOffset: number, dataBytes: number, ggufVersion: number, alignment: number, parts: number, layout: object, chatTemplate: { source: 'file' | 'builtin' | 'none', format: 'jinja' | 'chatml' | 'gemma' | null, error: string | null }, loadMs: number, cache: { bytesFromCache: number }, parallel: { threads: number, requested: number, transport: string|null, crossOriginIsolated: boolean } }}
     */
    this.info = Object.freeze({ build, simd, ...own, loadMs, cache: cacheInfo, parallel: Object.freeze(parallel) });
    /** What the last `generate` did: ids, text, speeds and why it stopped; null before the first. */
    this.lastGeneration = null;
    // The engine calls this (synchronously) to read a storage memory: paging a layer in, hashing.
    handle.setCopyIn((memory, src, dst, len) => {
      const t0 = performance.now();
      this.#bridgeFor().load(memory, src, dst, len);
      this.#pageMs += performance.now() - t0;
    });
  }

  #bridgeFor() {
    this.#bridge ??= createBridge(this.#runtime.bindings, this.#runtime.memory, this.#storage, detectFeatures());
    return this.#bridge;
  }

  /** Runs `fn(handle)` on the live model, every error a Gguf64Error (UNLOADED once unloaded). */
  #call(fn) {
    if (!this.#handle) throw new Gguf64Error(ErrorCode.UNLOADED, 'the model was unloaded');
    try {
      return fn(this.#handle);
    } catch (err) {
      throw toGguf64Error(err);
    }
  }

  /**
   * Token ids of `text`. `addSpecial` adds BOS/EOS as the model's flags say, `parseSpecial` turns
   * special-token text (e.g. `<|im_start|>`) into its id; both default to true, as llama.cpp does.
   * @returns {number[]}
   */
  tokenize(text, options) {
    const { addSpecial = true, parseSpecial = true } = options ?? {};
    return this.#call((h) => Array.from(h.tokenize(String(text), Boolean(addSpecial), Boolean(parseSpecial))));
  }

  /** The text of token ids (special tokens rendered only with `special: true`). */
  detokenize(ids, options) {
    const { special = false } = options ?? {};
    return this.#call((h) => h.detokenize(tokenIds(ids), Boolean(special)));
  }

  /**
   * The prompt text of `[{ role, content }]` in the model's own chat format (its Jinja template,
   * rendered as Hugging Face transformers does). Options: `addGenerationPrompt` (true),
   * `template` (Jinja source used instead of the file's), `tools` (tool schemas for templates
   * that describe tools).
   */
  applyChatTemplate(messages, options) {
    const { addGenerationPrompt = true, template, tools } = options ?? {};
    return this.#call((h) => h.applyChatTemplate(messages, { addGenerationPrompt: Boolean(addGenerationPrompt), template, tools }));
  }

  /**
   * Logits (a Float32Array of the vocabulary's size) after `ids`, as from an empty context; on
   * one thread a prefix already in the KV cache is not evaluated again (same numbers, bit for
   * bit), so scoring a sequence position by position costs one token per call. A promise of
   * them when the model is split over threads (which evaluate `ids` whole).
   */
  logits(ids) {
    if (!this.#group) return this.#call((h) => h.logits(tokenIds(ids)));
    const list = this.#call(() => tokenIds(ids));
    return this.#threaded(async (h) => {
      h.endGeneration();
      await this.#group.evaluate(h, this.#runtime.memory, 0, list);
      const { address, length } = h.logitsInfo();
      return new Float32Array(this.#runtime.memory.buffer, address, length).slice();
    });
  }

  /** Runs `fn(handle)` (async) on the live model split over threads, errors as Gguf64Errors. */
  async #threaded(fn) {
    if (!this.#handle) throw new Gguf64Error(ErrorCode.UNLOADED, 'the model was unloaded');
    try {
      return await fn(this.#handle);
    } catch (err) {
      throw toGguf64Error(err);
    }
  }

  /** `begin` on one thread, or across the shards: `{ evaluated, reused }`. */
  async #begin(ids, opts) {
    if (!this.#group) return this.#call((h) => h.begin(ids, opts));
    return this.#threaded(async (h) => {
      const { keep, ids: rest } = h.beginDeferred(ids, opts);
      await this.#group.evaluate(h, this.#runtime.memory, keep, rest);
      return { evaluated: rest.length, reused: keep };
    });
  }

  /** `step` on one thread, or across the shards. */
  async #step() {
    if (!this.#group) return this.#call((h) => h.step());
    return this.#threaded(async (h) => {
      const step = h.stepDeferred();
      if (step.next) await this.#group.evaluate(h, this.#runtime.memory, step.next.keep, Uint32Array.of(step.next.token));
      return step;
    });
  }

  /**
   * The prompt's token ids: `prompt` is text, a list of messages `[{ role, content }]` or
   * `{ messages }` (formatted with the file's chat template, ready for the assistant's turn), or
   * an array of ids. With `chat: true`, text becomes one user message.
   */
  promptIds(prompt, options) {
    const { chat = false } = options ?? {};
    const isMessage = (m) => m !== null && typeof m === 'object' && 'role' in m;
    if (Array.isArray(prompt) && prompt.length > 0 && prompt.every(isMessage)) {
      return this.tokenize(this.applyChatTemplate(prompt));
    }
    if (Array.isArray(prompt) || ArrayBuffer.isView(prompt)) return Array.from(this.#call(() => tokenIds(prompt, 'prompt')));
    if (prompt && typeof prompt === 'object' && Array.isArray(prompt.messages)) {
      return this.tokenize(this.applyChatTemplate(prompt.messages));
    }
    if (chat) return this.tokenize(this.applyChatTemplate([{ role: 'user', content: String(prompt) }]));
    return this.tokenize(String(prompt));
  }

  /**
   * Generates text, as an async iterator of pieces (whole characters). Options: `maxTokens`
   * (256), `temperature` (0 = greedy), `topK`, `topP`, `minP`, `repeatPenalty`, `repeatLastN`,
   * `seed`, `stop` (strings), `ignoreEos`, `chat`, `signal`, `contextLength`, `reuse`. The KV
   * cache is made once per context length; the prompt's prefix already in it (from the previous
   * call) is reused unless `reuse: false`. Between tokens the iterator yields to the event loop.
   * Afterwards `lastGeneration` holds `{ promptIds, outputIds, text, finish, promptTokens,
   * reusedTokens, kvCacheAllocations, promptMs, decodeMs, promptTokS, decodeTokS }`, and split over threads
   * `threadTimes: { prompt, decode }`, each `{ computeMs, gatherMs, gathers }` of thread 0.
   * @returns {AsyncGenerator<string, void, void>}
   */
  async *generate(prompt, options) {
    const opts = options ?? {};
    const { signal } = opts;
    if (opts.contextLength != null) {
      this.#call((h) => h.setContextLength(opts.contextLength));
      this.#group?.setContextLength(opts.contextLength);
    }
    if (opts.reuse === false) this.#call((h) => h.resetContext());
    const promptIds = this.promptIds(prompt, opts);
    const record = {
      promptIds, outputIds: [], text: '', finish: null, promptTokens: 0, reusedTokens: 0, kvCacheAllocations: 0,
      promptMs: 0, decodeMs: 0, promptTokS: 0, decodeTokS: 0,
    };
    this.lastGeneration = record;
    if (signal?.aborted) {
      record.finish = 'aborted';
      return;
    }
    this.#group?.takeStats();
    let t0 = performance.now();
    const begun = await this.#begin(this.#call(() => tokenIds(promptIds, 'prompt')), opts);
    record.promptMs = performance.now() - t0;
    record.promptTokens = begun.evaluated;
    record.reusedTokens = begun.reused;
    record.kvCacheAllocations = this.#call((h) => h.contextsMade());
    record.promptTokS = record.promptTokens / (record.promptMs / 1000);
    // Split over threads: where thread 0's time went (its own work, and gathers: waiting for
    // the others' slices and copying them in).
    if (this.#group) record.threadTimes = { prompt: this.#group.takeStats(), decode: null };
    let evaluated = 0;
    try {
      for (;;) {
        if (signal?.aborted) {
          record.finish = 'aborted';
          break;
        }
        t0 = performance.now();
        const step = await this.#step();
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
      if (this.#handle) record.outputIds = Array.from(this.#handle.generatedIds());
      record.decodeTokS = evaluated > 0 ? evaluated / (record.decodeMs / 1000) : 0;
      if (record.threadTimes) record.threadTimes.decode = this.#group?.takeStats() ?? null;
    }
  }

  /** The plain-text report: model analysis, memory plan, where each group lives. */
  summary() {
    return this.#call((h) => h.summary());
  }

  /**
   * SHA-256 over every tensor's bytes in header order, read back from memory (for verification).
   * A model split over threads holds no whole tensor here: INVALID_ARGUMENT.
   */
  tensorSha256() {
    if (this.#group) throw new Gguf64Error(ErrorCode.INVALID_ARGUMENT, 'tensorSha256 needs the whole model on one thread (load with threads: 1)');
    const pageMs = this.#pageMs; // reading storage back to hash it is not paging
    try {
      return this.#call((h) => h.tensorSha256());
    } finally {
      this.#pageMs = pageMs;
    }
  }

  /** `{ hits, misses, prefetches, evictions, bytesPaged, pageMs, bridge }` for a paged layout, else undefined. */
  pagerStats() {
    const stats = this.#call((h) => h.pagerStats());
    const disk = this.#storage?.find((area) => typeof area?.stats === 'function')?.stats();
    return stats && { ...stats, pageMs: this.#pageMs, bridge: this.#bridge?.kind ?? null, ...(disk && { disk }) };
  }

  /** The wasm handle, for a shard worker (./shard-worker.js). */
  [SHARD]() {
    return this.#call((h) => h);
  }

  /**
   * Test hooks (./testing.js): `acquireLayer(layer)`, `releaseLayer(layer)`, `mainSha256(address, length)`,
   * `diskReadahead(on)` (the disk tier's reading ahead, for its benchmark).
   */
  [TESTING](method, args) {
    if (!TESTING_METHODS.includes(method)) throw new Gguf64Error(ErrorCode.INVALID_ARGUMENT, `no test hook ${method}`);
    if (method === 'diskReadahead') {
      const disk = this.#storage?.find((area) => typeof area?.setReadahead === 'function');
      if (!disk) throw new Gguf64Error(ErrorCode.INVALID_ARGUMENT, 'the model has no disk tier');
      return disk.setReadahead(args[0]);
    }
    return this.#call((h) => {
      const value = h[method](...args);
      return method === 'acquireLayer' ? { hit: value.hit, address: value.address, bytes: value.bytes } : value;
    });
  }

  /** Frees the model's memory (the wasm memory keeps its size and reuses the space). */
  unload() {
    this.#group?.terminate();
    this.#group = undefined;
    this.#handle?.free();
    this.#handle = undefined;
    // The disk tier's file is released and removed; a worker awaits that before it ends.
    this[STORAGE_CLOSED] = Promise.all([...new Set(this.#storage ?? [])].map((area) => area?.close?.()));
    this.#storage = undefined;
    this.#bridge = undefined;
  }
}

for (const method of MODEL_METHODS) {
  if (typeof LoadedModel.prototype[method] !== 'function') throw new Error(`LoadedModel lacks ${method}`);
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
