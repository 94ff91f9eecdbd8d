// Formatting for the demo page: byte sizes and people-readable error messages.

export const $ = (id) => document.getElementById(id);

/** "98.4 MB", "1.23 GB", "512.0 KB" (powers of 10). */
export function formatBytes(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e3).toFixed(1)} KB`;
}

/**
 * "98,362,432": digits in groups of three. Not `toLocaleString`, whose first call loads the
 * browser's locale data on the main thread (15–30 ms here).
 */
export function groupDigits(n) {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
}

/** What went wrong, in words, from a Gguf64Error's code and fields. */
export function explain(err) {
  const where = err.url ? ` (${err.url})` : '';
  switch (err.code) {
    case 'ABORTED': return 'Stopped.';
    case 'HTTP_STATUS': return `The server answered HTTP ${err.status ?? '?'}${where}. Check the URL.`;
    case 'NETWORK': return `Could not download the model${where}: the server is unreachable, or it does not allow this page (CORS). ${err.message}`;
    case 'GGUF_INVALID': return `This is not a valid GGUF file${err.offset !== undefined ? ` (at byte ${err.offset})` : ''}: ${err.message}`;
    case 'TRUNCATED': case 'LENGTH_MISMATCH': case 'TRAILING_BYTES': return `The file is not the size its header says: ${err.message}`;
    case 'DOES_NOT_FIT': case 'OUT_OF_MEMORY': return `The model does not fit in this browser's memory: ${err.message}`;
    case 'MODEL_UNSUPPORTED': return `gguf64 cannot run this model yet: ${err.message}`;
    case 'UNSUPPORTED_BROWSER': return `This browser lacks a feature gguf64 needs: ${err.message}`;
    case 'CONTEXT_FULL': return `The prompt is longer than the context: ${err.message}`;
    case 'INTEGRITY': return `The file's checksum is wrong: ${err.message}`;
    default: return `${err.code ?? 'Error'}: ${err.message}`;
  }
}
