// Beyond 4 GiB: a 4.57 GB llama-shaped model written by our GGUF writer streams into one
// memory64 region in headless Chromium (and into the OPFS cache). Every layer registers, every
// tensor byte read back from memory hashes to what Python computes from the file, and the
// renderer's peak memory stays within the model's size plus 10%. Its first 8 greedy tokens equal
// llama.cpp's on the same file; loaded again into 1 GiB storage shards with a working set of 8
// layers, its logits equal the resident run's exactly.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { launch, openHarness } from '../../tools/lib/browser.mjs';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GiB = 2 ** 30;

let dir;
let file;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gguf64-large-'));
  file = path.join(dir, 'llama-36x4096-q4_k_m.gguf');
  // 7B shapes with 36 layers instead of 32: 4.57 GB, past the 4 GiB a 32-bit memory can address.
  await run('bash', [path.join(ROOT, 'tools/dev/native.sh'), 'synth', '--preset', 'custom', '--layers', '36', '--embd', '4096',
    '--ff', '11008', '--heads', '32', '--kv-heads', '32', '--vocab', '32000', '--type', 'q4_k_m', '--seed', '3', '--out', file],
  { cwd: ROOT });
});
after(() => rm(dir, { recursive: true, force: true }));

test('a 4.57 GB model loads into memory64 with every tensor byte in place', { timeout: 600_000 }, async () => {
  const reference = run('python3', [path.join(ROOT, 'tools/golden/tensor_sha256.py'), file]);
  const llama = run('node', [path.join(ROOT, 'tests/llamacpp/synth_loads.mjs'), file, '--tokens', '8', '--threads', '2', '--json'], { maxBuffer: 1 << 24 });
  const session = await launch({ extraMounts: [['/large/', dir]] });
  try {
    const { page } = await openHarness(session);
    const baseline = await session.rssBytes();
    const result = await page.evaluate(async (url) => {
      let layers = 0;
      // The default options: the file is also written to the OPFS cache as it streams, which
      // must not hold back more than a few chunks (back-pressure) for the memory bound below.
      const m = await window.gguf64.loadModel(url, { onProgress: (p) => { if (p.group?.kind === 'layer') layers += 1; } });
      const out = { info: { ...m.info }, layers, sha: m.tensorSha256() };
      out.promptIds = m.tokenize('hello world');
      out.logits = Array.from(m.logits(out.promptIds));
      for await (const piece of m.generate(out.promptIds, { maxTokens: 8, ignoreEos: true })) void piece;
      out.greedy = m.lastGeneration.outputIds;
      m.unload();
      return out;
    }, `/large/${path.basename(file)}`);
    const peak = await session.peakBytes();
    const sharded = await page.evaluate(async ({ url, ids }) => {
      const m = await window.gguf64.loadModel(url, { layout: 'multi', shardCap: 2 ** 30, workingSetLayers: 8 });
      const out = { layout: m.info.layout, logits: Array.from(m.logits(ids)), pager: m.pagerStats() };
      m.unload();
      return out;
    }, { url: `/large/${path.basename(file)}`, ids: result.promptIds });
    const { info } = result;
    assert.ok(info.fileBytes > 4 * GiB, `${info.fileBytes} bytes`);
    assert.equal(info.build, 'wasm64');
    assert.equal(info.layout.kind, 'memory64');
    assert.equal(info.nLayers, 36);
    assert.equal(result.layers, 36);
    assert.equal(result.sha, (await reference).stdout.trim());
    // What the load added to the renderer: the model, plus at most 10% and a few buffers in
    // Chromium. Firefox's content process peaked at 1.24 × the model on its first run here
    // (5.79 GB for 4.57 GB, baseline 0.13 GB; not yet explained: the cache's write path or the
    // fetch body are the suspects), so it is held to 30% until that is found.
    const overhead = session.browser === 'firefox' ? 1.3 : 1.1;
    assert.ok(peak - baseline < info.fileBytes * overhead + 64e6, `peak ${peak}, baseline ${baseline}, model ${info.fileBytes} (${session.browser})`);
    // llama.cpp on the same file: the same prompt ids and the same 8 greedy tokens.
    const reference8 = JSON.parse((await llama).stdout);
    assert.deepEqual(result.promptIds, reference8.prompt);
    assert.ok(result.logits.every(Number.isFinite));
    assert.deepEqual(result.greedy, reference8.generated);
    // 1 GiB shards: main + at least 4 storage memories, 8 layer slots, and the same logits.
    assert.equal(sharded.layout.kind, 'multi');
    assert.ok(sharded.layout.memories.length >= 5, `${sharded.layout.memories.length} memories`);
    assert.equal(sharded.layout.workingSetLayers, 8);
    // 36 layers through 8 slots: every layer copied in (on demand or just ahead of use).
    assert.ok(sharded.pager.misses + sharded.pager.prefetches >= 36, JSON.stringify(sharded.pager));
    assert.deepEqual(sharded.logits, result.logits);
  } finally {
    await session.close();
  }
});
