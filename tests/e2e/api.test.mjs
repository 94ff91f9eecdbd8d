// The model API and its edges: one list of methods (src/js/api.js) behind both model kinds and the
// TypeScript declarations; after unload() every method fails with UNLOADED, on the main thread
// and through the worker; the KV cache is made once per context length and a shared prefix is
// reused; a list of messages is a chat prompt; wrong arguments are INVALID_ARGUMENT and our own
// bugs INTERNAL, never NETWORK.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { MODEL_METHODS, OWN_METHODS, TESTING_METHODS } from '../../src/js/api.js';
import { ErrorCode, fetchOrFail, toGguf64Error } from '../../src/js/errors.js';
import { launch, openHarness } from '../../tools/lib/browser.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SMOLLM = '/models/SmolLM2-135M-Instruct.Q4_1.gguf';

/** The method names a `declare class NAME` block of the declarations lists. */
function declaredMethods(dts, name) {
  const start = dts.indexOf(`export declare class ${name} `);
  assert.ok(start >= 0, `types/index.d.ts declares ${name}`);
  const body = dts.slice(start, dts.indexOf('\n}\n', start));
  return new Set([...body.matchAll(/^ {2}(\w+)\(/gm)].map((m) => m[1]));
}

test('the declarations list exactly the API methods on both model kinds, and no test hook', async () => {
  const dts = await readFile(path.join(ROOT, 'types/index.d.ts'), 'utf8');
  const api = new Set([...MODEL_METHODS, ...OWN_METHODS]);
  for (const kind of ['WorkerModel', 'LoadedModel']) assert.deepEqual(declaredMethods(dts, kind), api, kind);
  for (const hook of TESTING_METHODS) assert.doesNotMatch(dts, new RegExp(`\\b${hook}\\b`));
  const entry = await readFile(path.join(ROOT, 'src/js/gguf64.js'), 'utf8');
  assert.doesNotMatch(entry, /testing|runtimeFor|createBridge/, 'the package entry exports no test hook');
});

test('only a failed fetch is NETWORK: a TypeError of our own is INTERNAL', async () => {
  assert.equal(toGguf64Error(new TypeError('x is not a function')).code, ErrorCode.INTERNAL);
  const abort = new DOMException('stop', 'AbortError');
  assert.equal(toGguf64Error(abort).code, ErrorCode.ABORTED);
  // A port nobody listens on: fetch itself fails.
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = s.address();
      s.close(() => resolve(free));
    });
  });
  const err = await fetchOrFail(`http://127.0.0.1:${port}/model.gguf`).catch((e) => e);
  assert.equal(err.code, ErrorCode.NETWORK);
  assert.equal(err.url, `http://127.0.0.1:${port}/model.gguf`);
});

let session;
let page;
let errors;
before(async () => {
  session = await launch();
  ({ page, errors } = await openHarness(session));
});
after(() => session?.close());

/** In the page: every API method of `m` called after unload, with the code each failed with. */
async function codesAfterUnload([kind, url, methods]) {
  const g = kind === 'worker' ? window.gguf64pkg : window.gguf64;
  const m = await g.loadModel(url, { cache: false, worker: kind === 'worker' });
  await m.unload();
  const args = { tokenize: ['hi'], detokenize: [[1]], applyChatTemplate: [[{ role: 'user', content: 'hi' }]], logits: [[1]], promptIds: ['hi'] };
  const codes = {};
  for (const method of methods) {
    try {
      await m[method](...(args[method] ?? []));
      codes[method] = 'no error';
    } catch (e) {
      codes[method] = `${e.name}:${e.code}`;
    }
  }
  try {
    for await (const piece of m.generate('hi', { maxTokens: 2 })) codes.generate = `yielded ${piece}`;
    codes.generate ??= 'no error';
  } catch (e) {
    codes.generate = `${e.name}:${e.code}`;
  }
  return codes;
}

