// Reference next-token data from llama.cpp (node-llama-cpp 3.21.1, CPU, prebuilt binary) for
// comparing gguf64's inference with it.
//
//   node tools/golden/llamacpp-reference.mjs <file.gguf> [--out FILE] [--threads N] [--tokens N]
//       every prompt of tests/golden/llamacpp/prompts.json; writes FILE (default: stdout)
//   node tools/golden/llamacpp-reference.mjs --golden
//       both test models -> tests/golden/llamacpp/<model>.reference.json
//   node tools/golden/llamacpp-reference.mjs <file.gguf> --prompt TEXT [--tokens 8] [--json]
//       one raw prompt, same structure (prompts: [one]); without --json a one-line summary
//
// What is measured, per prompt (context 512, batch 512, KV cache F16, flash attention off):
// - `prompt_ids`: BOS when the model adds one (`tokenizer.ggml.add_bos_token`), then
//   tokenize(text, special tokens parsed) -- what llama.cpp evaluates.
// - `first.top`: the 20 most likely tokens at the first generated position, with `logprob` =
//   log-softmax of the raw logits (temperature 1, nothing else) and `logit` = the raw logit.
// - `greedy`, `steps`: 32 plain-argmax tokens (no penalties), each with its logprob and `gap` =
//   logit(top1) - logit(top2). Generation does not stop at an end-of-generation token (the model
//   keeps going); `eog_index` says where the first one is (or null).
// - `flash_attention_logprob`: `first.top[0].logprob` with llama.cpp's flash-attention kernel off
//   and on, to show how far llama.cpp itself moves when only its attention kernel changes.
//
// How the raw distribution is obtained. node-llama-cpp 3.21.1 has no call that returns logits.
// `evaluateWithMetadata(..., {probabilities: true}, {temperature: 0})` builds a sampler chain of
// just llama.cpp's greedy sampler (node-llama-cpp's AddonSampler::rebuildChainIfNeeded puts
// top-k/top-p/min-p/temperature only in the non-greedy chain), which picks the argmax (first
// index, so the lowest id on ties) and leaves the candidates' logits untouched; the addon then
// returns softmax(raw logits) over the whole vocabulary, computed in float32
// (AddonContextSampleTokenWorker). Logprobs are log of those probabilities, so they are exact up
// to float32 rounding, and logprob differences are logit differences.
// The absolute logit (softmax drops the constant) is recovered with llama.cpp's repetition
// penalty, the one sampler that is not shift-invariant: it divides a positive logit by the
// penalty and multiplies a non-positive one. Evaluating the prompt again with token t punished by
// 2 and by 0.5 shifts logprob(t) - logprob(r) (r unpunished) by l(1/2 - 1) and l(2 - 1) when
// l > 0, by l(2 - 1) and l(1/2 - 1) when l <= 0; the sign case whose two estimates agree gives l.
// This is done for the top two tokens; their recovered logits must differ by exactly their
// logprob difference (a check that the probabilities are softmax at temperature 1), and the
// constant logit - logprob is then applied to all top-20 entries.
// Further checks, all fatal: the probabilities cover the whole vocabulary and sum to 1; each
// greedy pick is the argmax; re-evaluating the prompt reproduces the same distribution; a chain of
// top-k = n_vocab, top-p = 1, min-p = 0, temperature = 1 gives the same distribution as greedy.
//
// Chat prompts. llama.cpp in this version (`common_params::use_jinja = true`) renders a model's
// `tokenizer.chat_template` with its own Jinja engine; this script renders it with that engine
// (node-llama-cpp's binding of it, `AddonJinjaRenderer`) and with Python jinja2 (as Hugging Face
// transformers does: sandboxed, trim_blocks, lstrip_blocks) and requires both to agree. As
// llama.cpp does (common/chat.cpp), a leading BOS string is dropped from the rendered text when
// the model adds a BOS token itself, so BOS is never doubled.
// Note: llama.cpp's older C API `llama_chat_apply_template` does NOT run Jinja: it matches the
// template to a built-in format (SmolLM2's to "chatml"), which omits the default system message
// that SmolLM2's Jinja template inserts. That text is recorded as `text_builtin_template`.
// A file without `tokenizer.chat_template` (gemma-3-270m-q4_k_m.gguf has none): llama.cpp would
// fall back to ChatML, which is not Gemma's format; this script uses llama.cpp's built-in "gemma"
// format instead (llama-chat.cpp, LLM_CHAT_TEMPLATE_GEMMA) and says so in `chat_template`.
//
// Reproducibility: one thread (two for files over 1 GB), a fixed seed; two runs give identical
// output.

