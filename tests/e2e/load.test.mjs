// End to end: the public JS entry streams real GGUF files over real fetch from a local server
// into WebAssembly memory in headless Chromium, and reports what the header holds.
import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { launch, openHarness } from '../../tools/lib/browser.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SMOLLM = 'SmolLM2-135M-Instruct.Q4_1.gguf';
const GEMMA = 'gemma-3-270m-q4_k_m.gguf';
const QWEN = 'qwen2.5-coder-0.5b-instruct-q4_k_m.gguf';
/** Python gguf: the file's architecture and whether it holds a chat template, as JSON. */
const PY_KEYS = `import json, sys
from gguf import GGUFReader
r = GGUFReader(sys.argv[1])
arch = r.fields['general.architecture']
print(json.dumps({'arch': bytes(arch.parts[arch.data[0]]).decode(), 'template': 'tokenizer.chat_template' in r.fields}))`;

/** The reference facts, from the golden files Python's `gguf` reader produced. */
async function golden(name) {
  const data = JSON.parse(await readFile(path.join(ROOT, 'tests/golden', name.replace(/\.gguf$/, '.json')), 'utf8'));
  const meta = (key) => data.metadata.find((m) => m.key === key)?.value;
  const arch = meta('general.architecture');
  return { arch, nLayers: Number(meta(`${arch}.block_count`)), nTensors: data.tensors.length };
}

/** Loads `url` in the page and returns `model.info`, or `{ error: { code, message } }`. */
function loadInPage(page, url, options = {}) {
  return page.evaluate(async ({ url, options }) => {
    try {
      const model = await window.gguf64.loadModel(url, options);
      const info = { ...model.info };
      model.unload();
      return info;
    } catch (err) {
      return { error: { code: err.code, reason: err.reason, name: err.name, message: err.message, offset: err.offset ?? null, url: err.url } };
    }
  }, { url, options });
}

