#!/usr/bin/env node
// Every core: decode and prompt speed of gguf64 at 1 and 2 worker threads (the worker API, a model
// split over shard workers), over MessageChannels on a plain page and in shared memory on a
// cross-origin isolated one, beside wllama at 1 and 2 threads (its pthreads build, which needs
// isolation) and native llama.cpp at 1 and 2 threads, on the same prompt ids. Each round runs
// every configuration once; ratios are taken within a round (this machine is shared and noisy).
// For gguf64 at 2 threads it also reports where thread 0's decode time went: its own work, and
// gathers (waiting for the other thread's slices and copying them in), per token.
//
//   node tools/bench/threads.mjs [--runs 5] [--model models/X.gguf ...] [--gen N] [--prompt N] [--json]
//   npm run bench:threads
import path from 'node:path';

import { launch, openHarness } from '../lib/browser.mjs';
import { PROSE, measureNative, openWllama, stats, withTokenizer, cutPrompt } from './wllama.mjs';

const DEFAULT_MODELS = ['models/SmolLM2-135M-Instruct.Q4_1.gguf', 'models/gemma-3-270m-q4_k_m.gguf'];

function parseArgs(argv) {
  const args = { runs: 5, models: [], json: false, gen: 32, prompt: 64, wllama: true, native: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') args.runs = Number(argv[++i]);
    else if (a === '--model') args.models.push(argv[++i]);
    else if (a === '--gen') args.gen = Number(argv[++i]);
    else if (a === '--prompt') args.prompt = Number(argv[++i]);
    else if (a === '--no-wllama') args.wllama = false;
    else if (a === '--no-native') args.native = false;
    else if (a === '--json') args.json = true;
    else throw new Error(`unknown argument ${a}\nusage: node tools/bench/threads.mjs [--runs N] [--model FILE]... [--gen N] [--prompt N] [--no-wllama] [--no-native] [--json]`);
  }
  if (!Number.isInteger(args.runs) || args.runs < 1) throw new Error('--runs needs a positive integer');
  if (args.models.length === 0) args.models = DEFAULT_MODELS;
  return args;
}

/** gguf64 through the worker API with `threads`, on a plain or isolated page; `run(ids)` times one completion. */
async function openGguf64(file, { threads, isolated, gen }) {
  const full = path.resolve(file);
  const session = await launch({ extraMounts: [['/bench-model/', path.dirname(full)]], isolated });
  const { page } = await openHarness(session);
  const parallel = await page.evaluate(async ([url, threads]) => {
    window.benchModel = await window.gguf64pkg.loadModel(url, { cache: false, threads });
    return window.benchModel.info.parallel;
  }, [`/bench-model/${encodeURIComponent(path.basename(full))}`, threads]);
  return {
    parallel,
    async run(ids) {
      return page.evaluate(async ({ ids, gen }) => {
        const m = window.benchModel;
        for await (const piece of m.generate(ids, { maxTokens: gen, ignoreEos: true, reuse: false })) void piece;
        const g = m.lastGeneration;
        return { prompt_tok_s: g.promptTokS, decode_tok_s: g.decodeTokS, output_ids: g.outputIds, thread_times: g.threadTimes ?? null };
      }, { ids, gen });
    },
    close: async () => {
      await page.evaluate(() => window.benchModel.unload());
      await session.close();
    },
  };
}

const GGUF64 = [
  { key: 'gguf64_1', threads: 1, isolated: false },
  { key: 'gguf64_2_channel', threads: 2, isolated: false },
  { key: 'gguf64_2_shared', threads: 2, isolated: true },
];

