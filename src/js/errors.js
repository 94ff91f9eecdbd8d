// Errors of gguf64: one class with a stable `code`, so programs branch on codes, not messages.

/** Codes a Gguf64Error can carry. Stable: programs may rely on them. */
export const ErrorCode = Object.freeze({
  GGUF_INVALID: 'GGUF_INVALID',           // the file is not GGUF, or its header is malformed/hostile
  HEADER_TOO_LARGE: 'HEADER_TOO_LARGE',
  TRUNCATED: 'TRUNCATED',                 // the body ended before the bytes the header announces
  TRAILING_BYTES: 'TRAILING_BYTES',       // the body is longer than the header announces
  LENGTH_MISMATCH: 'LENGTH_MISMATCH',     // Content-Length disagrees with the header
  OUT_OF_MEMORY: 'OUT_OF_MEMORY',
  HTTP_STATUS: 'HTTP_STATUS',             // the server answered with a non-2xx status
  NETWORK: 'NETWORK',                     // fetch failed, or the connection dropped and resuming failed
  SOURCE_CHANGED: 'SOURCE_CHANGED',       // the file changed (ETag / Last-Modified) while loading
  DOES_NOT_FIT: 'DOES_NOT_FIT',           // the model does not fit the memory limits
  INTEGRITY: 'INTEGRITY',                 // the file's SHA-256 is not the one given
  SPLIT_INVALID: 'SPLIT_INVALID',         // the files are not the parts of one split model, in order
  ABORTED: 'ABORTED',                     // the caller's AbortSignal fired
  UNSUPPORTED_BROWSER: 'UNSUPPORTED_BROWSER',
  MODEL_UNSUPPORTED: 'MODEL_UNSUPPORTED', // an architecture, tensor type or shape gguf64 does not run
  TOKENIZER_INVALID: 'TOKENIZER_INVALID', // the tokenizer metadata is missing or malformed
  CHAT_TEMPLATE: 'CHAT_TEMPLATE',         // the model has no chat template gguf64 knows
  CONTEXT_FULL: 'CONTEXT_FULL',           // the prompt does not fit the context length
  PAGE_FAILED: 'PAGE_FAILED',             // a layer could not be copied in from its storage memory
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  INTERNAL: 'INTERNAL',
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

/** Turns whatever was thrown (a wasm error with a code, a DOMException, a TypeError) into a Gguf64Error. */
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
  if (err instanceof TypeError) {
    return new Gguf64Error(ErrorCode.NETWORK, `network error: ${err.message}`, { ...context, cause: err });
  }
  return new Gguf64Error(ErrorCode.INTERNAL, String(err?.message ?? err), { ...context, cause: err });
}
