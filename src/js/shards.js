// Tensor-parallel inference across Web Workers (the Rust side is src/parallel): the thread that
// loads the model leads shard 0 and has one worker started per other shard (./shard-worker.js;
// for the model's worker, the page starts them: ./spawn.js). The leader streams the file once
// (through the cache, with resume), and a ShardRouter cuts it into each shard's own GGUF file on
// the way. During evaluation every shard computes its slice of
// four results per layer and the shards swap slices: each posts its columns to every other
// shard over a MessageChannel and copies theirs in (an all-gather), so every output is computed
// by exactly one shard with a whole model's inputs, and the logits equal one thread's bit for
// bit. The MessageChannel transport needs no SharedArrayBuffer, so it works on pages without
// cross-origin isolation; on an isolated page the shards meet in shared memory instead
// (SharedGather), which is faster.
//
// Leader -> follower (worker messages): init, load, bytes, finish, contextLength, eval.
// Follower -> leader (worker messages): ready (its runtime started), ack, loaded, logits, error.
// Shard <-> shard (one MessageChannel per pair): { op: 'slice', start, len, data } per gather.

import { ErrorCode, Gguf64Error } from './errors.js';
import { startHelper } from './spawn.js';
import { errorFromWire } from './wire.js';

/** The most threads 'auto' picks: each gather costs a message round per layer stage. */
export const AUTO_THREADS_CAP = 4;

/** Bytes sent to a follower and not yet acknowledged, at most (back-pressure while loading). */
const IN_FLIGHT_BYTES = 64 << 20;

/**
 * A follower that sends nothing for this long (ms) while the leader waits on it has stopped: the
 * group fails with an error that names it and the step, instead of waiting forever. A live one
 * acknowledges every chunk while loading and posts slices at every gather (four per layer).
 */
export const SHARD_QUIET_MS = 120_000;

/**
 * Test hooks, reached through ./testing.js only: the quiet limit in force, and the index of a
 * follower told to never start (to prove that a stalled follower fails the load).
 */
export const shardHooks = { quietMs: SHARD_QUIET_MS, stallFollower: null };

/**
 * The thread count `threads` asks for: a whole number ≥ 1, or 'auto' (this machine's cores,
 * at most AUTO_THREADS_CAP).
 */
export function resolveThreads(threads) {
  if (threads === undefined || threads === 'auto') {
    const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
    return Math.max(1, Math.min(cores, AUTO_THREADS_CAP));
  }
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new Gguf64Error(ErrorCode.INVALID_ARGUMENT, `threads must be 'auto' or a whole number from 1 to 64, not ${threads}`);
  }
  return threads;
}

/** Messages of one port, taken in arrival order; a failure rejects every wait. */
export class Inbox {
  #queue = [];

  #waiters = [];

  #failure;

  /** `onActivity`: called on every message (the leader's liveness watch). */
  constructor(port, onActivity = () => {}) {
    this.port = port;
    port.onmessage = ({ data }) => {
      onActivity();
      this.#receive(data);
    };
    port.onmessageerror = () => this.fail(new Gguf64Error(ErrorCode.INTERNAL, 'a gather message from another shard could not be read'));
  }

