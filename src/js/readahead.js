// Reading ahead in the disk tier's file. A page-in reads a layer from the file synchronously,
// inside the forward pass; if the operating system does not have it in its cache, that read waits
// for the disk while nothing computes. So after every page-in a reader worker (./disk-reader.js)
// is asked to read the DEPTH layers that follow in the file, while this worker computes, and the
// next page-ins find them in the cache. Where the cache already holds the file, the reader finds
// that out from the first MiB of each 16 MiB piece and skips the rest (./disk-reader.js). Where the browser
// refuses the reader its own handle on the file (Firefox), page-ins go on unaided.

import { startHelper } from './spawn.js';

/** Page-ins slower than this (bytes per ms: 2 GB/s) came from the disk (counted, for the stats). */
const COLD_BYTES_PER_MS = 2e6;
/** Page-ins smaller than this are not counted as cold or warm (too short to time). */
const MIN_TIMED = 1 << 20;
/** Layers read ahead of the one just paged in. */
const DEPTH = 4;

export class Readahead {
  #reader;

  #size;

  /** Whether page-ins ask the reader (a test hook turns it off, for the benchmark). */
  #on = true;

  /** Called once the reader has closed its handle. */
  #closed;

  /**
   * `{ reads, bytes, readMs, coldReads, aheadBytes, on, readerError }`, for `pagerStats().disk`;
   * `readerError` says why there is no reader (Firefox: no second handle on the file).
   */
  stats = { reads: 0, bytes: 0, readMs: 0, coldReads: 0, aheadBytes: 0, on: true, readerError: null };

  /** A reader for the OPFS file `name` in folder `dir`, of `size` bytes; without Worker, none. */
  static start(dir, name, size) {
    if (!(size > 0)) return new Readahead(undefined, size);
    // ./spawn.js: in the model's worker, the page starts the reader.
    const reader = startHelper('disk-reader', 'gguf64-disk-reader', () => (typeof Worker === 'function'
      ? new Worker(new URL('./disk-reader.js', import.meta.url), { type: 'module', name: 'gguf64-disk-reader' })
      : undefined));
    if (!reader) return new Readahead(undefined, size);
    const readahead = new Readahead(reader, size);
    // A reader that fails only costs speed: page-ins go on unaided.
    const fail = (message) => {
      readahead.stats.readerError = message;
      readahead.stats.on = false;
      void readahead.stop();
    };
    reader.onerror = (event) => {
      event.preventDefault?.();
      fail(event.message ?? 'the reader failed');
    };
    reader.onmessage = ({ data }) => {
      if (data.type === 'error') fail(data.message);
      if (data.type === 'closed') readahead.#closed?.();
    };
    reader.postMessage({ op: 'open', dir, name });
    return readahead;
  }

  constructor(reader, size) {
    this.#reader = reader;
    this.#size = size;
    this.stats.on = Boolean(reader);
  }

  /** Turns reading ahead on or off (a test hook, for the benchmark). */
  setOn(on) {
    this.#on = Boolean(on);
    this.stats.on = this.#on && Boolean(this.#reader);
  }

  /** After a page-in of `len` bytes at `at` that took `ms`: the reader goes on after it. */
  afterRead(at, len, ms) {
    const s = this.stats;
    s.reads += 1;
    s.bytes += len;
    s.readMs += ms;
    if (len >= MIN_TIMED && len / Math.max(ms, 1e-3) < COLD_BYTES_PER_MS) s.coldReads += 1;
    if (!this.#on || !this.#reader) return;
    const length = Math.min(len * DEPTH, this.#size);
    s.aheadBytes += length;
    this.#reader.postMessage({ op: 'ahead', start: (at + len) % this.#size, length });
  }

  /** Ends the reader: its handle is closed first (within a second), so that the file can go. */
  async stop() {
    const reader = this.#reader;
    this.#reader = undefined;
    if (!reader) return;
    await new Promise((resolve) => {
      this.#closed = resolve;
      setTimeout(resolve, 1000);
      reader.postMessage({ op: 'close' });
    });
    reader.terminate();
  }
}
