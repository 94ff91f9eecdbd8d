// Loads a GGUF file with llama.cpp (node-llama-cpp, CPU only), evaluates a short prompt and
// greedily generates N tokens, asserting that every next-token distribution is finite and
// normalised (so the logits were finite) and that each greedy pick is its argmax.
//
//   node tests/llamacpp/synth_loads.mjs <file.gguf> [--tokens N] [--threads N] [--json]
//
// Exits 0 on success, 1 on any failure (including a load error or a 120 s watchdog), 2 on bad
// arguments. Evaluation goes through `sequence.evaluateWithMetadata` rather than
// `LlamaCompletion.generateCompletion`, which spends tens of seconds in its own machinery.

import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const WATCHDOG_MS = 120_000;
const PROMPT = 'hello world';
/** Files smaller than this run on one thread: llama.cpp's thread pool costs more than it gives
 * on a tiny model (8 tokens: 0.1 s on one thread, 2-8 s on the default pool of a busy 2-core
 * machine). */
const ONE_THREAD_BELOW = 256 << 20;

function parseArgs(argv) {
  const args = { modelPath: null, tokens: 8, threads: null, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--tokens') args.tokens = Number(argv[++i]);
    else if (a === '--threads') args.threads = Number(argv[++i]);
    else if (a === '--json') args.json = true;
    else if (!a.startsWith('--') && args.modelPath === null) args.modelPath = a;
    else return null;
  }
  if (!args.modelPath || !Number.isInteger(args.tokens) || args.tokens < 1) return null;
  if (args.threads !== null && !(Number.isInteger(args.threads) && args.threads >= 1)) return null;
  return args;
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

/** Checks one next-token distribution; returns its argmax. */
function checkDistribution(probabilities, nVocab, step) {
  let sum = 0;
  let best = -1;
  let bestP = -Infinity;
  for (const [token, p] of probabilities) {
    check(Number.isFinite(p) && p >= 0, `step ${step}: probability of token ${token} is ${p}`);
    check(Number.isInteger(token) && token >= 0 && token < nVocab, `step ${step}: token ${token} out of range`);
    sum += p;
    if (p > bestP) [best, bestP] = [token, p];
  }
  check(probabilities.size === nVocab, `step ${step}: ${probabilities.size} probabilities for ${nVocab} tokens`);
  check(Math.abs(sum - 1) < 1e-3, `step ${step}: probabilities sum to ${sum}`);
  return { best, bestP };
}

async function run({ modelPath, tokens: nTokens, threads }) {
  const t0 = performance.now();
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
  let model = null;
  let context = null;
  try {
    model = await llama.loadModel({ modelPath });
    const loadMs = performance.now() - t0;
    const nVocab = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length;
    check(Number.isInteger(nVocab) && nVocab > 0, 'no tokenizer.ggml.tokens in the file');
    threads ??= statSync(modelPath).size < ONE_THREAD_BELOW ? 1 : availableParallelism();
    const contextSize = Math.min(256, model.trainContextSize);
    context = await model.createContext({ contextSize, threads });
    const sequence = context.getSequence();
    const prompt = [...(model.tokens.bos === null ? [] : [model.tokens.bos]), ...model.tokenize(PROMPT)];
    check(prompt.length > 1, `prompt tokenized to ${prompt.length} tokens`);

    const t1 = performance.now();
    const generated = [];
    const options = { temperature: 0 };
    for await (const out of sequence.evaluateWithMetadata(prompt, { probabilities: true }, options)) {
      const { best } = checkDistribution(out.probabilities, nVocab, generated.length);
      check(out.token === best, `step ${generated.length}: greedy pick ${out.token} is not the argmax ${best}`);
      generated.push(out.token);
      if (generated.length >= nTokens) break;
    }
    check(generated.length === nTokens, `generated ${generated.length} of ${nTokens} tokens`);
    return {
      modelPath,
      nVocab,
      prompt,
      generated,
      text: model.detokenize(generated),
      threads,
      loadMs: Math.round(loadMs),
      evalMs: Math.round(performance.now() - t1),
    };
  } finally {
    await context?.dispose();
    await model?.dispose();
    await llama.dispose();
  }
}

const args = parseArgs(process.argv.slice(2));
if (args === null) {
  console.error('usage: node tests/llamacpp/synth_loads.mjs <file.gguf> [--tokens N] [--threads N] [--json]');
  process.exit(2);
}
const watchdog = setTimeout(() => {
  console.error(`synth_loads: FAIL: no result after ${WATCHDOG_MS / 1000} s`);
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();
try {
  const result = await run(args);
  if (args.json) console.log(JSON.stringify(result));
  else {
    console.log(
      `synth_loads: ok: ${result.modelPath}: loaded in ${result.loadMs} ms, ` +
        `${result.generated.length} tokens in ${result.evalMs} ms: ${JSON.stringify(result.generated)}`,
    );
  }
  process.exitCode = 0;
} catch (e) {
  console.error(`synth_loads: FAIL: ${e?.stack ?? e}`);
  process.exitCode = 1;
}
