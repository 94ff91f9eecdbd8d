// The persistent model cache, in the Origin Private File System (OPFS).
//
// Each cached URL is a folder named by the SHA-256 of the URL, holding `meta.json` and the file
// cut into 16 MiB chunk files (`c00000`, `c00001`, …). A chunk file is written whole and closed
// before `meta.json` lists it with its length and checksum, so a load interrupted at any point
// (a page reload, a crash) leaves only complete, listed chunks: the next load reads those and
// fetches the rest. On reading, a chunk whose size or checksum disagrees with `meta.json` is
// dropped with everything after it and fetched again. Entries whose ETag / Last-Modified / size
// no longer match the server are discarded.
//
// Why OPFS rather than the Cache API: see README ("Persistent cache"). In short, OPFS writes
// chunks as plain files without wrapping them in Response objects, reports partial progress per
// chunk file, and reads back through Blob slices; both count against the same origin quota.

const ROOT = 'gguf64-cache';
export const CACHE_CHUNK = 16 << 20;

/** A cheap 32-bit checksum (Fletcher-style over 32-bit words): catches truncation, zeroed or
 * flipped regions; not a cryptographic hash. */
export function checksum(bytes) {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  let a = 1;
  let b = 0;
  for (let i = 0; i < words.length; i++) {
    a = (a + words[i]) >>> 0;
    b = (b + a) >>> 0;
  }
  for (let i = words.length * 4; i < bytes.length; i++) {
    a = (a + bytes[i]) >>> 0;
    b = (b + a) >>> 0;
  }
  return (b ^ Math.imul(a, 0x9e3779b1)) >>> 0;
}

