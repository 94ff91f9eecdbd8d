#!/usr/bin/env node
// Benchmark (not a test): what one all-reduce between Web Workers costs in headless Chromium, for
// choosing how parallel inference synchronises (issue #14). A tensor-parallel layer ends in two
// reductions: every worker holds a partial sum of the same `width` floats, and every worker
// needs their total before it can go on. Each transport here runs that exchange `rounds` times
// back to back (no compute between), and reports microseconds per reduction:
//
// - `main-relay` (any page): each worker posts its partial to the page; the page adds them and
//   posts the total back to every worker. Copies (structured clone), as a transfer would need
//   fresh buffers each time.
// - `channel` (any page): workers talk over MessageChannels without the page; worker 0 adds and
//   sends the total back; the page's main thread is free.
// - `atomics-wait` (cross-origin isolated page): partials in a SharedArrayBuffer, a barrier of
//   Atomics.add and Atomics.wait/notify; every worker then adds all partials itself in worker
//   order (the same order everywhere: deterministic).
// - `atomics-spin` (isolated): the same, but waiting by spinning on Atomics.load.
//
// The isolated page is the same origin with COOP/COEP headers added by the browser driver.
//
//   node tools/bench/sync.mjs [--workers 2] [--width 4096] [--rounds 2000] [--runs 7] [--json]
import os from 'node:os';

import { launch } from '../lib/browser.mjs';
import { stats } from '../lib/stats.mjs';

function parseArgs(argv) {
  const args = { workers: 2, width: 4096, rounds: 2000, runs: 7, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const key = { '--workers': 'workers', '--width': 'width', '--rounds': 'rounds', '--runs': 'runs' }[a];
    if (key) args[key] = Number(argv[++i]);
    else if (a === '--json') args.json = true;
    else throw new Error(`sync.mjs: unknown argument ${a}`);
  }
  for (const k of ['workers', 'width', 'rounds', 'runs']) {
    if (!Number.isInteger(args[k]) || args[k] < 1) throw new Error(`sync.mjs: --${k} must be a positive integer`);
  }
  return args;
}

/** Worker code (as text, run from a blob URL): answers one `run` message per measurement. */
const WORKER = String.raw`
let id, n, width, ports = [], shared;
function add(dst, src) { for (let i = 0; i < dst.length; i++) dst[i] += src[i]; }
function partial(round) { const p = new Float32Array(width); p.fill(id + round * 1e-3); return p; }
async function channelRounds(rounds) {
  const total = new Float32Array(width);
  for (let r = 0; r < rounds; r++) {
    const mine = partial(r);
    if (id === 0) {
      total.set(mine);
      const parts = await Promise.all(ports.map((p) => new Promise((ok) => { p.onmessage = (e) => ok(e.data); })));
      for (const part of parts) add(total, part);
      for (const p of ports) p.postMessage(total);
    } else {
      const got = new Promise((ok) => { ports[0].onmessage = (e) => ok(e.data); });
      ports[0].postMessage(mine);
      total.set(await got);
    }
  }
  return total[0];
}
function atomicsRounds(rounds, spin) {
  const ctl = new Int32Array(shared, 0, 2); // [arrived, generation]
  const parts = new Float32Array(shared, 8, n * width);
  const total = new Float32Array(width);
  for (let r = 0; r < rounds; r++) {
    parts.set(partial(r), id * width);
    const gen = Atomics.load(ctl, 1);
    if (Atomics.add(ctl, 0, 1) === n - 1) {
      Atomics.store(ctl, 0, 0);
      Atomics.add(ctl, 1, 1);
      if (!spin) Atomics.notify(ctl, 1);
    } else if (spin) {
      while (Atomics.load(ctl, 1) === gen);
    } else {
      while (Atomics.load(ctl, 1) === gen) Atomics.wait(ctl, 1, gen);
    }
    total.fill(0);
    for (let w = 0; w < n; w++) add(total, parts.subarray(w * width, (w + 1) * width));
    // A second barrier: nobody overwrites its partial before everyone has read the others.
    const gen2 = Atomics.load(ctl, 1);
    if (Atomics.add(ctl, 0, 1) === n - 1) {
      Atomics.store(ctl, 0, 0);
      Atomics.add(ctl, 1, 1);
      if (!spin) Atomics.notify(ctl, 1);
    } else if (spin) {
      while (Atomics.load(ctl, 1) === gen2);
    } else {
      while (Atomics.load(ctl, 1) === gen2) Atomics.wait(ctl, 1, gen2);
    }
  }
  return total[0];
}
onmessage = async ({ data }) => {
  if (data.op === 'init') { ({ id, n, width } = data); ports = data.ports ?? []; shared = data.shared; postMessage('ready'); return; }
  if (data.op === 'total') return; // main-relay: the total arrives (the next request stands in for its use)
  if (data.op === 'relay') { // main-relay: one partial out, the total back
    const mine = partial(data.round);
    postMessage(mine);
    return;
  }
  const t0 = performance.now();
  const check = data.op === 'channel' ? await channelRounds(data.rounds) : atomicsRounds(data.rounds, data.op === 'atomics-spin');
  postMessage({ ms: performance.now() - t0, check });
};
`;

