// Errors of gguf64: one class with a stable `code`, so programs branch on codes, not messages.

/**
 * Codes a Gguf64Error can carry. Stable: programs may rely on them. The table is Rust's
 * `ErrorCode` (src/error_code.rs); tests/error_codes.rs proves this list and the TypeScript union
 * are the same set.
 */
export const ErrorCode = Object.freeze({
  GGUF_INVALID: 'GGUF_INVALID',           // the file is not GGUF, or its header is malformed/hostile
  HEADER_TOO_LARGE: 'HEADER_TOO_LARGE',   // the header is still incomplete after the parser's limit
  TRUNCATED: 'TRUNCATED',                 // the body ended before the bytes the header announces
  TRAILING_BYTES: 'TRAILING_BYTES',       // the body is longer than the header announces
  LENGTH_MISMATCH: 'LENGTH_MISMATCH',     // Content-Length disagrees with the header
  OUT_OF_MEMORY: 'OUT_OF_MEMORY',
  HTTP_STATUS: 'HTTP_STATUS',             // the server answered with a non-2xx status
  NETWORK: 'NETWORK',                     // fetch failed, or the connection dropped and resuming failed
  READ_FAILED: 'READ_FAILED',             // reading a local File/Blob failed
  SOURCE_CHANGED: 'SOURCE_CHANGED',       // the file changed (ETag / Last-Modified) while loading
  DOES_NOT_FIT: 'DOES_NOT_FIT',           // the model does not fit the memory limits
  INTEGRITY: 'INTEGRITY',                 // the file's SHA-256 is not the one given
  SPLIT_INVALID: 'SPLIT_INVALID',         // the files are not the parts of one split model, in order
  ABORTED: 'ABORTED',                     // the caller's AbortSignal fired
  UNSUPPORTED_BROWSER: 'UNSUPPORTED_BROWSER',
  MODEL_UNSUPPORTED: 'MODEL_UNSUPPORTED', // an architecture, tensor type or shape gguf64 does not run
  TOKENIZER_INVALID: 'TOKENIZER_INVALID', // the tokenizer metadata is missing or malformed
  CHAT_TEMPLATE: 'CHAT_TEMPLATE',         // the model has no chat template gguf64 knows, or the roles break it
  CONTEXT_FULL: 'CONTEXT_FULL',           // the prompt does not fit the context length
  PAGE_FAILED: 'PAGE_FAILED',             // a layer could not be copied in from its storage memory
  UNLOADED: 'UNLOADED',                   // the model was unloaded: its methods can no longer run
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',   // an argument of the wrong kind or out of range
  INTERNAL: 'INTERNAL',                   // a bug in gguf64
});

export class Gguf64Error extends Error {
  /**
   * @param {string} code one of ErrorCode
   * @param {string} message what happened, for people
   * @param {object} [details] e.g. { url, offset, status, cause }
   */
  constructor(code, message, details = {}) {
    super(message, details.cause ? { cause: details.cause } : undefined);
    this.name = 'Gguf64Error';
    this.code = code;
    for (const [key, value] of Object.entries(details)) {
      if (key !== 'cause') this[key] = value;
    }
  }
}

/**
 * Turns whatever was thrown into a Gguf64Error: a wasm error keeps its code, offset and reason;
 * an AbortError is ABORTED; anything else (a TypeError from our own code, say) is INTERNAL.
 * Network failures are NETWORK only where a `fetch` failed (see `fetchOrFail`).
 */
export function toGguf64Error(err, context = {}) {
  if (err instanceof Gguf64Error) return Object.assign(err, context);
  if (err?.name === 'AbortError') {
    return new Gguf64Error(ErrorCode.ABORTED, 'the load was aborted', { ...context, cause: err });
  }
  if (err?.name === 'Gguf64Error' && typeof err.code === 'string') {
    const details = { ...context, cause: err };
    if (typeof err.offset === 'number') details.offset = err.offset;
    if (typeof err.reason === 'string') details.reason = err.reason;
    return new Gguf64Error(err.code, err.message, details);
  }
  const message = err?.message ?? String(err);
  return new Gguf64Error(ErrorCode.INTERNAL, `internal error (please report it): ${err?.name ?? 'Error'}: ${message}`, { ...context, cause: err });
}

/** `fetch`, with a failure to reach the server (not an abort) reported as NETWORK. */
export async function fetchOrFail(url, init) {
  try {
    return await fetch(url, init);
  } catch (err) {
    if (err?.name === 'AbortError' || init?.signal?.aborted) throw err;
    throw new Gguf64Error(ErrorCode.NETWORK, `${url}: ${err?.message ?? err}`, { url, cause: err });
  }
}

/** Token ids as a Uint32Array, or an INVALID_ARGUMENT error naming what is wrong with them. */
export function tokenIds(ids, what = 'ids') {
  const list = typeof ids === 'object' && ids !== null && typeof ids.length === 'number' ? ids : undefined;
  if (!list) throw new Gguf64Error(ErrorCode.INVALID_ARGUMENT, `${what} must be an array of token ids, got ${describe(ids)}`);
  const out = new Uint32Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const id = list[i];
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
      throw new Gguf64Error(ErrorCode.INVALID_ARGUMENT, `${what}[${i}] is ${describe(id)}, not a token id`);
    }
    out[i] = id;
  }
  return out;
}

function describe(value) {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 20 ? `${value.slice(0, 20)}…` : value);
  return typeof value === 'object' ? value.constructor?.name ?? 'an object' : `${typeof value} ${String(value)}`;
}
