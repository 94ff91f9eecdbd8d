#!/usr/bin/env node
// The disk tier against its physical limit. A model loads under a memory limit below its size, so
// that layout 'auto' puts its layers in the disk tier's file; then every token is timed, and so is
// reading the same bytes from this machine's disk, in the same run:
//
//   warm   the operating system's cache holds the file (the usual case with memory to spare);
//          the limit is a copy from that cache
//   cold   the cache is dropped before every token (root only: /proc/sys/vm/drop_caches); the
//          limit is the disk's own read of the token's bytes
//   small  with --machine-memory BYTES (root only), the browser runs in a memory cgroup of that
//          size, so the operating system cannot keep the file in its cache: a machine whose memory
//          is smaller than the model, for real; the limit is the disk's own read
//
// Each condition runs twice: without reading ahead, and with the reader worker (the default).
//
// The bytes a token reads are the layers on disk (the plan's disk memory). The disk's speeds are
// measured on the model file itself (same disk): cold with dd and O_DIRECT in 64 MiB blocks, 4
// streams at once (the disk's own limit), and warm through the cache.
//
//   node tools/bench/disk.mjs [--model FILE] [--memory-limit BYTES] [--machine-memory BYTES] [--tokens N] [--rounds N] [--json]
// Default: the synthetic 7B-shaped model (npm run example -- memory64 writes it) under a 2.5 GB limit.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { launch, openHarness } from '../lib/browser.mjs';
import { stats } from '../lib/stats.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const model = path.resolve(option('--model', path.join(ROOT, 'models/synth/llama-7b-q4_k.gguf')));
const memoryLimit = Number(option('--memory-limit', 2.5e9));
const tokens = Number(option('--tokens', 6));
const rounds = Number(option('--rounds', 2));
const machineMemory = args.includes('--machine-memory') ? Number(option('--machine-memory')) : undefined;
const json = args.includes('--json');
const PROMPT = 'The old lighthouse keeper climbed the stairs every evening, and';

/** Drops the operating system's page cache (false where this process may not). */
function dropCaches() {
  try {
    execFileSync('sync');
    execFileSync('sh', ['-c', 'echo 1 > /proc/sys/vm/drop_caches'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Reads `bytes` of `file` from its start in 64 MiB pieces (through the cache); GB/s (10^9 bytes per second). */
async function readSpeed(file, bytes) {
  const handle = await open(file, 'r');
  const buffer = Buffer.allocUnsafe(64 << 20);
  try {
    const t0 = performance.now();
    for (let at = 0; at < bytes;) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, bytes - at), at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return bytes / 1e6 / (performance.now() - t0);
  } finally {
    await handle.close();
  }
}

/**
 * The disk itself: `bytes` of `file` read with O_DIRECT (no cache) in 64 MiB blocks by STREAMS dd
 * processes at once, each a quarter (a virtual disk gives more to several streams than to one);
 * GB/s, or null without dd.
 */
async function directReadSpeed(file, bytes) {
  const STREAMS = 4;
  const blocks = Math.max(1, Math.floor(bytes / (64 << 20) / STREAMS));
  const dd = (i) => new Promise((resolve, reject) => {
    const child = spawn('dd', [`if=${file}`, 'of=/dev/null', 'bs=64M', `count=${blocks}`, `skip=${i * blocks}`, 'iflag=direct'], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`dd exited with ${code}`))));
  });
  try {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: STREAMS }, (_, i) => dd(i)));
    return (STREAMS * blocks * (64 << 20)) / 1e6 / (performance.now() - t0);
  } catch {
    return null;
  }
}

/**
 * Moves this process (and the browser it starts next) into a new memory cgroup of `bytes`
 * (cgroup v2, else v1's memory controller). Returns a function that moves it back and removes the group.
 */
function enterMemoryCgroup(bytes) {
  const root = existsSync('/sys/fs/cgroup/cgroup.controllers')
    ? { dir: '/sys/fs/cgroup', limit: 'memory.max' }
    : { dir: '/sys/fs/cgroup/memory', limit: 'memory.limit_in_bytes' };
  const group = `${root.dir}/gguf64-bench-${process.pid}`;
  mkdirSync(group);
  writeFileSync(`${group}/${root.limit}`, String(bytes));
  writeFileSync(`${group}/cgroup.procs`, String(process.pid));
  return () => {
    writeFileSync(`${root.dir}/cgroup.procs`, String(process.pid));
    try {
      rmdirSync(group);
    } catch {
      // a browser process not yet gone keeps it
      console.error(`left the cgroup ${group} behind (rmdir it once its processes are gone)`);
    }
  };
}

