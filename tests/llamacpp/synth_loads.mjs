// Loads a GGUF file with llama.cpp (node-llama-cpp, CPU only, flash attention off, the kernel
// gguf64 follows, unless --flash-attention), evaluates a short prompt and greedily generates N
// tokens, asserting that every next-token distribution is finite and normalised (so the logits
// were finite) and that each greedy pick is its argmax. With --json it prints the prompt ids, the generated ids, and for each
// step llama.cpp's own top-2 log-probability gap (how close its greedy pick was to a tie), and the
// TOP most likely tokens of the first step with their log-probabilities.
//
//   node tests/llamacpp/synth_loads.mjs <file.gguf> [--tokens N] [--threads N] [--timeout S] [--flash-attention] [--json]
//
// Exits 0 on success, 1 on any failure (including a load error or the watchdog, 120 s unless
// --timeout), 2 on bad arguments. Evaluation goes through `sequence.evaluateWithMetadata` rather than
// `LlamaCompletion.generateCompletion`, which spends tens of seconds in its own machinery.

import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const WATCHDOG_S = 120;
/** Tokens of the first step reported with their log-probabilities. */
const TOP = 8;
const PROMPT = 'hello world';
/** Files smaller than this run on one thread: llama.cpp's thread pool costs more than it gives
 * on a tiny model (8 tokens: 0.1 s on one thread, 2-8 s on the default pool of a busy 2-core
 * machine). */
const ONE_THREAD_BELOW = 256 << 20;

function parseArgs(argv) {
  const args = { modelPath: null, tokens: 8, threads: null, timeout: WATCHDOG_S, flashAttention: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--tokens') args.tokens = Number(argv[++i]);
    else if (a === '--threads') args.threads = Number(argv[++i]);
    else if (a === '--timeout') args.timeout = Number(argv[++i]);
    else if (a === '--json') args.json = true;
    else if (a === '--flash-attention') args.flashAttention = true;
    else if (!a.startsWith('--') && args.modelPath === null) args.modelPath = a;
    else return null;
  }
  if (!args.modelPath || !Number.isInteger(args.tokens) || args.tokens < 1) return null;
  if (args.threads !== null && !(Number.isInteger(args.threads) && args.threads >= 1)) return null;
  if (!(args.timeout > 0)) return null;
  return args;
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

/**
 * Checks one next-token distribution; returns its argmax, the gap between the log-probabilities
 * of its two most likely tokens (equal to their logit gap) and its `TOP` most likely tokens.
 */
function checkDistribution(probabilities, nVocab, step) {
  let sum = 0;
  const top = []; // the TOP most likely, descending
  for (const [token, p] of probabilities) {
    check(Number.isFinite(p) && p >= 0, `step ${step}: probability of token ${token} is ${p}`);
    check(Number.isInteger(token) && token >= 0 && token < nVocab, `step ${step}: token ${token} out of range`);
    sum += p;
    if (top.length < TOP || p > top[top.length - 1].p) {
      const at = top.findIndex((t) => p > t.p);
      top.splice(at === -1 ? top.length : at, 0, { id: token, p });
      top.length = Math.min(top.length, TOP);
    }
  }
  check(probabilities.size === nVocab, `step ${step}: ${probabilities.size} probabilities for ${nVocab} tokens`);
  // The addon computes them in float32: each probability and their normaliser carry rounding of
  // about 2^-24 relative, which a sum over a 256k vocabulary (Gemma's) grows to ~1e-3.
  const slack = 1e-3 + nVocab * 2 ** -23;
  check(Math.abs(sum - 1) < slack, `step ${step}: probabilities sum to ${sum}`);
  return {
    best: top[0].id,
    gap: Math.log(top[0].p) - Math.log(top[1].p),
    top: top.map(({ id, p }) => ({ id, logprob: Math.log(p) })),
  };
}

async function run({ modelPath, tokens: nTokens, threads, flashAttention }) {
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
    context = await model.createContext({ contextSize, threads, flashAttention });
    const sequence = context.getSequence();
    const prompt = [...(model.tokens.bos === null ? [] : [model.tokens.bos]), ...model.tokenize(PROMPT)];
    check(prompt.length > 1, `prompt tokenized to ${prompt.length} tokens`);

    const t1 = performance.now();
    const generated = [];
    const gaps = [];
    let firstTop = null;
    const options = { temperature: 0 };
    for await (const out of sequence.evaluateWithMetadata(prompt, { probabilities: true }, options)) {
      const { best, gap, top } = checkDistribution(out.probabilities, nVocab, generated.length);
      check(out.token === best, `step ${generated.length}: greedy pick ${out.token} is not the argmax ${best}`);
      firstTop ??= top;
      generated.push(out.token);
      gaps.push(gap);
      if (generated.length >= nTokens) break;
    }
    check(generated.length === nTokens, `generated ${generated.length} of ${nTokens} tokens`);
    return {
      modelPath,
      nVocab,
      prompt,
      generated,
      gaps,
      firstTop,
      text: model.detokenize(generated),
      threads,
      flashAttention,
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
  console.error('usage: node tests/llamacpp/synth_loads.mjs <file.gguf> [--tokens N] [--threads N] [--timeout S] [--flash-attention] [--json]');
  process.exit(2);
}
const watchdog = setTimeout(() => {
  console.error(`synth_loads: FAIL: no result after ${args.timeout} s`);
  process.exit(1);
}, args.timeout * 1000);
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
