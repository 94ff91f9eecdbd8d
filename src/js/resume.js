// A body stream over HTTP that survives dropped connections: when a read fails, the body ends
// early or no byte arrives for `retry.stallMs` (a connection that hangs without closing), it asks again with `Range: bytes=<position>-` and `If-Range: <validator>`, checks the 206
// answer's Content-Range, and goes on. A server that ignores Range answers with the whole file
// (200): its first `position` bytes are skipped. A changed file (new ETag/Last-Modified) or too
// many attempts without progress end in a typed error.

import { ErrorCode, Gguf64Error, fetchOrFail } from './errors.js';
import { contentRangeTotal } from './range.js';

const DEFAULT_RETRY = { attempts: 5, baseDelayMs: 250, stallMs: 30_000 };
// Every request says `cache: 'no-store'`: the browser's HTTP cache would write a second copy of
// each multi-GB model to disk while it loads (and halve the load speed); gguf64 keeps its own.
/** Bytes per read. Reads go into one reused buffer (a BYOB reader), so a multi-GB load leaves no
 * trail of garbage chunks for the collector: peak memory stays near the model's size. */
const READ_BYTES = 4 << 20;

/** A reader over `body` with `read()` → `{ done, value }`, reusing one buffer where it can. */
function bodyReader(body) {
  let reader;
  try {
    reader = body.getReader({ mode: 'byob' });
  } catch {
    return body.getReader(); // not a byte stream: chunks as the browser makes them
  }
  let buffer = new ArrayBuffer(READ_BYTES);
  return {
    async read() {
      const piece = await reader.read(new Uint8Array(buffer));
      // The buffer was transferred to the stream and comes back inside `piece.value`.
      buffer = piece.value?.buffer ?? new ArrayBuffer(READ_BYTES);
      return piece.done ? { done: true } : piece;
    },
    cancel: () => reader.cancel(),
  };
}

/**
 * With a known length, a file longer than this is asked for in windows of this many bytes, one
 * request after another. Firefox reads a response body into the page's process as fast as the
 * network delivers it, however slowly the page reads: while the cache's writes held the reader
 * back, a 4.92 GB load peaked at 1.29-1.43x the model there (anonymous memory; 1.005x without
 * the cache), and at 1.06x with 256 MB windows. A window bounds what can be buffered ahead;
 * Chromium's fetch applies back-pressure itself, so there the windows change nothing but the
 * number of requests (one per 128 MB).
 */
export const WINDOW_BYTES = 128 << 20;

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
  });
}

export class ResumableBody {
  #url;
  #signal;
  #retry;
  #onResume;
  #reader;
  #validator;
  #skip = 0; // bytes of the current body to drop (a 200 answer to a resume)
  #window; // bytes per request once the length is known (undefined: one request to the end)
  #end; // where the current request's range ends (exclusive), when it ends before the file

  /** @type {number | undefined} the file length the first answer announced */
  length;

  /**
   * @param {string} url
   * @param {{ signal?: AbortSignal, retry?: { attempts?: number, baseDelayMs?: number, stallMs?: number }, onResume?: (e: { offset: number, attempt: number, cause: unknown }) => void, window?: number }} options
   */
  constructor(url, { signal, retry, onResume = () => {}, window } = {}) {
    this.#url = url;
    this.#window = window;
    this.#signal = signal;
    this.#retry = { ...DEFAULT_RETRY, ...retry };
    this.#onResume = onResume;
  }

  /** The validator (ETag, else Last-Modified) of the first answer. */
  get validator() {
    return this.#validator;
  }

