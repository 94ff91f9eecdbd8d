// Where a load's bytes come from: a Blob/File, the network (resumable), or the persistent cache
// followed by the network for whatever the cache lacks. Every source has `length`,
// `read(position, expected)`, `cancel()` and `finish()`, and reports `fromCache` bytes.

import { CacheWriter, cache } from './cache.js';
import { ErrorCode, Gguf64Error } from './errors.js';
import { ResumableBody, WINDOW_BYTES } from './resume.js';

/**
 * @param {string | URL | Blob} source
 * @param {{ signal?: AbortSignal, retry?: object, onResume?: Function, useCache?: boolean, onWarning?: (w: { code: string, message: string }) => void }} options
 */
export async function openSource(source, options) {
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const reader = source.stream().getReader();
    const read = () => reader.read().catch((err) => {
      throw new Gguf64Error(ErrorCode.READ_FAILED, `reading the file failed: ${err?.message ?? err}`, { cause: err });
    });
    return { length: source.size, fromCache: 0, read, cancel: () => reader.cancel().catch(() => {}), finish: async () => {} };
  }
  const url = new URL(String(source), globalThis.location?.href).href;
  if (!options.useCache || !cache.available) return networkSource(url, options);
  return cachedSource(url, options);
}

async function networkSource(url, options) {
  const body = await new ResumableBody(url, options).open();
  return { length: body.length, fromCache: 0, read: (p, e) => body.read(p, e), cancel: () => body.cancel(), finish: async () => {} };
}

/** What the server says the file is now: `{ size, validator }`, or `offline` if unreachable. */
async function probe(url, signal) {
  let head;
  try {
    head = await fetch(url, { method: 'HEAD', signal, cache: 'no-store' });
  } catch (err) {
    if (signal?.aborted) throw err;
    return { offline: true, cause: err };
  }
  if (!head.ok) {
    if (head.status === 405 || head.status === 501) return { size: undefined };
    throw new Gguf64Error(ErrorCode.HTTP_STATUS, `${url}: HTTP ${head.status} ${head.statusText}`, { url, status: head.status });
  }
  const size = head.headers.get('content-encoding') ? undefined : Number(head.headers.get('content-length')) || undefined;
  return { size, validator: head.headers.get('etag') ?? head.headers.get('last-modified') ?? undefined };
}

async function cachedSource(url, options) {
  const { signal, onWarning = () => {}, revalidate = 'background' } = options;
  if (revalidate === 'background') {
    // A complete entry is read with no request at all; the server is asked afterwards whether
    // the file changed, and a stale entry is dropped for the next load.
    const stored = await cache.stored(url);
    if (stored?.complete) return revalidateAfter(chain(url, stored, cacheWriter(stored, onWarning), options), url, stored.meta, onWarning);
  }
  const now = await probe(url, signal);
  if (now.offline) {
    const stored = await cache.stored(url);
    if (!stored?.complete) {
      throw new Gguf64Error(ErrorCode.NETWORK, `${url}: unreachable (${now.cause?.message}) and not in the cache`, { url, cause: now.cause });
    }
    return chain(url, stored, null, options);
  }
  if (now.size === undefined) return networkSource(url, options); // no length, no validation: no caching
  const entry = await cache.entry(url, now);
  // A writer even for a complete entry: reading may yet find a corrupt chunk to fetch again.
  let writer = null;
  const { quota = Infinity, usage = 0 } = (await navigator.storage.estimate?.()) ?? {};
  if (quota - usage < now.size - entry.cachedBytes) {
    onWarning({ code: 'CACHE_QUOTA', message: `not caching ${url}: ${now.size} bytes do not fit the storage quota (${Math.max(0, quota - usage)} bytes free)` });
  } else {
    writer = cacheWriter(entry, onWarning);
  }
  return chain(url, entry, writer, options);
}

function cacheWriter(entry, onWarning) {
  return new CacheWriter(entry, (err) => onWarning({
    code: err?.name === 'QuotaExceededError' ? 'CACHE_QUOTA' : 'CACHE_WRITE',
    message: `caching stopped, the load goes on: ${err?.name}: ${err?.message}`,
  }));
}

/** After the load, asks the server (HEAD) whether the file changed; drops a stale entry. */
function revalidateAfter(source, url, meta, onWarning) {
  const finish = source.finish;
  source.finish = async () => {
    await finish();
    probe(url).then(async (now) => {
      if (now.offline || now.size === undefined) return;
      if (now.size !== meta.size || now.validator !== meta.validator) {
        await cache.delete(url);
        onWarning({ code: 'CACHE_STALE', message: `${url} changed on the server: the cached copy was used this time and is now dropped` });
      }
    }).catch(() => {});
  };
  return source;
}

/** The cached prefix, then the network from where it ends (tee-ing new bytes into the cache). */
function chain(url, entry, writer, options) {
  const stored = entry.read();
  let net = null;
  let fromStore = true;
  const source = {
    length: entry.meta.size,
    fromCache: 0,
    async read(position, expected) {
      if (fromStore) {
        const next = await stored.next();
        if (!next.done) {
          source.fromCache += next.value.length;
          return { done: false, value: next.value };
        }
        fromStore = false;
      }
      if (!net) {
        if (position >= (entry.meta.size ?? Infinity)) return { done: true };
        // Windows: the reader waits for the cache's writes, and a browser without back-pressure
        // on fetch (Firefox) would buffer the rest of the file meanwhile.
        net = await new ResumableBody(url, { ...options, window: WINDOW_BYTES }).openAt(position, entry.meta.validator, entry.meta.size);
      }
      await writer?.drain(1); // back-pressure: never more than one chunk write behind
      const piece = await net.read(position, expected);
      if (!piece.done) writer?.push(piece.value);
      return piece;
    },
    cancel: () => net?.cancel(),
    finish: async () => writer?.finish(),
  };
  return source;
}
