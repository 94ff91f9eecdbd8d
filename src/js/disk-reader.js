// The disk tier's reader: a dedicated worker that reads ahead in the disk tier's file while the
// model's worker computes, so that the operating system has the next layers in its cache when the
// forward pass asks for them (./readahead.js decides when). It reads through a second
// FileSystemSyncAccessHandle, which browsers allow beside the model's own only in the
// 'readwrite-unsafe' mode (Chromium); where a second handle is refused (Firefox), it reports an
// error and no reading ahead happens. Its reads go to one buffer, read again and again: reading
// through Blobs instead left hundreds of megabytes a second for the collector.
//
// Messages in: { op: 'open', dir, name }, then { op: 'ahead', start, length } (a range of the
// file, wrapping past its end to its start), and { op: 'close' } (its handle, before the file goes).
// Out: { type: 'opened', size }, { type: 'closed' } or { type: 'error', message }.

import { serveStarter } from './spawn.js';

/** Bytes per piece; the worker looks at its messages between two. */
const CHUNK = 16 << 20;
/**
 * Each piece starts with a read of this many bytes. Faster than CACHED_BYTES_PER_MS (2.5 GB/s),
 * it came from the operating system's cache, and the rest of the piece is taken to be there too
 * and skipped: where the cache holds the whole file, reading ahead then costs a sixteenth of a
 * copy of it, not a whole one (which, on a busy machine, took a core from the computation).
 */
const PROBE = 1 << 20;
const CACHED_BYTES_PER_MS = 2.5e6;

let access;
let size = 0;
let opened;
let buffer;
/** The current run, in bytes counted from where it started (unwrapped): next byte and end. */
let runStart = 0;
let pos = 0;
let end = 0;
let reading = false;

const post = serveStarter((data) => {
  if (data.op === 'open') opened = open(data.dir, data.name);
  else if (data.op === 'ahead') opened?.then(() => ahead(data.start, data.length));
  else if (data.op === 'close') void close();
});

async function close() {
  await opened;
  try {
    access?.close();
  } finally {
    access = undefined;
    post({ type: 'closed' });
  }
}

async function open(dir, name) {
  try {
    const top = await navigator.storage.getDirectory();
    const handle = await (await top.getDirectoryHandle(dir)).getFileHandle(name);
    access = await handle.createSyncAccessHandle({ mode: 'readwrite-unsafe' });
    size = access.getSize();
    buffer = new Uint8Array(Math.min(CHUNK, size));
    post({ type: 'opened', size });
  } catch (err) {
    post({ type: 'error', message: String(err?.message ?? err) });
  }
}

/** Extends the current run when `start` lies inside it, else starts a new one there. */
function ahead(start, length) {
  if (!access || size === 0) return;
  const into = (((start - runStart) % size) + size) % size;
  if (reading && into <= end - runStart) {
    end = Math.max(end, runStart + into + length);
  } else {
    runStart = start;
    pos = start;
    end = start + length;
  }
  if (!reading) void run();
}

/**
 * A fresh task, so that the messages that came meanwhile are handled first. Through a
 * MessageChannel: nested timeouts wait at least 4 ms each, a fifth of a cold 16 MiB read.
 */
const tick = new MessageChannel();
let resume;
tick.port1.onmessage = () => resume?.();
const nextTask = () => new Promise((resolve) => {
  resume = resolve;
  tick.port2.postMessage(null);
});

async function run() {
  reading = true;
  try {
    while (pos < end && access) {
      const at = pos % size;
      const n = Math.min(CHUNK, end - pos, size - at);
      pos += n;
      const first = Math.min(PROBE, n);
      const t0 = performance.now();
      access.read(buffer.subarray(0, first), { at });
      const cached = first / Math.max(performance.now() - t0, 1e-3) > CACHED_BYTES_PER_MS;
      if (!cached && n > first) access.read(buffer.subarray(0, n - first), { at: at + first });
      await nextTask();
    }
  } catch (err) {
    post({ type: 'error', message: String(err?.message ?? err) });
  } finally {
    reading = false;
  }
}
