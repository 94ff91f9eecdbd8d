// The module Web Worker behind `loadModel()`'s default: it loads one model with the main-thread
// implementation (./index.js) and answers the page's requests for it, so streaming, hashing and
// the forward pass never run on the page's thread. Requests run one at a time, in order;
// `abort` messages act at once on the request they name.
//
// Page -> worker: { id, op, ...payload } and { op: 'abort', id }.
// Worker -> page: { id, type: 'event', event } (progress, generated pieces), then
//                 { id, type: 'result', value } or { id, type: 'error', error }.

import { MODEL_METHODS, TESTING, TESTING_METHODS } from './api.js';
import { ErrorCode, Gguf64Error } from './errors.js';
import { STORAGE_CLOSED, inspect, loadModel } from './index.js';
import { pageAnswered, spawnThroughPage } from './spawn.js';
import { errorToWire } from './wire.js';

let model;
let queue = Promise.resolve();
const controllers = new Map();

// Helper workers (shards, the disk reader) are started by the page, not from here (./spawn.js).
spawnThroughPage((spawn) => self.postMessage({ type: 'spawn', spawn }));

self.onmessage = ({ data }) => {
  if (data.op === 'spawned' || data.op === 'spawnFailed') {
    pageAnswered(data);
    return;
  }
  if (data.op === 'abort') {
    controllers.get(data.id)?.abort();
    return;
  }
  const controller = new AbortController();
  controllers.set(data.id, controller);
  // Every request is answered exactly once, even when its result cannot be posted (a value that
  // does not clone), and a failed request never fails the next one in the queue.
  const fail = (err) => self.postMessage({ id: data.id, type: 'error', error: errorToWire(err) });
  queue = queue
    .then(() => run(data, controller.signal))
    .then(({ value, transfer = [] }) => self.postMessage({ id: data.id, type: 'result', value }, transfer))
    .catch(fail)
    .finally(() => controllers.delete(data.id));
};
self.onmessageerror = () => {
  // The request cannot be read, so its id is unknown: the page learns of it as a worker failure.
  throw new Gguf64Error(ErrorCode.INTERNAL, 'a request from the page could not be read');
};

const emit = (id, event) => self.postMessage({ id, type: 'event', event });

/** One request; resolves to `{ value, transfer }`. */
async function run(request, signal) {
  const { id, op } = request;
  if (op === 'load') return { value: await load(id, request, signal) };
  if (op === 'inspect') return { value: await inspect(request.url, { ...request.options, signal }) };
  if (!model) throw new Gguf64Error(ErrorCode.UNLOADED, 'the model was unloaded');
  if (op === 'generate') return { value: await generate(id, request, signal) };
  if (op === 'unload') {
    model.unload();
    await model[STORAGE_CLOSED]; // the disk tier's file is removed before the worker ends
    model = undefined;
    return { value: null };
  }
  if (op === 'call' && MODEL_METHODS.includes(request.method)) {
    const value = await model[request.method](...request.args);
    return { value, transfer: value instanceof Float32Array ? [value.buffer] : [] };
  }
  if (op === 'testing' && TESTING_METHODS.includes(request.method)) return { value: model[TESTING](request.method, request.args) };
  throw new Gguf64Error(ErrorCode.INVALID_ARGUMENT, `unknown request ${op} ${request.method ?? ''}`);
}

/** Loads the model, posting progress events (the layout only when it changes). */
async function load(id, { source, options }, signal) {
  let lastLayout;
  model = await loadModel(source, {
    ...options,
    signal,
    onProgress: (p) => {
      const event = { ...p };
      if (p.layout === lastLayout) delete event.layout;
      lastLayout = p.layout;
      emit(id, event);
    },
  });
  return model.info;
}

/** Generates, posting one event per text piece; the result is `lastGeneration`. */
async function generate(id, { prompt, options }, signal) {
  for await (const text of model.generate(prompt, { ...options, signal })) emit(id, { text });
  return model.lastGeneration;
}