async function benchModel(file, args) {
  const { prompt } = await withTokenizer(path.resolve(file), (model) => ({ prompt: cutPrompt(model, PROSE, args.prompt) }));
  const open = {};
  const rounds = [];
  try {
    for (const c of GGUF64) open[c.key] = await openGguf64(file, { ...c, gen: args.gen });
    // wllama cannot load a model beyond its 32-bit memory: it gets no column then.
    if (args.wllama) {
      for (const threads of [1, 2]) {
        open[`wllama_${threads}`] = await openWllama({ modelUrl: file, promptTokens: args.prompt, genTokens: args.gen, threads }).catch((err) => ({ error: err.message }));
      }
    }
    for (const o of Object.values(open)) if (!o.error && o.parallel) await o.run(prompt.ids); // warm-up
    for (let i = 0; i < args.runs; i++) {
      const round = {};
      for (const [key, o] of Object.entries(open)) {
        if (o.error) continue;
        round[key] = key.startsWith('wllama') ? await o.run() : await o.run(prompt.ids);
      }
      rounds.push(round);
    }
  } finally {
    for (const o of Object.values(open)) await o.close?.();
  }
  const native = {};
  if (args.native) {
    for (const threads of [1, 2]) native[threads] = await measureNative({ modelPath: path.resolve(file), promptIds: prompt.ids, genTokens: args.gen, threads, runs: args.runs });
  }
  const col = (key, field) => (rounds[0][key] ? stats(rounds.map((r) => r[key][field])) : null);
  const ratio = (a, b, field) => (rounds[0][a] && rounds[0][b] ? stats(rounds.map((r) => r[a][field] / r[b][field])) : null);
  const report = { model: file, prompt_tokens: prompt.ids.length, generated_tokens: args.gen, runs: args.runs, transports: {} };
  for (const field of ['decode_tok_s', 'prompt_tok_s']) {
    report[field] = {
      gguf64_1: col('gguf64_1', field),
      gguf64_2_channel: col('gguf64_2_channel', field),
      gguf64_2_shared: col('gguf64_2_shared', field),
      wllama_1: col('wllama_1', field),
      wllama_2: col('wllama_2', field),
      native_1: native[1] ? stats(native[1].runs.map((r) => r[field])) : null,
      native_2: native[2] ? stats(native[2].runs.map((r) => r[field])) : null,
      speedup_channel: ratio('gguf64_2_channel', 'gguf64_1', field),
      speedup_shared: ratio('gguf64_2_shared', 'gguf64_1', field),
      vs_wllama_2: ratio('gguf64_2_shared', 'wllama_2', field),
      vs_wllama_2_channel: ratio('gguf64_2_channel', 'wllama_2', field),
    };
  }
  for (const c of GGUF64.slice(1)) {
    report.transports[c.key] = open[c.key].parallel.transport;
    const per = rounds.map((r) => r[c.key].thread_times?.decode).filter(Boolean);
    const tokens = args.gen - 1;
    report[`${c.key}_decode_ms_per_token`] = per.length ? {
      compute: stats(per.map((t) => t.computeMs / tokens)),
      gather: stats(per.map((t) => t.gatherMs / tokens)),
      gathers_per_token: per[0].gathers / tokens,
      us_per_gather: stats(per.map((t) => (1000 * t.gatherMs) / t.gathers)),
    } : null;
  }
  const same = (a) => rounds.every((r) => !r[a] || JSON.stringify(r[a].output_ids) === JSON.stringify(r.gguf64_1.output_ids));
  report.same_greedy_as_1_thread = same('gguf64_2_channel') && same('gguf64_2_shared');
  report.wllama_errors = Object.fromEntries(Object.entries(open).filter(([, o]) => o.error).map(([k, o]) => [k, o.error]));
  return report;
}

const fmt = (s) => (s ? `${s.median.toFixed(2)} (${s.min.toFixed(2)}–${s.max.toFixed(2)})` : '–');

function printTable(reports) {
  const lines = ['| model | measure | 1 thread | 2 threads, channel | 2 threads, shared | ×1 thread (channel / shared) | wllama 1 / 2 | native 1 / 2 | vs wllama 2 (shared / channel) |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const r of reports) {
    for (const field of ['decode_tok_s', 'prompt_tok_s']) {
      const d = r[field];
      lines.push(`| ${path.basename(r.model)} | ${field.replace('_tok_s', '')} tok/s | ${fmt(d.gguf64_1)} | ${fmt(d.gguf64_2_channel)} | ${fmt(d.gguf64_2_shared)} | ${fmt(d.speedup_channel)} / ${fmt(d.speedup_shared)} | ${fmt(d.wllama_1)} / ${fmt(d.wllama_2)} | ${fmt(d.native_1)} / ${fmt(d.native_2)} | ${fmt(d.vs_wllama_2)} / ${fmt(d.vs_wllama_2_channel)} |`);
    }
  }
  lines.push('');
  for (const r of reports) {
    for (const key of ['gguf64_2_channel', 'gguf64_2_shared']) {
      const t = r[`${key}_decode_ms_per_token`];
      if (t) lines.push(`${path.basename(r.model)}, ${r.transports[key]}: per token, thread 0 computes ${fmt(t.compute)} ms and gathers ${fmt(t.gather)} ms (${t.gathers_per_token} gathers, ${fmt(t.us_per_gather)} µs each)`);
    }
    lines.push(`${path.basename(r.model)}: greedy tokens at 2 threads equal 1 thread's: ${r.same_greedy_as_1_thread}`);
  }
  return lines.join('\n');
}

const args = parseArgs(process.argv.slice(2));
const reports = [];
for (const model of args.models) {
  process.stderr.write(`threads: ${model}\n`);
  reports.push(await benchModel(model, args));
}
if (args.json) console.log(JSON.stringify({ date: new Date().toISOString(), reports }, null, 2));
else console.log(printTable(reports));
