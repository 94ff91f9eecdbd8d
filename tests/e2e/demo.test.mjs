// End to end: the demo page (as `npm start` serves it) streams the default model in the package's
// worker, shows its facts and memory map, and generates text from the prompt box. What the page's
// main thread does is asserted by counting, never by timing (a duration depends on what else the
// machine runs): it never compiles, instantiates or runs WebAssembly, never fetches or reads the
// model's bytes, and receives exactly one message per progress event and per generated piece.
// How long its tasks take is measured alone, by `npm run bench -- --only mainthread`.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { launch, openHarness } from '../../tools/lib/browser.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODEL = '/models/SmolLM2-135M-Instruct.Q4_1.gguf';
const PROMPT = 'Name three colors.';
const MAX_TOKENS = 24;
let session;
let page;
const errors = [];
/** Paths of every request the browser made for the demo's page or its worker. */
const requested = [];

/**
 * Runs in the page before its own scripts (the page's main thread only, not its workers) and
 * records in `window.probe`: every WebAssembly compile, instantiation or memory made here; every
 * fetch; every read of a Blob or File over 1 MB; every message the page sends to a worker and
 * receives from one (its id, type, progress phase or piece, and the bytes of any binary data it
 * carries). Long tasks and long animation frames are kept as information only.
 */
function observeMainThread() {
  const probe = { wasm: [], fetches: [], blobReads: [], sent: [], received: [], longTasks: [], longFrames: [] };
  window.probe = probe;
  for (const name of ['compile', 'compileStreaming', 'instantiate', 'instantiateStreaming']) {
    const original = WebAssembly[name];
    WebAssembly[name] = function wrapped(...args) {
      probe.wasm.push(name);
      return original.apply(this, args);
    };
  }
  for (const name of ['Module', 'Instance', 'Memory']) {
    WebAssembly[name] = new Proxy(WebAssembly[name], {
      construct(target, args, newTarget) {
        probe.wasm.push(`new ${name}`);
        return Reflect.construct(target, args, newTarget);
      },
    });
  }
  const fetch = window.fetch;
  window.fetch = function wrapped(input, init) {
    probe.fetches.push(String(input?.url ?? input));
    return fetch.call(this, input, init);
  };
  const MB = 1e6;
  for (const name of ['arrayBuffer', 'bytes', 'stream', 'text', 'slice']) {
    const original = Blob.prototype[name];
    if (!original) continue;
    Blob.prototype[name] = function wrapped(...args) {
      if (this.size > MB) probe.blobReads.push({ name, size: this.size });
      return original.apply(this, args);
    };
  }
  for (const name of ['readAsArrayBuffer', 'readAsBinaryString', 'readAsDataURL', 'readAsText']) {
    const original = FileReader.prototype[name];
    FileReader.prototype[name] = function wrapped(blob, ...rest) {
      if (blob?.size > MB) probe.blobReads.push({ name, size: blob.size });
      return original.call(this, blob, ...rest);
    };
  }
  /** Bytes of ArrayBuffers and typed arrays anywhere in a message. */
  const binaryBytes = (value, depth = 0) => {
    if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer)) return value.byteLength;
    if (ArrayBuffer.isView(value)) return value.byteLength;
    if (!value || typeof value !== 'object' || depth > 8) return 0;
    return Object.values(value).reduce((n, v) => n + binaryBytes(v, depth + 1), 0);
  };
  const NativeWorker = window.Worker;
  let workers = 0;
  window.Worker = class extends NativeWorker {
    #n = ++workers;

    constructor(...args) {
      super(...args);
      this.addEventListener('message', ({ data }) => probe.received.push({
        worker: this.#n, id: data?.id, type: data?.type, phase: data?.event?.phase, text: data?.event?.text,
        group: data?.event?.group ? String(data.event.group.layer ?? data.event.group.kind) : undefined,
        hasLayout: Boolean(data?.event?.layout), bytesLoaded: data?.event?.bytesLoaded, binary: binaryBytes(data),
      }));
    }

    postMessage(data, ...rest) {
      probe.sent.push({ worker: this.#n, id: data?.id, op: data?.op, binary: binaryBytes(data) });
      return super.postMessage(data, ...rest);
    }
  };
  // Information only (printed, never asserted). Held by the page: an unreferenced observer may be
  // garbage-collected and stop reporting.
  probe.longTaskObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) probe.longTasks.push({ start: e.startTime, duration: e.duration });
  });
  probe.longTaskObserver.observe({ type: 'longtask', buffered: true });
  probe.longFrameObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      probe.longFrames.push({ start: e.startTime, duration: e.duration, blocking: e.blockingDuration,
        scripts: e.scripts.map((x) => ({ invoker: x.invoker, duration: Math.round(x.duration) })) });
    }
  });
  probe.longFrameObserver.observe({ type: 'long-animation-frame', buffered: true });
}

