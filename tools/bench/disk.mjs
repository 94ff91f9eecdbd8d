#!/usr/bin/env node
// The disk tier against its physical limit. A model loads under a memory limit below its size, so
// that layout 'auto' puts its layers in the disk tier's file; then every token is timed, and so is
// reading the same bytes from this machine's disk, in the same run:
//
//   warm   the operating system's cache holds the file (the usual case with memory to spare);
//          the limit is a copy from that cache
//   cold   the cache is dropped before every token (root only: /proc/sys/vm/drop_caches), as if
//          the model were larger than the machine's memory; once without reading ahead, once with
//          the reader worker; the limit is the disk's cold read of the token's bytes
//
// The bytes a token reads are the layers on disk (the plan's disk memory). The disk's speeds are
// measured on the model file itself (same disk): cold with dd and O_DIRECT in 64 MiB blocks (the
// disk's own limit), and warm through the cache.
//
//   node tools/bench/disk.mjs [--model FILE] [--memory-limit BYTES] [--tokens N] [--json]
// Default: the synthetic 7B-shaped model (npm run example -- memory64 writes it) under a 2.5 GB limit.
import { execFileSync } from 'node:child_process';
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
const tokens = Number(option('--tokens', 4));
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

/** The disk itself: `bytes` of `file` read with O_DIRECT (no cache) by dd in 64 MiB blocks; GB/s, or null without dd. */
function directReadSpeed(file, bytes) {
  try {
    const count = Math.max(1, Math.floor(bytes / (64 << 20)));
    const t0 = performance.now();
    execFileSync('dd', [`if=${file}`, 'of=/dev/null', 'bs=64M', `count=${count}`, 'iflag=direct'], { stdio: 'ignore' });
    return (count * (64 << 20)) / 1e6 / (performance.now() - t0);
  } catch {
    return null;
  }
}

