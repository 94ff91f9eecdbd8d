// The disk tier's reader: a dedicated worker that reads ahead in the disk tier's file while the
// model's worker computes, so that the operating system has the next layers in its cache when the
// forward pass asks for them (./readahead.js decides when). It reads through a File snapshot
// (`getFile()`), which browsers allow beside the computing worker's exclusive sync access handle,
// and drops what it reads: only the cache it warms matters.
//
// Messages in: { op: 'open', dir, name }, then { op: 'ahead', start, length } (a range of the
// file, wrapping past its end to its start). Out: { type: 'opened', size } or { type: 'error', message }.

/** Bytes per read. */
const CHUNK = 4 << 20;

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

async function run() {
  reading = true;
  try {
    while (pos < end) {
      const at = pos % file.size;
      const n = Math.min(CHUNK, end - pos, file.size - at);
      pos += n;
      await file.slice(at, at + n).arrayBuffer();
    }
  } catch (err) {
    self.postMessage({ type: 'error', message: String(err?.message ?? err) });
  } finally {
    reading = false;
  }
}
