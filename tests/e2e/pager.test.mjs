// Paging: with the layers in storage memories and a working set of two layer slots, every layer
// acquired in turn lands in the main memory byte for byte as the fully resident load holds it;
// the layer in use stays pinned, least recently used slots are reused, and statistics count it.
// The disk tier (layers in an OPFS file, read into the slots) gives the standard layout's logits
// and greedy tokens, and its file goes when the model does.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { launch, openHarness } from '../../tools/lib/browser.mjs';

const SMOLLM = '/models/SmolLM2-135M-Instruct.Q4_1.gguf';
let session;
let page;
before(async () => {
  session = await launch();
  ({ page } = await openHarness(session));
});
after(() => session?.close());

test('layers paged through two slots equal the resident layers, pass after pass', { timeout: 120_000 }, async () => {
  const result = await page.evaluate(async (url) => {
    const g = window.gguf64;
    const { acquireLayer, mainSha256, releaseLayer } = window.gguf64testing;
    const digests = async (options, passes) => {
      const m = await g.loadModel(url, { cache: false, ...options });
      const out = [];
      for (let pass = 0; pass < passes; pass++) {
        for (let layer = 0; layer < m.info.nLayers; layer++) {
          const { address, bytes } = acquireLayer(m, layer);
          out.push(mainSha256(m, address, bytes));
          releaseLayer(m, layer);
        }
      }
      const again = acquireLayer(m, m.info.nLayers - 1);
      const stats = m.pagerStats();
      m.unload();
      return { out, kind: m.info.layout.kind, slots: m.info.layout.workingSetLayers, stats, againHit: again.hit };
    };
    const resident = await digests({}, 1);
    const layerBytes = 2.3e6; // SmolLM2's layers are 2.2 MB: a budget of 2.3 x 2 MB holds two
    const paged = await digests({ shardCap: 20e6, memoryBudget: 2 * layerBytes }, 2);
    // The wasm32 fallback: storage in ArrayBuffers, copies through TypedArray views.
    const fallback = await digests({ build: 'wasm32', workingSetLayers: 3 }, 1);
    return { resident, paged, fallback };
  }, SMOLLM);
  const { resident, paged, fallback } = result;
  assert.equal(fallback.kind, 'paged');
  assert.equal(fallback.slots, 3);
  assert.deepEqual(fallback.out, resident.out);
  assert.equal(fallback.stats.bridge, 'typed-array');
  assert.equal(resident.kind, 'standard');
  assert.equal(paged.kind, 'multi');
  assert.equal(paged.slots, 2);
  assert.deepEqual(paged.out, [...resident.out, ...resident.out]);
  assert.equal(new Set(resident.out).size, 30, 'every layer differs from the others');
  assert.equal(paged.againHit, true);
  assert.equal(paged.stats.misses, 60);
  assert.equal(paged.stats.hits, 1);
  assert.equal(paged.stats.evictions, 58);
  assert.ok(['multi-memory', 'typed-array'].includes(paged.stats.bridge));
});

test('the disk tier: layers in an OPFS file, read into two slots, give the standard layout\'s logits and greedy tokens; the file goes with the model', { timeout: 180_000 }, async () => {
  const result = await page.evaluate(async (url) => {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('gguf64-disk', { create: true });
    const files = async () => {
      const names = [];
      for await (const name of dir.keys()) names.push(name);
      return names;
    };
    const run = async (options) => {
      const m = await window.gguf64pkg.loadModel(url, { cache: false, threads: 1, ...options });
      const ids = await m.promptIds('The three primary colors are');
      const logits = Array.from(await m.logits(ids));
      for await (const piece of m.generate(ids, { temperature: 0, maxTokens: 16, ignoreEos: true })) void piece;
      const out = { logits, greedy: [...(await m.lastGeneration).outputIds], layout: m.info.layout, stats: await m.pagerStats() };
      out.filesWhileLoaded = await files();
      await m.unload();
      out.filesAfter = await files();
      return out;
    };
    const standard = await run({});
    const disk = await run({ layout: 'disk', workingSetLayers: 2 });
    let mainThread = null;
    try {
      await window.gguf64.loadModel(url, { cache: false, layout: 'disk' });
    } catch (err) {
      mainThread = err.code;
    }
    return { standard, disk, mainThread, leftAfterMainThread: await files() };
  }, SMOLLM);
  const { standard, disk } = result;
  assert.equal(standard.layout.kind, 'standard');
  assert.equal(disk.layout.kind, 'disk');
  assert.deepEqual(disk.layout.memories.map((m) => [m.tier, m.layers.length]), [['main', 0], ['disk', 30]]);
  assert.equal(disk.layout.workingSetLayers, 2);
  assert.equal(disk.logits.length, 49152);
  assert.ok(disk.logits.every((v, i) => Object.is(v, standard.logits[i])), 'the disk tier\'s logits are the standard layout\'s, bit for bit');
  assert.deepEqual(disk.greedy, standard.greedy);
  assert.equal(disk.stats.bridge, 'disk');
  assert.ok(disk.stats.misses + disk.stats.prefetches >= 30 * 17, JSON.stringify(disk.stats));
  assert.equal(disk.filesWhileLoaded.length, 1);
  assert.match(disk.filesWhileLoaded[0], /\.layers$/);
  assert.deepEqual(disk.filesAfter, []);
  assert.equal(result.mainThread, 'UNSUPPORTED_BROWSER', 'sync file access exists in workers only');
  assert.deepEqual(result.leftAfterMainThread, []);
});