for (const kind of ['main thread', 'worker']) {
  test(`${kind}: after unload() every method fails with UNLOADED`, { timeout: 120_000 }, async () => {
    const codes = await page.evaluate(codesAfterUnload, [kind === 'worker' ? 'worker' : 'main', SMOLLM, MODEL_METHODS]);
    const want = Object.fromEntries([...MODEL_METHODS, 'generate'].map((m) => [m, 'Gguf64Error:UNLOADED']));
    assert.deepEqual(codes, want);
  });

  test(`${kind}: one KV cache per context length, a shared prefix reused, a length beyond training refused`, { timeout: 120_000 }, async () => {
    const r = await page.evaluate(async ([url, worker]) => {
      const g = worker ? window.gguf64pkg : window.gguf64;
      const m = await g.loadModel(url, { cache: false, worker });
      const run = async (prompt, options) => {
        for await (const piece of m.generate(prompt, { maxTokens: 4, temperature: 0, ...options })) void piece;
        const { promptIds, promptTokens, reusedTokens, kvCacheAllocations } = m.lastGeneration;
        return { prompt: promptIds.length, promptTokens, reusedTokens, kvCacheAllocations };
      };
      const base = 'The lighthouse keeper climbed the stairs every evening';
      const first = await run(base, { contextLength: 256 });
      const second = await run(`${base} and lit the lamp`, { contextLength: 256 });
      const other = await run(base, { contextLength: 128 });
      const tooLong = await run(base, { contextLength: 1e6 }).catch((e) => e.code);
      const badIds = await Promise.resolve().then(() => m.logits('abc')).catch((e) => e.code);
      const nullIds = await Promise.resolve().then(() => m.detokenize(null)).catch((e) => e.code);
      const badMessages = await Promise.resolve().then(() => m.applyChatTemplate('hi')).catch((e) => e.code);
      const badOption = await run(base, { maxTokens: 'many' }).catch((e) => e.code);
      const messages = [{ role: 'user', content: 'Name a colour.' }];
      const chat = { list: await m.promptIds(messages), object: await m.promptIds({ messages }), text: await m.promptIds('Name a colour.', { chat: true }) };
      const pieces = [];
      for await (const piece of m.generate(messages, { maxTokens: 48, temperature: 0 })) pieces.push(piece);
      chat.finish = m.lastGeneration.finish;
      chat.generatedFrom = m.lastGeneration.promptIds;
      await m.unload();
      return { first, second, other, tooLong, badIds, nullIds, badMessages, badOption, chat };
    }, [SMOLLM, kind === 'worker']);
    assert.equal(r.first.reusedTokens, 0);
    assert.equal(r.first.kvCacheAllocations, 1);
    assert.equal(r.second.kvCacheAllocations, 1, 'the same contextLength keeps the KV cache');
    assert.ok(r.second.reusedTokens >= r.first.prompt - 1, `the first prompt is reused: ${JSON.stringify(r)}`);
    assert.equal(r.second.promptTokens + r.second.reusedTokens, r.second.prompt);
    assert.equal(r.other.kvCacheAllocations, 2, 'another length makes one more');
    assert.equal(r.other.reusedTokens, 0);
    assert.equal(r.tooLong, 'INVALID_ARGUMENT');
    assert.deepEqual([r.badIds, r.nullIds, r.badMessages, r.badOption], Array(4).fill('INVALID_ARGUMENT'));
    // A list of messages is a chat prompt, as `{ messages }` and `chat: true` are; its turn ends
    // at the end-of-turn token.
    assert.deepEqual(r.chat.list, r.chat.object);
    assert.deepEqual(r.chat.list, r.chat.text);
    assert.deepEqual(r.chat.generatedFrom, r.chat.list);
    assert.equal(r.chat.finish, 'end_of_generation');
  });
}

test('no console errors', () => {
  assert.deepEqual(errors, []);
});
