#!/usr/bin/env node
// Benchmark (not a test) of the peer gguf64 must beat: wllama (llama.cpp compiled to wasm, npm
// @wllama/wllama) in headless Chromium, and with --native, native llama.cpp (node-llama-cpp) in the
// same run, their runs interleaved (wllama, native, wllama, ...) so both see the same machine load.
//
//   node tools/bench/wllama.mjs [--model models/X.gguf] [--runs 5] [--threads 1|2] [--prompt-tokens 64]
//                               [--gen 64] [--native] [--flash-attn] [--json]
//
// What is measured, per run: a greedy completion (end-of-generation banned, so exactly --gen tokens),
// the prompt evaluated afresh, context 512, batch 512, F16 KV cache, flash attention off unless
// --flash-attn (wllama's own default is on; node-llama-cpp's is off):
// - prompt_tok_s: prompt tokens / time to evaluate the prompt (one batch);
// - decode_tok_s: (generated - 1) / time from the first generated token to the last, i.e. one
//   decode step per token.
// wllama's times are llama.cpp's own (llama-server's `timings`: prompt_ms; predicted_ms for
// predicted_n tokens, which starts when the prompt is done); native ones are performance.now around
// node-llama-cpp's `sequence.evaluate` (the prompt time includes picking the first token).
// The prompt is a fixed prose paragraph cut to --prompt-tokens llama.cpp tokens (BOS included when
// the model adds one). wllama takes text only: it must count as many prompt tokens, and a second
// load checks that it evaluates exactly those ids (tokenization_verified). An untimed warm-up gives
// the generated ids; every timed run must produce the same text. Results: median (min–max).
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

import { call, generatedIds, openWllamaPage, tokenizationMatches, wasmMemoryKind, WLLAMA_DIR, wllamaVersion } from '../lib/wllama-driver.mjs';
import { vocabularyBytes } from '../lib/wllama-ids.mjs';
import { stats } from '../lib/stats.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A plain prose paragraph, longer than any prompt length used here; cut to N tokens per model. */
export const PROSE = 'The village sat at the edge of a wide grey bay, where the tide went out so far each '
  + 'morning that children walked for an hour across the wet sand to reach the water. The fishermen '
  + 'kept their boats in a row along the sea wall, painted blue and red and yellow, and every spring '
  + 'they scraped the old paint away and argued about the colours. In the evenings the older women '
  + 'sat on the benches outside the chapel and talked about the weather, the price of bread, and the '
  + 'young teacher who had arrived from the city with a trunk full of books and no idea how to light '
  + 'a stove. Nobody expected her to stay past the first winter.';

// ---------------------------------------------------------------------------------------------
// llama.cpp in node (node-llama-cpp): the tokenizer

/** Opens llama.cpp's CPU backend (prebuilt binary, never built here). */
export function openLlama() {
  return getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
}

/** Runs `fn` with llama.cpp's tokenizer of a model file (node-llama-cpp, vocabulary only). */
export async function withTokenizer(modelPath, fn) {
  const llama = await openLlama();
  try {
    const model = await llama.loadModel({ modelPath, vocabOnly: true });
    try {
      return await fn(model);
    } finally {
      await model.dispose();
    }
  } finally {
    await llama.dispose();
  }
}

/** The ids llama.cpp evaluates for `text`: BOS when the model adds one, then the text with special tokens parsed. */
export function llamaPromptIds(model, text) {
  const bos = model.tokens.shouldPrependBosToken && model.tokens.bos !== null ? [model.tokens.bos] : [];
  return [...bos, ...model.tokenize(text, true)];
}

/** `text` cut to at most `count` llama.cpp tokens (BOS counted), at a point where it re-tokenizes to the same ids. */
export function cutPrompt(model, text, count) {
  const all = llamaPromptIds(model, text);
  const skip = all.length - model.tokenize(text, true).length;
  for (let n = Math.min(count, all.length); n > skip; n--) {
    const cut = model.detokenize(all.slice(skip, n));
    const ids = llamaPromptIds(model, cut);
    if (ids.length === n && ids.every((id, i) => id === all[i])) return { text: cut, ids };
  }
  throw new Error(`cannot cut the prompt to ${count} tokens`);
}

// ---------------------------------------------------------------------------------------------
// The native peer

/** One greedy pass of native llama.cpp: timings around the first and the last generated token. */
async function nativeRun(sequence, promptIds, genTokens) {
  await sequence.clearHistory();
  const out = [];
  const t0 = performance.now();
  let tFirst = 0;
  for await (const token of sequence.evaluate(promptIds, { temperature: 0 })) {
    out.push(token);
    if (out.length === 1) tFirst = performance.now();
    if (out.length >= genTokens) break;
  }
  const tLast = performance.now();
  return {
    prompt_tok_s: promptIds.length / ((tFirst - t0) / 1000),
    decode_tok_s: (out.length - 1) / ((tLast - tFirst) / 1000),
    prompt_ids: promptIds,
    output_ids: out,
  };
}

