// Test hooks, kept out of the package's API (the package exports only ./gguf64.js): the tests and
// tools of this repository import this module directly. The hooks reach a model's memory by
// address, on the main thread (LoadedModel) or inside its worker (WorkerModel) alike.

import { TESTING } from './api.js';

export { runtimeFor } from './runtime.js';
export { createBridge } from './bridge.js';
export { shardHooks } from './shards.js';

/** Makes layer `layer` usable from the main memory (paged in if need be) and pins it: `{ hit, address, bytes }`. */
export function acquireLayer(model, layer) {
  return model[TESTING]('acquireLayer', [layer]);
}

/** Unpins layer `layer`. */
export function releaseLayer(model, layer) {
  return model[TESTING]('releaseLayer', [layer]);
}

/** SHA-256 of `length` bytes of the model's main memory at `address` (inside its weights). */
export function mainSha256(model, address, length) {
  return model[TESTING]('mainSha256', [address, length]);
}

/** The disk tier's reading ahead on (as loaded) or off. */
export function diskReadahead(model, on) {
  return model[TESTING]('diskReadahead', [on]);
}
