#!/usr/bin/env node
// Benchmark (not a test): paging 100 MB from a storage memory into the main memory, through the
// generated multi-memory bridge (`memory.copy` across memories) and through TypedArray views,
// both between memory64 memories in headless Chromium. Ratios are taken run by run.
//
//   node tools/bench/bridge.mjs [--runs N] [--json]
import os from 'node:os';

import { launch, openHarness } from '../lib/browser.mjs';
import { stats } from '../lib/stats.mjs';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 9;
const json = args.includes('--json');

const session = await launch();
try {
  const { page } = await openHarness(session);
  const samples = await page.evaluate(async (runs) => {
    const { bindings } = await window.gguf64testing.runtimeFor('wasm64');
    const MB100 = 100e6;
    const pages = (b) => BigInt(Math.ceil(b / 65536));
    const main = new WebAssembly.Memory({ address: 'i64', initial: pages(2 * MB100), maximum: pages(2 * MB100) });
    const s1 = new WebAssembly.Memory({ address: 'i64', initial: pages(MB100), maximum: pages(MB100) });
    new Uint8Array(s1.buffer).fill(7);
    const bridges = [true, false].map((multiMemory) => window.gguf64testing.createBridge(bindings, main, [undefined, s1], { multiMemory }));
    const out = [];
    for (let i = 0; i <= runs; i++) {
      const t = bridges.map((b) => { const s = performance.now(); b.load(1, 0, MB100 * (i % 2), MB100); return performance.now() - s; });
      if (i > 0) out.push(t); // the first run warms up
    }
    return out;
  }, runs);
  const report = {
    machine: `${os.cpus()[0].model}, ${os.cpus().length} cores`,
    date: new Date().toISOString().slice(0, 10),
    runs,
    ms_per_100mb: { multi_memory: stats(samples.map((s) => s[0])), typed_array: stats(samples.map((s) => s[1])) },
    ratio_typed_array_over_multi_memory: stats(samples.map((s) => s[1] / s[0])),
  };
  if (json) console.log(JSON.stringify(report, null, 2));
  else {
    const f = (s, d = 1) => `${s.median.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})`;
    console.log(`page-in of 100 MB between memory64 memories, ${report.machine}, ${report.date}, ${runs} runs, median (min–max)\n`);
    console.log('| copy | ms per 100 MB | GB/s |\n| --- | --- | --- |');
    for (const [name, s] of Object.entries(report.ms_per_100mb)) console.log(`| ${name.replace('_', '-')} | ${f(s)} | ${(0.1 / (s.median / 1000)).toFixed(1)} |`);
    console.log(`\nTypedArray time / multi-memory time: ${f(report.ratio_typed_array_over_multi_memory, 2)}`);
  }
} finally {
  await session.close();
}
