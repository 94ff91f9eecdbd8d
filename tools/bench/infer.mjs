#!/usr/bin/env node
// Inference speed: gguf64 against wllama (llama.cpp compiled to wasm) in the same headless
// Chromium build, single-threaded, on the same model, the same prompt ids (64 llama.cpp tokens of
// prose) and 64 greedy tokens; native llama.cpp on one thread as a further column, and gguf64 in
// headless Firefox beside it (the same wasm64 build; --no-firefox leaves it out). gguf64 runs its
// default variant (relaxed SIMD where the browser has it) and, as a further column, its SIMD128
// build (--no-simd128 leaves it out). Runs alternate within each round, and each ratio is taken
// within its round, because this machine is shared and noisy.
//
//   node tools/bench/infer.mjs [--runs 5] [--model models/X.gguf ...] [--gen N] [--no-native] [--no-firefox] [--no-simd128] [--json]
import os from 'node:os';
import path from 'node:path';

import { launch, openHarness } from '../lib/browser.mjs';
import { measureNative, openWllama, stats, PROSE } from './wllama.mjs';

const DEFAULT_MODELS = ['models/SmolLM2-135M-Instruct.Q4_1.gguf', 'models/gemma-3-270m-q4_k_m.gguf'];
const PROMPT_TOKENS = 64;
let GEN_TOKENS = 64;

