#!/usr/bin/env node
// Header-parse benchmark (not a test): how long parsing the metadata and tensor infos of a GGUF
// file takes with
//   gguf64 native    src/bin/parse_bench.rs: the first 8 MB read into memory once, parsed N times
//   gguf64 wasm      the wasm64 build in headless Chromium: the same 8 MB fetched once and copied
//                    into wasm memory once (`HeaderBench`, src/web/bench.rs; the copy is reported
//                    apart), each `parse()` timed from JS with performance.now()
//   Python gguf      `GGUFReader(path)` (memory-maps the file, parses metadata and tensor infos)
//   @huggingface/gguf `gguf(path, { allowLocalFile: true })` (reads the file in chunks)
// Each timed --runs times (default 5) after --warmup untimed runs (default 1). Prints a markdown
// table (median, min, max ms, and each parser's time over gguf64's, run i against run i), or
// the same data as JSON with --json. The browser build must be current: `bash tools/dev/build.sh`.
//
//   node tools/bench/parse.mjs [--json] [--runs N] [--warmup N] [--file path.gguf]
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { gguf as hfGguf } from '@huggingface/gguf';

import { launch, openHarness } from '../lib/browser.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);
/** Bytes handed to gguf64 (native and wasm): enough for a 262k-token vocabulary's ~6.5 MB header. */
const PREFIX_BYTES = 8 << 20;