const fileBytes = (await stat(model)).size;
const session = await launch({ extraMounts: [['/bench-model/', path.dirname(model)]] });
let result;
try {
  const { page } = await openHarness(session);
  const url = `/bench-model/${encodeURIComponent(path.basename(model))}`;
  const loaded = await page.evaluate(async ({ url, memoryLimit, prompt }) => {
    const t0 = performance.now();
    const m = await window.gguf64pkg.loadModel(url, { cache: false, memoryLimit });
    window.benchModel = m;
    window.benchPrompt = await m.promptIds(prompt);
    return { layout: m.info.layout, threads: m.info.parallel.threads, loadMs: performance.now() - t0 };
  }, { url, memoryLimit, prompt: PROMPT });
  if (loaded.layout.kind !== 'disk') throw new Error(`a memory limit of ${memoryLimit} gave the ${loaded.layout.kind} layout, not disk`);
  const onDisk = loaded.layout.memories.filter((m) => m.tier === 'disk');
  const diskBytes = onDisk.reduce((n, m) => n + m.bytes, 0);
  const canDrop = dropCaches();

  /** `tokens` greedy tokens after the prompt, each timed in the page; `cold` drops the cache before each. */
  const run = async (mode, cold) => {
    await page.evaluate(async (mode) => {
      await window.gguf64testing.diskReadahead(window.benchModel, mode);
      window.benchSeq = [...window.benchPrompt];
      await window.benchModel.logits(window.benchSeq); // the prompt, untimed
    }, mode);
    const ms = [];
    const ids = [];
    const before = await page.evaluate(() => window.benchModel.pagerStats());
    for (let t = 0; t < tokens; t++) {
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
    const disk = after.disk && before.disk && {
      bytes: after.disk.bytes - before.disk.bytes, readMs: after.disk.readMs - before.disk.readMs,
      coldReads: after.disk.coldReads - before.disk.coldReads, aheadBytes: after.disk.aheadBytes - before.disk.aheadBytes,
    };
    return { mode, cold, s_per_token: stats(ms.map((x) => x / 1000)), ids, disk };
  };

  const runs = [await run('auto', false), await run('always', false)];
  if (canDrop) runs.push(await run('off', true), await run('auto', true), await run('always', true));
  await page.evaluate(() => window.benchModel.unload());

  // The disk's speeds for a token's bytes, on the model file (the same disk as the browser's profile).
  const sample = Math.min(diskBytes, fileBytes);
  const coldGBs = directReadSpeed(model, sample);
  let bufferedColdGBs = null;
  if (canDrop) {
    dropCaches();
    bufferedColdGBs = await readSpeed(model, sample);
  }
  const warmGBs = await readSpeed(model, sample);
  const limit = (gbs) => (gbs ? diskBytes / 1e9 / gbs : null);
  for (const r of runs) {
    if (JSON.stringify(r.ids) !== JSON.stringify(runs[0].ids)) throw new Error(`readahead ${r.mode}${r.cold ? ' (cold)' : ''} generated other tokens`);
    r.limit_s = limit(r.cold ? coldGBs : warmGBs);
    r.ratio_to_limit = r.limit_s && r.s_per_token.median / r.limit_s;
  }
  result = {
    machine: `${os.cpus()[0].model}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
    browser: session.browserVersion,
    date: new Date().toISOString().slice(0, 10),
    model: path.basename(model),
    file_bytes: fileBytes,
    memory_limit: memoryLimit,
    layout: loaded.layout.memories.map((m) => ({ tier: m.tier, bytes: m.bytes, layers: m.layers.length })),
    slots: loaded.layout.workingSetLayers,
    threads: loaded.threads,
    load_s: loaded.loadMs / 1000,
    renderer_peak_bytes: await session.peakBytes(),
    disk_bytes_per_token: diskBytes,
    disk_read_gb_s: { cold: coldGBs, buffered_cold: bufferedColdGBs, warm: warmGBs },
    cold_runs: canDrop ? 'every token after dropping the page cache' : 'skipped: dropping the page cache needs root',
    tokens,
    runs,
  };
} finally {
  await session.close();
}

if (json) console.log(JSON.stringify(result, null, 2));
else {
  const gb = (b) => `${(b / 1e9).toFixed(2)} GB`;
  const f = (s) => `${s.median.toFixed(2)} s (${s.min.toFixed(2)}–${s.max.toFixed(2)})`;
  console.log(`${result.model} (${gb(result.file_bytes)}) under a memory limit of ${gb(result.memory_limit)}: ${result.layout.map((m) => `${m.tier} ${gb(m.bytes)}, ${m.layers} layers`).join('; ')}; ${result.slots} slots, ${result.threads} thread`);
  console.log(`${result.machine}, ${result.browser}; load ${result.load_s.toFixed(1)} s, renderer peak ${gb(result.renderer_peak_bytes)}`);
  const d = result.disk_read_gb_s;
  console.log(`each token reads ${gb(result.disk_bytes_per_token)} from the disk tier; the disk reads it at ${d.cold?.toFixed(2) ?? '?'} GB/s (dd, O_DIRECT, 64 MiB blocks; ${d.buffered_cold?.toFixed(2) ?? '?'} GB/s through the cache after dropping it), ${d.warm.toFixed(2)} GB/s from the cache`);
  for (const r of result.runs) {
    const label = `${r.cold ? 'cold' : 'warm'}, readahead ${r.mode}`.padEnd(24);
    const limitText = r.limit_s ? `limit ${r.limit_s.toFixed(2)} s, ${r.ratio_to_limit.toFixed(2)}× it` : 'no limit measured';
    const read = r.disk ? `, page-ins ${(r.disk.bytes / 1e6 / r.disk.readMs).toFixed(2)} GB/s, ${gb(r.disk.aheadBytes)} read ahead` : '';
    console.log(`  ${label} ${f(r.s_per_token)} per token; ${limitText}${read}`);
  }
  console.log(`  ${result.cold_runs}; ${result.tokens} tokens per run, the same ids in every run`);
}