/** Greedy ids after `prompt` with `options`, each token timed in the page. Runs on `window.benchModel`. */
function greedy(page, { mode, cold, count }) {
  return (async () => {
    await page.evaluate(async (mode) => {
      if (mode) await window.gguf64testing.diskReadahead(window.benchModel, mode === 'on');
      window.benchSeq = [...window.benchPrompt];
      await window.benchModel.logits(window.benchSeq); // the prompt, untimed
    }, mode);
    const ms = [];
    const ids = [];
    const before = await page.evaluate(() => window.benchModel.pagerStats());
    for (let t = 0; t < count; t++) {
      if (cold) dropCaches();
      const step = await page.evaluate(async () => {
        const t0 = performance.now();
        const logits = await window.benchModel.logits(window.benchSeq);
        const ms = performance.now() - t0;
        let best = 0;
        for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        window.benchSeq.push(best);
        return { ms, id: best };
      });
      ms.push(step.ms);
      ids.push(step.id);
    }
    const after = await page.evaluate(() => window.benchModel.pagerStats());
    const disk = after?.disk && before?.disk && {
      bytes: after.disk.bytes - before.disk.bytes, readMs: after.disk.readMs - before.disk.readMs,
      coldReads: after.disk.coldReads - before.disk.coldReads, aheadBytes: after.disk.aheadBytes - before.disk.aheadBytes,
    };
    return { ms, ids, disk };
  })();
}

/** Loads the model in a fresh browser with `options` and runs `work(page, info)`. */
async function withModel(options, work) {
  const session = await launch({ extraMounts: [['/bench-model/', path.dirname(model)]] });
  try {
    const { page } = await openHarness(session);
    const url = `/bench-model/${encodeURIComponent(path.basename(model))}`;
    const info = await page.evaluate(async ({ url, options, prompt }) => {
      const t0 = performance.now();
      const m = await window.gguf64pkg.loadModel(url, { cache: false, ...options });
      window.benchModel = m;
      window.benchPrompt = await m.promptIds(prompt);
      return { layout: m.info.layout, threads: m.info.parallel.threads, loadMs: performance.now() - t0 };
    }, { url, options, prompt: PROMPT });
    const out = await work(page, info, () => session.rssBytes());
    out.peakBytes = await session.peakBytes();
    await page.evaluate(() => window.benchModel.unload());
    return { ...info, ...out, browser: session.browserVersion };
  } finally {
    await session.close();
  }
}

const fileBytes = (await stat(model)).size;
// The reference: the same greedy tokens from the model in memory (one thread), before any cgroup.
const inMemory = await withModel({ threads: 1, layout: 'auto', memoryLimit: Number.MAX_SAFE_INTEGER }, async (page) => ({ ...(await greedy(page, { count: tokens })) }));
// The disk's speed before the disk runs and after them: the faster is the limit (the disk is shared).
const directBefore = await directReadSpeed(model, Math.min(fileBytes, 4e9));
const leave = machineMemory ? enterMemoryCgroup(machineMemory) : undefined;
let onDisk;
try {
  onDisk = await withModel({ memoryLimit }, async (page, info, rss) => {
    if (info.layout.kind !== 'disk') throw new Error(`a memory limit of ${memoryLimit} gave the ${info.layout.kind} layout, not disk`);
    const conditions = [];
    const modes = ['off', 'on'];
    if (machineMemory) {
      for (const mode of modes) conditions.push({ condition: 'small', mode, cold: false });
    } else {
      for (const mode of modes) conditions.push({ condition: 'warm', mode, cold: false });
      if (dropCaches()) for (const mode of modes) conditions.push({ condition: 'cold', mode, cold: true });
    }
    // Rounds of every condition in turn, so that a slow minute of this shared disk hits all alike.
    const runs = conditions.map((c) => ({ ...c, ms: [], ids: null, disk: null }));
    for (let round = 0; round < rounds; round++) {
      for (const r of runs) {
        const got = await greedy(page, { mode: r.mode, cold: r.cold, count: tokens });
        r.ms.push(...got.ms);
        if (r.ids && JSON.stringify(r.ids) !== JSON.stringify(got.ids)) throw new Error(`${r.condition}, readahead ${r.mode}: other tokens in round ${round + 1}`);
        r.ids = got.ids;
        r.disk = got.disk;
        r.renderer_rss_bytes = await rss();
      }
    }
    return { runs };
  });
} finally {
  leave?.();
}

