// The same numbers in both engines: gguf64's wasm64 build in headless Chromium and in headless
// Firefox, given the same prompt, gives bit-identical logits and the same greedy tokens, for
// SmolLM2 and Gemma 3, on the main thread and in a worker. (Wasm arithmetic is deterministic,
// SIMD128 included, and every transcendental function is compiled into the module; a difference
// would be a bug in an engine or in how we drive it.) It launches both browsers itself, so it runs
// once, in the Chromium pass of `npm test`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { BROWSER, launch, openHarness } from '../../tools/lib/browser.mjs';

const MODELS = ['/models/SmolLM2-135M-Instruct.Q4_1.gguf', '/models/gemma-3-270m-q4_k_m.gguf'];
const PROMPT = 'The three primary colors are';
const TOKENS = 32;
const skip = BROWSER !== 'chromium' && 'runs in the Chromium pass (it drives both browsers)';

const sessions = {};
before(async () => {
  if (skip) return;
  for (const browser of ['chromium', 'firefox']) sessions[browser] = await launch({ browser });
});
after(async () => {
  for (const s of Object.values(sessions)) await s.close();
});

/** In one browser: SHA-256 of the first position's logits (their bytes), its top token, and the greedy ids. */
async function run(session, url, worker) {
  const { page, errors } = await openHarness(session);
  try {
    const result = await page.evaluate(async ([url, prompt, tokens, worker]) => {
      // The package's entry, explicitly on this thread or in its worker.
      const m = await window.gguf64pkg.loadModel(url, { cache: false, worker });
      try {
        const ids = await m.promptIds(prompt);
        const logits = await m.logits(ids);
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', logits.buffer.slice(logits.byteOffset, logits.byteOffset + logits.byteLength)));
        let top = 0;
        for (let i = 1; i < logits.length; i++) if (logits[i] > logits[top]) top = i;
        for await (const piece of m.generate(ids, { temperature: 0, maxTokens: tokens, ignoreEos: true })) void piece;
        const greedy = [...(await m.lastGeneration).outputIds];
        return { sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''), top, greedy, build: m.info.build, inWorker: m.constructor.name };
      } finally {
        await m.unload();
      }
    }, [url, PROMPT, TOKENS, worker]);
    assert.deepEqual(errors, []);
    return result;
  } finally {
    await page.close();
  }
}

for (const url of MODELS) {
  test(`${url.split('/').pop()}: Chromium and Firefox give bit-identical logits and the same ${TOKENS} greedy tokens`, { skip, timeout: 600_000 }, async () => {
    const results = {};
    for (const [browser, session] of Object.entries(sessions)) {
      for (const worker of [false, true]) results[`${browser}${worker ? ' worker' : ''}`] = await run(session, url, worker);
    }
    const [first, ...rest] = Object.entries(results);
    assert.equal(first[1].build, 'wasm64');
    assert.equal(first[1].greedy.length, TOKENS);
    const numbers = ({ inWorker, ...r }) => r;
    for (const [where, r] of rest) assert.deepEqual(numbers(r), numbers(first[1]), `${where} differs from ${first[0]}`);
    assert.deepEqual(Object.values(results).map((r) => r.inWorker), ['LoadedModel', 'WorkerModel', 'LoadedModel', 'WorkerModel']);
    console.log(`${url.split('/').pop()}: ${Object.keys(results).join(', ')}: logits SHA-256 ${first[1].sha256.slice(0, 16)}…, greedy ${first[1].greedy.slice(0, 8).join(' ')} …`);
  });
}
