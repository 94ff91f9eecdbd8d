// gguf64, the package's entry: stream GGUF language models of any size into 64-bit WebAssembly
// memories and run them in the browser. Loading and generation run in a dedicated Web Worker by
// default, so the page stays responsive; `{ worker: false }` runs them on the calling thread
// (./index.js, whose model methods answer synchronously).
//
//   import { loadModel } from 'gguf64';
//   const model = await loadModel('/models/SmolLM2-135M-Instruct.Q4_1.gguf', { onProgress });
//   for await (const piece of model.generate('Once upon a time', { maxTokens: 32 })) output.append(piece);
//   await model.unload();

import * as here from './index.js';
import { inspectInWorker, loadInWorker } from './client.js';

export {
  ErrorCode, Gguf64Error, LoadedModel, cache, chooseBuild, detectFeatures, memoryUsage, splitParts,
} from './index.js';
export { WorkerModel } from './client.js';

/**
 * Whether a call runs in a worker: as `options.worker` says, else yes on a page's main thread
 * (a document and the Worker constructor exist) and no elsewhere (inside a worker, in Node).
 */
function inWorker(options) {
  if (options.worker !== undefined) return Boolean(options.worker);
  return typeof Worker === 'function' && typeof document !== 'undefined';
}

/**
 * Streams a GGUF model into WebAssembly memory (see ./index.js `loadModel` for the sources,
 * options and progress events). Resolves to a WorkerModel (methods return promises) unless
 * `worker: false`, then to a LoadedModel on this thread. In a worker the model is split over
 * `threads` workers ('auto' by default: this machine's cores, at most 4); with `worker: false`
 * it runs on this thread alone ('auto' and 1; more is INVALID_ARGUMENT).
 */
export function loadModel(source, options = {}) {
  if (inWorker(options)) return loadInWorker(source, { ...options, threads: options.threads ?? 'auto' });
  if (options.threads !== undefined && options.threads !== 1 && options.threads !== 'auto') {
    // A LoadedModel answers synchronously; evaluating across threads cannot.
    return Promise.reject(new here.Gguf64Error(here.ErrorCode.INVALID_ARGUMENT, 'threads above 1 run the model in workers: drop worker: false'));
  }
  return here.loadModel(source, { ...options, threads: 1 });
}

/** Reads only a GGUF file's header (see ./index.js `inspect`), in a short-lived worker unless `worker: false`. */
export function inspect(url, options = {}) {
  return inWorker(options) ? inspectInWorker(url, options) : here.inspect(url, options);
}
