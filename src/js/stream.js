// Streams a source's bytes into a wasm StreamLoader: each chunk is copied once, straight to the
// address the loader names, and never gathered into a whole-file buffer.

import { ErrorCode, Gguf64Error } from './errors.js';

/**
 * Copies one chunk to where the loader says: the module's own memory (memory 0) or a storage
 * memory. A chunk may span several places; bytes the loader hands back are offered again.
 * @param {{ dest(n: number): number, destLen: number, destMemory: number, commit(n: number): number }} loader
 * @param {WebAssembly.Memory} memory the module's own memory
 * @param {(index: number) => { buffer: ArrayBuffer }} storageFor storage memory `index` (1..)
 * @param {Uint8Array} chunk
 * @param {number} [part] the part of a split model the chunk belongs to
 */
export function writeChunk(loader, memory, storageFor, chunk, part = 0) {
  let done = 0;
  while (done < chunk.length) {
    const at = loader.dest(chunk.length - done, part);
    const n = loader.destLen;
    if (n === 0) throw new Gguf64Error(ErrorCode.INTERNAL, 'the loader offered no room for the next bytes');
    const target = loader.destMemory === 0 ? memory : storageFor(loader.destMemory);
    const piece = chunk.subarray(done, done + n);
    // A fresh view each time: growing a memory detaches its previous ArrayBuffer. The disk
    // tier's file is written through its handle.
    if (typeof target.write === 'function') target.write(piece, at);
    else new Uint8Array(target.buffer, at, n).set(piece);
    // With an expected SHA-256, the wasm side hashes what it holds; storage pieces are handed over.
    if (loader.destMemory !== 0 && loader.hashesStorage(part)) loader.hashStoragePiece(piece, part);
    done += loader.commit(n, part);
  }
}

/**
 * Writes header bytes of `part` until its header is complete or `bytes` end. Returns how many
 * bytes it took: the rest belong to the tensor data (a split model's parts fetch theirs later,
 * from `loader.position(part)`).
 */
export function writeHeader(loader, memory, bytes, part) {
  let done = 0;
  while (done < bytes.length && !loader.headerComplete(part)) {
    const at = loader.dest(bytes.length - done, part);
    const n = loader.destLen;
    new Uint8Array(memory.buffer, at, n).set(bytes.subarray(done, done + n));
    done += loader.commit(n, part);
  }
  return done;
}

/** Throughput in MB/s (10^6 bytes per second) since `startMs`. */
export function megabytesPerSecond(bytes, startMs, nowMs) {
  const seconds = (nowMs - startMs) / 1000;
  return seconds > 0 ? bytes / 1e6 / seconds : 0;
}
