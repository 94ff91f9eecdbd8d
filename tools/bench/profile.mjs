#!/usr/bin/env node
// Where a generation's time goes: gguf64 on one thread in headless Chromium (the page's own
// thread), sampled by V8's CPU profiler (the DevTools protocol) while it processes a prompt and
// decodes, summed by function (self time) and printed as a table, the largest first.
//
// Function names need a wasm build that keeps its name section (the release build drops it):
// `--named` builds one (wasm64, the variant the page would take) into target/profile/ and serves
// it in place of pkg/wasm64 for this run only (under both variants' names: `--simd` picks which
// it is compiled as). Without it the table shows `wasm-function[N]`.
// Inlining folds the kernels into their callers, so the rows are the functions that survived it.
//
//   node tools/bench/profile.mjs [--model models/X.gguf] [--prompt 64] [--gen 64] [--top 30] [--named] [--simd relaxed|simd128]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { launch, openHarness } from '../lib/browser.mjs';

function parseArgs(argv) {
  const args = { model: 'models/SmolLM2-135M-Instruct.Q4_1.gguf', prompt: 64, gen: 64, top: 30, named: false, simd: 'relaxed' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--model') args.model = argv[++i];
    else if (a === '--prompt') args.prompt = Number(argv[++i]);
    else if (a === '--gen') args.gen = Number(argv[++i]);
    else if (a === '--top') args.top = Number(argv[++i]);
    else if (a === '--named') args.named = true;
    else if (a === '--simd') args.simd = argv[++i];
    else throw new Error(`unknown argument ${a}\nusage: node tools/bench/profile.mjs [--model FILE] [--prompt N] [--gen N] [--top N] [--named] [--simd relaxed|simd128]`);
  }
  if (!['relaxed', 'simd128'].includes(args.simd)) throw new Error('--simd is relaxed or simd128');
  for (const k of ['prompt', 'gen', 'top']) {
    if (!Number.isInteger(args[k]) || args[k] < 1) throw new Error(`--${k} needs a positive integer`);
  }
  return args;
}

/** Builds the wasm64 crate with its name section kept; returns a directory laid out as pkg/wasm64. */
function namedBuild(simd) {
  const root = path.resolve(import.meta.dirname, '../..');
  const env = { ...process.env, CARGO_TARGET_DIR: 'target/profile', CARGO_PROFILE_RELEASE_STRIP: 'none' };
  if (simd === 'relaxed') env.CARGO_TARGET_WASM64_UNKNOWN_UNKNOWN_RUSTFLAGS = '-C target-feature=+relaxed-simd';
  env.PATH = `${os.homedir()}/.cargo/bin:${root}/node_modules/.bin:${env.PATH}`;
  console.error('profile: building wasm64 with names (target/profile)');
  execFileSync('cargo', ['build', '--release', '--lib', '--quiet', '-Zbuild-std=std,panic_abort'], { cwd: root, env, stdio: 'inherit' });
  const out = mkdtempSync(path.join(os.tmpdir(), 'gguf64-named-'));
  execFileSync('wasm-bindgen', ['--target', 'web', '--out-dir', out, 'target/profile/wasm64-unknown-unknown/release/gguf64.wasm'], { cwd: root, env, stdio: 'inherit' });
  // Served whole in place of pkg/wasm64 (glue and module from one build), under both variants' names.
  const wasm = path.join(out, 'gguf64_bg.wasm');
  copyFileSync(wasm, path.join(out, 'gguf64_relaxed_bg.wasm'));
  return out;
}

/** Self time per function name, in ms, from a CPU profile (samples weighted by their time deltas). */
function selfTimes(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const node = byId.get(samples[i]);
    const f = node.callFrame;
    const name = f.functionName || `(anonymous ${path.basename(f.url)}:${f.lineNumber})`;
    const dt = (timeDeltas[i + 1] ?? 0) / 1000;
    ms.set(name, (ms.get(name) ?? 0) + dt);
  }
  return ms;
}

const args = parseArgs(process.argv.slice(2));
const model = path.resolve(args.model);
if (!existsSync(model)) throw new Error(`no model at ${model}`);
const mounts = [['/bench-model/', path.dirname(model)]];
if (args.named) mounts.push(['/pkg/wasm64/', namedBuild(args.simd)]);
const session = await launch({ extraMounts: mounts });
try {
  const { page } = await openHarness(session);
  const url = `/bench-model/${encodeURIComponent(path.basename(model))}`;
  const info = await page.evaluate(async ([url, simd]) => {
    window.profModel = await window.gguf64.loadModel(url, { cache: false, simd });
    return { build: window.profModel.info.build, simd: window.profModel.info.simd };
  }, [url, args.simd]);
  const ids = await page.evaluate(async (n) => {
    const m = window.profModel;
    const ids = m.tokenize('The history of the printing press begins with movable type in East Asia and continues through Europe, where the press changed how knowledge spread across cities, schools and churches for centuries. '.repeat(8));
    return ids.slice(0, n);
  }, args.prompt);
  const generate = (ids, gen) => page.evaluate(async ({ ids, gen }) => {
    const m = window.profModel;
    for await (const piece of m.generate(ids, { maxTokens: gen, ignoreEos: true, reuse: false })) void piece;
    const g = m.lastGeneration;
    return { prompt: g.promptTokS, decode: g.decodeTokS };
  }, { ids, gen });
  await generate(ids, 4); // warm-up: the tokenizer, the KV cache, the tensor index
  const cdp = await session.context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  const speed = await generate(ids, args.gen);
  const { profile } = await cdp.send('Profiler.stop');
  const times = [...selfTimes(profile)].sort((a, b) => b[1] - a[1]);
  const total = times.reduce((s, [, t]) => s + t, 0);
  console.log(`${path.basename(model)}, ${info.build}/${info.simd}, ${ids.length} prompt tokens at ${speed.prompt.toFixed(1)} tok/s, ${args.gen} generated at ${speed.decode.toFixed(1)} tok/s; ${total.toFixed(0)} ms sampled`);
  console.log('self ms  share  function');
  for (const [name, t] of times.slice(0, args.top)) {
    console.log(`${t.toFixed(1).padStart(7)}  ${(100 * t / total).toFixed(1).padStart(4)}%  ${name}`);
  }
} finally {
  await session.close();
}
