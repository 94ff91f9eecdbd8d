#!/usr/bin/env node
// Paging: decode tokens/s of SmolLM2 with its layers in a storage memory and working sets of 2
// and 8 layer slots, against the fully resident model, in one headless Chromium. Every run
// measures the three in turn; each ratio is taken within its run.
//
//   node tools/bench/paging.mjs [--runs N] [--tokens N] [--json]
import os from 'node:os';

import { launch, openHarness } from '../lib/browser.mjs';
import { stats } from '../lib/stats.mjs';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 5;
const tokens = Number(args[args.indexOf('--tokens') + 1]) || 32;
const json = args.includes('--json');
const MODEL = '/models/SmolLM2-135M-Instruct.Q4_1.gguf';
const PROMPT = 'The old lighthouse keeper climbed the stairs every evening, and';
const SETS = [{ name: '2', options: { layout: 'paged', workingSetLayers: 2 } }, { name: '8', options: { layout: 'paged', workingSetLayers: 8 } },
  { name: 'all', options: { layout: 'standard' } }];


const session = await launch();
const samples = [];
try {
  const { page } = await openHarness(session);
  for (let i = 0; i < runs; i++) {
    samples.push(await page.evaluate(async ({ url, sets, prompt, tokens }) => {
      const out = {};
      for (const { name, options } of sets) {
        const m = await window.gguf64.loadModel(url, { cache: false, ...options });
        for await (const piece of m.generate(prompt, { maxTokens: 4, ignoreEos: true })) void piece; // warm-up
        for await (const piece of m.generate(prompt, { maxTokens: tokens, ignoreEos: true, reuse: false })) void piece;
        const g = m.lastGeneration;
        out[name] = { decodeTokS: g.decodeTokS, ids: g.outputIds, pager: m.pagerStats() ?? null };
        m.unload();
      }
      return out;
    }, { url: MODEL, sets: SETS, prompt: PROMPT, tokens }));
  }
} finally {
  await session.close();
}
for (const s of samples) {
  for (const { name } of SETS) {
    if (JSON.stringify(s[name].ids) !== JSON.stringify(s.all.ids)) throw new Error(`working set ${name} generated other tokens`);
  }
}
const report = {
  machine: `${os.cpus()[0].model}, ${os.cpus().length} cores`,
  date: new Date().toISOString().slice(0, 10),
  model: 'SmolLM2-135M-Instruct.Q4_1 (30 layers)',
  runs,
  tokens,
  decode_tok_s: Object.fromEntries(SETS.map(({ name }) => [name, stats(samples.map((s) => s[name].decodeTokS))])),
  ratio_to_resident: Object.fromEntries(SETS.slice(0, 2).map(({ name }) => [name, stats(samples.map((s) => s[name].decodeTokS / s.all.decodeTokS))])),
  pager_last_run: Object.fromEntries(SETS.slice(0, 2).map(({ name }) => [name, samples.at(-1)[name].pager])),
};
if (json) console.log(JSON.stringify(report, null, 2));
else {
  const f = (s, d = 1) => `${s.median.toFixed(d)} (${s.min.toFixed(d)}–${s.max.toFixed(d)})`;
  console.log(`paging, ${report.model}, ${runs} runs of ${tokens} tokens, median (min–max)`);
  console.log('| working set | decode tok/s | × resident |');
  console.log('| --- | --- | --- |');
  for (const { name } of SETS) console.log(`| ${name} | ${f(report.decode_tok_s[name])} | ${name === 'all' ? '1' : f(report.ratio_to_resident[name], 2)} |`);
}
