#!/usr/bin/env node
// One benchmark command: every measurement of gguf64 against the physical limit or a peer, in one
// run on this machine, headless Chromium unless said otherwise.
//
//   npm run bench -- [--json] [--quick] [--runs N]
//   npm run bench -- --only scale[,paging,…]     (some sections only)
//   npm run bench -- --from results/bench.json   (the table and chart of a saved run again)
//
// Sections (each a tool of its own, run here with --json): loading (tools/bench/load.mjs and the
// runner's peak memory), parsing (tools/bench/parse.mjs), kernels (tools/bench/kernels.mjs),
// inference against wllama and native llama.cpp (tools/bench/infer.mjs; wllama also at 2
// threads), paging (tools/bench/paging.mjs, tools/bench/bridge.mjs), scale (the synthetic
// 7B-shaped model; skipped with --quick, which also generates 32 tokens instead of 64); and, run
// here, mainthread (the demo page's main-thread tasks while it loads and generates, from a
// trace). Every figure is a median with min and max over the runs (at least 5), every comparison
// a ratio taken pair by pair. Prints a markdown table, or the same data as JSON with --json, and
// writes a PNG chart of the ratios to results/bench.png.
import { execFile } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { launch } from '../lib/browser.mjs';
import { stats } from '../lib/stats.mjs';
import { measureNative } from './wllama.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SMOLLM = 'models/SmolLM2-135M-Instruct.Q4_1.gguf';
const GEMMA = 'models/gemma-3-270m-q4_k_m.gguf';
const SYNTH_7B = 'models/synth/llama-7b-q4_k.gguf';
const run = promisify(execFile);

function parseArgs(argv) {
  const args = { json: false, quick: false, runs: 5 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--quick') args.quick = true;
    else if (a === '--runs') args.runs = Number(argv[++i]);
    else if (a === '--from') args.from = argv[++i];
    else if (a === '--only') args.only = argv[++i].split(',');
    else throw new Error(`unknown argument ${a}\nusage: npm run bench -- [--json] [--quick] [--runs N] [--only loading,parsing,kernels,inference,paging,scale,mainthread] [--from results/bench.json]`);
  }
  if (!Number.isInteger(args.runs) || args.runs < 5) throw new Error('--runs needs at least 5');
  return args;
}

const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

