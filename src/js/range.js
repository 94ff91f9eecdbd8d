// Reads the start of a file through HTTP Range requests, a chunk at a time, until a consumer
// says it has enough. Servers that ignore Range (200 instead of 206) are read as a stream from
// the start and cancelled as soon as enough has arrived.

import { ErrorCode, Gguf64Error, fetchOrFail } from './errors.js';

/** Range requests ask for at least this much: fewer round trips than the parser's exact needs. */
export const RANGE_CHUNK = 1 << 20;

/** `bytes 0-99/12345` → 12345 (undefined if absent or `*`). */
export function contentRangeTotal(header) {
  const m = /^bytes \d+-\d+\/(\d+)$/.exec(header?.trim() ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * Feeds `consume(bytes, fileLength)` successive pieces of `url` from byte 0 until it returns 0
 * (it returns the prefix length it needs next otherwise).
 * @returns {Promise<{ fileBytes: number | undefined, bytesRead: number, rangeRequests: number }>}
 */
export async function readPrefix(url, consume, signal) {
  let have = 0;
  let need = RANGE_CHUNK;
  let fileBytes;
  for (let requests = 1; ; requests++) {
    const end = Math.max(need, have + RANGE_CHUNK) - 1;
    const response = await fetchOrFail(url, { headers: { Range: `bytes=${have}-${end}` }, signal, cache: 'no-store' });
    if (response.status === 200) {
      fileBytes = Number(response.headers.get('content-length')) || undefined;
      const bytesRead = await streamPrefix(response.body, have, (b) => consume(b, fileBytes), url);
      return { fileBytes, bytesRead, rangeRequests: requests };
    }
    if (response.status === 416 || (response.status === 206 && have >= (fileBytes ?? Infinity))) {
      throw new Gguf64Error(ErrorCode.TRUNCATED, `${url}: the file ends at byte ${have}, inside the GGUF header`, { url, offset: have });
    }
    if (response.status !== 206) {
      throw new Gguf64Error(ErrorCode.HTTP_STATUS, `${url}: HTTP ${response.status} ${response.statusText}`, { url, status: response.status });
    }
    fileBytes ??= contentRangeTotal(response.headers.get('content-range'));
    const bytes = new Uint8Array(await bodyOf(response, url, signal));
    have += bytes.length;
    need = consume(bytes, fileBytes);
    if (need === 0) return { fileBytes, bytesRead: have, rangeRequests: requests };
    if (bytes.length === 0 || have >= (fileBytes ?? Infinity)) {
      throw new Gguf64Error(ErrorCode.TRUNCATED, `${url}: the file ends at byte ${have}, inside the GGUF header`, { url, offset: have });
    }
  }
}

/** The response's bytes; the connection failing on the way is NETWORK. */
async function bodyOf(response, url, signal) {
  try {
    return await response.arrayBuffer();
  } catch (err) {
    if (signal?.aborted || err?.name === 'AbortError') throw err;
    throw new Gguf64Error(ErrorCode.NETWORK, `${url}: the connection failed while reading the header: ${err?.message ?? err}`, { url, cause: err });
  }
}

/** Reads a whole-file body from the start, skipping `skip` bytes already consumed, until done. */
async function streamPrefix(body, skip, consume, url) {
  const reader = body.getReader();
  let seen = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read().catch((err) => {
        if (err?.name === 'AbortError') throw err;
        throw new Gguf64Error(ErrorCode.NETWORK, `${url}: the connection failed while reading the header: ${err?.message ?? err}`, { url, cause: err });
      });
      if (done) throw new Gguf64Error(ErrorCode.TRUNCATED, `the file ends at byte ${seen}, inside the GGUF header`, { offset: seen });
      const start = Math.max(0, Math.min(value.length, skip - seen));
      seen += value.length;
      if (start < value.length && consume(value.subarray(start)) === 0) return seen;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