function parseArgs(argv) {
  const args = { runs: 5, models: [], json: false, native: true, firefox: true, simd128: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') args.runs = Number(argv[++i]);
    else if (a === '--model') args.models.push(argv[++i]);
    else if (a === '--json') args.json = true;
    else if (a === '--no-native') args.native = false;
    else if (a === '--no-firefox') args.firefox = false;
    else if (a === '--no-simd128') args.simd128 = false;
    else if (a === '--gen') GEN_TOKENS = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}\nusage: node tools/bench/infer.mjs [--runs N] [--model FILE]... [--gen N] [--json] [--no-native] [--no-firefox] [--no-simd128]`);
  }
  if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs needs a positive integer');
  if (!Number.isInteger(GEN_TOKENS) || GEN_TOKENS < 2) throw new Error('--gen needs at least 2 tokens');
  if (args.models.length === 0) args.models = DEFAULT_MODELS;
  return args;
}

/**
 * gguf64 in its own headless `browser` with `file` loaded (SIMD variant `simd`); `run(ids)` times
 * one fresh greedy completion.
 */
async function openGguf64(file, browser = 'chromium', simd = 'auto') {
  const full = path.resolve(file);
  const session = await launch({ extraMounts: [['/bench-model/', path.dirname(full)]], browser });
  const { page } = await openHarness(session);
  await page.evaluate(async ([url, simd]) => {
    window.benchModel = await window.gguf64.loadModel(url, { cache: false, simd });
  }, [`/bench-model/${encodeURIComponent(path.basename(full))}`, simd]);
  return {
    async run(ids) {
      return page.evaluate(async ({ ids, gen }) => {
        const m = window.benchModel;
        for await (const piece of m.generate(ids, { maxTokens: gen, ignoreEos: true, reuse: false })) void piece;
        const g = m.lastGeneration;
        return { prompt_tok_s: g.promptTokS, decode_tok_s: g.decodeTokS, output_ids: g.outputIds, build: m.info.build, simd: m.info.simd };
      }, { ids, gen: GEN_TOKENS });
    },
    version: session.browserVersion,
    close: () => session.close(),
  };
}

const col = (xs) => stats(xs);

async function benchModel(file, runs, withNative, withFirefox, withSimd128) {
  const wllama = await openWllama({ modelUrl: file, promptText: PROSE, promptTokens: PROMPT_TOKENS, genTokens: GEN_TOKENS, threads: 1 });
  const ids = wllama.prompt.ids;
  const ours = await openGguf64(file);
  const firefox = withFirefox ? await openGguf64(file, 'firefox') : null;
  const plain = withSimd128 ? await openGguf64(file, 'chromium', 'simd128') : null;
  const pairs = [];
  try {
    await ours.run(ids); // warm-up: builds the tokenizer, the KV cache and the tensor index
    await firefox?.run(ids);
    await plain?.run(ids);
    for (let i = 0; i < runs; i++) {
      const w = await wllama.run();
      const g = await ours.run(ids);
      const f = firefox && await firefox.run(ids);
      const p = plain && await plain.run(ids);
      pairs.push({ wllama: w, gguf64: g, firefox: f, simd128: p });
    }
  } finally {
    await ours.close();
    await firefox?.close();
    await plain?.close();
    await wllama.close();
  }
  const inFirefox = (key) => firefox && {
    gguf64: col(pairs.map((p) => p.firefox[key])),
    ratio_to_chromium: col(pairs.map((p) => p.firefox[key] / p.gguf64[key])),
  };
  const inSimd128 = (key) => plain && {
    gguf64: col(pairs.map((p) => p.simd128[key])),
    default_over_simd128: col(pairs.map((p) => p.gguf64[key] / p.simd128[key])),
  };
  const native = withNative ? await measureNative({ modelPath: file, promptIds: ids, genTokens: GEN_TOKENS, threads: 1, runs }) : null;
  return {
    model: file,
    prompt_tokens: ids.length,
    generated_tokens: GEN_TOKENS,
    wllama: { version: wllama.version, build: wllama.build },
    browsers: { chromium: ours.version, firefox: firefox?.version ?? null },
    simd: { chromium: pairs[0].gguf64.simd, firefox: pairs[0].firefox?.simd ?? null },
    prompt_tok_s: {
      gguf64: col(pairs.map((p) => p.gguf64.prompt_tok_s)),
      wllama: col(pairs.map((p) => p.wllama.prompt_tok_s)),
      native: native && col(native.runs.map((r) => r.prompt_tok_s)),
      ratio_to_native: native && ratioOfColumns(col(pairs.map((p) => p.gguf64.prompt_tok_s)), col(native.runs.map((r) => r.prompt_tok_s))),
      ratio_to_wllama: col(pairs.map((p) => p.gguf64.prompt_tok_s / p.wllama.prompt_tok_s)),
      firefox: inFirefox('prompt_tok_s'),
      simd128: inSimd128('prompt_tok_s'),
    },
    decode_tok_s: {
      gguf64: col(pairs.map((p) => p.gguf64.decode_tok_s)),
      wllama: col(pairs.map((p) => p.wllama.decode_tok_s)),
      native: native && col(native.runs.map((r) => r.decode_tok_s)),
      ratio_to_native: native && ratioOfColumns(col(pairs.map((p) => p.gguf64.decode_tok_s)), col(native.runs.map((r) => r.decode_tok_s))),
      ratio_to_wllama: col(pairs.map((p) => p.gguf64.decode_tok_s / p.wllama.decode_tok_s)),
      firefox: inFirefox('decode_tok_s'),
      simd128: inSimd128('decode_tok_s'),
    },
    greedy_agrees_with_wllama: agree(pairs[0].gguf64.output_ids, pairs[0].wllama.output_ids),
    firefox_greedy_equals_chromium: firefox ? agree(pairs[0].gguf64.output_ids, pairs[0].firefox.output_ids) === GEN_TOKENS : null,
    simd128_greedy_equals_default: plain ? agree(pairs[0].gguf64.output_ids, pairs[0].simd128.output_ids) === GEN_TOKENS : null,
  };
}

/** Native llama.cpp runs after the browsers, not within their rounds: the ratio of the medians,
 * and as its range the ratios of the extremes (ours slowest over native fastest, and back). */
function ratioOfColumns(a, b) {
  return { median: a.median / b.median, min: a.min / b.max, max: a.max / b.min };
}

function agree(a, b) {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

const fmt = (s, digits = 1) => (s ? `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})` : '–');

function printTable(results, runs) {
  console.log(`inference, one thread, ${runs} runs, median (min–max); ratios round by round`);
  console.log(`browsers: ${Object.values(results[0].browsers).filter(Boolean).join(', ')}; gguf64's SIMD: ${JSON.stringify(results[0].simd)}`);
  console.log('| model | measure | gguf64 | wllama | gguf64 / wllama | native llama.cpp | gguf64 / native | gguf64 in Firefox | Firefox / Chromium | gguf64 SIMD128 build | gguf64 / its SIMD128 build |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of results) {
    const name = r.model.split('/').pop();
    for (const [label, m] of [['prompt tok/s', r.prompt_tok_s], ['decode tok/s', r.decode_tok_s]]) {
      console.log(`| ${name} | ${label} | ${fmt(m.gguf64)} | ${fmt(m.wllama)} | ${fmt(m.ratio_to_wllama, 2)} | ${fmt(m.native)} | ${fmt(m.ratio_to_native, 2)} | ${fmt(m.firefox?.gguf64)} | ${fmt(m.firefox?.ratio_to_chromium, 2)} | ${fmt(m.simd128?.gguf64)} | ${fmt(m.simd128?.default_over_simd128, 2)} |`);
    }
  }
}

const args = parseArgs(process.argv.slice(2));
const results = [];
for (const file of args.models) results.push(await benchModel(file, args.runs, args.native, args.firefox, args.simd128));
if (args.json) console.log(JSON.stringify({ date: new Date().toISOString(), machine: `${os.cpus()[0].model}, ${os.cpus().length} cores`, results }, null, 2));
else printTable(results, args.runs);
