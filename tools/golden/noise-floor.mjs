// How far llama.cpp's own prebuilt CPU build (node-llama-cpp 3.21.1, on the machine at hand) is
// from the portable reference build, under the teacher forcing of the agreement test: the
// measure of "as close as llama.cpp is to itself" (issue #16). Not a test; prints a table.
//
//   node tools/golden/noise-floor.mjs [--model STEM ...] [--json]
//
// For each model's tests/golden/llamacpp/<model>.portable.json and each prompt there, the prompt
// plus the portable build's greedy tokens (but the last) are evaluated in one pass
// (`controlledEvaluate`, a distribution at every position that predicts a greedy token), with
// flash attention off, on, and node-llama-cpp's default ("auto"), one thread, context 512, F16
// cache. Per position: |Δ| of the log-probability of the portable build's top-1 and whether the
// top-1 differs where the portable build's top-1/top-2 gap exceeds 0.01 (the test's rule).
// node-llama-cpp returns softmax probabilities (float32, summed sequentially by its addon); they
// are renormalised in f64 as tools/golden/llamacpp-reference.mjs does, which leaves log-softmax
// exact to ~1e-6.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const MODELS = ['SmolLM2-135M-Instruct.Q4_1', 'gemma-3-270m-q4_k_m', 'qwen2.5-coder-0.5b-instruct-q4_k_m'];
const CONTEXT = 512;
const TIE_GAP = 0.01;
const SETTINGS = [
  { name: 'flash attention off', flashAttention: false },
  { name: 'flash attention on', flashAttention: true },
  { name: 'default (auto)', flashAttention: undefined },
];

/** log-softmax of `id` from the addon's probability map, renormalised in f64; and the argmax. */
function score(probabilities, id) {
  let sum = 0;
  let best = -1;
  let bestP = -1;
  for (const [t, p] of probabilities) {
    sum += p;
    if (p > bestP || (p === bestP && t < best)) [best, bestP] = [t, p];
  }
  return { logprob: Math.log(probabilities.get(id)) - Math.log(sum), top1: best };
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)] ?? 0;
}

async function measure(model, golden, flashAttention) {
  const context = await model.createContext({ contextSize: CONTEXT, batchSize: CONTEXT, threads: 1, flashAttention });
  const sequence = context.getSequence();
  const deltas = [];
  let mismatches = 0;
  try {
    for (const p of golden.prompts) {
      await sequence.clearHistory();
      const ids = [...p.prompt_ids, ...p.greedy.slice(0, -1)];
      const from = p.prompt_ids.length - 1;
      const next = { generateNext: { token: true, probabilities: true, options: { temperature: 0, seed: 0 } } };
      const out = await sequence.controlledEvaluate(ids.map((id, i) => (i >= from ? [id, next] : id)));
      p.positions.forEach((want, k) => {
        const got = score(out[from + k].next.probabilities, want.top1);
        deltas.push(Math.abs(got.logprob - want.logprob));
        if (got.top1 !== want.top1 && want.gap > TIE_GAP) mismatches++;
      });
    }
  } finally {
    await context.dispose();
  }
  return { flashAttention: context.flashAttention, positions: deltas.length, median: median(deltas), max: Math.max(...deltas), mismatches };
}

async function main() {
  const argv = process.argv.slice(2);
  const models = argv.flatMap((a, i) => (argv[i - 1] === '--model' ? [a] : []));
  const llama = await getLlama({ gpu: false, build: 'never', maxThreads: 0, logLevel: LlamaLogLevel.error });
  const rows = [];
  for (const stem of models.length ? models : MODELS) {
    const golden = JSON.parse(readFileSync(join(ROOT, `tests/golden/llamacpp/${stem}.portable.json`), 'utf8'));
    const model = await llama.loadModel({ modelPath: join(ROOT, 'models', golden.file.name) });
    try {
      for (const s of SETTINGS) {
        const r = await measure(model, golden, s.flashAttention);
        rows.push({ model: stem, setting: s.name, ...r });
        console.error(`${stem}, ${s.name} (context says ${r.flashAttention}): ${r.positions} positions, |Δ| median ${r.median.toExponential(2)}, max ${r.max.toExponential(2)}, top-1 mismatches beyond a tie ${r.mismatches}`);
      }
    } finally {
      await model.dispose();
    }
  }
  await llama.dispose();
  if (argv.includes('--json')) console.log(JSON.stringify(rows, null, 1));
}

await main();
