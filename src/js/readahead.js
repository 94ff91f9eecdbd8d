// When the disk tier reads ahead. A page-in reads a layer from the disk tier's file synchronously,
// inside the forward pass. If the operating system has the file in its cache (it usually has, on
// a machine with memory to spare), that read is a copy at several GB/s and reading ahead would
// only take a core from the computation. If the read was slow, it came from the disk: then a
// reader worker (./disk-reader.js) reads the layers that follow while this one computes, and the
// next page-in finds them in the cache. Every PROBE_EVERY page-ins, a few go unaided, to see
// whether the cache now holds the file.

/** Page-ins slower than this (bytes per ms: 2 GB/s) came from the disk. */
const COLD_BYTES_PER_MS = 2e6;
/** Page-ins smaller than this are not timed (too short to tell). */
const MIN_TIMED = 1 << 20;
/** Layers read ahead of the one just paged in. */
const DEPTH = 4;
/** Page-ins between two probes, while reading ahead: a probe costs DEPTH + 1 unaided page-ins. */
const PROBE_EVERY = 256;

export class Readahead {
  #reader;

  #size;

  #on = false;

  /** 'auto' (as above), 'off', or 'always' (every page-in: what reading ahead costs when the cache has the file). */
  #mode = 'auto';

  /** Page-ins until the next probe; while probing, unaided page-ins left before the verdict. */
  #untilProbe = PROBE_EVERY;

  #probe = 0;

  /** `{ reads, bytes, readMs, coldReads, aheadBytes, on }`, for `pagerStats().disk`. */
  stats = { reads: 0, bytes: 0, readMs: 0, coldReads: 0, aheadBytes: 0, on: false };

  /** A reader for the OPFS file `name` in folder `dir`, of `size` bytes; without Worker, none. */
  static start(dir, name, size) {
    if (typeof Worker !== 'function' || !(size > 0)) return new Readahead(undefined, size);
    const reader = new Worker(new URL('./disk-reader.js', import.meta.url), { type: 'module', name: 'gguf64-disk-reader' });
    const readahead = new Readahead(reader, size);
    // A reader that fails only costs speed: page-ins go on unaided.
    reader.onerror = (event) => {
      event.preventDefault?.();
      readahead.stop();
    };
    reader.onmessage = ({ data }) => data.type === 'error' && readahead.stop();
    reader.postMessage({ op: 'open', dir, name });
    return readahead;
  }

  constructor(reader, size) {
    this.#reader = reader;
    this.#size = size;
  }

  setMode(mode) {
    if (!['auto', 'off', 'always'].includes(mode)) throw new TypeError(`readahead mode must be auto, off or always, not ${mode}`);
    this.#mode = mode;
  }

  /** After a page-in of `len` bytes at `at` that took `ms`. */
  afterRead(at, len, ms) {
    const s = this.stats;
    s.reads += 1;
    s.bytes += len;
    s.readMs += ms;
    if (len < MIN_TIMED) return;
    const cold = len / Math.max(ms, 1e-3) < COLD_BYTES_PER_MS;
    s.coldReads += Number(cold);
    if (this.#probe > 0) {
      // Unaided page-ins: the last one says whether the disk is still being read.
      this.#probe -= 1;
      if (this.#probe === 0) this.#on = cold;
      else return;
    } else if (cold) {
      this.#on = true;
    }
    s.on = this.#mode === 'always' || (this.#mode === 'auto' && this.#on);
    if (!s.on || !this.#reader) return;
    this.#untilProbe -= 1;
    if (this.#untilProbe === 0 && this.#mode === 'auto') {
      this.#untilProbe = PROBE_EVERY;
      this.#probe = DEPTH + 1;
      return;
    }
    const length = Math.min(len * DEPTH, this.#size);
    s.aheadBytes += length;
    this.#reader.postMessage({ op: 'ahead', start: (at + len) % this.#size, length });
  }

  /** Ends the reader (the file is about to go). */
  stop() {
    this.#reader?.terminate();
    this.#reader = undefined;
  }
}