/** Runs one tool (a path under tools/) with --json and returns its report (its last JSON object on stdout). */
async function tool(script, ...args) {
  const t0 = performance.now();
  log(`${script} ${args.join(' ')}`);
  const { stdout } = await run('node', [path.join(ROOT, 'tools', script), ...args, '--json'], { cwd: ROOT, maxBuffer: 1 << 28 });
  log(`${script}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return JSON.parse(stdout.slice(stdout.indexOf('{')));
}


/** Rows of the summary: what, gguf64's figure, the reference's, the ratio (gguf64 / reference, higher is better). */
const rows = [];
const row = (section, what, ours, theirs, ratio, against) => rows.push({ section, what, gguf64: ours, reference: theirs, ratio, against });

async function loading(runs) {
  const r = await tool('bench/load.mjs', '--runs', String(runs));
  row('loading', 'stream load from loopback, MB/s', r.mb_per_s.gguf64, r.mb_per_s.ceiling, r.ratio_gguf64_over_ceiling, 'raw ceiling (fetch + memory64 set)');
  row('loading', 'reload from the cache, MB/s', r.mb_per_s.gguf64_cached_reload, r.mb_per_s.ceiling, r.ratio_cached_over_ceiling, 'raw ceiling');
  row('loading', 'time to the first layer, ms', r.first_layer_ms, null, null, null);
  // The same in Firefox, against Chromium's figures (separate runs: the ratio of medians).
  const ff = await tool('bench/load.mjs', '--runs', String(runs), '--browser', 'firefox');
  for (const [key, what] of [['gguf64', 'stream load'], ['gguf64_cached_reload', 'reload from the cache']]) {
    const [a, b] = [ff.mb_per_s[key], r.mb_per_s[key]];
    row('loading', `${what} in ${ff.browser}, MB/s`, a, b, { median: a.median / b.median, min: a.min / b.max, max: a.max / b.min }, `the same in ${r.browser} (ratio of medians)`);
  }
  // Peak renderer memory above its baseline, against the model's bytes, over separate launches.
  const peaks = [];
  for (let i = 0; i < runs; i++) {
    const j = await tool('dev/run.mjs', '--model', SMOLLM, '--no-cache');
    peaks.push((j.load.peak_bytes - j.load.baseline_bytes) / j.load.bytes);
  }
  row('loading', 'peak browser memory / model bytes (SmolLM2)', stats(peaks), null, null, null);
  return r;
}

async function parsing(runs) {
  const r = await tool('bench/parse.mjs', '--runs', String(runs));
  const wasm = r.results.find((x) => x.name.startsWith('gguf64 wasm'));
  for (const peer of r.results.filter((x) => !x.name.startsWith('gguf64'))) {
    row('parsing', `Gemma 3 header, ms (vs ${peer.name})`, { median: wasm.median, min: wasm.min, max: wasm.max }, { median: peer.median, min: peer.min, max: peer.max }, peer.overWasm, peer.name);
  }
  return r;
}

/** GB/s over `bytes` from a { median, min, max } of milliseconds (the fastest run is the max). */
const gbPerS = (bytes, ms) => ({ median: bytes / ms.median / 1e6, min: bytes / ms.max / 1e6, max: bytes / ms.min / 1e6 });

async function kernels(runs) {
  const r = await tool('bench/kernels.mjs', '--runs', String(runs));
  for (const k of r.results.filter((x) => x.batch === 1)) {
    // One activation: `matmul` over the stored order, as a loaded model decodes.
    const ours = gbPerS(k.bytes, k.stored.ms);
    const copy = gbPerS(k.bytes, k.memcpy_ms);
    // Both alternate in each run; the ratio of medians, with the extremes' ratios as its range.
    row('kernels', `${k.type} ${k.shape} matvec, GB/s`, ours, copy,
      { median: ours.median / copy.median, min: ours.min / copy.max, max: ours.max / copy.min }, 'wasm memcpy of the same bytes (ratio of medians)');
  }
  return r;
}

async function inference(runs, quick) {
  const r = await tool('bench/infer.mjs', '--runs', String(runs), ...(quick ? ['--gen', '32'] : []));
  for (const m of r.results) {
    const name = path.basename(m.model, '.gguf');
    for (const [key, label] of [['prompt_tok_s', 'prompt'], ['decode_tok_s', 'decode']]) {
      row('inference', `${name} ${label} tok/s, 1 thread`, m[key].gguf64, m[key].wllama, m[key].ratio_to_wllama, `wllama ${m.wllama.version.split(' ')[1]}, 1 thread`);
      if (m[key].native) row('inference', `${name} ${label} tok/s vs native`, m[key].gguf64, m[key].native, m[key].ratio_to_native, 'native llama.cpp, 1 thread');
      if (m[key].firefox) row('inference', `${name} ${label} tok/s in ${m.browsers.firefox}`, m[key].firefox.gguf64, m[key].gguf64, m[key].firefox.ratio_to_chromium, `gguf64 in ${m.browsers.chromium}`);
    }
  }
  // Each at its best thread count: wllama with 2 threads (its pthreads build); gguf64 runs one.
  const best = [];
  for (const model of [SMOLLM, GEMMA]) {
    const w = await tool('bench/wllama.mjs', '--model', model, '--threads', '2', '--runs', String(runs), ...(quick ? ['--gen', '32'] : []));
    best.push(w);
    const ours = r.results.find((x) => x.model === model);
    for (const key of ['prompt_tok_s', 'decode_tok_s']) {
      const [a, b] = [ours[key].gguf64, w.wllama[key]];
      // Measured in separate runs: the ratio of medians, with the extremes' ratios as its range.
      row('inference', `${path.basename(model, '.gguf')} ${key.replace('_tok_s', '')} tok/s, best threads (gguf64 1, wllama 2)`, a, b,
        { median: a.median / b.median, min: a.min / b.max, max: a.max / b.min }, 'wllama, 2 threads (ratio of medians)');
    }
  }
  return { single: r, best };
}

async function paging(runs) {
  const p = await tool('bench/paging.mjs', '--runs', String(runs));
  for (const ws of ['2', '8']) row('paging', `decode tok/s, working set ${ws} of 30 layers`, p.decode_tok_s[ws], p.decode_tok_s.all, p.ratio_to_resident[ws], 'fully resident');
  const b = await tool('bench/bridge.mjs', '--runs', String(Math.max(runs, 9)));
  row('paging', 'page-in of 100 MB, ms (multi-memory copy)', b.ms_per_100mb.multi_memory, b.ms_per_100mb.typed_array, b.ratio_typed_array_over_multi_memory, 'TypedArray copy');
  return { paging: p, bridge: b };
}

async function scale(runs) {
  if (!(await stat(path.join(ROOT, SYNTH_7B)).catch(() => null))) {
    log(`writing ${SYNTH_7B} (4.08 GB, once)`);
    await mkdir(path.dirname(path.join(ROOT, SYNTH_7B)), { recursive: true });
    await run('bash', [path.join(ROOT, 'tools/dev/native.sh'), 'synth', '--preset', 'llama-7b-q4_k', '--seed', '7', '--out', SYNTH_7B], { cwd: ROOT });
  }
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(await tool('dev/run.mjs', '--model', SYNTH_7B, '--no-cache', '--prompt', 'hello world', '--max-tokens', '8'));
  const s = (f) => stats(samples.map(f));
  row('scale', '7B-shaped (4.08 GB) load, s', s((j) => j.load.ms / 1000), null, null, null);
  row('scale', '7B-shaped peak memory / model bytes', s((j) => (j.load.peak_bytes - j.load.baseline_bytes) / j.load.bytes), null, null, null);
  row('scale', '7B-shaped seconds per token', s((j) => 1 / j.decode_tok_s), null, null, null);
  // Native llama.cpp on one thread, on the same file and the same prompt ids, after the browser
  // runs: the ratio of medians, with the extremes' ratios as its range.
  const native = await measureNative({ modelPath: path.join(ROOT, SYNTH_7B), promptIds: samples[0].prompt_ids, genTokens: 8, threads: 1, runs });
  const [ours, theirs] = [s((j) => j.decode_tok_s), stats(native.runs.map((r) => r.decode_tok_s))];
  row('scale', '7B-shaped decode tok/s vs native', ours, theirs, { median: ours.median / theirs.median, min: ours.min / theirs.max, max: ours.max / theirs.min }, 'native llama.cpp, 1 thread');
  return { gguf64: samples, native: native.runs };
}

/** Ends a Chromium trace started with `Tracing.start` (streamed) and returns its events. */
async function endTrace(cdp) {
  const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
  await cdp.send('Tracing.end');
  const { stream } = await complete;
  let text = '';
  for (let eof = false; !eof;) {
    const chunk = await cdp.send('IO.read', { handle: stream, size: 1 << 22 });
    text += chunk.base64Encoded ? Buffer.from(chunk.data, 'base64').toString() : chunk.data;
    eof = chunk.eof;
  }
  await cdp.send('IO.close', { handle: stream });
  const trace = JSON.parse(text);
  return Array.isArray(trace) ? trace : trace.traceEvents;
}

/**
 * The demo alone, as a first visit (a fresh profile: it downloads), from its load on until 32
 * generated tokens: every task of its page's main thread, from a Chromium trace, with its wall
 * time (what a long task reports; it includes time the thread waited for a core) and its thread
 * CPU time (the work itself). The e2e test asserts what the main thread does; durations belong
 * here, where nothing else of ours runs.
 */
async function mainThread(runs) {
  const wall = [];
  const cpu = [];
  const over50 = [];
  for (let i = 0; i < runs; i++) {
    const session = await launch();
    try {
      const page = await session.context.newPage();
      const cdp = await session.context.newCDPSession(page);
      await cdp.send('Tracing.start', { transferMode: 'ReturnAsStream',
        traceConfig: { includedCategories: ['toplevel', 'blink.user_timing', 'disabled-by-default-devtools.timeline'] } });
      await page.goto(`${session.server.url}/`);
      await page.waitForSelector('body[data-state]', { timeout: 120_000 });
      if (await page.getAttribute('body', 'data-state') !== 'loaded') throw new Error(`the demo did not load: ${await page.textContent('#status')}`);
      await page.fill('#prompt', 'Name three colors.');
      await page.fill('#max-tokens', '32');
      await page.click('#generate');
      await page.waitForSelector('body[data-gen="done"]', { timeout: 120_000 });
      const events = await endTrace(cdp);
      // The page marks `gguf64-load` on its main thread when the load starts.
      const mark = events.find((e) => e.name === 'gguf64-load');
      const tasks = events.filter((e) => e.pid === mark.pid && e.tid === mark.tid && e.ph === 'X'
        && e.name === 'ThreadControllerImpl::RunTask' && e.ts + e.dur > mark.ts);
      wall.push(Math.max(...tasks.map((t) => t.dur)) / 1000);
      cpu.push(Math.max(...tasks.map((t) => t.tdur ?? 0)) / 1000);
      over50.push(tasks.filter((t) => t.dur > 50_000).length);
      log(`mainthread run ${i + 1}: ${tasks.length} tasks, longest ${wall.at(-1).toFixed(1)} ms (CPU ${cpu.at(-1).toFixed(1)} ms), ${over50.at(-1)} over 50 ms`);
    } finally {
      await session.close();
    }
  }
  row('mainthread', 'demo load + 32 tokens: longest main-thread task, ms', stats(wall), null, null, null);
  row('mainthread', 'demo load + 32 tokens: longest main-thread task, CPU ms', stats(cpu), null, null, null);
  row('mainthread', 'demo load + 32 tokens: main-thread tasks over 50 ms', stats(over50), null, null, null);
  return { longest_task_ms: wall, longest_task_cpu_ms: cpu, tasks_over_50_ms: over50 };
}

const fmt = (s, d) => (s ? `${s.median.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})` : '–');
const digits = (s) => (!s ? 1 : s.median >= 100 ? 0 : s.median >= 10 ? 1 : 2);

function markdown(meta) {
  const out = [`gguf64 benchmark, ${meta.date}, ${meta.machine}, ${meta.browser}; ${meta.runs} runs each, median (min–max); ratios are gguf64 / reference, higher is better`, '',
    '| section | measure | gguf64 | reference | ratio | reference is |', '| --- | --- | --- | --- | --- | --- |'];
  for (const r of rows) out.push(`| ${r.section} | ${r.what} | ${fmt(r.gguf64, digits(r.gguf64))} | ${fmt(r.reference, digits(r.reference))} | ${fmt(r.ratio, 2)} | ${r.against ?? '–'} |`);
  return out.join('\n');
}

/** A horizontal bar chart of every ratio on a log scale (median, with a min–max whisker), as a PNG. */
async function chart(file, meta) {
  const ratios = rows.filter((r) => r.ratio);
  const lo = Math.log10(Math.min(0.5, ...ratios.map((r) => r.ratio.min)));
  const hi = Math.log10(Math.max(2, ...ratios.map((r) => r.ratio.max)));
  const x = (v) => 480 + ((Math.log10(v) - lo) / (hi - lo)) * 400;
  const bars = ratios.map((r, i) => {
    const y = 40 + i * 26;
    const [a, b] = [x(Math.min(1, r.ratio.median)), x(Math.max(1, r.ratio.median))];
    return `<text x="470" y="${y + 13}" text-anchor="end">${r.what.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`
      + `<rect x="${a}" y="${y}" width="${Math.max(1, b - a)}" height="18" fill="${r.ratio.median >= 1 ? '#2a7' : '#d64'}"/>`
      + `<line x1="${x(r.ratio.min)}" x2="${x(r.ratio.max)}" y1="${y + 9}" y2="${y + 9}" stroke="#222"/>`
      + `<text x="${x(r.ratio.max) + 6}" y="${y + 13}">${r.ratio.median.toFixed(2)}</text>`;
  }).join('');
  const height = 60 + ratios.length * 26;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1000" height="${height}" font-family="sans-serif" font-size="12">`
    + `<rect width="100%" height="100%" fill="white"/><text x="10" y="20" font-size="14">gguf64 / reference, log scale (right of the dashed line: gguf64 ahead), ${meta.date}, ${meta.machine}</text>`
    + `<line x1="${x(1)}" x2="${x(1)}" y1="30" y2="${height - 10}" stroke="#888" stroke-dasharray="4"/>${bars}</svg>`;
  const session = await launch();
  try {
    const page = await session.context.newPage();
    await page.setViewportSize({ width: 1000, height });
    await page.setContent(`<body style="margin:0">${svg}</body>`);
    await page.screenshot({ path: file });
  } finally {
    await session.close();
  }
}

const args = parseArgs(process.argv.slice(2));
if (args.from) {
  const saved = JSON.parse(await readFile(path.resolve(args.from), 'utf8'));
  rows.push(...saved.rows);
  await chart(path.join(ROOT, 'results/bench.png'), saved);
  console.log(markdown(saved));
  process.exit(0);
}
const started = performance.now();
const sections = {};
const wanted = (name) => !args.only || args.only.includes(name);
if (wanted('loading')) sections.loading = await loading(args.runs);
if (wanted('parsing')) sections.parsing = await parsing(args.runs);
if (wanted('kernels')) sections.kernels = await kernels(args.runs);
if (wanted('inference')) sections.inference = await inference(args.runs, args.quick);
if (wanted('paging')) sections.paging = await paging(args.runs);
if (wanted('mainthread')) sections.mainthread = await mainThread(args.runs);
if (wanted('scale') && !args.quick) sections.scale = await scale(args.runs);
const meta = {
  date: new Date().toISOString().slice(0, 10),
  machine: `${os.cpus()[0].model}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
  browser: sections.parsing?.browser ?? 'Chromium',
  runs: args.runs,
  quick: args.quick,
  minutes: Number(((performance.now() - started) / 60000).toFixed(1)),
};
await mkdir(path.join(ROOT, 'results'), { recursive: true });
const png = path.join(ROOT, 'results/bench.png');
await chart(png, meta);
await writeFile(path.join(ROOT, 'results/bench.json'), JSON.stringify({ ...meta, rows, sections }, null, 2));
if (args.json) console.log(JSON.stringify({ ...meta, rows, sections }, null, 2));
else console.log(markdown(meta));
log(`done in ${meta.minutes} min; chart ${path.relative(ROOT, png)}, data results/bench.json`);
