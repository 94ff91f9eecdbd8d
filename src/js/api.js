// The model API in one list. LoadedModel (./index.js) implements every method named here;
// WorkerModel (./client.js) gets one forwarding method per name; the worker (./worker.js) answers
// exactly these names; tests/e2e/api.test.mjs checks that types/index.d.ts declares each of them on
// both classes. `generate` (a stream of messages) and `unload` (which ends the worker) are the two
// methods written out by hand on both classes.

/** Methods of a model that take plain arguments and answer one value. */
export const MODEL_METHODS = Object.freeze([
  'tokenize', 'detokenize', 'applyChatTemplate', 'logits', 'promptIds', 'summary', 'tensorSha256', 'pagerStats',
]);

/** The methods written out by hand on both classes. */
export const OWN_METHODS = Object.freeze(['generate', 'unload']);

/**
 * Test hooks: they name addresses inside the model's memory, so they are no part of the API.
 * Only ./testing.js reaches them, through the `TESTING` symbol.
 */
export const TESTING_METHODS = Object.freeze(['acquireLayer', 'releaseLayer', 'mainSha256', 'diskReadahead']);

/** The key of a model's test-hook dispatcher: `model[TESTING](method, args)`. */
export const TESTING = Symbol('gguf64.testing');
