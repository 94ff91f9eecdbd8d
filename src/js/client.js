// The page's side of the worker: a request/answer channel to one dedicated module Web Worker
// (./worker.js), and WorkerModel, the model object `loadModel()` returns by default. Its methods
// mirror LoadedModel's, returning promises; `generate()` is an async iterator of text pieces.

import { MODEL_METHODS, TESTING } from './api.js';
import { ErrorCode, Gguf64Error } from './errors.js';
import { startForWorker } from './spawn.js';
import { errorFromWire, postableOptions } from './wire.js';

/** WorkerModel's one way to call a method in the worker: `model[CALL](method, args)`. */
const CALL = Symbol('gguf64.call');

/** Starts the worker. The `new Worker(new URL(…, import.meta.url))` form is what bundlers recognise. */
function startWorker() {
  if (typeof Worker !== 'function') {
    throw new Gguf64Error(ErrorCode.UNSUPPORTED_BROWSER, 'Web Workers are not available here: pass { worker: false }');
  }
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'gguf64' });
}

/**
 * The helper workers the model's worker asks the page to start (./spawn.js), by kind, written
 * the way bundlers recognise a worker's script.
 */
const HELPERS = {
  shard: (name) => new Worker(new URL('./shard-worker.js', import.meta.url), { type: 'module', name }),
  'disk-reader': (name) => new Worker(new URL('./disk-reader.js', import.meta.url), { type: 'module', name }),
};

/** Requests to one worker, matched to their answers by id; the helpers it asked for end with it. */
class Channel {
  #worker;

  #pending = new Map();

  #nextId = 1;

  #failure;

  /** The helper workers started for this worker. */
  #helpers = new Set();

  constructor(worker) {
    this.#worker = worker;
    worker.onmessage = ({ data }) => this.#receive(data);
    worker.onerror = (event) => {
      event.preventDefault?.();
      this.#fail(`the gguf64 worker failed: ${event.message ?? 'it could not start'}`);
    };
    worker.onmessageerror = () => this.#fail('a message from the gguf64 worker could not be read');
  }