/**
 * Sets a number field as a person typing a new value would (the whole value replaced, an input
 * event). Not `fill`: driving Firefox over WebDriver BiDi, it appends to a number field's text.
 */
async function setNumber(on, selector, value) {
  await on.$eval(selector, (el, v) => {
    el.value = v;
    el.dispatchEvent(new Event('input', { bubbles: true }));
  }, String(value));
}

/** The messages the page received for its `nth` request of `op` (ids count per worker). */
function answersTo(probe, op, nth = 0) {
  const request = probe.sent.filter((m) => m.op === op)[nth];
  assert.ok(request, `the page sent no ${op} request #${nth}`);
  return probe.received.filter((m) => m.worker === request.worker && m.id === request.id);
}

let expected;

before(async () => {
  session = await launch();
  // The reference text first, from the main-thread API in the harness page, closed before the demo opens.
  const { page: harness } = await openHarness(session);
  expected = await harness.evaluate(async ([url, prompt, maxTokens]) => {
    const m = await window.gguf64.loadModel(url, { cache: false });
    let out = '';
    for await (const piece of m.generate(prompt, { chat: true, temperature: 0, topK: 40, topP: 0.95, maxTokens })) out += piece;
    m.unload();
    return out;
  }, [MODEL, PROMPT, MAX_TOKENS]);
  await harness.close();
  page = await session.context.newPage();
  session.context.on('request', (r) => requested.push(new URL(r.url()).pathname));
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  await page.addInitScript(observeMainThread);
  await page.goto(`${session.server.url}/`);
});
after(async () => { await session?.close(); });