function parseArgs(argv) {
  const args = { json: false, runs: 5, warmup: 1, file: path.join(ROOT, 'models/gemma-3-270m-q4_k_m.gguf') };
  for (let i = 0; i < argv.length; i++) {
    const count = () => {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${argv[i - 1]} needs a whole number`);
      return n;
    };
    if (argv[i] === '--json') args.json = true;
    else if (argv[i] === '--runs') args.runs = Math.max(1, count());
    else if (argv[i] === '--warmup') args.warmup = count();
    else if (argv[i] === '--file') args.file = path.resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return args;
}

// ---- the four parsers -------------------------------------------------------------------------

async function benchNative({ file, runs, warmup }) {
  const { stdout } = await run('bash', [path.join(ROOT, 'tools/dev/native.sh'), 'parse_bench', file,
    '--runs', String(runs), '--warmup', String(warmup), '--prefix-mb', String(PREFIX_BYTES >> 20)],
  { maxBuffer: 1 << 20 });
  const out = JSON.parse(stdout.trim().split('\n').pop());
  return { runsMs: out.runs_ms, nTensors: out.n_tensors, headerBytes: out.header_bytes };
}

async function benchWasm({ file, runs, warmup }) {
  const models = path.dirname(file);
  const session = await launch({ extraMounts: [['/bench-models/', models]] });
  try {
    const { page, errors } = await openHarness(session);
    const url = `/bench-models/${encodeURIComponent(path.basename(file))}`;
    const result = await page.evaluate(async ({ url, runs, warmup, prefixBytes }) => {
      const build = window.gguf64.chooseBuild();
      const bindings = await import(`/pkg/${build}/gguf64.js`);
      await bindings.default();
      const response = await fetch(url, { headers: { Range: `bytes=0-${prefixBytes - 1}` } });
      const fileLen = Number(response.headers.get('Content-Range')?.split('/')[1]);
      const bytes = new Uint8Array(await response.arrayBuffer());
      const copyStart = performance.now();
      const bench = new bindings.HeaderBench(bytes, fileLen);
      const copyMs = performance.now() - copyStart;
      for (let i = 0; i < warmup; i++) bench.parse();
      const runsMs = [];
      let nTensors = 0;
      for (let i = 0; i < runs; i++) {
        const start = performance.now();
        nTensors = bench.parse();
        runsMs.push(performance.now() - start);
      }
      bench.free();
      return { build, runsMs, nTensors, copyMs, copiedBytes: bytes.length, browser: navigator.userAgent };
    }, { url, runs, warmup, prefixBytes: PREFIX_BYTES });
    if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
    // A persistent context has no Browser object, and the user agent says only "156.0.0.0".
    const version = await run(process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', ['--version'])
      .then(({ stdout }) => /[\d.]+/.exec(stdout)?.[0]).catch(() => null);
    const browser = version ?? /Chrome\/([\d.]+)/.exec(result.browser)?.[1] ?? result.browser;
    return { ...result, browser };
  } finally {
    await session.close();
  }
}

const PYTHON_BENCH = `
import json, sys, time
import gguf
from importlib.metadata import version
from gguf import GGUFReader
path, runs, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for _ in range(warmup):
    GGUFReader(path)
times, n = [], 0
for _ in range(runs):
    start = time.perf_counter()
    reader = GGUFReader(path)
    times.append((time.perf_counter() - start) * 1e3)
    n = len(reader.tensors)
    del reader
print(json.dumps({"runs_ms": times, "n_tensors": n, "version": version("gguf")}))
`;

async function benchPython({ file, runs, warmup }) {
  const { stdout } = await run('python3', ['-c', PYTHON_BENCH, file, String(runs), String(warmup)],
    { maxBuffer: 1 << 20 });
  const out = JSON.parse(stdout.trim().split('\n').pop());
  return { runsMs: out.runs_ms, nTensors: out.n_tensors, version: out.version };
}

async function benchHuggingface({ file, runs, warmup }) {
  const parse = () => hfGguf(file, { allowLocalFile: true });
  for (let i = 0; i < warmup; i++) await parse();
  const runsMs = [];
  let nTensors = 0;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    const { tensorInfos } = await parse();
    runsMs.push(performance.now() - start);
    nTensors = tensorInfos.length;
  }
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'node_modules/@huggingface/gguf/package.json'), 'utf8'));
  return { runsMs, nTensors, version: pkg.version };
}

// ---- statistics and the machine ---------------------------------------------------------------

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function summary(runsMs) {
  return { median: median(runsMs), min: Math.min(...runsMs), max: Math.max(...runsMs) };
}

/** `a` over `b`, run i against run i: the median, min and max of those ratios. */
function pairRatio(a, b) {
  const n = Math.min(a.length, b.length);
  const ratios = Array.from({ length: n }, (_, i) => a[i] / b[i]);
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

async function machine() {
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    cpu: model.trim(),
    cores: os.cpus().length,
    loadAvg1m: os.loadavg()[0],
    date: new Date().toISOString(),
    node: process.version,
  };
}

// ---- output -----------------------------------------------------------------------------------

const fmt = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fmtRatio = (r) => (r ? `${fmt(r.median)}× (${fmt(r.min)}–${fmt(r.max)})` : '1');

function markdown(report) {
  const { file, machine: m, results } = report;
  const lines = [
    `## GGUF header parse: ${path.basename(file.path)}`,
    '',
    `${(file.bytes / 1e6).toFixed(1)} MB file, header ${(file.headerBytes / 1e6).toFixed(2)} MB, `
      + `${file.nTensors} tensors; ${report.runs} timed runs after ${report.warmup} warm-up.`,
    `Machine: ${m.cpu}, ${m.cores} cores, load ${m.loadAvg1m.toFixed(2)} at start; ${m.date}; node ${m.node}`
      + `${report.browser ? `; Chromium ${report.browser}` : ''}.`,
    '',
    '| parser | median ms | min ms | max ms | / gguf64 native | / gguf64 wasm |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of results) {
    lines.push(`| ${r.name} | ${fmt(r.median)} | ${fmt(r.min)} | ${fmt(r.max)} | `
      + `${fmtRatio(r.overNative)} | ${fmtRatio(r.overWasm)} |`);
  }
  lines.push('', 'Ratios: each parser\'s run i over gguf64\'s run i; median (min–max) of those.');
  if (report.wasmCopyMs !== undefined) {
    lines.push(`gguf64 wasm: copying the ${(report.wasmCopiedBytes / 1e6).toFixed(1)} MB prefix into wasm `
      + `memory took ${fmt(report.wasmCopyMs)} ms once (not in the runs).`);
  }
  return lines.join('\n');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const fileBytes = (await stat(args.file)).size;
  const m = await machine();
  const log = (msg) => process.stderr.write(`bench/parse: ${msg}\n`);

  log('gguf64 native');
  const native = await benchNative(args);
  log('gguf64 wasm (headless Chromium)');
  const wasm = await benchWasm(args);
  log('@huggingface/gguf');
  const hf = await benchHuggingface(args);
  log('Python gguf (slow: seconds per run)');
  const py = await benchPython(args);

  const entries = [
    ['gguf64 native', native],
    [`gguf64 ${wasm.build} (Chromium)`, wasm],
    [`@huggingface/gguf ${hf.version} (node)`, hf],
    [`Python gguf ${py.version} GGUFReader`, py],
  ];
  for (const [name, r] of entries) {
    if (r.nTensors !== native.nTensors) throw new Error(`${name} found ${r.nTensors} tensors, gguf64 ${native.nTensors}`);
  }
  const results = entries.map(([name, r]) => ({
    name,
    ...summary(r.runsMs),
    runsMs: r.runsMs,
    overNative: r === native ? null : pairRatio(r.runsMs, native.runsMs),
    overWasm: r === wasm ? null : pairRatio(r.runsMs, wasm.runsMs),
  }));
  const report = {
    file: { path: args.file, bytes: fileBytes, headerBytes: native.headerBytes, nTensors: native.nTensors },
    machine: m,
    browser: wasm.browser,
    runs: args.runs,
    warmup: args.warmup,
    wasmCopyMs: wasm.copyMs,
    wasmCopiedBytes: wasm.copiedBytes,
    results,
  };
  console.log(args.json ? JSON.stringify(report, null, 2) : markdown(report));
}

main().catch((err) => {
  console.error(`bench/parse: ${err.stack ?? err.message}`);
  process.exit(1);
});
