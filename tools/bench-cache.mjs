#!/usr/bin/env node
// Benchmark (not a test): OPFS against the Cache API as the persistent model store, in headless
// Chromium. Writes and reads back 256 MiB in 16 MiB chunks (the cache's chunk size) with each,
// over several runs, and prints medians, min/max and the ratios taken run by run.
//
//   node tools/bench-cache.mjs [--runs N] [--json]
import os from 'node:os';

import { launch, openHarness } from './lib/browser.mjs';
import { stats } from './lib/stats.mjs';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 5;
const json = args.includes('--json');

/** In the page: one run of each store; MB/s for write and read. */
async function oneRun() {
  const CHUNK = 16 << 20;
  const N = 16;
  const data = new Uint8Array(CHUNK);
  for (let i = 0; i < data.length; i += 4096) data[i] = i & 255;
  const mbps = (ms) => (CHUNK * N) / 1e6 / (ms / 1000);
  const time = async (fn) => { const t = performance.now(); await fn(); return performance.now() - t; };

  const root = await navigator.storage.getDirectory();
  const dir = await root.getDirectoryHandle('bench', { create: true });
  const opfsWrite = await time(async () => {
    for (let i = 0; i < N; i++) {
      const w = await (await dir.getFileHandle(`c${i}`, { create: true })).createWritable();
      await w.write(data);
      await w.close();
    }
  });
  const opfsRead = await time(async () => {
    for (let i = 0; i < N; i++) await (await (await dir.getFileHandle(`c${i}`)).getFile()).arrayBuffer();
  });
  await root.removeEntry('bench', { recursive: true });

  const store = await caches.open('bench');
  const cacheWrite = await time(async () => {
    for (let i = 0; i < N; i++) await store.put(`/bench/c${i}`, new Response(data));
  });
  const cacheRead = await time(async () => {
    for (let i = 0; i < N; i++) await (await store.match(`/bench/c${i}`)).arrayBuffer();
  });
  await caches.delete('bench');
  return { opfsWrite: mbps(opfsWrite), opfsRead: mbps(opfsRead), cacheWrite: mbps(cacheWrite), cacheRead: mbps(cacheRead) };
}


const session = await launch();
try {
  const { page } = await openHarness(session);
  await page.evaluate(oneRun); // warm-up
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await page.evaluate(oneRun));
  const report = {
    machine: `${os.cpus()[0].model}, ${os.cpus().length} cores`,
    date: new Date().toISOString().slice(0, 10),
    runs,
    mb_per_s: Object.fromEntries(['opfsWrite', 'opfsRead', 'cacheWrite', 'cacheRead'].map((k) => [k, stats(results.map((r) => r[k]))])),
    ratio_opfs_over_cache: {
      write: stats(results.map((r) => r.opfsWrite / r.cacheWrite)),
      read: stats(results.map((r) => r.opfsRead / r.cacheRead)),
    },
  };
  if (json) console.log(JSON.stringify(report, null, 2));
  else {
    const f = (s) => `${s.median.toFixed(0)} (${s.min.toFixed(0)}–${s.max.toFixed(0)})`;
    const r = (s) => `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
    console.log(`${report.machine}, ${report.date}, ${runs} runs of 256 MiB in 16 MiB chunks\n`);
    console.log('| store | write MB/s, median (min–max) | read MB/s, median (min–max) |\n| --- | --- | --- |');
    console.log(`| OPFS | ${f(report.mb_per_s.opfsWrite)} | ${f(report.mb_per_s.opfsRead)} |`);
    console.log(`| Cache API | ${f(report.mb_per_s.cacheWrite)} | ${f(report.mb_per_s.cacheRead)} |`);
    console.log(`| ratio OPFS / Cache API | ${r(report.ratio_opfs_over_cache.write)} | ${r(report.ratio_opfs_over_cache.read)} |`);
  }
} finally {
  await session.close();
}
