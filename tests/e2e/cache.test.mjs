// The persistent cache (OPFS) in the headless browser (Chromium or Firefox): a second load reads from it with the network
// cut; an interrupted load resumes from the cached chunks; stale and corrupt entries are
// refetched; a full quota is a warning, not a failure; list / delete / clear.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, rm, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

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
  async function requestsDuring(fn, file = SMOLLM) {
    const seen = [];
    const onRequest = (r) => r.url().includes(`/${file}`) && seen.push(`${r.method()} ${r.headers().range ?? ''}`.trim());
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

  test('a file longer than a window is fetched in 128 MB windows (Firefox would buffer the rest meanwhile); a drop inside one resumes there', async () => {
    // Qwen2.5-Coder, 491 MB: four windows. The tensors' digest is Python hashlib's over the file.
    const QWEN = 'qwen2.5-coder-0.5b-instruct-q4_k_m.gguf';
    const QWEN_SIZE = 491400064;
    const WINDOW = 128 << 20;
    const { stdout } = await promisify(execFile)('python3', [path.join(ROOT, 'tools/golden/tensor_sha256.py'), path.join(ROOT, 'models', QWEN)]);
    const want = stdout.trim();
    const loadQwen = (query) => requestsDuring(() => page.evaluate(async (from) => {
      let resumes = 0;
      const m = await window.gguf64.loadModel(from, { retry: { attempts: 3, baseDelayMs: 10 },
        onProgress: (p) => { if (p.phase === 'resume') resumes += 1; } });
      const out = { digest: m.tensorSha256(), resumes };
      m.unload();
      return out;
    }, `${session.server.url}/models/${QWEN}${query}`), QWEN);
    const whole = await loadQwen('');
    assert.equal(whole.result.digest, want);
    assert.equal(whole.result.resumes, 0, 'a window read whole is no resume');
    const windows = [];
    for (let at = 0; at < QWEN_SIZE; at += WINDOW) windows.push(at + WINDOW < QWEN_SIZE ? `GET bytes=${at}-${at + WINDOW - 1}` : `GET bytes=${at}-`);
    assert.deepEqual(whole.requests.filter((r) => r.startsWith('GET')), windows);
    await page.evaluate(() => window.gguf64.cache.clear());
    // Every answer cut 50 MB after its start: each window resumes inside itself, and a resumed
    // request is again at most one window long.
    const cut = await loadQwen('?dropAfter=50000000&dropRanged');
    assert.equal(cut.result.digest, want);
    assert.ok(cut.result.resumes >= 3, `${cut.result.resumes} resumes`);
    for (const r of cut.requests.filter((q) => q.startsWith('GET'))) {
      const [, from, to] = /^GET bytes=(\d+)-(\d*)$/.exec(r) ?? [];
      assert.ok(from !== undefined && (to === '' ? QWEN_SIZE - Number(from) <= WINDOW : Number(to) - Number(from) + 1 === WINDOW), r);
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