test('under a memory limit below the model, layout auto puts the layers that do not fit on disk; one too small is DOES_NOT_FIT from the header', { timeout: 180_000 }, async () => {
  const result = await page.evaluate(async (url) => {
    const GIB = 2 ** 30;
    const run = async (options) => {
      // threads: 'auto' is the package's default; a file above the limit loads on one thread.
      const m = await window.gguf64pkg.loadModel(url, { cache: false, threads: 'auto', ...options });
      const ids = await m.promptIds('The three primary colors are');
      const logits = Array.from(await m.logits(ids));
      for await (const piece of m.generate(ids, { temperature: 0, maxTokens: 8, ignoreEos: true })) void piece;
      const out = { logits, greedy: [...(await m.lastGeneration).outputIds], layout: m.info.layout, threads: m.info.parallel.threads, stats: await m.pagerStats() };
      await m.unload();
      return out;
    };
    const standard = await run({ threads: 1 });
    // The working room (1 GiB here) and 60 MB: the embeddings (30 MB), two slots and 11 layers.
    const limited = await run({ memoryLimit: GIB + 60e6 });
    const report = await window.gguf64pkg.inspect(url, { memoryLimit: GIB + 60e6 });
    const groups = [];
    let tooSmall = null;
    try {
      await window.gguf64pkg.loadModel(url, { cache: false, memoryLimit: GIB + 20e6, onProgress: (p) => p.phase === 'group' && groups.push(p.group) });
    } catch (err) {
      tooSmall = { code: err.code, message: err.message };
    }
    return { standard, limited, inspectLayout: report.layout, tooSmall, groupsBeforeError: groups.length };
  }, SMOLLM);
  const { standard, limited } = result;
  assert.equal(limited.layout.kind, 'disk');
  assert.equal(limited.layout.memoryLimit, 2 ** 30 + 60e6);
  assert.equal(limited.threads, 1, 'the file is larger than the limit: one thread');
  const [main, disk] = limited.layout.memories;
  assert.deepEqual([main.tier, disk.tier], ['main', 'disk']);
  assert.deepEqual(main.layers, Array.from({ length: 11 }, (_, i) => i), 'the first 11 layers stay resident');
  assert.deepEqual(disk.layers, Array.from({ length: 19 }, (_, i) => 11 + i));
  assert.ok(main.bytes + 2 ** 30 <= 2 ** 30 + 60e6, `main memory ${main.bytes} within the limit`);
  assert.deepEqual(result.inspectLayout.memories.map((m) => [m.tier, m.layers.length]), [['main', 11], ['disk', 19]], 'inspect plans the same');
  assert.ok(limited.logits.every((v, i) => Object.is(v, standard.logits[i])), 'logits equal the standard layout\'s, bit for bit');
  assert.deepEqual(limited.greedy, standard.greedy);
  // Reading ahead ran beside the computation without changing a bit of it (Chromium; Firefox
  // refuses the reader a second handle on the file, and says so).
  if (session.browser === 'chromium') assert.ok(limited.stats.disk.aheadBytes > 0 && limited.stats.disk.readerError === null, JSON.stringify(limited.stats.disk));
  else assert.match(limited.stats.disk.readerError, /./, JSON.stringify(limited.stats.disk));
  assert.equal(limited.stats.disk.reads, limited.stats.misses + limited.stats.prefetches);
  assert.equal(result.tooSmall?.code, 'DOES_NOT_FIT');
  assert.match(result.tooSmall.message, new RegExp(`memory limit of ${2 ** 30 + 20e6} bytes is below what even the disk tier holds in memory`));
  assert.equal(result.groupsBeforeError, 0, 'no weight was fetched');
});
