// The disk tier's reader: a dedicated worker that reads ahead in the disk tier's file while the
// model's worker computes, so that the operating system has the next layers in its cache when the
// forward pass asks for them (./readahead.js decides when). It reads through a File snapshot
// (`getFile()`), which browsers allow beside the computing worker's exclusive sync access handle,
// and drops what it reads: only the cache it warms matters.
//
// Messages in: { op: 'open', dir, name }, then { op: 'ahead', start, length } (a range of the
// file, wrapping past its end to its start). Out: { type: 'opened', size } or { type: 'error', message }.

/** Bytes per read, and reads at once. */
const CHUNK = 16 << 20;
const IN_FLIGHT = 3;

let file;
let opened;
/** The current run, in bytes counted from where it started (unwrapped): next byte and end. */
let runStart = 0;
let pos = 0;
let end = 0;
let reading = false;

self.onmessage = ({ data }) => {
  if (data.op === 'open') opened = open(data.dir, data.name);
  else if (data.op === 'ahead') opened?.then(() => ahead(data.start, data.length));
};

async function open(dir, name) {
  try {
    const top = await navigator.storage.getDirectory();
    const handle = await (await top.getDirectoryHandle(dir)).getFileHandle(name);
    file = await handle.getFile();
    self.postMessage({ type: 'opened', size: file.size });
  } catch (err) {
    self.postMessage({ type: 'error', message: String(err?.message ?? err) });
  }
}

/** Extends the current run when `start` lies inside it, else starts a new one there. */
function ahead(start, length) {
  if (!file?.size) return;
  const size = file.size;
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

/** Reads the current run, IN_FLIGHT pieces at a time (one read at a time leaves the disk idle between them). */
async function run() {
  reading = true;
  const inFlight = new Set();
  let failure;
  while ((pos < end || inFlight.size > 0) && !failure) {
    while (pos < end && inFlight.size < IN_FLIGHT) {
      const at = pos % file.size;
      const n = Math.min(CHUNK, end - pos, file.size - at);
      pos += n;
      // The bytes are dropped at once (transfer(0) frees them), not left for the collector:
      // garbage here would count against the page's memory.
      const read = file.slice(at, at + n).arrayBuffer()
        .then((bytes) => bytes.transfer?.(0))
        .catch((err) => { failure ??= err; })
        .finally(() => inFlight.delete(read));
      inFlight.add(read);
    }
    await Promise.race(inFlight);
  }
  reading = false;
  if (failure) self.postMessage({ type: 'error', message: String(failure?.message ?? failure) });
}
