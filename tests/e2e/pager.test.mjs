// Paging: with the layers in storage memories and a working set of two layer slots, every layer
// acquired in turn lands in the main memory byte for byte as the fully resident load holds it;
// the layer in use stays pinned, least recently used slots are reused, and statistics count it.
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