test('the demo loads SmolLM2 in a worker and shows architecture, layers, tensors, bytes and the memory map', async () => {
  await page.waitForSelector('body[data-state]', { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'loaded', await page.textContent('#status'));
  const facts = Object.fromEntries(await page.$$eval('#facts dt', (dts) => dts.map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
  assert.equal(facts.Architecture, 'llama');
  assert.equal(facts.Layers, '30');
  assert.equal(facts.Tensors, '272');
  assert.match(facts['File size'], /98,362,432 bytes/);
  assert.match(facts.Build, /wasm64/);
  // The default splits the model over this machine's cores (2 here): the status and the facts say so.
  const status = await page.textContent('#status');
  const threads = Number(/split over (\d) worker threads/.exec(status)?.[1] ?? 1);
  assert.match(status, threads === 1 ? /in a worker\./ : /split over \d worker threads\./);
  assert.equal(threads, Math.min(await page.evaluate(() => navigator.hardwareConcurrency), 3));
  assert.match(await page.textContent('#facts'), new RegExp(`Threads${threads}${threads > 1 ? ' \\(message channel\\)' : ''}`));
  assert.equal(await page.$$eval('.cell.landed', (cells) => cells.length), 32); // embeddings, 30 layers, output
  assert.equal(await page.$eval('#bar', (bar) => bar.style.width), '100%');
  assert.match(await page.textContent('#memory-label-0'), /^main memory · (\d+\.\d MB) of \1 · 30 layers resident/);
  assert.match(await page.textContent('#cache'), /downloaded and stored/);
});

test('the prompt box streams greedy text equal to the main-thread API, with tokens/s; stop ends a generation', async () => {
  await page.fill('#prompt', PROMPT);
  await setNumber(page, '#temperature', '0');
  await setNumber(page, '#max-tokens', String(MAX_TOKENS));
  await page.check('#chat');
  await page.click('#generate');
  await page.waitForSelector('body[data-gen="done"], body[data-gen="error"]', { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-gen'), 'done', await page.textContent('#gen-status'));
  const text = await page.textContent('#output');
  assert.match(await page.textContent('#gen-status'), /generation \d+(\.\d)? tokens\/s/);
  assert.ok(text.length > 0);
  assert.equal(text, expected);


  await setNumber(page, '#max-tokens', '400');
  await page.fill('#prompt', 'Tell me a long story about a lighthouse keeper.');
  await page.click('#generate');
  await page.waitForFunction(() => document.getElementById('output').textContent.length > 20, null, { timeout: 60_000 });
  await page.click('#stop');
  await page.waitForSelector('body[data-gen="done"]', { timeout: 30_000 });
  assert.match(await page.textContent('#gen-status'), /stopped/);
});

test('the main thread never runs WebAssembly, never fetches or reads the model, and gets one message per progress event and per piece; a screenshot', async () => {
  const probe = await page.evaluate(() => {
    const { longTaskObserver, longFrameObserver, ...recorded } = window.probe;
    return { ...recorded, resources: performance.getEntriesByType('resource').map((e) => e.name),
      loadStart: performance.getEntriesByName('gguf64-load')[0].startTime };
  });
  // Information only: a task's duration includes the time its thread waited for a core, so it
  // depends on whatever else the machine runs (npm run bench -- --only mainthread measures it alone).
  const longTasks = probe.longTasks.filter((t) => t.start + t.duration > probe.loadStart);
  const frames = probe.longFrames.filter((f) => f.blocking > 0).sort((x, y) => y.duration - x.duration).slice(0, 3);
  console.log(`information, not asserted: ${longTasks.length} main-thread tasks over 50 ms during load and generation `
    + `(longest ${Math.max(0, ...longTasks.map((t) => t.duration)).toFixed(0)} ms); longest frames' scripts: ${JSON.stringify(frames.map((f) => [Math.round(f.duration), f.scripts]))}`);

  // The page compiles, instantiates and runs no WebAssembly and makes no wasm memory...
  assert.deepEqual(probe.wasm, []);
  // ...never requests the model, neither by fetch nor otherwise (its resource timeline)...
  assert.deepEqual(probe.fetches.filter((u) => u.includes('.gguf')), []);
  assert.deepEqual(probe.resources.filter((u) => u.includes('.gguf')), []);
  assert.deepEqual(probe.blobReads, []);
  // ...which its worker does (with one shard worker per further thread).
  const threads = Number(/split over (\d) worker threads/.exec(await page.textContent('#status'))?.[1] ?? 1);
  assert.equal(page.workers().length, threads);
  assert.ok(requested.includes(MODEL), 'nobody requested the model');
  if (session.browser === 'chromium') {
    // Who did: the worker's own resource timeline. (Playwright cannot evaluate in a worker over
    // WebDriver BiDi; in Firefox the request above and the page's empty timeline are the evidence.)
    const workerResources = await page.workers()[0].evaluate(() => performance.getEntriesByType('resource').map((e) => e.name));
    assert.ok(workerResources.some((u) => new URL(u).pathname === MODEL), JSON.stringify(workerResources));
  }
  // No message in either direction carries binary data.
  assert.deepEqual(probe.sent.filter((m) => m.binary > 0), []);
  assert.deepEqual(probe.received.filter((m) => m.binary > 0), []);

  // The load: one message per progress event, then the answer. A 'header' or 'data' event follows
  // each chunk (so their bytes strictly grow: no event twice), a 'group' event each of the 32
  // groups once, 'done' last; the plan travels once.
  const load = answersTo(probe, 'load');
  assert.equal(load.at(-1).type, 'result');
  const events = load.slice(0, -1);
  assert.deepEqual(events.filter((m) => m.type !== 'event'), []);
  assert.deepEqual(events.filter((m) => !['header', 'data', 'group', 'done'].includes(m.phase)), []);
  const groups = events.filter((m) => m.phase === 'group').map((m) => m.group);
  assert.equal(groups.length, 32);
  assert.equal(new Set(groups).size, 32);
  assert.equal(await page.$$eval('#log > div', (lines) => lines.length), 32); // the page logged each group once
  const chunks = events.filter((m) => m.phase === 'header' || m.phase === 'data').map((m) => m.bytesLoaded);
  assert.ok(chunks.every((bytes, i) => i === 0 || bytes > chunks[i - 1]), 'progress events repeated');
  assert.deepEqual(events.filter((m) => m.phase === 'done'), [events.at(-1)]);
  assert.equal(events.at(-1).bytesLoaded, 98_362_432);
  assert.equal(events.filter((m) => m.hasLayout).length, 1);

  // Each generation: one message per piece, then the answer; the page shows exactly those pieces,
  // one text node each.
  const [first, stopped] = [answersTo(probe, 'generate', 0), answersTo(probe, 'generate', 1)];
  for (const answers of [first, stopped]) {
    assert.equal(answers.at(-1).type, 'result');
    assert.ok(answers.slice(0, -1).every((m) => m.type === 'event' && typeof m.text === 'string' && m.text.length > 0));
  }
  assert.equal(first.slice(0, -1).map((m) => m.text).join(''), expected);
  const pieces = stopped.slice(0, -1).map((m) => m.text);
  assert.deepEqual(await page.$eval('#output', (out) => [...out.childNodes].map((n) => n.textContent)), pieces);
  assert.deepEqual(probe.sent.filter((m) => m.op === 'abort').length, 1); // the stop button, once

  assert.deepEqual(errors, []);
  await mkdir(path.join(ROOT, 'results'), { recursive: true });
  await page.screenshot({ path: path.join(ROOT, `results/demo-${session.browser}.png`), fullPage: true });
});

test('a local file chosen with the file input loads (streamed from the File), then the default model comes from the cache', async () => {
  await page.setInputFiles('#file', path.join(ROOT, 'models/SmolLM2-135M-Instruct.Q4_1.gguf'));
  await page.waitForSelector('body[data-state]', { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'loaded', await page.textContent('#status'));
  assert.match(await page.textContent('#cache'), /local file/);
  await page.click('#default');
  await page.waitForSelector('body[data-state]', { timeout: 60_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'loaded', await page.textContent('#status'));
  assert.match(await page.textContent('#cache'), /read 98\.4 MB from the cache/);
  // The worker read the file; the page neither read nor sliced it, nor ran WebAssembly.
  const probe = await page.evaluate(() => ({ wasm: window.probe.wasm, blobReads: window.probe.blobReads,
    fetches: window.probe.fetches.filter((u) => u.includes('.gguf')), binary: window.probe.received.filter((m) => m.binary > 0) }));
  assert.deepEqual(probe, { wasm: [], blobReads: [], fetches: [], binary: [] });
  assert.deepEqual(errors, []);
});

test('with ?build=wasm32&layout=paged (the fallback a browser without memory64 gets), the demo loads in a worker and generates the same text', async () => {
  const fallback = await session.context.newPage();
  const fallbackErrors = [];
  fallback.on('pageerror', (err) => fallbackErrors.push(err.message));
  fallback.on('console', (msg) => msg.type() === 'error' && fallbackErrors.push(msg.text()));
  await fallback.goto(`${session.server.url}/?build=wasm32&layout=paged&workingSet=3`);
  await fallback.waitForSelector('body[data-state]', { timeout: 60_000 });
  assert.equal(await fallback.getAttribute('body', 'data-state'), 'loaded', await fallback.textContent('#status'));
  assert.match(await fallback.textContent('#status'), /wasm32 memory, (in a worker|split over \d worker threads)\./);
  assert.equal(await fallback.$$eval('.cell.paged.landed', (cells) => cells.length), 30);
  await fallback.fill('#prompt', PROMPT);
  await setNumber(fallback, '#temperature', '0');
  await setNumber(fallback, '#max-tokens', String(MAX_TOKENS));
  await fallback.click('#generate');
  await fallback.waitForSelector('body[data-gen="done"], body[data-gen="error"]', { timeout: 60_000 });
  assert.equal(await fallback.textContent('#output'), expected, await fallback.textContent('#gen-status'));
  assert.deepEqual(fallbackErrors, []);
  await fallback.close();
});

test('picked from the model list, Qwen2.5-Coder chats in its own template: two turns equal the API given the same messages, and the second reuses the first from the KV cache', async () => {
  const QWEN = '/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf';
  const turns = ['What is the capital of France? One word.', 'And of Italy?'];
  const settings = { temperature: 0, topK: 40, topP: 0.95, maxTokens: 16 };
  // The reference: the main-thread API, given the conversation as a list of messages.
  const { page: harness } = await openHarness(session);
  const reference = await harness.evaluate(async ([url, questions, opts]) => {
    const m = await window.gguf64.loadModel(url, { cache: false });
    const messages = [];
    const replies = [];
    for (const q of questions) {
      messages.push({ role: 'user', content: q });
      let reply = '';
      for await (const piece of m.generate(messages, opts)) reply += piece;
      messages.push({ role: 'assistant', content: reply });
      replies.push(reply);
    }
    m.unload();
    return replies;
  }, [QWEN, turns, settings]);
  await harness.close();

  await page.selectOption('#preset', QWEN);
  await page.waitForFunction(() => document.body.dataset.state === 'loaded' && document.getElementById('facts').textContent.includes('qwen2')
    || document.body.dataset.state === 'error', null, { timeout: 120_000 });
  assert.equal(await page.getAttribute('body', 'data-state'), 'loaded', await page.textContent('#status'));
  await setNumber(page, '#temperature', '0');
  await setNumber(page, '#max-tokens', String(settings.maxTokens));
  await page.check('#chat');
  for (const [i, question] of turns.entries()) {
    await page.fill('#prompt', question);
    await page.evaluate(() => { delete document.body.dataset.gen; });
    await page.press('#prompt', 'Enter'); // Enter sends in chat mode
    await page.waitForSelector('body[data-gen="done"], body[data-gen="error"]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('body', 'data-gen'), 'done', await page.textContent('#gen-status'));
    assert.equal(await page.textContent('#output'), reference[i]);
    assert.equal(await page.textContent('#asked'), question);
    assert.equal(await page.inputValue('#prompt'), '');
  }
  assert.ok(reference[0].includes('Paris'), reference[0]);
  // The first exchange moved into the transcript; the second prompt's prefix came from the cache.
  assert.deepEqual(await page.$$eval('#transcript .turn', (ts) => ts.map((t) => t.lastChild.textContent)), [turns[0], reference[0]]);
  assert.match(await page.textContent('#gen-status'), /\(\+\d+ reused from the cache\)/);
  await page.screenshot({ path: path.join(ROOT, `results/demo-chat-${session.browser}.png`), fullPage: true });
  await page.click('#new-chat');
  assert.equal(await page.$$eval('#transcript .turn', (ts) => ts.length), 0);
  assert.deepEqual(errors, []);
});
