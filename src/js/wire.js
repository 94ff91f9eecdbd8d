// What crosses the worker boundary besides plain data: errors (a Gguf64Error keeps its code and
// fields) and options (functions and AbortSignals stay on the page's side).

import { ErrorCode, Gguf64Error, toGguf64Error } from './errors.js';

const PLAIN = new Set(['string', 'number', 'boolean']);

/** A Gguf64Error (or anything thrown, turned into one) as a structured-clonable object. */
export function errorToWire(err) {
  const error = toGguf64Error(err);
  const fields = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === 'name' || key === 'code' || key === 'cause') continue;
    if (value === null || PLAIN.has(typeof value)) fields[key] = value;
  }
  const cause = error.cause === undefined ? undefined : String(error.cause?.message ?? error.cause);
  return { code: error.code, message: error.message, fields, cause };
}

/** The Gguf64Error an `errorToWire` object describes (its cause becomes a plain Error). */
export function errorFromWire(wire) {
  const details = { ...wire.fields };
  if (wire.cause !== undefined) details.cause = new Error(wire.cause);
  return new Gguf64Error(wire.code ?? ErrorCode.INTERNAL, wire.message, details);
}

/** The options without functions and AbortSignals (they cannot be posted to a worker). */
export function postableOptions(options) {
  const out = {};
  for (const [key, value] of Object.entries(options ?? {})) {
    if (typeof value === 'function') continue;
    if (typeof AbortSignal !== 'undefined' && value instanceof AbortSignal) continue;
    out[key] = value;
  }
  return out;
}