/** Runs in the page: every transport the page allows, `runs` times each; µs per reduction. */
async function measure({ workers: n, width, rounds, runs, source }) {
  const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
  const isolated = self.crossOriginIsolated === true;
  const next = (w) => new Promise((ok) => { w.onmessage = (e) => ok(e.data); });
  async function spawn(extra) {
    const ws = Array.from({ length: n }, () => new Worker(url));
    await Promise.all(ws.map((w, id) => { const ready = next(w); w.postMessage({ op: 'init', id, n, width, ...extra(id) }, extra(id).ports ?? []); return ready; }));
    return ws;
  }
  const results = {};
  // main-relay: the page drives each round.
  {
    const ws = await spawn(() => ({}));
    const samples = [];
    for (let run = 0; run <= runs; run++) {
      const t0 = performance.now();
      for (let r = 0; r < rounds; r++) {
        const parts = await Promise.all(ws.map((w) => { const p = next(w); w.postMessage({ op: 'relay', round: r }); return p; }));
        const total = parts[0].slice();
        for (const p of parts.slice(1)) for (let i = 0; i < width; i++) total[i] += p[i];
        // The total goes back to every worker (the next round's request stands in for its use).
        for (const w of ws) w.postMessage({ op: 'total', total });
      }
      if (run > 0) samples.push(((performance.now() - t0) * 1000) / rounds);
    }
    ws.forEach((w) => w.terminate());
    results['main-relay'] = samples;
  }
  // channel: worker 0 is the reducer.
  {
    const channels = Array.from({ length: n - 1 }, () => new MessageChannel());
    const ws = await spawn((id) => ({ ports: id === 0 ? channels.map((c) => c.port1) : [channels[id - 1].port2] }));
    const samples = [];
    for (let run = 0; run <= runs; run++) {
      const answers = await Promise.all(ws.map((w) => { const p = next(w); w.postMessage({ op: 'channel', rounds }); return p; }));
      if (run > 0) samples.push((Math.max(...answers.map((a) => a.ms)) * 1000) / rounds);
    }
    ws.forEach((w) => w.terminate());
    results.channel = samples;
  }
  if (isolated) {
    for (const op of ['atomics-wait', 'atomics-spin']) {
      const shared = new SharedArrayBuffer(8 + 4 * n * width);
      const ws = await spawn(() => ({ shared }));
      const samples = [];
      for (let run = 0; run <= runs; run++) {
        const answers = await Promise.all(ws.map((w) => { const p = next(w); w.postMessage({ op, rounds }); return p; }));
        if (run > 0) samples.push((Math.max(...answers.map((a) => a.ms)) * 1000) / rounds);
      }
      ws.forEach((w) => w.terminate());
      results[op] = samples;
    }
  }
  URL.revokeObjectURL(url);
  return { isolated, results };
}

const args = parseArgs(process.argv.slice(2));
const session = await launch();
try {
  const page = await session.context.newPage();
  const blank = '<!doctype html><meta charset="utf-8"><title>sync bench</title>';
  const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
  await page.route('**/sync-bench/*', (route) => route.fulfill({
    status: 200, contentType: 'text/html', body: blank, headers: route.request().url().endsWith('isolated') ? isolation : {},
  }));
  const byPage = {};
  for (const kind of ['plain', 'isolated']) {
    await page.goto(`${session.server.url}/sync-bench/${kind}`);
    byPage[kind] = await page.evaluate(measure, { ...args, source: WORKER });
    if ((kind === 'isolated') !== byPage[kind].isolated) throw new Error(`the ${kind} page's crossOriginIsolated is ${byPage[kind].isolated}`);
  }
  const transports = { ...byPage.plain.results, ...Object.fromEntries(Object.entries(byPage.isolated.results).filter(([k]) => k.startsWith('atomics'))) };
  const report = {
    machine: `${os.cpus()[0].model}, ${os.cpus().length} cores`,
    date: new Date().toISOString().slice(0, 10),
    ...args,
    us_per_reduction: Object.fromEntries(Object.entries(transports).map(([k, v]) => [k, stats(v)])),
  };
  if (args.json) console.log(JSON.stringify(report, null, 2));
  else {
    const f = (s) => `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
    console.log(`one all-reduce of ${args.width} floats between ${args.workers} workers, ${report.machine}, ${report.date}, `
      + `${args.runs} runs of ${args.rounds} rounds, median (min–max)\n`);
    console.log('| transport | needs isolation | µs per reduction | ms per token, 2 reductions × 32 layers |\n| --- | --- | --- | --- |');
    for (const [k, s] of Object.entries(report.us_per_reduction)) {
      console.log(`| ${k} | ${k.startsWith('atomics') ? 'yes' : 'no'} | ${f(s)} | ${((s.median * 64) / 1000).toFixed(2)} |`);
    }
  }
} finally {
  await session.close();
}
