// Starting the library's helper workers (shard followers, the disk reader) from wherever the
// model runs. On a page, and in any worker the page did not start through the client, they are
// plain `new Worker`s. In the model's own worker (./worker.js) the page starts them instead and
// hands this worker a MessagePort to each: Firefox's constructor of a worker inside a worker
// waits on the page's thread and, now and then, never returns (seen in Firefox ESR 153: the
// model's worker stopped inside `new Worker(…shard-worker.js)` before the script was even
// requested, about once in 20 loads right after another worker ended). No worker ever starts a
// worker this way, in any browser, and the page ends them all when it ends the model's worker.
//
// Each side names the helper's script in the `new Worker(new URL(literal, import.meta.url))` form
// that bundlers turn into a worker chunk, so the page's side (./client.js) keeps a table of them.
//
// Model worker -> page: { type: 'spawn', spawn: { id, kind, name } }.
// Page -> model worker: { op: 'spawned', id, port } or { op: 'spawnFailed', id, message }.
// Page -> helper: { op: CONNECT, port } first; then everything over that port, where
// { op: CLOSE } ends the helper.

/** The first message a relayed helper gets: the port to the worker that asked for it. */
export const CONNECT = 'gguf64.connect';
/** Ends a relayed helper (it closes itself). */
export const CLOSE = 'gguf64.close';

/** (request) => void: how this worker asks the page for a helper, once ./worker.js sets it. */
let askPage = null;
const relayed = new Map();
let nextId = 1;

/** Called once by ./worker.js: from then on, helpers are started by the page. */
export function spawnThroughPage(post) {
  askPage = post;
}

/**
 * A helper of `kind` ('shard' or 'disk-reader'), named `name`: `direct()` (a `new Worker`) here, or
 * a RelayedWorker the page starts, with the same members the library uses (postMessage,
 * onmessage, onmessageerror, onerror, terminate).
 */
export function startHelper(kind, name, direct) {
  if (!askPage) return direct();
  const id = nextId++;
  const helper = new RelayedWorker(() => relayed.delete(id));
  relayed.set(id, helper);
  askPage({ id, kind, name });
  return helper;
}

/** The page's answer to a spawn request (./worker.js passes `spawned` and `spawnFailed` here). */
export function pageAnswered({ op, id, port, message }) {
  const helper = relayed.get(id);
  if (op === 'spawned') {
    if (helper) helper.connect(port);
    else port.close();
    return;
  }
  relayed.delete(id);
  helper?.failed(message);
}

/**
 * A helper the page started: messages posted before its port arrives wait, in order, and go
 * when it does; `terminate` asks it to close itself.
 */
class RelayedWorker {
  #port = null;

  #waiting = [];

  #ended = false;

  #forget;

  onmessage = null;

  onmessageerror = null;

  onerror = null;

  /** `forget`: called once it ends. */
  constructor(forget) {
    this.#forget = forget;
  }

  connect(port) {
    if (this.#ended) {
      port.postMessage({ op: CLOSE });
      port.close();
      return;
    }
    this.#port = port;
    port.onmessage = (event) => this.onmessage?.(event);
    port.onmessageerror = (event) => this.onmessageerror?.(event);
    for (const [message, transfer] of this.#waiting.splice(0)) port.postMessage(message, transfer);
  }

  failed(message) {
    this.onerror?.({ message });
  }

  postMessage(message, transfer = []) {
    if (this.#ended) return;
    if (this.#port) this.#port.postMessage(message, transfer);
    else this.#waiting.push([message, transfer]);
  }

  terminate() {
    if (this.#ended) return;
    this.#ended = true;
    this.#forget();
    this.#waiting = [];
    this.#port?.postMessage({ op: CLOSE });
    this.#port?.close();
  }
}

/**
 * In a helper: receives the messages of the worker that started it through `handle`, whether
 * it was started directly (they come to `self`) or by the page (they come over the port of the
 * first message). Returns `post(message, transfer)`, which answers on the same path.
 */
export function serveStarter(handle) {
  let starter = self;
  const receive = ({ data }) => {
    if (data?.op === CONNECT) {
      starter = data.port;
      starter.onmessage = receive;
      starter.onmessageerror = self.onmessageerror;
      return;
    }
    if (data?.op === CLOSE) {
      self.close();
      return;
    }
    handle(data);
  };
  self.onmessage = receive;
  return (message, transfer = []) => starter.postMessage(message, transfer);
}

/**
 * The page's side: starts the helper a spawn request names (`construct[kind](name)`) for the
 * model's `worker` and returns it; the caller ends it with the model's worker. The helper's
 * errors reach the model's worker as `spawnFailed`.
 */
export function startForWorker(worker, construct, { id, kind, name }) {
  const start = construct[kind];
  if (!start) {
    worker.postMessage({ op: 'spawnFailed', id, message: `no helper worker of kind ${kind}` });
    return undefined;
  }
  const helper = start(name);
  helper.onerror = (event) => {
    event.preventDefault?.();
    worker.postMessage({ op: 'spawnFailed', id, message: `${name} failed: ${event.message ?? 'it could not start'}` });
  };
  const { port1, port2 } = new MessageChannel();
  helper.postMessage({ op: CONNECT, port: port2 }, [port2]);
  worker.postMessage({ op: 'spawned', id, port: port1 }, [port1]);
  return helper;
}
