// Storage areas: where the MemoryPlan puts layers that do not live in the module's own memory.
// With memory64 they are extra 64-bit WebAssembly memories (at most 16 GiB each); in the wasm32
// fallback, plain ArrayBuffers (at most 2 GiB each); in the disk tier (layout 'disk'), one file
// of the origin private file system (OPFS), of any size, written as the layers stream and read
// back into the working set's slots as they are used.

import { ErrorCode, Gguf64Error } from './errors.js';
import { Readahead } from './readahead.js';

const PAGE = 65536;

/** The OPFS folder of the disk tier's files (one per loaded model, removed on unload). */
const DISK_DIR = 'gguf64-disk';

/**
 * Creates one storage area per storage memory of the layout (index 0, the main memory, is left
 * empty). A disk layout's one area is `disk` (from DiskStorage.open).
 * @param {{ kind: string, memories: Array<{ index: number, bytes: number }> }} layout
 * @param {'wasm64' | 'wasm32'} build
 * @param {DiskStorage} [disk]
 * @returns {Array<WebAssembly.Memory | { buffer: ArrayBuffer } | DiskStorage | undefined>}
 */
export function createStorage(layout, build, disk) {
  const storage = [undefined];
  for (const m of layout.memories.slice(1)) {
    if (layout.kind === 'disk') {
      if (!disk) throw new Gguf64Error(ErrorCode.INTERNAL, 'a disk layout without its file');
      storage[m.index] = disk;
      continue;
    }
    const pages = Math.max(1, Math.ceil(m.bytes / PAGE));
    storage[m.index] = build === 'wasm64'
      ? new WebAssembly.Memory({ address: 'i64', initial: BigInt(pages), maximum: BigInt(pages) })
      : { buffer: new ArrayBuffer(pages * PAGE) };
  }
  return storage;
}

/**
 * The disk tier's file, read and written synchronously through a FileSystemSyncAccessHandle
 * (which browsers offer in dedicated workers only), so that a page-in inside the forward pass
 * (a synchronous call from wasm) can read it. The handle locks the file for this model alone.
 */
export class DiskStorage {
  #dir;

  #name;

  #access;

  #size = 0;

  /** Reads ahead once the file is complete (finishWrites). */
  #readahead;

  constructor(dir, name, access) {
    this.#dir = dir;
    this.#name = name;
    this.#access = access;
  }

  /**
   * A new, empty file. Files of earlier models that no handle holds any more (a page closed
   * before unloading) are removed; held ones refuse, and files younger than a minute are left
   * to the load that may be opening them.
   */
  static async open() {
    const top = await globalThis.navigator?.storage?.getDirectory?.();
    if (!top) throw new Gguf64Error(ErrorCode.UNSUPPORTED_BROWSER, 'the disk layout needs the origin private file system (navigator.storage.getDirectory)');
    const dir = await top.getDirectoryHandle(DISK_DIR, { create: true });
    const stale = [];
    for await (const name of dir.keys()) if (Date.now() - Number.parseInt(name, 10) > 60_000) stale.push(name);
    for (const name of stale) await dir.removeEntry(name).catch(() => {});
    const name = `${Date.now()}-${Math.random().toString(36).slice(2)}.layers`;
    const file = await dir.getFileHandle(name, { create: true });
    if (typeof file.createSyncAccessHandle !== 'function') {
      await dir.removeEntry(name).catch(() => {});
      throw new Gguf64Error(ErrorCode.UNSUPPORTED_BROWSER, 'the disk layout reads layers synchronously, which browsers allow in workers only: load the model in a worker (the default)');
    }
    // 'readwrite-unsafe' (Chromium) lets the reader (./disk-reader.js) open a second handle;
    // browsers without the mode ignore it and lock the file to this handle.
    return new DiskStorage(dir, name, await file.createSyncAccessHandle({ mode: 'readwrite-unsafe' }));
  }

  /** Writes `bytes` at offset `at`. A full disk or quota is DOES_NOT_FIT. */
  write(bytes, at) {
    let written;
    try {
      written = this.#access.write(bytes, { at });
    } catch (err) {
      throw new Gguf64Error(ErrorCode.DOES_NOT_FIT, `the disk tier's file could not grow to ${at + bytes.length} bytes: ${err?.message ?? err}`);
    }
    if (written !== bytes.length) throw new Gguf64Error(ErrorCode.DOES_NOT_FIT, `the disk tier's file took ${written} of ${bytes.length} bytes at ${at}`);
    this.#size = Math.max(this.#size, at + written);
  }

  /** Every layer is written: from now on the file is only read, and a reader may read ahead. */
  finishWrites() {
    this.#access.flush();
    this.#readahead ??= Readahead.start(DISK_DIR, this.#name, this.#size);
  }

  /** Fills `view` with the bytes at offset `at`; a short read throws. */
  readInto(view, at) {
    const t0 = performance.now();
    const read = this.#access.read(view, { at });
    if (read !== view.length) throw new Error(`read ${read} of ${view.length} bytes at ${at} of the disk tier's file`);
    this.#readahead?.afterRead(at, read, performance.now() - t0);
  }

  /** Reading ahead on or off (a test hook, for the benchmark). */
  setReadahead(on) {
    this.#readahead?.setOn(on);
  }

  /** `{ reads, bytes, readMs, coldReads, aheadBytes, on, readerError }` since the load (undefined before). */
  stats() {
    return this.#readahead && { ...this.#readahead.stats };
  }

  /** Releases the file and removes it. */
  async close() {
    await this.#readahead?.stop();
    try {
      this.#access.close();
    } catch {
      // already closed
    }
    await this.#dir.removeEntry(this.#name).catch(() => {});
  }
}