/**
 * Native llama.cpp (node-llama-cpp, CPU, context and batch 512) ready to run greedy passes on
 * exactly `promptIds`; one warm-up pass done. `run()` times one pass.
 */
export async function openNative({ modelPath, promptIds, genTokens = 64, threads = 1, flashAttn = false }) {
  const llama = await openLlama();
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({ contextSize: 512, batchSize: 512, threads, flashAttention: flashAttn });
  const sequence = context.getSequence();
  const run = () => nativeRun(sequence, promptIds, genTokens);
  await run();
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'node_modules/node-llama-cpp/package.json'), 'utf8'));
  return {
    version: `node-llama-cpp ${pkg.version}, prebuilt CPU binary (llama.cpp tag ${llama.llamaCppRelease.release})`,
    threads,
    run,
    async close() {
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}

/**
 * Native llama.cpp on exactly `promptIds`: one warm-up, then `runs` timed runs.
 * @returns {Promise<{ version: string, threads: number, runs: Array<{ prompt_tok_s: number,
 *   decode_tok_s: number, prompt_ids: number[], output_ids: number[] }> }>}
 */
export async function measureNative({ runs = 5, ...options }) {
  const native = await openNative(options);
  try {
    const results = [];
    for (let i = 0; i < runs; i++) results.push(await native.run());
    return { version: native.version, threads: native.threads, runs: results };
  } finally {
    await native.close();
  }
}

// ---------------------------------------------------------------------------------------------
// wllama

/**
 * wllama in headless Chromium with one local GGUF file (`modelUrl`: its path) loaded, ready to run
 * greedy completions of `promptText` cut to `promptTokens` llama.cpp tokens; the warm-up (which
 * gives the generated ids) done. `run()` times one completion; `finish()` checks the tokenization
 * (it reloads the model, so call it last) and closes the browser; `close()` only closes.
 */
export async function openWllama({ modelUrl, promptText = PROSE, promptTokens = 64, genTokens = 64, threads = 1, flashAttn = false }) {
  const modelPath = path.resolve(modelUrl);
  const { prompt, vocab } = await withTokenizer(modelPath, (model) => ({
    prompt: cutPrompt(model, promptText, promptTokens), vocab: vocabularyBytes(model.fileInfo.metadata) }));
  const memory = await wasmMemoryKind(path.join(WLLAMA_DIR, 'esm/wasm/wllama.wasm'));
  const wp = await openWllamaPage({ isolated: threads > 1, modelDirs: [path.dirname(modelPath)] });
  try {
    const url = wp.urlOf(modelPath);
    const info = await call(wp.page, 'load', { url, threads, flashAttn });
    if (info.threads !== threads) throw new Error(`wllama runs ${info.threads} threads, not ${threads} (crossOriginIsolated: ${info.crossOriginIsolated})`);
    const request = { prompt: prompt.text, maxTokens: genTokens };
    const first = await generatedIds(wp.page, vocab, request);
    if (first.promptTokens !== prompt.ids.length) throw new Error(`wllama counts ${first.promptTokens} prompt tokens, llama.cpp ${prompt.ids.length}`);
    if (!first.complete) throw new Error(`the generated ids could not be rebuilt after ${first.ids.length}`);
    const build = `${memory?.memory64 ? 'memory64' : 'wasm32'}${memory?.shared ? ' shared' : ''}, `
      + `${info.multithread ? `multi-thread (pthreads, ${info.threads})` : 'single-thread'}`;
    return {
      version: `@wllama/wllama ${await wllamaVersion()} (llama.cpp ${info.version})`,
      build,
      threads: info.threads,
      multithread: info.multithread,
      prompt,
      async run() {
        const r = await call(wp.page, 'complete', request);
        if (r.text !== first.text) throw new Error('a timed run gave another greedy text than the warm-up');
        const t = r.timings;
        return { prompt_tok_s: t.prompt_n / (t.prompt_ms / 1000), decode_tok_s: (t.predicted_n - 1) / (t.predicted_ms / 1000),
          prompt_ids: prompt.ids, output_ids: first.ids };
      },
      async finish() {
        try {
          return { tokenization_verified: (await tokenizationMatches(wp.page, url, [prompt]))[0] };
        } finally {
          await wp.close();
        }
      },
      close: () => wp.close(),
    };
  } catch (err) {
    await wp.close();
    throw err;
  }
}

/**
 * wllama on one local GGUF file (`modelUrl`: its path): one warm-up and `runs` timed completions.
 * @returns {Promise<{ version: string, build: string, threads: number, multithread: boolean,
 *   prompt_text: string, tokenization_verified: boolean, runs: Array<{ prompt_tok_s: number,
 *   decode_tok_s: number, prompt_ids: number[], output_ids: number[] }> }>}
 */
export async function measureWllama({ runs = 5, ...options }) {
  const w = await openWllama(options);
  const results = [];
  try {
    for (let i = 0; i < runs; i++) results.push(await w.run());
  } catch (err) {
    await w.close();
    throw err;
  }
  const { tokenization_verified: verified } = await w.finish();
  return { version: w.version, build: w.build, threads: w.threads, multithread: w.multithread,
    prompt_text: w.prompt.text, tokenization_verified: verified, runs: results };
}

// ---------------------------------------------------------------------------------------------
// CLI

export { stats };

/** How many leading ids two sequences share. */
export function agreeing(a, b) {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function parseArgs(argv) {
  const args = { model: 'models/SmolLM2-135M-Instruct.Q4_1.gguf', runs: 5, threads: 1, promptTokens: 64, gen: 64,
    native: false, flashAttn: false, json: false };
  const flags = { '--runs': 'runs', '--threads': 'threads', '--prompt-tokens': 'promptTokens', '--gen': 'gen' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--model') args.model = argv[++i];
    else if (flags[a]) args[flags[a]] = Number(argv[++i]);
    else if (a === '--native') args.native = true;
    else if (a === '--flash-attn') args.flashAttn = true;
    else if (a === '--json') args.json = true;
    else throw new Error(`unknown argument ${a}`);
  }
  for (const [flag, key] of Object.entries(flags)) {
    if (!Number.isInteger(args[key]) || args[key] < 1) throw new Error(`${flag} needs a positive integer`);
  }
  if (args.gen < 2) throw new Error('--gen needs at least 2 tokens (decode speed is measured after the first)');
  return args;
}

/** Runs wllama and (with --native) native llama.cpp, interleaved; returns the report. */
async function bench(args) {
  const modelPath = path.resolve(args.model);
  const common = { genTokens: args.gen, threads: args.threads, flashAttn: args.flashAttn };
  const w = await openWllama({ modelUrl: modelPath, promptTokens: args.promptTokens, ...common });
  let native = null;
  const runs = { wllama: [], native: [] };
  try {
    if (args.native) native = await openNative({ modelPath, promptIds: w.prompt.ids, ...common });
    for (let i = 0; i < args.runs; i++) {
      runs.wllama.push(await w.run());
      if (native) runs.native.push(await native.run());
    }
  } catch (err) {
    await w.close();
    throw err;
  } finally {
    await native?.close();
  }
  const { tokenization_verified: verified } = await w.finish();
  const summary = (list) => ({ prompt_tok_s: stats(list.map((r) => r.prompt_tok_s)), decode_tok_s: stats(list.map((r) => r.decode_tok_s)) });
  return {
    machine: `${os.cpus()[0].model}, ${os.cpus().length} cores`,
    date: new Date().toISOString().slice(0, 10),
    model: path.basename(modelPath),
    prompt_tokens: w.prompt.ids.length,
    gen_tokens: args.gen,
    threads: args.threads,
    flash_attention: args.flashAttn,
    wllama: { version: w.version, build: w.build, threads: w.threads, prompt_text: w.prompt.text, tokenization_verified: verified,
      ...summary(runs.wllama), runs: runs.wllama },
    native: native && { version: native.version, threads: native.threads, ...summary(runs.native), runs: runs.native },
    greedy_agree_until: native ? agreeing(runs.wllama[0].output_ids, runs.native[0].output_ids) : null,
  };
}

function printReport(report, runs) {
  const f = (s) => `${s.median.toFixed(1)} (${s.min.toFixed(1)}–${s.max.toFixed(1)})`;
  const { wllama, native } = report;
  console.log(`${report.model}: ${report.prompt_tokens} prompt tokens, ${report.gen_tokens} generated, greedy, `
    + `${report.threads} thread(s), flash attention ${report.flash_attention ? 'on' : 'off'}, ${runs} runs, median (min–max); `
    + `${report.machine}, ${report.date}`);
  console.log(`wllama: ${wllama.version}, ${wllama.build}; evaluates llama.cpp's prompt ids: ${wllama.tokenization_verified}`);
  if (native) console.log(`native: ${native.version}`);
  console.log(`\n| tok/s | wllama |${native ? ' native llama.cpp |' : ''}\n| --- | --- |${native ? ' --- |' : ''}`);
  for (const key of ['prompt_tok_s', 'decode_tok_s']) {
    console.log(`| ${key.replace('_tok_s', '')} | ${f(wllama[key])} |${native ? ` ${f(native[key])} |` : ''}`);
  }
  if (native) console.log(`\ngreedy ids: wllama and native agree on the first ${report.greedy_agree_until} of ${report.gen_tokens}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(err.message);
    process.exit(2);
  }
  bench(args).then((report) => {
    if (args.json) console.log(JSON.stringify(report, null, 2));
    else printReport(report, args.runs);
  }).catch((err) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  });
}
