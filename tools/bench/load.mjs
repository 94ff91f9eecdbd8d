#!/usr/bin/env node
// Benchmark (not a test): loading from loopback in headless Chromium (or --browser firefox), against the raw ceiling
// measured in the same run on the same file — fetch + body reader + Uint8Array.set into a
// memory64 — and the cached reload. Ratios are taken run by run.
//
//   node tools/bench/load.mjs [--model FILE] [--runs N] [--browser chromium|firefox] [--json]
import os from 'node:os';
import path from 'node:path';
import { stat } from 'node:fs/promises';

import { launch, openHarness } from '../lib/browser.mjs';
import { stats } from '../lib/stats.mjs';

const args = process.argv.slice(2);
const arg = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const model = path.resolve(arg('--model', 'models/SmolLM2-135M-Instruct.Q4_1.gguf'));
const runs = Number(arg('--runs', 5));
const json = args.includes('--json');
const browser = arg('--browser', undefined);
for (let i = 0; i < args.length; i++) {
  if (['--model', '--runs', '--browser'].includes(args[i])) i++;
  else if (args[i] !== '--json') throw new Error(`load.mjs: unknown argument ${args[i]}`);
}

/** In the page: the ceiling, gguf64 uncached, gguf64 from a warm cache (ms each), time to first layer. */
async function oneRun(url) {
  const g = window.gguf64;
  const time = async (fn) => { const t = performance.now(); await fn(); return performance.now() - t; };
  const ceiling = await time(async () => {
    const memory = new WebAssembly.Memory({ address: 'i64', initial: 1n, maximum: 262144n });
    const response = await fetch(url, { cache: 'no-store' });
    const length = Number(response.headers.get('content-length'));
    memory.grow(BigInt(Math.ceil(length / 65536)));
    const reader = response.body.getReader();
    for (let at = 0; ;) {
      const { done, value } = await reader.read();
      if (done) break;
      new Uint8Array(memory.buffer, at, value.length).set(value);
      at += value.length;
    }
  });
  let firstLayer = null;
  const start = performance.now();
  const uncached = await time(async () => {
    const m = await g.loadModel(url, { cache: false, onProgress: (p) => { if (p.group?.kind === 'layer') firstLayer ??= performance.now() - start; } });
    m.unload();
  });
  await g.cache.clear();
  (await g.loadModel(url)).unload(); // fills the cache
  const cached = await time(async () => (await g.loadModel(url)).unload());
  await g.cache.clear();
  return { ceiling, uncached, cached, firstLayer };
}


const { size } = await stat(model);
const session = await launch({ extraMounts: [['/bench-model/', path.dirname(model)]], browser });
try {
  const { page } = await openHarness(session);
  const url = `${session.server.url}/bench-model/${encodeURIComponent(path.basename(model))}`;
  await page.evaluate(oneRun, url); // warm-up
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await page.evaluate(oneRun, url));
  const mbps = (ms) => size / 1e6 / (ms / 1000);
  const report = {
    machine: `${os.cpus()[0].model}, ${os.cpus().length} cores`,
    browser: session.browserVersion,
    date: new Date().toISOString().slice(0, 10),
    model: path.basename(model),
    bytes: size,
    runs,
    mb_per_s: {
      ceiling: stats(results.map((r) => mbps(r.ceiling))),
      gguf64: stats(results.map((r) => mbps(r.uncached))),
      gguf64_cached_reload: stats(results.map((r) => mbps(r.cached))),
    },
    first_layer_ms: stats(results.map((r) => r.firstLayer)),
    ratio_gguf64_over_ceiling: stats(results.map((r) => r.ceiling / r.uncached)),
    ratio_cached_over_ceiling: stats(results.map((r) => r.ceiling / r.cached)),
  };
  if (json) console.log(JSON.stringify(report, null, 2));
  else {
    const f = (s, d = 0) => `${s.median.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})`;
    console.log(`${report.model} (${size} bytes) from loopback, ${report.browser}, ${report.machine}, ${report.date}, ${runs} runs, median (min–max)\n`);
    console.log('| load | MB/s | ratio to the ceiling |\n| --- | --- | --- |');
    console.log(`| raw ceiling: fetch + reader + Uint8Array.set into memory64 | ${f(report.mb_per_s.ceiling)} | 1 |`);
    console.log(`| gguf64, cache off | ${f(report.mb_per_s.gguf64)} | ${f(report.ratio_gguf64_over_ceiling, 2)} |`);
    console.log(`| gguf64, reload from the OPFS cache | ${f(report.mb_per_s.gguf64_cached_reload)} | ${f(report.ratio_cached_over_ceiling, 2)} |`);
    console.log(`\ntime to the first layer (cache off): ${f(report.first_layer_ms)} ms`);
  }
} finally {
  await session.close();
}