  /**
   * Sends `{ op, ...payload }`; resolves with the answer's value. `onEvent` receives the events
   * posted before it; `signal` aborting sends an abort for this request.
   */
  request(op, payload = {}, { signal, onEvent } = {}) {
    if (this.#failure) return Promise.reject(new Gguf64Error(this.#failure.code, this.#failure.message));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = () => this.#worker.postMessage({ op: 'abort', id });
      const settle = (fn) => (value) => {
        signal?.removeEventListener('abort', onAbort);
        this.#pending.delete(id);
        fn(value);
      };
      this.#pending.set(id, { resolve: settle(resolve), reject: settle(reject), onEvent });
      try {
        this.#worker.postMessage({ id, op, ...payload });
      } catch (err) { // a DataCloneError: something in the arguments cannot cross to the worker
        this.#pending.get(id).reject(new Gguf64Error(ErrorCode.INVALID_ARGUMENT, `the arguments of ${payload.method ?? op} cannot be sent to the worker: ${err.message}`, { cause: err }));
        return;
      }
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #receive({ id, type, event, value, error, spawn }) {
    if (type === 'spawn') {
      if (!this.#failure) {
        const helper = startForWorker(this.#worker, HELPERS, spawn);
        if (helper) this.#helpers.add(helper);
      }
      return;
    }
    const pending = this.#pending.get(id);
    if (!pending) return;
    if (type === 'event') pending.onEvent?.(event);
    else if (type === 'result') pending.resolve(value);
    else pending.reject(errorFromWire(error));
  }

  #fail(message) {
    this.#failure ??= { code: ErrorCode.INTERNAL, message };
    for (const pending of [...this.#pending.values()]) pending.reject(new Gguf64Error(ErrorCode.INTERNAL, message));
    this.terminate();
  }

  /** Ends the worker; every later request rejects with UNLOADED (or the failure that ended it). */
  terminate() {
    this.#failure ??= { code: ErrorCode.UNLOADED, message: 'the model was unloaded' };
    for (const pending of [...this.#pending.values()]) pending.reject(new Gguf64Error(this.#failure.code, this.#failure.message));
    this.#worker.terminate();
    for (const helper of this.#helpers) helper.terminate();
    this.#helpers.clear();
  }
}

/** A source as the worker can take it: URLs made absolute against the page. */
function postableSource(source) {
  const absolute = (u) => new URL(String(u), globalThis.location?.href).href;
  if (Array.isArray(source)) return source.map(absolute);
  if (typeof source === 'string' || source instanceof URL) return absolute(source);
  return source; // a Blob or File: posted by reference, read in slices in the worker
}

/**
 * Loads a model in a new dedicated worker (see `loadModel`). Progress events are the same as on
 * the main thread; the worker ends if the load fails.
 */
export async function loadInWorker(source, options = {}) {
  const { onProgress = () => {}, signal } = options;
  const channel = new Channel(startWorker());
  let layout;
  try {
    const info = await channel.request('load', { source: postableSource(source), options: postableOptions(options) }, {
      signal,
      onEvent: (event) => {
        if ('layout' in event) layout = event.layout;
        else event.layout = layout;
        onProgress(event);
      },
    });
    return new WorkerModel(channel, info);
  } catch (err) {
    channel.terminate();
    throw err;
  }
}

/** Reads a GGUF header in a short-lived worker (see `inspect`). */
export async function inspectInWorker(url, options = {}) {
  const channel = new Channel(startWorker());
  try {
    return await channel.request('inspect', { url: postableSource(url), options: postableOptions(options) }, { signal: options.signal });
  } finally {
    channel.terminate();
  }
}

/**
 * A model loaded in its own worker. Same methods as LoadedModel, returning promises; requests run
 * in the order they are made. `unload()` ends the worker, which frees all its memory.
 */
export class WorkerModel {
  #channel;

  constructor(channel, info) {
    this.#channel = channel;
    /** Same as LoadedModel's `info`. */
    this.info = Object.freeze(info);
    /** What the last `generate` did (see LoadedModel); null before the first. */
    this.lastGeneration = null;
  }

  [CALL](method, args) {
    return this.#channel.request('call', { method, args });
  }

  /** Test hooks (./testing.js), run in the worker. */
  [TESTING](method, args) {
    return this.#channel.request('testing', { method, args });
  }

  /**
   * Generates text in the worker: an async iterator of pieces, one message per piece. Same
   * options as LoadedModel's; `signal` (or leaving the loop early) stops it after the current
   * token. `lastGeneration` is set when it ends.
   * @returns {AsyncGenerator<string, void, void>}
   */
  async *generate(prompt, options = {}) {
    const { signal } = options;
    signal?.throwIfAborted();
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const pieces = [];
    let wake = null;
    let ended = false;
    const done = this.#channel.request('generate', { prompt, options: postableOptions(options) }, {
      signal: stop.signal,
      onEvent: ({ text }) => {
        pieces.push(text);
        wake?.();
      },
    }).then((record) => {
      this.lastGeneration = record;
    }).finally(() => {
      ended = true;
      wake?.();
    });
    done.catch(() => {}); // awaited below; this only keeps an early exit from reporting it unhandled
    try {
      for (;;) {
        if (pieces.length) yield pieces.shift();
        else if (ended) break;
        else await new Promise((resolve) => { wake = resolve; });
        wake = null;
      }
      await done; // rethrows a failure
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!ended) {
        stop.abort(); // the caller left the loop early
        await done.catch(() => {});
      }
    }
  }

  /** Frees the model and ends its worker. */
  async unload() {
    try {
      await this.#channel.request('unload');
    } catch {
      // already unloaded, or the worker failed: ending it frees the memory either way
    }
    this.#channel.terminate();
  }
}

// One forwarding method per name of the model API (./api.js): same arguments, a promise of the answer.
for (const method of MODEL_METHODS) {
  const forward = { [method](...args) { return this[CALL](method, args); } }[method];
  Object.defineProperty(WorkerModel.prototype, method, { value: forward, writable: true, configurable: true });
}