  /**
   * Opens at `position` (bytes before it came from elsewhere, e.g. the cache), checking the file
   * is still the one `validator` names and `length` long; a file longer than the window is read
   * in windows.
   */
  async openAt(position, validator, length) {
    this.length = length;
    if (position === 0 && !this.#windowEnd(0)) return this.open();
    this.#validator = validator;
    // The first request of this body: a failure here is the load's (NETWORK), not one to retry.
    await this.#reopen(position).catch((err) => {
      if (this.#signal?.aborted || err instanceof Gguf64Error) throw err;
      throw new Gguf64Error(ErrorCode.NETWORK, `${this.#url}: ${err?.message ?? err}`, { url: this.#url, offset: position, cause: err });
    });
    return this;
  }

  /** The first request; throws HTTP_STATUS for a non-2xx answer. */
  async open() {
    const response = await fetchOrFail(this.#url, { signal: this.#signal, cache: 'no-store' });
    this.#check(response, 0);
    this.#validator = response.headers.get('etag') ?? response.headers.get('last-modified') ?? undefined;
    if (!response.headers.get('content-encoding')) {
      const n = Number(response.headers.get('content-length'));
      if (Number.isSafeInteger(n) && n > 0) this.length = n;
    }
    this.#reader = bodyReader(response.body);
    return this;
  }

  /**
   * The next piece of the file at `position` (the bytes the caller has kept so far).
   * `expected` is the full length once known; a body that ends before it is resumed.
   * @returns {Promise<{ done: boolean, value?: Uint8Array }>}
   */
  async read(position, expected) {
    for (let attempt = 0; ; attempt++) {
      let cause;
      try {
        const piece = await this.#readSkipping();
        const total = expected ?? this.length;
        if (!piece.done || total === undefined || position >= total) return piece;
        if (position === this.#end) {
          // A window read whole: the next one, with no retry counted.
          await this.#reopen(position);
          attempt = -1;
          continue;
        }
        cause = new Error(`the body ended at byte ${position} of ${total}`);
      } catch (err) {
        if (this.#signal?.aborted || err instanceof Gguf64Error) throw err;
        cause = err;
      }
      if (attempt >= this.#retry.attempts) {
        throw new Gguf64Error(ErrorCode.NETWORK,
          `${this.#url}: connection lost at byte ${position} and ${attempt} attempts to resume failed: ${cause?.message ?? cause}`,
          { url: this.#url, offset: position, cause });
      }
      this.#onResume({ offset: position, attempt: attempt + 1, cause });
      await sleep(this.#retry.baseDelayMs * 2 ** attempt, this.#signal);
      // A refused or failed resume counts as one more attempt; a typed answer (404, a changed
      // file) or an abort ends the load.
      await this.#reopen(position).catch((err) => {
        if (this.#signal?.aborted || err instanceof Gguf64Error) throw err;
      });
    }
  }

  async cancel() {
    await this.#reader?.cancel().catch(() => {});
  }

  async #readSkipping() {
    for (;;) {
      const piece = await this.#readOrStall();
      if (piece.done || this.#skip === 0) return piece;
      const drop = Math.min(this.#skip, piece.value.length);
      this.#skip -= drop;
      if (drop < piece.value.length) return { done: false, value: piece.value.subarray(drop) };
    }
  }

  /**
   * The current reader's next piece, or a rejection when none arrives within `stallMs`: the
   * connection is then given up like a dropped one (`#reopen` cancels the stuck read).
   */
  async #readOrStall() {
    let timer;
    const ms = this.#retry.stallMs;
    const stalled = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no byte arrived for ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([this.#reader.read(), stalled]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #reopen(position) {
    this.#reader?.cancel().catch(() => {});
    this.#reader = { read: () => Promise.reject(new Error('no connection')), cancel: async () => {} };
    const end = this.#windowEnd(position);
    const headers = { Range: `bytes=${position}-${end === undefined ? '' : end - 1}` };
    if (this.#validator) headers['If-Range'] = this.#validator;
    const response = await fetch(this.#url, { headers, signal: this.#signal, cache: 'no-store' });
    this.#check(response, position);
    const validator = response.headers.get('etag') ?? response.headers.get('last-modified') ?? undefined;
    if (this.#validator && validator && validator !== this.#validator) {
      throw new Gguf64Error(ErrorCode.SOURCE_CHANGED, `${this.#url} changed while it was loading`, { url: this.#url, offset: position });
    }
    if (response.status === 206) {
      const start = Number(/^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '')?.[1]);
      const total = contentRangeTotal(response.headers.get('content-range'));
      this.length ??= total;
      if (start !== position || total !== this.length) {
        throw new Error(`unexpected Content-Range ${response.headers.get('content-range')} for byte ${position}`);
      }
      this.#skip = 0;
      this.#end = end;
    } else {
      this.#skip = position; // the whole file again: drop what we already have
      this.#end = undefined;
      this.length ??= Number(response.headers.get('content-length')) || undefined;
    }
    this.#reader = bodyReader(response.body);
  }

  /** Where a request from `position` ends: undefined for the file's end (no window, or the last). */
  #windowEnd(position) {
    if (!this.#window || this.length === undefined) return undefined;
    const end = position + this.#window;
    return end < this.length ? end : undefined;
  }

  #check(response, position) {
    if (response.ok) return;
    const err = new Gguf64Error(ErrorCode.HTTP_STATUS, `${this.#url}: HTTP ${response.status} ${response.statusText}`,
      { url: this.#url, status: response.status, offset: position });
    // 5xx after a drop may pass; anything else is final.
    if (position > 0 && response.status >= 500) throw new Error(err.message);
    throw err;
  }
}