describe('loading real models in headless Chromium', () => {
  let session;
  let page;
  let errors;
  let scratch;

  before(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'gguf64-e2e-'));
    session = await launch({ extraMounts: [['/scratch/', scratch]] });
    ({ page, errors } = await openHarness(session));
  });
  after(async () => {
    await session?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  for (const [file, build] of [[SMOLLM, 'wasm64'], [SMOLLM, 'wasm32'], [GEMMA, 'wasm64']]) {
    test(`${file} streams into the ${build} build and its header matches Python gguf`, async () => {
      const want = await golden(file);
      const { size } = await stat(path.join(ROOT, 'models', file));
      const info = await loadInPage(page, `/models/${file}`, { build });
      assert.equal(info.error, undefined, JSON.stringify(info.error));
      assert.equal(info.build, build);
      assert.equal(info.arch, want.arch);
      assert.equal(info.nLayers, want.nLayers);
      assert.equal(info.nTensors, want.nTensors);
      assert.equal(info.fileBytes, size);
    });
  }

  test('the browser reports memory64 and picks the wasm64 build by itself', async () => {
    const picked = await page.evaluate(() => ({ f: window.gguf64.detectFeatures(), build: window.gguf64.chooseBuild() }));
    assert.equal(picked.f.memory64, true);
    assert.equal(picked.build, 'wasm64');
  });

  test('the browser validates relaxed SIMD, and simd: auto picks the relaxed variant (model.info, inspect)', async () => {
    // Chromium 156 and Firefox ESR 153 both validate relaxed SIMD, so this holds in either.
    const got = await page.evaluate(async (url) => {
      const { relaxedSimd } = window.gguf64.detectFeatures();
      const model = await window.gguf64pkg.loadModel(url, { cache: false, threads: 1 });
      const { build, simd } = model.info;
      await model.unload();
      const report = await window.gguf64pkg.inspect(url);
      return { relaxedSimd, build, simd, inspected: report.simd };
    }, `/models/${SMOLLM}`);
    assert.deepEqual(got, { relaxedSimd: true, build: 'wasm64', simd: 'relaxed', inspected: 'relaxed' });
  });

  for (const file of [SMOLLM, GEMMA]) {
    test(`${file}: the first logits are bit-identical with simd: 'relaxed' and simd: 'simd128'`, { timeout: 300_000 }, async () => {
      // Each load has its own worker, so one page runs both variants of the wasm64 build.
      const got = await page.evaluate(async (url) => {
        const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
        const runs = {};
        for (const simd of ['relaxed', 'simd128']) {
          const model = await window.gguf64pkg.loadModel(url, { simd, cache: false, threads: 1 });
          try {
            const logits = await model.logits(await model.promptIds('The capital of France is'));
            runs[simd] = { info: model.info.simd, logits, sha256: hex(await crypto.subtle.digest('SHA-256', logits)) };
          } finally {
            await model.unload();
          }
        }
        const { relaxed: a, simd128: b } = runs;
        let differ = 0;
        let maxDiff = 0;
        for (let i = 0; i < a.logits.length; i++) {
          if (!Object.is(a.logits[i], b.logits[i])) differ += 1;
          maxDiff = Math.max(maxDiff, Math.abs(a.logits[i] - b.logits[i]));
        }
        return {
          infos: [a.info, b.info], hashes: [a.sha256, b.sha256], lengths: [a.logits.length, b.logits.length],
          finite: a.logits.every(Number.isFinite), differ, maxDiff,
        };
      }, `/models/${file}`);
      assert.deepEqual(got.infos, ['relaxed', 'simd128']);
      assert.equal(got.lengths[0], got.lengths[1]);
      assert.ok(got.lengths[0] > 1000 && got.finite, JSON.stringify(got));
      assert.equal(got.hashes[0], got.hashes[1], `${got.differ} of ${got.lengths[0]} logits differ, by up to ${got.maxDiff}`);
    });
  }

  test('simd: an unknown value is INVALID_ARGUMENT, relaxed without relaxed SIMD UNSUPPORTED_BROWSER; a thread holds one variant', async () => {
    const got = await page.evaluate(async (url) => {
      const code = (promise) => promise.then(() => null, (err) => err.code);
      const bogus = [
        await code(window.gguf64.loadModel(url, { simd: 'bogus', cache: false })),
        await code(window.gguf64pkg.loadModel(url, { simd: 'bogus', cache: false })),
        await code(window.gguf64.inspect(url, { simd: 'bogus' })),
      ];
      // A browser without relaxed SIMD, as detectFeatures sees it: the relaxed opcode (0xfd 0x92 0x02) does not validate.
      const validate = WebAssembly.validate;
      let features;
      let unsupported;
      WebAssembly.validate = (bytes) => {
        const u = ArrayBuffer.isView(bytes) ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) : new Uint8Array(bytes);
        for (let i = 0; i + 2 < u.length; i++) if (u[i] === 0xfd && u[i + 1] === 0x92 && u[i + 2] === 0x02) return false;
        return validate.call(WebAssembly, bytes);
      };
      try {
        features = window.gguf64.detectFeatures();
        unsupported = await code(window.gguf64.loadModel(url, { simd: 'relaxed', cache: false }));
      } finally {
        WebAssembly.validate = validate;
      }
      // This page's thread runs the relaxed wasm64 build ('auto'); its glue holds one instance.
      const model = await window.gguf64.loadModel(url, { cache: false });
      const held = model.info.simd;
      model.unload();
      const other = await code(window.gguf64.loadModel(url, { simd: 'simd128', cache: false }));
      return { bogus, relaxedSimd: features.relaxedSimd, simd: features.simd, unsupported, held, other };
    }, `/models/${SMOLLM}`);
    assert.deepEqual(got, {
      bogus: ['INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT'], relaxedSimd: false, simd: true,
      unsupported: 'UNSUPPORTED_BROWSER', held: 'relaxed', other: 'INVALID_ARGUMENT',
    });
  });

  test('SmolLM2 facts match the issue: llama, 30 layers, 272 tensors, 98362432 bytes', async () => {
    const info = await loadInPage(page, `/models/${SMOLLM}`);
    assert.deepEqual([info.build, info.arch, info.nLayers, info.nTensors, info.fileBytes],
      ['wasm64', 'llama', 30, 272, 98362432]);
  });

  test('model.info says which chat template is in use: the file\'s, or the built-in one where the file has none', async () => {
    // The reference: whether Python gguf finds `tokenizer.chat_template` in the file. SmolLM2
    // and Qwen2.5-Coder carry one; Gemma 3 270M does not, and gets the built-in Gemma turns.
    const read = (file) => promisify(execFile)('python3', ['-c', PY_KEYS, path.join(ROOT, 'models', file)]);
    for (const file of [SMOLLM, GEMMA, QWEN]) {
      const meta = JSON.parse((await read(file)).stdout);
      const builtIn = meta.arch.startsWith('gemma') ? 'gemma' : 'chatml';
      const want = meta.template ? { source: 'file', format: 'jinja', error: null } : { source: 'builtin', format: builtIn, error: null };
      // And it is the template chat prompts get: the files' own ChatML-style turns (both
      // templates write them, each with its default system turn first), Gemma's for Gemma 3.
      const { info, prompt } = await page.evaluate(async (url) => {
        const m = await window.gguf64.loadModel(url, { cache: false });
        const out = { info: { ...m.info }, prompt: m.applyChatTemplate([{ role: 'user', content: 'Hi' }]) };
        m.unload();
        return out;
      }, `/models/${file}`);
      assert.deepEqual(info.chatTemplate, want, file);
      if (builtIn === 'gemma' && !meta.template) assert.equal(prompt, '<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n');
      else assert.ok(prompt.includes('<|im_start|>user\nHi<|im_end|>'), `${file}: ${JSON.stringify(prompt)}`);
    }
    assert.deepEqual(errors, []);
  });

  test('every group is reported the moment it lands, with layer numbers and running counts', async () => {
    const events = await page.evaluate(async (url) => {
      const log = [];
      const model = await window.gguf64.loadModel(url, { onProgress: (p) => log.push(p) });
      model.unload();
      return log;
    }, `/models/${SMOLLM}`);
    const groups = events.filter((e) => e.phase === 'group');
    assert.equal(groups.length, 32);
    assert.equal(groups[0].group.kind, 'embeddings');
    assert.equal(groups.at(-1).group.kind, 'output');
    const layers = groups.filter((e) => e.group.kind === 'layer');
    assert.deepEqual(layers.map((e) => e.layer).sort((a, b) => a - b), [...Array(30).keys()]);
    assert.deepEqual(layers.map((e) => e.layersDone), [...Array(30).keys()].map((i) => i + 1));
    assert.ok(layers.every((e) => e.layersTotal === 30 && e.bytesTotal === 98362432));
    for (let i = 1; i < events.length; i++) assert.ok(events[i].bytesLoaded >= events[i - 1].bytesLoaded);
    assert.equal(events.at(-1).phase, 'done');
  });

  test('limits force the multi-memory layout: every layer lands in a storage memory under the cap', async () => {
    const result = await page.evaluate(async (url) => {
      const model = await window.gguf64.loadModel(url, { shardCap: 20e6, memoryBudget: 10e6 });
      const { layout } = model.info;
      const summary = model.summary();
      model.unload();
      return { ...layout, summary };
    }, `/models/${SMOLLM}`);
    for (const line of ['Layers: 30', 'Hidden size: 576', 'Vocab size: 49152', 'Memory64 enabled (multi layout)', '4 storage memories', 'Working set: 4 of 30 layers']) {
      assert.ok(result.summary.includes(line), `summary lacks "${line}":\n${result.summary}`);
    }
    assert.equal(result.kind, 'multi');
    assert.equal(result.memories[0].layers.length, 0);
    assert.deepEqual(result.memories[0].holds, ['embeddings', 'output']);
    const stored = result.memories.slice(1).flatMap((m) => m.layers).sort((a, b) => a - b);
    assert.deepEqual(stored, [...Array(30).keys()]);
    assert.ok(result.memories.slice(1).every((m) => m.bytes <= 20e6));
    assert.equal(result.workingSetLayers, 4);
  });

  test('inspect(url) reads only the header through Range requests and matches Python gguf', async () => {
    const golden = JSON.parse(await readFile(path.join(ROOT, 'tests/golden/gemma-3-270m-q4_k_m.json'), 'utf8'));
    const report = await page.evaluate((url) => window.gguf64.inspect(url), `/models/${GEMMA}`);
    assert.equal(report.arch, 'gemma3');
    assert.equal(report.fileBytes, golden.file_size);
    assert.equal(report.dataOffset, golden.data_offset);
    assert.deepEqual(report.tensors.map((t) => [t.name, t.type, t.shape, t.offset, t.nBytes]),
      golden.tensors.map((t) => [t.name, t.type, t.shape, t.offset, t.n_bytes]));
    assert.deepEqual(Object.keys(report.metadata), golden.metadata.map((m) => m.key));
    assert.equal(report.metadata['tokenizer.ggml.tokens'].count, 262144);
    assert.equal(report.config.nLayers, 18);
    assert.equal(report.layout.kind, 'standard');
    // The header is 6.5 MB of a 253 MB file: a few 1 MiB range requests, not the weights.
    assert.ok(report.bytesRead < golden.data_offset + (1 << 20), `read ${report.bytesRead} bytes`);
    assert.ok(report.rangeRequests >= 2);
  });

  test('inspect(url) works with a server that ignores Range, and plans forced layouts', async () => {
    const report = await page.evaluate((url) => window.gguf64.inspect(url, { shardCap: 20e6, memoryBudget: 10e6 }),
      `/models/${SMOLLM}?norange`);
    assert.equal(report.tensors.length, 272);
    assert.equal(report.layout.kind, 'multi');
    assert.equal(report.rangeRequests, 1);
    assert.ok(report.bytesRead < 16 << 20, `read ${report.bytesRead} bytes`);
  });

  test('a connection dropped every 30 MB resumes with Range requests and completes the load', async () => {
    const result = await page.evaluate(async (url) => {
      const resumes = [];
      const m = await window.gguf64.loadModel(url, { retry: { attempts: 3, baseDelayMs: 10 },
        onProgress: (p) => p.phase === 'resume' && resumes.push(p.offset) });
      const info = { ...m.info };
      m.unload();
      return { info, resumes };
    }, `/models/${SMOLLM}?dropAfter=30000000&dropRanged`);
    assert.equal(result.info.fileBytes, 98362432);
    assert.equal(result.info.nTensors, 272);
    // Each answer is cut at most 30 MB after where it started (sooner when the server still had
    // bytes buffered for a reader that was waiting on the cache): at least three resumes, each
    // further on.
    assert.ok(result.resumes.length >= 3, `resumed at ${result.resumes}`);
    result.resumes.forEach((at, i) => assert.ok(at > (i ? result.resumes[i - 1] : 0) && at <= 30e6 * (i + 1), `resumed at ${result.resumes}`));
  });

  test('a connection that stalls (open, but no byte for stallMs) is given up and resumed', async () => {
    const result = await page.evaluate(async (url) => {
      const resumes = [];
      const m = await window.gguf64.loadModel(url, { cache: false, retry: { stallMs: 1000 },
        onProgress: (p) => p.phase === 'resume' && resumes.push(p.offset) });
      const digest = m.tensorSha256();
      m.unload();
      return { digest, resumes };
    }, `/models/${SMOLLM}?stallAfter=20000000`);
    // The whole-file answer stops at 20 MB and stays open; one resume (ranged: no stall) finishes.
    assert.equal(result.resumes.length, 1, `resumed at ${result.resumes}`);
    assert.ok(result.resumes[0] > 15e6 && result.resumes[0] <= 20e6, `resumed at ${result.resumes}`);
    const { stdout } = await promisify(execFile)('python3', [path.join(ROOT, 'tools/golden/tensor_sha256.py'), path.join(ROOT, 'models', SMOLLM)]);
    assert.equal(result.digest, stdout.trim());
  });

  test('a server that ignores Range is read again from the start, skipping what arrived', async () => {
    const result = await page.evaluate(async (url) => {
      let resumes = 0;
      const m = await window.gguf64.loadModel(url, { retry: { attempts: 3, baseDelayMs: 10 },
        onProgress: (p) => { if (p.phase === 'resume') resumes += 1; } });
      const info = { ...m.info };
      m.unload();
      return { info, resumes };
    }, `/models/${SMOLLM}?norange&dropAfter=60000000`);
    assert.equal(result.info.fileBytes, 98362432);
    assert.equal(result.resumes, 1);
  });

  test('when resuming keeps failing, the error is NETWORK with the URL and the byte offset', async () => {
    const result = await loadInPage(page, `/models/${SMOLLM}?dropAfter=20000000&failRanges`, { retry: { attempts: 2, baseDelayMs: 10 } });
    assert.equal(result.error?.code, 'NETWORK', JSON.stringify(result.error));
    // Where the bytes stopped: the cut at 20 MB, less what the browser dropped in flight.
    assert.ok(result.error.offset > 18e6 && result.error.offset <= 20e6, `offset ${result.error.offset}`);
    assert.match(result.error.url, /dropAfter/);
  });

  test('connections dropped at 10 different offsets: every load completes with every tensor byte right', async () => {
    // The reference: Python gguf locates the tensors, hashlib hashes them straight from the file.
    const { stdout } = await promisify(execFile)('python3', [path.join(ROOT, 'tools/golden/tensor_sha256.py'), path.join(ROOT, 'models', SMOLLM)]);
    const want = stdout.trim();
    const offsets = [1, 4096, 1785663, 1785664, 1785700, 10e6 + 7, 30081024 + 1785664, 50e6, 77777777, 98362431];
    for (const at of offsets) {
      const got = await page.evaluate(async (url) => {
        const m = await window.gguf64.loadModel(url, { cache: false, retry: { attempts: 3, baseDelayMs: 5 } });
        const digest = m.tensorSha256();
        m.unload();
        return digest;
      }, `/models/${SMOLLM}?dropAfter=${at}`);
      assert.equal(got, want, `dropped at ${at}`);
    }
  });

  test('a SHA-256 given for the file is checked while streaming: right passes, wrong is INTEGRITY', async () => {
    const right = 'b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53';
    const wrong = `${right.slice(0, 63)}0`;
    const ok = await loadInPage(page, `/models/${SMOLLM}`, { sha256: right, cache: false, shardCap: 20e6, memoryBudget: 10e6 });
    assert.equal(ok.error, undefined, JSON.stringify(ok.error));
    const bad = await loadInPage(page, `/models/${SMOLLM}`, { sha256: wrong, cache: false });
    assert.equal(bad.error?.code, 'INTEGRITY');
  });

  test('a split model loads from the name of one part, parts fetched in parallel, every byte right', async () => {
    const run = promisify(execFile);
    await run('bash', [path.join(ROOT, 'tools/dev/native.sh'), 'split', path.join(ROOT, 'models', SMOLLM), '--parts', '3', '--out', path.join(scratch, 'smol')]);
    const { stdout } = await run('python3', [path.join(ROOT, 'tools/golden/tensor_sha256.py'), path.join(ROOT, 'models', SMOLLM)]);
    for (const [label, source] of [
      ['any part', '/scratch/smol-00002-of-00003.gguf'],
      ['a list, part 2 cut at 5 MB', ['/scratch/smol-00001-of-00003.gguf', '/scratch/smol-00002-of-00003.gguf?dropAfter=5000000', '/scratch/smol-00003-of-00003.gguf']],
    ]) {
      const result = await page.evaluate(async (source) => {
        let layers = 0;
        const m = await window.gguf64.loadModel(source, { retry: { attempts: 3, baseDelayMs: 5 },
          onProgress: (p) => { if (p.group?.kind === 'layer') layers += 1; } });
        const out = { info: { ...m.info }, layers, sha: m.tensorSha256() };
        m.unload();
        return out;
      }, source);
      assert.equal(result.info.parts, 3, label);
      assert.equal(result.info.nTensors, 272, label);
      assert.equal(result.layers, 30, label);
      assert.equal(result.sha, stdout.trim(), label);
    }
    // The parts went into the cache like single files: a second load reads them all from there.
    const again = await page.evaluate(async (url) => {
      const m = await window.gguf64.loadModel(url);
      const info = { ...m.info };
      m.unload();
      return info;
    }, '/scratch/smol-00001-of-00003.gguf');
    assert.equal(again.cache.bytesFromCache, again.fileBytes);
  });

  test('split parts given out of order are a SPLIT_INVALID error', async () => {
    const result = await loadInPage(page, ['/scratch/smol-00002-of-00003.gguf', '/scratch/smol-00001-of-00003.gguf', '/scratch/smol-00003-of-00003.gguf']);
    assert.equal(result.error?.code, 'SPLIT_INVALID', JSON.stringify(result.error));
  });

  test('a missing file is an HTTP_STATUS error with the status', async () => {
    const result = await loadInPage(page, '/models/no-such-model.gguf');
    assert.equal(result.error?.code, 'HTTP_STATUS');
    assert.match(result.error.message, /404/);
  });

  test('a server error (500) is an HTTP_STATUS error with the status, nothing loaded', async () => {
    const result = await loadInPage(page, `/models/${SMOLLM}?status=500`);
    assert.equal(result.error?.code, 'HTTP_STATUS');
    assert.match(result.error.message, /500/);
  });

  test('a slow body is aborted promptly: ABORTED, and the memory is not grown by it', async () => {
    const result = await page.evaluate(async (url) => {
      const before = (await window.gguf64.memoryUsage()).wasm64;
      const controller = new AbortController();
      const started = performance.now();
      setTimeout(() => controller.abort(), 300);
      const code = await window.gguf64.loadModel(url, { signal: controller.signal, cache: false }).then(() => 'loaded', (e) => e.code);
      return { code, ms: performance.now() - started, grew: (await window.gguf64.memoryUsage()).wasm64 - before };
    }, `/models/${SMOLLM}?slowMs=20`);
    assert.equal(result.code, 'ABORTED');
    assert.ok(result.ms < 5000, `the abort took ${result.ms} ms`);
    assert.equal(result.grew, 0, JSON.stringify(result));
  });

  test('a file that is not GGUF is a GGUF_INVALID error at offset 0', async () => {
    const result = await loadInPage(page, '/tests/browser/harness.html');
    assert.equal(result.error?.code, 'GGUF_INVALID');
    assert.equal(result.error.offset, 0);
  });

  test('a file cut short after its header is a typed error naming the first tensor past the end', async () => {
    // The first 4 MiB: a complete header whose tensors need 98 MB; the server announces 4 MiB.
    const src = await open(path.join(ROOT, 'models', SMOLLM));
    const head = Buffer.alloc(4 << 20);
    await src.read(head, 0, head.length, 0);
    await src.close();
    await writeFile(path.join(scratch, 'cut.gguf'), head);
    const result = await loadInPage(page, '/scratch/cut.gguf');
    assert.equal(result.error?.code, 'GGUF_INVALID', JSON.stringify(result.error));
    assert.equal(result.error.reason, 'TensorOutOfBounds');
    assert.ok(result.error.offset > 0 && result.error.offset < head.length, `offset ${result.error.offset}`);
  });

  test('a file longer than its header says is a LENGTH_MISMATCH error', async () => {
    const whole = await readFile(path.join(ROOT, 'models', SMOLLM));
    await writeFile(path.join(scratch, 'long.gguf'), Buffer.concat([whole, Buffer.alloc(100)]));
    const result = await loadInPage(page, '/scratch/long.gguf');
    assert.equal(result.error?.code, 'LENGTH_MISMATCH', JSON.stringify(result.error));
  });

  test('an AbortSignal stops the load with an ABORTED error', async () => {
    const result = await page.evaluate(async (url) => {
      const controller = new AbortController();
      try {
        await window.gguf64.loadModel(url, {
          signal: controller.signal,
          onProgress: (p) => { if (p.bytesLoaded > 10e6) controller.abort(); },
        });
        return { loaded: true };
      } catch (err) {
        return { code: err.code };
      }
    }, `/models/${SMOLLM}`);
    assert.deepEqual(result, { code: 'ABORTED' });
  });

  test('unloading or aborting frees the memory: later loads reuse it instead of growing', async () => {
    const sizes = await page.evaluate(async (url) => {
      const g = window.gguf64;
      const usage = async () => (await g.memoryUsage()).wasm64;
      (await g.loadModel(url)).unload();
      const afterFirst = await usage();
      (await g.loadModel(url)).unload();
      const afterSecond = await usage();
      const controller = new AbortController();
      await g.loadModel(url, { signal: controller.signal, onProgress: (p) => p.bytesLoaded > 50e6 && controller.abort() }).catch(() => {});
      (await g.loadModel(url)).unload();
      return { afterFirst, afterSecond, afterAbort: await usage() };
    }, `/models/${SMOLLM}`);
    assert.ok(sizes.afterFirst > 98e6, JSON.stringify(sizes));
    assert.equal(sizes.afterSecond, sizes.afterFirst);
    assert.equal(sizes.afterAbort, sizes.afterFirst);
  });

  test('no page errors were logged', () => {
    // 404s and the cut connections above are what those tests asked for.
    assert.deepEqual(errors.filter((e) => !/404|500|503|ERR_CONTENT_LENGTH_MISMATCH/.test(e)), []);
  });
});