async function keyOf(url) {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(url));
  return [...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function rootDir() {
  if (!globalThis.navigator?.storage?.getDirectory) return null;
  const top = await navigator.storage.getDirectory();
  return top.getDirectoryHandle(ROOT, { create: true });
}

async function readMeta(dir) {
  try {
    const file = await (await dir.getFileHandle('meta.json')).getFile();
    const meta = JSON.parse(await file.text());
    return Array.isArray(meta.chunks) && typeof meta.url === 'string' ? meta : null;
  } catch {
    return null;
  }
}

async function writeFile(dir, name, data) {
  const handle = await dir.getFileHandle(name, { create: true });
  const writable = await handle.createWritable();
  try {
    await writable.write(data);
    await writable.close();
  } catch (err) {
    await writable.abort().catch(() => {});
    throw err;
  }
}

/**
 * Writes a chunk file. In a dedicated worker (where gguf64 loads by default) through a sync
 * access handle, which writes in place; elsewhere like `writeFile`. A chunk counts only once
 * `meta.json` lists it, so writing in place (not atomically) is safe; meta.json itself is
 * always replaced whole by `writeFile`.
 */
async function writeChunkFile(dir, name, bytes) {
  const handle = await dir.getFileHandle(name, { create: true });
  if (typeof handle.createSyncAccessHandle !== 'function') return writeFile(dir, name, bytes);
  const access = await handle.createSyncAccessHandle();
  try {
    access.truncate(0);
    for (let at = 0; at < bytes.length;) at += access.write(bytes.subarray(at), { at });
    access.flush();
  } finally {
    access.close();
  }
}

const chunkName = (i) => `c${String(i).padStart(5, '0')}`;

/** One cached URL: what is stored, how to read it back, how to add to it. */
export class CacheEntry {
  constructor(dir, meta) {
    this.dir = dir;
    this.meta = meta;
  }

  /** Bytes stored as complete chunks (a prefix of the file). */
  get cachedBytes() {
    return this.meta.chunks.reduce((n, c) => n + c.bytes, 0);
  }

  get complete() {
    return this.meta.size !== undefined && this.cachedBytes === this.meta.size;
  }

  /**
   * Reads the stored chunks in order; stops at the first missing or corrupt one, which is
   * dropped with all after it (they are fetched again).
   * @returns {AsyncGenerator<Uint8Array>}
   */
  async *read() {
    for (let i = 0; i < this.meta.chunks.length; i++) {
      const want = this.meta.chunks[i];
      let bytes;
      try {
        const file = await (await this.dir.getFileHandle(chunkName(i))).getFile();
        bytes = file.size === want.bytes ? new Uint8Array(await file.arrayBuffer()) : null;
      } catch {
        bytes = null;
      }
      if (!bytes || checksum(bytes) !== want.sum) {
        await this.truncate(i);
        return;
      }
      yield bytes;
    }
  }

  /** Forgets chunks from `index` on. */
  async truncate(index) {
    const dropped = this.meta.chunks.splice(index);
    await writeFile(this.dir, 'meta.json', JSON.stringify(this.meta));
    for (let i = index; i < index + dropped.length; i++) {
      await this.dir.removeEntry(chunkName(i)).catch(() => {});
    }
  }

  /** Stores the next chunk (it must start where the stored prefix ends). */
  async append(bytes) {
    const index = this.meta.chunks.length;
    await writeChunkFile(this.dir, chunkName(index), bytes);
    this.meta.chunks.push({ bytes: bytes.length, sum: checksum(bytes) });
    await writeFile(this.dir, 'meta.json', JSON.stringify(this.meta));
  }
}

/**
 * Collects streamed bytes into CACHE_CHUNK pieces and appends each complete one to the entry, in
 * the background. Full buffers are written as they are (no copy) and then reused, and the reader
 * waits (`drain`) while more than one write is pending: OPFS writes more slowly than a fast
 * network delivers, and without this back-pressure pending chunks would pile up in memory (a
 * 4.6 GB model peaked at 1.7x its size). At most three chunk buffers exist at once.
 */
export class CacheWriter {
  #entry;
  #onFailure;
  #buffer = null;
  #filled = 0;
  #pool = [];
  #queue = Promise.resolve();
  #pending = [];
  failed = false;

  constructor(entry, onFailure) {
    this.#entry = entry;
    this.#onFailure = onFailure;
  }

  /** Copies `bytes` into the pending chunk; a full chunk is written in the background. */
  push(bytes) {
    for (let at = 0; at < bytes.length && !this.failed;) {
      this.#buffer ??= this.#pool.pop() ?? new Uint8Array(CACHE_CHUNK);
      const n = Math.min(bytes.length - at, CACHE_CHUNK - this.#filled);
      this.#buffer.set(bytes.subarray(at, at + n), this.#filled);
      this.#filled += n;
      at += n;
      if (this.#filled === CACHE_CHUNK) this.#flush();
    }
  }

  /** Resolves once at most `max` chunk writes are pending. */
  async drain(max = 1) {
    while (this.#pending.length > max) await this.#pending[0];
  }

  /** Writes the last, partial chunk and waits for every write. */
  async finish() {
    if (this.#filled > 0 && !this.failed) this.#flush();
    await this.drain(0);
  }

  #flush() {
    const buffer = this.#buffer;
    const bytes = buffer.subarray(0, this.#filled);
    this.#buffer = null;
    this.#filled = 0;
    const write = this.#queue.then(() => (this.failed ? undefined : this.#entry.append(bytes))).catch((err) => {
      this.failed = true;
      this.#onFailure(err);
    });
    const done = write.finally(() => {
      this.#pending.shift();
      this.#pool.push(buffer);
    });
    this.#queue = done;
    this.#pending.push(done);
  }
}

/** The cache of this origin. All methods resolve to empty answers where OPFS is missing. */
export const cache = {
  /** Whether this browser offers the Origin Private File System. */
  get available() {
    return Boolean(globalThis.navigator?.storage?.getDirectory);
  },

  /** `[{ url, size, cachedBytes, complete, validator }]` */
  async list() {
    const root = await rootDir();
    if (!root) return [];
    const out = [];
    for await (const [, handle] of root.entries()) {
      if (handle.kind !== 'directory') continue;
      const meta = await readMeta(handle);
      if (!meta) continue;
      const entry = new CacheEntry(handle, meta);
      out.push({ url: meta.url, size: meta.size ?? null, cachedBytes: entry.cachedBytes, complete: entry.complete, validator: meta.validator ?? null });
    }
    return out;
  },

  /** Removes one URL's entry; resolves to whether there was one. */
  async delete(url) {
    const root = await rootDir();
    if (!root) return false;
    return root.removeEntry(await keyOf(String(url)), { recursive: true }).then(() => true, () => false);
  },

  /** Removes every entry. */
  async clear() {
    const root = await rootDir();
    if (!root) return;
    const names = [];
    for await (const [name] of root.entries()) names.push(name);
    await Promise.all(names.map((n) => root.removeEntry(n, { recursive: true }).catch(() => {})));
  },

  /**
   * The entry for `url` if it still describes the file `{ size, validator }` (else it is
   * emptied); a new, empty entry when there is none. `null` without OPFS.
   */
  async entry(url, { size, validator }) {
    const root = await rootDir();
    if (!root) return null;
    const dir = await root.getDirectoryHandle(await keyOf(url), { create: true });
    const meta = await readMeta(dir);
    const fresh = meta && meta.url === url && meta.size === size && meta.validator === validator;
    if (fresh) return new CacheEntry(dir, meta);
    if (meta) await new CacheEntry(dir, meta).truncate(0); // stale: drop its chunks
    const entry = new CacheEntry(dir, { url, size, validator, chunkBytes: CACHE_CHUNK, chunks: [] });
    await entry.truncate(0); // writes the new meta.json
    return entry;
  },

  /** The stored entry for `url`, whatever the server says now (for offline use). */
  async stored(url) {
    const root = await rootDir();
    if (!root) return null;
    try {
      const dir = await root.getDirectoryHandle(await keyOf(url));
      const meta = await readMeta(dir);
      return meta?.url === url ? new CacheEntry(dir, meta) : null;
    } catch {
      return null;
    }
  },
};