  #receive(data) {
    const waiter = this.#waiters.shift();
    if (waiter) waiter.resolve(data);
    else this.#queue.push(data);
  }

  /** The next message. */
  next() {
    if (this.#queue.length) return Promise.resolve(this.#queue.shift());
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Rejects every wait, now and later, with `err`. */
  fail(err) {
    this.#failure ??= err;
    for (const w of this.#waiters.splice(0)) w.reject(this.#failure);
  }

  close() {
    this.port.onmessage = null;
    this.port.close();
  }
}

/**
 * Completes the result `info` (from `gatherInfo()`) in `memory` with every peer's columns:
 * posts this shard's columns to each peer, then copies each peer's in.
 * @param {WebAssembly.Memory} memory
 * @param {{ address: number, rows: number, width: number, start: number, end: number }} info
 * @param {Inbox[]} peers
 */
export async function gatherAcross(memory, info, peers) {
  const { address, rows, width, start, end } = info;
  const len = end - start;
  const all = new Float32Array(memory.buffer, address, rows * width);
  const mine = new Float32Array(rows * len);
  for (let t = 0; t < rows; t++) mine.set(all.subarray(t * width + start, t * width + end), t * len);
  peers.forEach((peer, i) => {
    // The last peer may take the buffer itself; the others get copies.
    const last = i === peers.length - 1;
    peer.port.postMessage({ op: 'slice', start, len, data: mine }, last ? [mine.buffer] : []);
  });
  for (const peer of peers) {
    const { start: from, len: n, data } = await peer.next();
    const view = new Float32Array(memory.buffer, address, rows * width);
    for (let t = 0; t < rows; t++) view.set(data.subarray(t * n, (t + 1) * n), t * width + from);
  }
}

/** Rows × floats of the largest result a gather carries (a prompt batch of the widest one). */
export function sharedSlots(maxRows, maxWidth) {
  return maxRows * maxWidth;
}

/**
 * The shared-memory transport (cross-origin isolated pages only): two result matrices in one
 * SharedArrayBuffer, used in turn, and an arrival counter. Each shard writes its columns into
 * the current matrix, waits until every shard has arrived (a spin of up to SPIN_MS, then Atomics.wait),
 * then copies the whole matrix. Two matrices are enough: a shard writes gather k only after
 * every shard has arrived at gather k-1, by which time all have read gather k-2's.
 */
/**
 * How long a shard spins on the arrival counter before it sleeps in Atomics.wait (ms). Waking
 * from Atomics.wait costs tens of µs; measured alone on 2 cores (bench:threads), a 20 µs spin
 * made a gather cost 58 µs on SmolLM2 and 43 µs on Gemma 3, 0.5 ms made it 34 and 24 µs (2 ms:
 * the same), so a shard that arrives first spins that long: one gather's wait is mostly the
 * other shard's last columns.
 */
export const SPIN_MS = 0.5;

export class SharedGather {
  /** A new buffer for `count` shards and results of up to `slots` floats. */
  static allocate(count, slots) {
    return { buffer: new SharedArrayBuffer(64 + 2 * 4 * slots), count, slots };
  }

  constructor({ buffer, count, slots }) {
    this.count = count;
    this.arrivals = new Int32Array(buffer, 0, 1);
    this.matrices = [new Float32Array(buffer, 64, slots), new Float32Array(buffer, 64 + 4 * slots, slots)];
    this.k = 0;
  }

  /** Completes the result `info` in `memory` (see `gatherAcross`). */
  gather(memory, info) {
    const { address, rows, width, start, end } = info;
    const matrix = this.matrices[this.k % 2];
    if (rows * width > matrix.length) throw new Gguf64Error(ErrorCode.INTERNAL, `a gather of ${rows * width} floats exceeds the shared buffer`);
    const all = new Float32Array(memory.buffer, address, rows * width);
    for (let t = 0; t < rows; t++) matrix.set(all.subarray(t * width + start, t * width + end), t * width + start);
    this.k += 1;
    const target = this.k * this.count;
    if (Atomics.add(this.arrivals, 0, 1) + 1 === target) {
      Atomics.notify(this.arrivals, 0);
    } else {
      const spinUntil = performance.now() + SPIN_MS;
      let now;
      while ((now = Atomics.load(this.arrivals, 0)) < target) {
        if (performance.now() > spinUntil) Atomics.wait(this.arrivals, 0, now, 1000);
      }
    }
    all.set(matrix.subarray(0, rows * width));
  }
}

/**
 * Runs one evaluation on this shard to its end, completing every gather with `transport` (a
 * SharedGather, or the peers' inboxes): the same loop on the leader and on every follower.
 * Adds the time spent in this shard's own work and in gathers to `stats`.
 */
export async function evaluateShard(handle, memory, keep, ids, transport, stats) {
  handle.evalStart(keep, ids);
  return advanceShard(handle, memory, transport, stats);
}

/** `evaluateShard` after its `evalStart`. */
async function advanceShard(handle, memory, transport, stats = { computeMs: 0, gatherMs: 0, gathers: 0 }) {
  for (;;) {
    const t0 = performance.now();
    const more = handle.advance();
    const t1 = performance.now();
    stats.computeMs += t1 - t0;
    if (!more) return stats;
    const info = handle.gatherInfo();
    if (transport instanceof SharedGather) transport.gather(memory, info);
    else await gatherAcross(memory, info, transport);
    stats.gatherMs += performance.now() - t1;
    stats.gathers += 1;
  }
}

/** One follower worker, as the leader sees it. */
class Follower {
  #acks = 0;

  #sent = 0;

  #waitingAck = null;

  #waiters = new Map();

  #failure;

  /** When the leader last heard from this follower (performance.now()), on any channel. */
  lastHeard = performance.now();

  /** Whether its runtime has started (its `ready` message). */
  ready = false;

  constructor(index, worker, onFailure) {
    this.index = index;
    this.worker = worker;
    worker.onmessage = ({ data }) => this.#receive(data);
    worker.onerror = (event) => {
      event.preventDefault?.();
      onFailure(new Gguf64Error(ErrorCode.INTERNAL, `shard worker ${index} failed: ${event.message ?? 'it could not start'}`));
    };
    worker.onmessageerror = () => onFailure(new Gguf64Error(ErrorCode.INTERNAL, `a message from shard worker ${index} could not be read`));
    this.onFailure = onFailure;
  }

  heard() {
    this.lastHeard = performance.now();
  }

  #receive(data) {
    this.heard();
    if (data.op === 'ready') {
      this.ready = true;
      return;
    }
    if (data.op === 'ack') {
      this.#acks += data.bytes;
      if (this.#waitingAck && this.#sent - this.#acks < IN_FLIGHT_BYTES) {
        this.#waitingAck();
        this.#waitingAck = null;
      }
      return;
    }
    if (data.op === 'error') {
      this.onFailure(errorFromWire(data.error));
      return;
    }
    const waiter = this.#waiters.get(data.op);
    this.#waiters.delete(data.op);
    waiter?.resolve(data);
  }

  /** The next message of kind `op` (loaded, logits). */
  expect(op) {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => this.#waiters.set(op, { resolve, reject }));
  }

  fail(err) {
    this.#failure ??= err;
    for (const w of this.#waiters.values()) w.reject(err);
    this.#waiters.clear();
    this.#waitingAck?.();
  }

  post(message, transfer = []) {
    this.worker.postMessage(message, transfer);
  }

  /** Sends file bytes, waiting while too many are unacknowledged. */
  async send(bytes) {
    this.#sent += bytes.length;
    this.post({ op: 'bytes', chunk: bytes }, [bytes.buffer]);
    if (this.#sent - this.#acks >= IN_FLIGHT_BYTES) await new Promise((resolve) => { this.#waitingAck = resolve; });
    if (this.#failure) throw this.#failure;
  }
}

/** Whether `transport` ('auto', 'shared-memory' or 'message-channel') means shared memory here. */
function useShared(transport) {
  if (transport === 'message-channel') return false;
  const possible = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
  if (transport === 'shared-memory' && !possible) {
    throw new Gguf64Error(ErrorCode.UNSUPPORTED_BROWSER, 'the shared-memory transport needs a cross-origin isolated page (COOP/COEP headers)');
  }
  if (transport !== 'auto' && transport !== 'shared-memory') {
    throw new Gguf64Error(ErrorCode.INVALID_ARGUMENT, `unknown transport "${transport}" (auto, shared-memory, message-channel)`);
  }
  return possible;
}

/** Starts a shard worker (./spawn.js: in the model's worker, the page starts it). */
function startShardWorker(index) {
  return startHelper('shard', `gguf64-shard-${index}`, () => {
    if (typeof Worker !== 'function') {
      throw new Gguf64Error(ErrorCode.UNSUPPORTED_BROWSER, 'Web Workers are not available here: use { threads: 1 }');
    }
    return new Worker(new URL('./shard-worker.js', import.meta.url), { type: 'module', name: `gguf64-shard-${index}` });
  });
}

/**
 * The leader's side of the shard workers 1..count-1: their start, the file bytes they load, the
 * evaluations they join, their end. Any failure of one ends them all.
 */
export class ShardGroup {
  #followers;

  #failure;

  /** The leader's inboxes from each follower (gathers), in shard order. */
  peers;

  /** The shared-memory transport, when in use. */
  #shared;

  /** Leader time in its own work and in gathers, since the last `takeStats`. */
  #stats = { computeMs: 0, gatherMs: 0, gathers: 0 };

  constructor(followers, peers, shared) {
    this.#followers = followers;
    this.peers = peers;
    this.#shared = shared && new SharedGather(shared);
  }

  /** 'shared-memory' or 'message-channel'. */
  get transport() {
    return this.#shared ? 'shared-memory' : 'message-channel';
  }

  /** The leader's compute and gather time since the last call. */
  takeStats() {
    const stats = this.#stats;
    this.#stats = { computeMs: 0, gatherMs: 0, gathers: 0 };
    return stats;
  }

  /**
   * Starts `count - 1` shard workers on the leader's `build` and its SIMD variant `simd` (./runtime.js),
   * so that every shard runs the same code, every pair of shards joined by a channel, and
   * the shared-memory transport when `transport` asks for it (or 'auto' on an isolated page).
   * `slots`: floats of the largest gather.
   * @returns {ShardGroup}
   */
  static start(count, { build, simd }, { transport = 'auto', slots } = {}) {
    const followers = [];
    let group;
    const onFailure = (err) => group?.fail(err);
    for (let i = 1; i < count; i++) followers.push(new Follower(i, startShardWorker(i), onFailure));
    // ports[i][j]: shard i's end of the channel to shard j.
    const ports = Array.from({ length: count }, () => new Array(count));
    for (let i = 0; i < count; i++) {
      for (let j = i + 1; j < count; j++) {
        const channel = new MessageChannel();
        ports[i][j] = channel.port1;
        ports[j][i] = channel.port2;
      }
    }
    const shared = useShared(transport) ? SharedGather.allocate(count, slots) : undefined;
    for (const f of followers) {
      const mine = ports[f.index].map((port, j) => ({ index: j, port })).filter((p) => p.port);
      const stall = shardHooks.stallFollower === f.index;
      f.post({ op: 'init', index: f.index, count, build, simd, peers: mine, shared, stall }, mine.map((p) => p.port));
    }
    const inboxes = followers.map((f) => new Inbox(ports[0][f.index], () => f.heard()));
    group = new ShardGroup(followers, inboxes, shared);
    return group;
  }

  get count() {
    return this.#followers.length + 1;
  }

  /** Ends every follower; later calls reject with `err`. */
  fail(err) {
    this.#failure ??= err;
    for (const f of this.#followers) f.fail(this.#failure);
    for (const p of this.peers) p.fail(this.#failure);
    this.terminate();
  }

  #check() {
    if (this.#failure) throw this.#failure;
  }

  /**
   * `work`'s result; meanwhile, a follower that sends nothing for SHARD_QUIET_MS fails the group
   * (which rejects every wait `work` may be in) with an error naming it and `step`.
   */
  async #watch(step, work) {
    const started = performance.now();
    for (const f of this.#followers) f.lastHeard = Math.max(f.lastHeard, started);
    const every = Math.min(5000, shardHooks.quietMs / 4);
    let lastTick = started;
    const timer = setInterval(() => {
      const now = performance.now();
      const late = now - lastTick > 2 * every;
      lastTick = now;
      // A late tick means this thread was busy computing, and the followers' messages may be
      // queued behind it: they are read before the next tick.
      if (late) return;
      const limit = shardHooks.quietMs;
      const quiet = this.#followers.find((f) => now - f.lastHeard > limit);
      if (!quiet) return;
      const why = quiet.ready ? '' : ' (its wasm runtime never started)';
      this.fail(new Gguf64Error(ErrorCode.INTERNAL, `shard worker ${quiet.index} sent nothing for ${limit / 1000} s while ${step}${why}`));
    }, every);
    try {
      return await work;
    } finally {
      clearInterval(timer);
    }
  }

  /** Each follower starts loading its shard file of `fileLens[i]` bytes with memory plan `plan`. */
  beginLoad(fileLens, plan) {
    this.#check();
    for (const f of this.#followers) f.post({ op: 'load', fileLen: fileLens[f.index], plan });
  }

  /** Shard `index`'s next file bytes. */
  async send(index, bytes) {
    this.#check();
    if (bytes.length) await this.#watch('loading', this.#followers[index - 1].send(bytes));
  }

  /** Ends every follower's load; resolves to their `info`s. */
  async finishLoad() {
    this.#check();
    const loaded = this.#followers.map((f) => f.expect('loaded'));
    for (const f of this.#followers) f.post({ op: 'finish' });
    return (await this.#watch('finishing the load', Promise.all(loaded))).map((m) => m.info);
  }

  /** Every follower takes context length `n` (the leader has checked it). */
  setContextLength(n) {
    this.#check();
    for (const f of this.#followers) f.post({ op: 'contextLength', n });
  }

  /**
   * Evaluates on every shard (the leader's `handle` in `memory` included) and completes the
   * leader's logits with the followers' rows.
   */
  async evaluate(handle, memory, keep, ids) {
    this.#check();
    handle.evalStart(keep, ids); // the same checks fail the same way everywhere: fail here first
    const logits = this.#followers.map((f) => f.expect('logits'));
    for (const f of this.#followers) f.post({ op: 'eval', keep, ids: Array.from(ids) });
    try {
      await this.#watch('evaluating', (async () => {
        await advanceShard(handle, memory, this.#shared ?? this.peers, this.#stats);
        const { address, length } = handle.logitsInfo();
        for (const { start, data } of await Promise.all(logits)) new Float32Array(memory.buffer, address, length).set(data, start);
      })());
    } catch (err) {
      // A shard that fails mid-evaluation leaves the others waiting: the group cannot go on.
      this.fail(err);
      throw err;
    }
  }

  terminate() {
    for (const f of this.#followers) f.worker.terminate();
    for (const p of this.peers) p.close();
    this.#failure ??= new Gguf64Error(ErrorCode.UNLOADED, 'the model was unloaded');
  }
}