import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const PROMPTS_FILE = join(ROOT, 'tests/golden/llamacpp/prompts.json');
const GOLDEN_MODELS = ['SmolLM2-135M-Instruct.Q4_1', 'gemma-3-270m-q4_k_m', 'qwen2.5-coder-0.5b-instruct-q4_k_m'];
const LLAMA_CPP = 'node-llama-cpp 3.21.1';
const CONTEXT = 512;
const TOP_N = 20;
const DEFAULT_TOKENS = 32;
/** Files above this run on two threads (the machine has two cores), smaller ones on one. */
const TWO_THREADS_ABOVE = 1 << 30;
/** Penalties used to recover absolute logits (see the header). */
const PENALTY_UP = 2;
const PENALTY_DOWN = 0.5;
/** The addon's float32 normalisation (see toLogprobs) leaves the sum this far from 1 at most. */
const SUM_TOLERANCE = 2e-3;
/** Tolerance of the logit self-checks, in nats (float32 rounding is ~1e-6 for logits ~20). */
const LOGIT_TOLERANCE = 2e-3;

// ---------------------------------------------------------------------------------------------
// Arguments

function usage() {
  console.error(
    'usage: node tools/golden/llamacpp-reference.mjs --golden\n' +
      '       node tools/golden/llamacpp-reference.mjs <file.gguf> [--out FILE] [--threads N] [--tokens N]\n' +
      '       node tools/golden/llamacpp-reference.mjs <file.gguf> --prompt TEXT [--tokens N] [--json]',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const args = { golden: false, modelPath: null, out: null, prompt: null, tokens: null, threads: null, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--golden') args.golden = true;
    else if (a === '--out') args.out = argv[++i];
    else if (a === '--prompt') args.prompt = argv[++i];
    else if (a === '--tokens') args.tokens = Number(argv[++i]);
    else if (a === '--threads') args.threads = Number(argv[++i]);
    else if (a === '--json') args.json = true;
    else if (!a.startsWith('--') && args.modelPath === null) args.modelPath = a;
    else usage();
  }
  if (args.golden === (args.modelPath !== null)) usage();
  if (args.prompt === undefined || args.out === undefined) usage();
  if (args.tokens !== null && !(Number.isInteger(args.tokens) && args.tokens >= 1)) usage();
  if (args.threads !== null && !(Number.isInteger(args.threads) && args.threads >= 1)) usage();
  return args;
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

async function sha256(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Chat formatting

/** Renders a Jinja chat template with Python jinja2 the way transformers does. */
function renderWithPython(template, vars) {
  const script = [
    'import json, sys',
    'from jinja2.sandbox import ImmutableSandboxedEnvironment',
    'a = json.load(sys.stdin)',
    'env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)',
    "sys.stdout.write(env.from_string(a['template']).render(**a['vars']))",
  ].join('\n');
  const run = spawnSync('python3', ['-c', script], { input: JSON.stringify({ template, vars }), encoding: 'utf8' });
  check(run.status === 0, `python jinja2 failed: ${run.stderr}`);
  return run.stdout;
}

/** llama.cpp's built-in formats (llama-chat.cpp) for the two templates the test models use. */
function renderBuiltin(name, messages) {
  if (name === 'chatml') {
    return messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') + '<|im_start|>assistant\n';
  }
  check(name === 'gemma', `no built-in format ${name}`);
  check(messages.every((m) => m.role !== 'system'), 'gemma format: system messages are not handled here');
  const turns = messages.map((m) => `<start_of_turn>${m.role === 'assistant' ? 'model' : m.role}\n${m.content.trim()}<end_of_turn>\n`);
  return turns.join('') + '<start_of_turn>model\n';
}

/** The built-in format llama_chat_apply_template would match a template to (only the ones needed). */
function builtinFor(template) {
  if (template.includes('<|im_start|>')) return 'chatml';
  if (template.includes('<start_of_turn>')) return 'gemma';
  return null;
}

/** The chat text llama.cpp would evaluate for `messages` (see the header). */
function formatChat(llama, model, messages) {
  const template = model.fileInfo.metadata?.tokenizer?.chat_template;
  if (typeof template !== 'string') {
    return { text: renderBuiltin('gemma', messages), chat_template: 'none in file; llama.cpp built-in "gemma" format' };
  }
  const vars = {
    messages,
    add_generation_prompt: true,
    bos_token: model.tokens.bosString ?? '',
    eos_token: model.tokens.eosString ?? '',
  };
  const native = new llama._bindings.AddonJinjaRenderer(template).render(vars);
  const python = renderWithPython(template, vars);
  check(native === python, `llama.cpp Jinja and Python jinja2 disagree:\n${JSON.stringify(native)}\n${JSON.stringify(python)}`);
  let text = native;
  if (model.tokens.shouldPrependBosToken && vars.bos_token !== '' && text.startsWith(vars.bos_token)) {
    text = text.slice(vars.bos_token.length);
  }
  const builtin = builtinFor(template);
  return {
    text,
    chat_template: "file's tokenizer.chat_template, llama.cpp Jinja engine (= Python jinja2)",
    text_builtin_template: builtin === null ? null : renderBuiltin(builtin, messages),
    builtin_template: builtin,
  };
}

// ---------------------------------------------------------------------------------------------
// Distributions

/** Checks a probability map from the addon and turns it into sorted [id, logprob] pairs. */
function toLogprobs(probabilities, nVocab, where) {
  check(probabilities.size === nVocab, `${where}: ${probabilities.size} probabilities for ${nVocab} tokens`);
  let sum = 0;
  for (const [id, p] of probabilities) {
    check(Number.isFinite(p) && p >= 0, `${where}: probability of ${id} is ${p}`);
    sum += p;
  }
  check(Math.abs(sum - 1) < SUM_TOLERANCE, `${where}: probabilities sum to ${sum}`);
  // The addon sums exp(logit - max) in float32 sequentially, which drops ~1e-4 of the total over
  // a large vocabulary; renormalising in f64 removes that constant (each term itself is exact to
  // float32 rounding), so logprobs are log-softmax of the logits to ~1e-6.
  const logSum = Math.log(sum);
  const pairs = [];
  for (const [id, p] of probabilities) pairs.push([id, Math.log(p) - logSum]);
  // Highest first; the lowest id first among equals (llama.cpp's greedy pick).
  pairs.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
  return { pairs, sum };
}

function logprobOf(pairs, id) {
  const hit = pairs.find(([t]) => t === id);
  check(hit !== undefined, `token ${id} missing`);
  return hit[1];
}

/** The largest |difference| of the logprobs of the top `n` of `a` between two distributions. */
function maxDiff(a, b, n) {
  const bMap = new Map(b);
  let worst = 0;
  for (const [id, lp] of a.slice(0, n)) worst = Math.max(worst, Math.abs(lp - bMap.get(id)));
  return worst;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** Evaluates `ids` from an empty sequence and returns the next-token distribution. */
async function firstDistribution(sequence, ids, nVocab, options, where) {
  await sequence.clearHistory();
  const last = ids.length - 1;
  const input = ids.map((id, i) => (i === last ? [id, { generateNext: { token: true, probabilities: true, options } }] : id));
  const out = await sequence.controlledEvaluate(input);
  const next = out[last]?.next;
  check(next?.probabilities !== undefined, `${where}: no distribution`);
  return { token: next.token, ...toLogprobs(next.probabilities, nVocab, where) };
}

/** Greedy generation of `n` tokens with the full distribution at each step. */
async function greedyRun(model, sequence, ids, nVocab, n) {
  await sequence.clearHistory();
  const steps = [];
  let first = null;
  const options = { temperature: 0, seed: 0, yieldEogToken: true };
  for await (const out of sequence.evaluateWithMetadata(ids, { probabilities: true }, options)) {
    const where = `greedy step ${steps.length}`;
    const { pairs, sum } = toLogprobs(out.probabilities, nVocab, where);
    check(out.token === pairs[0][0], `${where}: pick ${out.token} is not the argmax ${pairs[0][0]}`);
    if (first === null) first = { pairs, sum };
    steps.push({ id: out.token, logprob: pairs[0][1], gap: pairs[0][1] - pairs[1][1], eog: model.isEogToken(out.token) });
    if (steps.length >= n) break;
  }
  check(steps.length === n, `generated ${steps.length} of ${n} tokens`);
  return { first, steps };
}

/**
 * Recovers the absolute logit of `token` from how a repetition penalty moves its logprob against
 * the unpunished `reference` (see the header). Returns { logit, disagreement }.
 */
async function recoverLogit(sequence, ids, nVocab, base, token, reference) {
  const baseDiff = logprobOf(base, token) - logprobOf(base, reference);
  const shifts = [];
  for (const penalty of [PENALTY_UP, PENALTY_DOWN]) {
    const options = { temperature: 0, repeatPenalty: { punishTokens: [token], penalty, maxPunishTokens: 1 } };
    const { pairs } = await firstDistribution(sequence, ids, nVocab, options, `penalty ${penalty} on ${token}`);
    shifts.push(logprobOf(pairs, token) - logprobOf(pairs, reference) - baseDiff);
    // Unpunished tokens keep their differences: the prompt evaluated to the same logits again.
    const others = base.filter(([t]) => t !== token).slice(0, 5);
    const drift = others.map(([t, lp]) => lp - others[0][1] - (logprobOf(pairs, t) - logprobOf(pairs, others[0][0])));
    check(drift.every((d) => Math.abs(d) < LOGIT_TOLERANCE), `penalty ${penalty}: unpunished tokens moved: ${drift}`);
  }
  const [up, down] = shifts; // up: penalty 2, down: penalty 0.5
  const positive = [up / (1 / PENALTY_UP - 1), down / (1 / PENALTY_DOWN - 1)];
  const negative = [up / (PENALTY_UP - 1), down / (PENALTY_DOWN - 1)];
  const spread = ([a, b]) => Math.abs(a - b);
  const pick = spread(positive) <= spread(negative) ? positive : negative;
  const logit = (pick[0] + pick[1]) / 2;
  check(spread(pick) < LOGIT_TOLERANCE, `logit of ${token}: estimates ${pick} disagree`);
  check(pick === positive ? logit > -LOGIT_TOLERANCE : logit < LOGIT_TOLERANCE, `logit of ${token}: sign case inconsistent`);
  return { logit, disagreement: spread(pick) };
}

/** The constant logit - logprob at the first position, checked on the top two tokens. */
async function logitOffset(sequence, ids, nVocab, base) {
  const [[t1, lp1], [t2, lp2], [t3]] = base;
  const a = await recoverLogit(sequence, ids, nVocab, base, t1, t2);
  const b = await recoverLogit(sequence, ids, nVocab, base, t2, t3);
  const mismatch = Math.abs(a.logit - b.logit - (lp1 - lp2));
  check(mismatch < LOGIT_TOLERANCE, `logit difference ${a.logit - b.logit} != logprob difference ${lp1 - lp2}`);
  return { offset: a.logit - lp1, check: { logit_diff_minus_logprob_diff: mismatch, disagreement: Math.max(a.disagreement, b.disagreement) } };
}

/** The chat fields recorded beside `text`. */
function chatFields(messages, { chat_template, text_builtin_template, builtin_template }) {
  return { messages, chat_template, text_builtin_template, builtin_template };
}

/** Everything recorded for one prompt. */
async function referenceFor(ctx, prompt, nTokens) {
  const { llama, model, sequence, flashSequence, nVocab } = ctx;
  const chat = prompt.messages ? formatChat(llama, model, prompt.messages) : null;
  const text = chat ? chat.text : prompt.text;
  const ids = [...(model.tokens.shouldPrependBosToken ? [model.tokens.bos] : []), ...model.tokenize(text, true)];
  check(ids.length > 0 && ids.length <= CONTEXT - nTokens, `${prompt.name}: ${ids.length} prompt tokens`);
  if (model.tokens.shouldPrependBosToken) check(ids[1] !== model.tokens.bos, `${prompt.name}: BOS doubled`);

  const { first, steps } = await greedyRun(model, sequence, ids, nVocab, nTokens);
  const again = await firstDistribution(sequence, ids, nVocab, { temperature: 0 }, 'repeat');
  check(maxDiff(first.pairs, again.pairs, nVocab) === 0, `${prompt.name}: re-evaluation differs`);
  const temp1 = await firstDistribution(sequence, ids, nVocab, { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 0 }, 'temperature 1');
  const temp1Diff = maxDiff(first.pairs, temp1.pairs, nVocab);
  check(temp1Diff < 1e-5, `${prompt.name}: temperature-1 chain differs from raw by ${temp1Diff}`);
  const { offset, check: logitCheck } = await logitOffset(sequence, ids, nVocab, first.pairs);
  const flash = await firstDistribution(flashSequence, ids, nVocab, { temperature: 0 }, 'flash attention');

  const greedy = steps.map((s) => s.id);
  const eogIndex = steps.findIndex((s) => s.eog);
  const round = (x) => Number(x.toFixed(6));
  return {
    name: prompt.name,
    kind: prompt.kind,
    text,
    ...(chat ? chatFields(prompt.messages, chat) : {}),
    prompt_ids: ids,
    first: {
      top: first.pairs.slice(0, TOP_N).map(([id, lp]) => ({ id, logit: round(lp + offset), logprob: round(lp) })),
      probability_sum: round(first.sum),
    },
    greedy,
    greedy_text: model.detokenize(greedy, true),
    eog_index: eogIndex < 0 ? null : eogIndex,
    steps: steps.map((s) => ({ id: s.id, logprob: round(s.logprob), gap: round(s.gap) })),
    flash_attention_logprob: { off: round(first.pairs[0][1]), on: round(logprobOf(flash.pairs, first.pairs[0][0])) },
    flash_attention_top20_max_abs_diff: round(maxDiff(first.pairs, flash.pairs, TOP_N)),
    checks: {
      temperature1_chain_max_abs_diff: temp1Diff,
      logit_recovery: logitCheck,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Driver

/** Loads the model and runs `prompts`; returns the whole reference object. */
async function run(modelPath, prompts, { tokens, threads }) {
  threads ??= statSync(modelPath).size > TWO_THREADS_ABOVE ? 2 : 1;
  const llama = await getLlama({ gpu: false, build: 'never', maxThreads: 0, logLevel: LlamaLogLevel.error });
  let model = null;
  const contexts = [];
  try {
    model = await llama.loadModel({ modelPath });
    const nVocab = model.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length;
    check(Number.isInteger(nVocab) && nVocab > 0, 'no tokenizer.ggml.tokens in the file');
    const make = async (flashAttention) => {
      const c = await model.createContext({ contextSize: CONTEXT, batchSize: CONTEXT, threads, flashAttention });
      contexts.push(c);
      check(c.contextSize === CONTEXT, `context size ${c.contextSize}`);
      check(c.flashAttention === flashAttention, `flash attention ${c.flashAttention}, asked ${flashAttention}`);
      return c.getSequence();
    };
    const ctx = { llama, model, nVocab, sequence: await make(false), flashSequence: await make(true) };
    const results = [];
    for (const prompt of prompts) results.push(await referenceFor(ctx, prompt, tokens));
    return {
      model: basename(modelPath),
      sha256: await sha256(modelPath),
      llama_cpp: LLAMA_CPP,
      threads,
      context: CONTEXT,
      batch: CONTEXT,
      kv_cache: 'f16',
      flash_attention: false,
      n_vocab: nVocab,
      bos: model.tokens.bos,
      add_bos: model.tokens.shouldPrependBosToken,
      prompts: results,
    };
  } finally {
    for (const c of contexts) await c.dispose();
    await model?.dispose();
    await llama.dispose();
  }
}

function loadPrompts() {
  return JSON.parse(readFileSync(PROMPTS_FILE, 'utf8')).prompts;
}

const args = parseArgs(process.argv.slice(2));
try {
  if (args.golden) {
    for (const name of GOLDEN_MODELS) {
      const result = await run(join(ROOT, 'models', `${name}.gguf`), loadPrompts(), { tokens: args.tokens ?? DEFAULT_TOKENS, threads: args.threads });
      const out = join(ROOT, 'tests/golden/llamacpp', `${name}.reference.json`);
      writeFileSync(out, JSON.stringify(result, null, 1) + '\n');
      console.log(`llamacpp-reference: wrote ${out}`);
    }
  } else if (args.prompt !== null) {
    const prompt = { name: 'prompt', kind: 'raw', text: args.prompt };
    const result = await run(args.modelPath, [prompt], { tokens: args.tokens ?? 8, threads: args.threads });
    if (args.json) console.log(JSON.stringify(result));
    else {
      const p = result.prompts[0];
      console.log(`llamacpp-reference: ${result.model}: ${JSON.stringify(p.greedy)} ${JSON.stringify(p.greedy_text)} first ${JSON.stringify(p.first.top[0])}`);
    }
  } else {
    const result = await run(args.modelPath, loadPrompts(), { tokens: args.tokens ?? DEFAULT_TOKENS, threads: args.threads });
    const text = JSON.stringify(result, null, 1) + '\n';
    if (args.out) writeFileSync(args.out, text);
    else process.stdout.write(text);
  }
} catch (e) {
  console.error(`llamacpp-reference: FAIL: ${e?.stack ?? e}`);
  process.exitCode = 1;
}
