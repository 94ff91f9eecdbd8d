// The persistent cache (OPFS) in the headless browser (Chromium or Firefox): a second load reads from it with the network
// cut; an interrupted load resumes from the cached chunks; stale and corrupt entries are
// refetched; a full quota is a warning, not a failure; list / delete / clear.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { launch, openHarness } from '../../tools/lib/browser.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SMOLLM = 'SmolLM2-135M-Instruct.Q4_1.gguf';
const SIZE = 98362432;
const CHUNK = 16 << 20;

describe('persistent cache', () => {
  let session;
  let page;
  let scratch;
  let url;

  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'gguf64-cache-'));
    await copyFile(path.join(ROOT, 'models', SMOLLM), path.join(scratch, SMOLLM));
    session = await launch({ extraMounts: [['/scratch/', scratch]] });
    ({ page } = await openHarness(session));
    url = `${session.server.url}/scratch/${SMOLLM}`;
  });
  after(async () => {
    await session?.close();
    await rm(scratch, { recursive: true, force: true });
  });
  beforeEach(() => page.evaluate(() => window.gguf64.cache.clear()));

  /** Loads in the page (`on`: another page); returns `{ info, warnings }` or `{ error, warnings }`. */
  function load(options = {}, on = page, from = url) {
    return on.evaluate(async ({ url, options }) => {
        const warnings = [];
        const controller = new AbortController();
        const { abortAt, ...rest } = options;
        try {
          const m = await window.gguf64.loadModel(url, {
            ...rest,
            signal: controller.signal,
            onProgress: (p) => {
              if (p.phase === 'warning') warnings.push(p.code);
              if (abortAt && p.bytesLoaded > abortAt) controller.abort();
            },
          });
          const info = { ...m.info };
          m.unload();
          return { info, warnings };
        } catch (err) {
          return { error: err.code, warnings };
        }
      }, { url: from, options });
  }

  const listed = (on = page) => on.evaluate(() => window.gguf64.cache.list());

  /**
   * Runs `fn(page)` with this origin's storage quota cut to about `bytes`: in Chromium through
   * CDP's per-origin override; in Firefox, which has no such call, in a second browser whose
   * temporary storage limit is 5 × `bytes` (an origin gets a fifth of it, at least 10 MB).
   */
  async function withQuota(bytes, fn) {
    if (session.browser === 'firefox') {
      const small = await launch({ extraMounts: [['/scratch/', scratch]],
        firefoxPrefs: { 'dom.quotaManager.temporaryStorage.fixedLimit': Math.round((5 * bytes) / 1024) } });
      try {
        const { page: limited } = await openHarness(small);
        // The same origin as `url` (each launch serves on its own port).
        const own = url.replace(session.server.url, small.server.url);
        return await fn(limited, own);
      } finally {
        await small.close();
      }
    }
    const cdp = await session.context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: session.server.url, quotaSize: bytes });
    try {
      return await fn(page, url);
    } finally {
      await cdp.send('Storage.overrideQuotaForOrigin', { origin: session.server.url });
    }
  }

  /** Runs `fn` and returns the requests the page made for the model meanwhile. */
  async function requestsDuring(fn) {
    const seen = [];
    const onRequest = (r) => r.url().includes('/scratch/') && seen.push(`${r.method()} ${r.headers().range ?? ''}`.trim());
    page.on('request', onRequest);
    try {
      return { result: await fn(), requests: seen };
    } finally {
      page.off('request', onRequest);
    }
  }

  test('a second load reads from the cache with no network request at all', async () => {
    const first = await load();
    assert.equal(first.info.cache.bytesFromCache, 0);
    const entries = await listed();
    assert.equal(entries.length, 1);
    assert.deepEqual([entries[0].url, entries[0].size, entries[0].cachedBytes, entries[0].complete], [url, SIZE, SIZE, true]);
    const { result: second, requests } = await requestsDuring(() => load());
    assert.equal(second.info.cache.bytesFromCache, SIZE);
    assert.equal(second.info.nTensors, 272);
    // The load itself made none; the background check for a changed file (HEAD) may follow.
    assert.ok(requests.every((r) => r === 'HEAD'), requests.join(', '));
  });

  test('offline, a cached model still loads', async () => {
    await load();
    await page.route('**/scratch/**', (route) => route.abort('internetdisconnected'));
    try {
      for (const revalidate of ['background', 'before']) {
        const again = await load({ revalidate });
        assert.equal(again.error, undefined, revalidate);
        assert.equal(again.info.cache.bytesFromCache, SIZE);
      }
    } finally {
      await page.unroute('**/scratch/**');
    }
  });

  test('a load interrupted at 60 MB resumes from the cached chunks with one Range request', async () => {
    const cut = await load({ abortAt: 60e6 });
    assert.equal(cut.error, 'ABORTED');
    await new Promise((r) => setTimeout(r, 500)); // chunk writes finish in the background
    const [partial] = await listed();
    assert.ok(partial.cachedBytes >= CHUNK && partial.cachedBytes % CHUNK === 0 && partial.cachedBytes < SIZE, JSON.stringify(partial));
    const ranges = [];
    const onRequest = (r) => r.url().includes('/scratch/') && r.method() === 'GET' && ranges.push(r.headers().range ?? 'none');
    page.on('request', onRequest);
    const resumed = await load();
    page.off('request', onRequest);
    assert.equal(resumed.info.cache.bytesFromCache, partial.cachedBytes);
    assert.deepEqual(ranges, [`bytes=${partial.cachedBytes}-`]);
    const [whole] = await listed();
    assert.equal(whole.complete, true);
  });

  test('a file changed on the server (new ETag) is refetched: next time by default, at once with revalidate "before"', async () => {
    await load();
    const first = (await listed())[0].validator;
    const touch = async (ms) => {
      const later = new Date(Date.now() + ms);
      await utimes(path.join(scratch, SMOLLM), later, later);
    };
    await touch(60_000);
    const stale = await load();
    assert.equal(stale.info.cache.bytesFromCache, SIZE, 'the cached copy serves this load');
    await page.waitForFunction(async () => (await window.gguf64.cache.list()).length === 0, null, { timeout: 10_000 });
    const fresh = await load();
    assert.equal(fresh.info.cache.bytesFromCache, 0);
    const [entry] = await listed();
    assert.notEqual(entry.validator, first);
    assert.equal(entry.complete, true);
    await touch(120_000);
    const checked = await load({ revalidate: 'before' });
    assert.equal(checked.info.cache.bytesFromCache, 0);
    assert.notEqual((await listed())[0].validator, entry.validator);
  });

  test('a corrupt chunk is detected: the chunks before it are used, the rest refetched', async () => {
    await load();
    await page.evaluate(async (url) => {
      const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(url)));
      const key = [...hash.slice(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join('');
      const dir = await (await (await navigator.storage.getDirectory()).getDirectoryHandle('gguf64-cache')).getDirectoryHandle(key);
      const writable = await (await dir.getFileHandle('c00002')).createWritable({ keepExistingData: true });
      await writable.write({ type: 'write', position: 1000, data: new Uint8Array(64) });
      await writable.close();
    }, url);
    const again = await load();
    assert.equal(again.error, undefined);
    assert.equal(again.info.cache.bytesFromCache, 2 * CHUNK);
    assert.equal((await listed())[0].complete, true);
  });

  test('a storage quota too small for the model is a warning; the load completes, caching what fit', async () => {
    await withQuota(20e6, async (on, own) => {
      const result = await load({}, on, own);
      assert.equal(result.error, undefined);
      // Chromium reports the refused write as QuotaExceededError or, for a large write, as an
      // AbortError of its data pipe: CACHE_QUOTA or CACHE_WRITE, once.
      assert.equal(result.warnings.length, 1, result.warnings.join());
      assert.match(result.warnings[0], /^CACHE_(QUOTA|WRITE)$/);
      assert.equal(result.info.nTensors, 272);
      // 20 MB of quota holds one 16 MiB chunk; the entry stays partial.
      const [entry] = await listed(on);
      assert.equal(entry.complete, false);
      assert.ok(entry.cachedBytes <= 20e6, JSON.stringify(entry));
    });
  });

  test('delete removes one entry and clear removes all', async () => {
    await load();
    assert.equal((await listed()).length, 1);
    assert.equal(await page.evaluate((u) => window.gguf64.cache.delete(u), url), true);
    assert.equal((await listed()).length, 0);
    await load();
    await page.evaluate(() => window.gguf64.cache.clear());
    assert.deepEqual(await listed(), []);
  });
});
