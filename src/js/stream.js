// Streams a source's bytes into a wasm StreamLoader: each chunk is copied once, straight to the
// address the loader names, and never gathered into a whole-file buffer.

import { ErrorCode, Gguf64Error } from './errors.js';

/**
 * Opens a source as a byte stream.
 * @param {string | URL | Blob} source
 * @param {AbortSignal} [signal]
 * @returns {Promise<{ reader: ReadableStreamDefaultReader<Uint8Array>, length?: number, url?: string }>}
 */
export async function openSource(source, signal) {
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return { reader: source.stream().getReader(), length: source.size };
  }
  const url = new URL(String(source), globalThis.location?.href).href;
  const response = await fetch(url, { signal });
  if (!response.ok) {
    throw new Gguf64Error(ErrorCode.HTTP_STATUS, `${url}: HTTP ${response.status} ${response.statusText}`,
      { url, status: response.status });
  }
  if (!response.body) {
    throw new Gguf64Error(ErrorCode.NETWORK, `${url}: the response has no body`, { url });
  }
  return { reader: response.body.getReader(), length: announcedLength(response), url };
}

/** Content-Length, unless the body is content-encoded (then the header counts compressed bytes). */
function announcedLength(response) {
  if (response.headers.get('content-encoding')) return undefined;
  const value = Number(response.headers.get('content-length'));
  return Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/**
 * Copies one chunk to where the loader says: the module's own memory (memory 0) or a storage
 * memory. A chunk may span several places; bytes the loader hands back are offered again.
 * @param {{ dest(n: number): number, destLen: number, destMemory: number, commit(n: number): number }} loader
 * @param {WebAssembly.Memory} memory the module's own memory
 * @param {(index: number) => { buffer: ArrayBuffer }} storageFor storage memory `index` (1..)
 * @param {Uint8Array} chunk
 */
export function writeChunk(loader, memory, storageFor, chunk) {
  let done = 0;
  while (done < chunk.length) {
    const at = loader.dest(chunk.length - done);
    const n = loader.destLen;
    if (n === 0) throw new Gguf64Error(ErrorCode.INTERNAL, 'the loader offered no room for the next bytes');
    const target = loader.destMemory === 0 ? memory : storageFor(loader.destMemory);
    // A fresh view each time: growing a memory detaches its previous ArrayBuffer.
    new Uint8Array(target.buffer, at, n).set(chunk.subarray(done, done + n));
    done += loader.commit(n);
  }
}

/** Throughput in MB/s (10^6 bytes per second) since `startMs`. */
export function megabytesPerSecond(bytes, startMs, nowMs) {
  const seconds = (nowMs - startMs) / 1000;
  return seconds > 0 ? bytes / 1e6 / seconds : 0;
}