const diskBytes = onDisk.layout.memories.filter((m) => m.tier === 'disk').reduce((n, m) => n + m.bytes, 0);
const sample = Math.min(diskBytes, fileBytes);
const directAfter = await directReadSpeed(model, sample);
const directGBs = Math.max(directBefore ?? 0, directAfter ?? 0) || null;
await readSpeed(model, sample);
const warmGBs = await readSpeed(model, sample);
for (const r of onDisk.runs) {
  if (JSON.stringify(r.ids) !== JSON.stringify(inMemory.ids)) throw new Error(`${r.condition}, readahead ${r.mode}: other tokens than the ${inMemory.layout.kind} layout's`);
  r.s_per_token = stats(r.ms.map((x) => x / 1000));
  const gbs = r.condition === 'warm' ? warmGBs : directGBs;
  r.limit_s = gbs ? diskBytes / 1e9 / gbs : null;
  r.ratio_to_limit = r.limit_s && r.s_per_token.median / r.limit_s;
}
const result = {
  machine: `${os.cpus()[0].model}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
  browser: onDisk.browser,
  date: new Date().toISOString().slice(0, 10),
  model: path.basename(model),
  file_bytes: fileBytes,
  memory_limit: memoryLimit,
  machine_memory: machineMemory ?? null,
  layout: onDisk.layout.memories.map((m) => ({ tier: m.tier, bytes: m.bytes, layers: m.layers.length })),
  slots: onDisk.layout.workingSetLayers,
  threads: onDisk.threads,
  load_s: onDisk.loadMs / 1000,
  renderer_peak_bytes: onDisk.peakBytes,
  disk_bytes_per_token: diskBytes,
  disk_read_gb_s: { direct: directGBs, direct_before: directBefore, direct_after: directAfter, warm: warmGBs },
  tokens,
  rounds,
  in_memory: { kind: inMemory.layout.kind, ids: inMemory.ids, s_per_token: stats(inMemory.ms.map((x) => x / 1000)), renderer_peak_bytes: inMemory.peakBytes },
  runs: onDisk.runs.map(({ ms, ...r }) => r),
};

if (json) console.log(JSON.stringify(result, null, 2));
else {
  const gb = (b) => `${(b / 1e9).toFixed(2)} GB`;
  const f = (s) => `${s.median.toFixed(2)} s (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
  const label = { warm: 'warm', cold: 'cold (cache dropped)', small: `machine of ${gb(result.machine_memory ?? 0)}` };
  console.log(`${result.model} (${gb(result.file_bytes)}) under a memory limit of ${gb(result.memory_limit)}: ${result.layout.map((m) => `${m.tier} ${gb(m.bytes)}, ${m.layers} layers`).join('; ')}; ${result.slots} slots, ${result.threads} thread`);
  console.log(`${result.machine}, ${result.browser}; load ${result.load_s.toFixed(1)} s, renderer peak ${gb(result.renderer_peak_bytes)} (in memory: ${gb(result.in_memory.renderer_peak_bytes)}, ${f(result.in_memory.s_per_token)} per token)`);
  const d = result.disk_read_gb_s;
  console.log(`each token reads ${gb(result.disk_bytes_per_token)} from the disk tier; the disk reads it at ${d.direct?.toFixed(2) ?? '?'} GB/s (4 dd streams, O_DIRECT, 64 MiB blocks), ${d.warm.toFixed(2)} GB/s from the cache`);
  for (const r of result.runs) {
    const limitText = r.limit_s ? `limit ${r.limit_s.toFixed(2)} s, ${r.ratio_to_limit.toFixed(2)}× it` : 'no limit measured';
    const read = r.disk ? `, page-ins ${(r.disk.bytes / 1e6 / r.disk.readMs).toFixed(2)} GB/s` : '';
    console.log(`  ${`${label[r.condition]}, readahead ${r.mode}`.padEnd(36)} ${f(r.s_per_token)} per token; ${limitText}${read}`);
  }
  console.log(`  ${result.rounds} rounds of ${result.tokens} tokens per condition (the disk figures from the last), in every run the ${result.in_memory.kind} layout's ids [${result.in_memory.ids.join(', ')}]`);
}
