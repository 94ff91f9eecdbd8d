#!/usr/bin/env node
// wllama's greedy continuations of the golden prompts, to compare with llama.cpp's
// (tests/golden/llamacpp/<model>.reference.json) and gguf64's: the issue allows gguf64 to differ
// from native llama.cpp only as far as wllama (llama.cpp built to wasm) does.
//
//   node tools/golden/wllama-greedy.mjs [--model FILE ...] [--tokens 32] [--out-dir tests/golden/llamacpp]
//
// Writes <out-dir>/<model stem>.wllama.json for each model (default: both test models):
//   { wllama, llama_cpp, settings, prompts: [{ name, prompt_ids, greedy, eog_index, greedy_text }] }
// - Prompts are tests/golden/llamacpp/prompts.json; a chat prompt (`messages`) uses the rendered
//   `text` of the same prompt in <model stem>.reference.json, and is skipped without that file.
// - `prompt_ids` are llama.cpp's ids of the text (BOS when the model adds one, special tokens
//   parsed), and they are what wllama evaluates: it counts as many prompt tokens, and the last-token
//   embedding of the text equals that of the ids (wllama has no tokenize call; the run fails
//   otherwise). They must also equal the reference file's `prompt_ids` where it has them.
// - `greedy`: plain argmax tokens (temperature 0, top-k 1, no penalties), one thread, context 512,
//   batch 512, F16 KV cache, flash attention off (as the reference). wllama stops after the first
//   end-of-generation token; it is the last id then, and `eog_index` says where (else null). The
//   reference keeps going after it, so compare up to `eog_index` only. The ids are rebuilt from
//   wllama's stream (its logprobs fail on tokens that are not whole UTF-8; see tools/lib/wllama-ids.mjs);
//   a prompt whose ids cannot be rebuilt is listed in `left_out`, not in `prompts`.
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { llamaPromptIds, withTokenizer } from '../bench/wllama.mjs';
import { call, generatedIds, openWllamaPage, tokenizationMatches, wllamaVersion } from '../lib/wllama-driver.mjs';
import { vocabularyBytes } from '../lib/wllama-ids.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GOLDEN = path.join(ROOT, 'tests/golden/llamacpp');
const MODELS = ['models/SmolLM2-135M-Instruct.Q4_1.gguf', 'models/gemma-3-270m-q4_k_m.gguf', 'models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf'];

/** The model's reference file (llama.cpp's golden data), or null. */
function readReference(modelPath) {
  const file = path.join(GOLDEN, `${path.basename(modelPath, '.gguf')}.reference.json`);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
}

/**
 * The prompts to run for one model, as `{ name, text, ids }`: the text prompts of prompts.json, and
 * the chat prompts whose rendered text the reference has. Returns the skipped names and the
 * model's vocabulary as bytes too.
 */
function modelPrompts(modelPath, reference) {
  const { prompts } = JSON.parse(readFileSync(path.join(GOLDEN, 'prompts.json'), 'utf8'));
  return withTokenizer(modelPath, (model) => {
    const chosen = [];
    const skipped = [];
    for (const p of prompts) {
      const ref = reference?.prompts.find((r) => r.name === p.name);
      const text = p.messages ? ref?.text : p.text;
      if (text === undefined) {
        skipped.push(p.name);
        continue;
      }
      const ids = llamaPromptIds(model, text);
      if (ref?.prompt_ids && JSON.stringify(ref.prompt_ids) !== JSON.stringify(ids)) {
        throw new Error(`${p.name}: llama.cpp's ids here differ from the reference file's prompt_ids`);
      }
      chosen.push({ name: p.name, text, ids });
    }
    return { chosen, skipped, vocab: vocabularyBytes(model.fileInfo.metadata) };
  });
}

/** wllama's greedy tokens for each prompt; fails unless it evaluates exactly the ids. */
async function greedyForModel(wp, modelPath, prompts, vocab, tokens) {
  const url = wp.urlOf(modelPath);
  const info = await call(wp.page, 'load', { url, threads: 1 });
  const results = [];
  const unsettled = [];
  for (const p of prompts) {
    const r = await generatedIds(wp.page, vocab, { prompt: p.text, maxTokens: tokens, ignoreEos: false });
    if (r.promptTokens !== p.ids.length) throw new Error(`${p.name}: wllama counts ${r.promptTokens} prompt tokens, llama.cpp ${p.ids.length}`);
    if (!r.complete) {
      // A large vocabulary can cut a stretch of emoji bytes too many ways to settle: the prompt
      // is left out of the file (the tests then hold gguf64 to llama.cpp alone there).
      unsettled.push(`${p.name} (ids not rebuilt after ${r.ids.length})`);
      continue;
    }
    const eog = r.finish === 'stop' ? r.ids.length - 1 : null;
    results.push({ name: p.name, prompt_ids: p.ids, greedy: r.ids, eog_index: eog, greedy_text: r.text });
  }
  const same = await tokenizationMatches(wp.page, url, prompts);
  const bad = prompts.filter((_, i) => !same[i]).map((p) => p.name);
  if (bad.length) throw new Error(`wllama tokenizes differently from llama.cpp: ${bad.join(', ')}`);
  return { info, results, unsettled };
}

/** JSON with one field a line but each list of numbers on one line. */
export function formatJson(value) {
  return `${JSON.stringify(value, null, 1).replace(/\[[\d,\s-]*\]/g, (list) => list.replace(/\s+/g, ''))}\n`;
}

function parseArgs(argv) {
  const args = { models: [], tokens: 32, outDir: GOLDEN };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--model') args.models.push(argv[++i]);
    else if (argv[i] === '--tokens') args.tokens = Number(argv[++i]);
    else if (argv[i] === '--out-dir') args.outDir = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!Number.isInteger(args.tokens) || args.tokens < 1) throw new Error('--tokens needs a positive integer');
  if (args.models.length === 0) args.models = MODELS;
  args.models = args.models.map((m) => path.resolve(ROOT, m));
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const version = await wllamaVersion();
  const wp = await openWllamaPage({ modelDirs: [...new Set(args.models.map((m) => path.dirname(m)))] });
  try {
    for (const modelPath of args.models) {
      const { chosen, skipped, vocab } = await modelPrompts(modelPath, readReference(modelPath));
      const { info, results, unsettled } = await greedyForModel(wp, modelPath, chosen, vocab, args.tokens);
      const out = {
        wllama: version,
        llama_cpp: info.version,
        model: path.basename(modelPath),
        settings: { threads: 1, context: 512, batch: 512, kv_cache: 'f16', flash_attention: false,
          sampling: 'greedy (temperature 0, top-k 1)', max_tokens: args.tokens, stops_at_eog: true },
        prompts: results,
        ...(unsettled.length ? { left_out: unsettled } : {}),
      };
      const file = path.join(args.outDir, `${path.basename(modelPath, '.gguf')}.wllama.json`);
      await writeFile(file, formatJson(out));
      console.log(`${path.relative(ROOT, file)}: ${results.length} prompts${skipped.length ? `, skipped (no reference text): ${skipped.join(', ')}` : ''}${unsettled.length ? `, left out: ${unsettled.join(', ')}` : ''}`);
    }
  } finally {
    await wp.close();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  });
}
