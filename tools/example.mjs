#!/usr/bin/env node
// The seed's `memory64-model-test` example, for real, in headless Chromium:
//
//   npm run example -- memory64 [--model FILE] [--shard-cap BYTES] [--working-set N] [--prompt TEXT] [--tokens N] [--compare]
//
// Without --model it writes (once) the synthetic 7B-shaped model (models/synth/llama-7b-q4_k.gguf,
// 4.08 GB) with the project's GGUF writer. The model streams into multi-memory64 storage shards of
// --shard-cap bytes (default 1 GiB), layers are paged into a working set, and the run ends with
// real forward steps: the prompt's logits and N greedy tokens. --compare loads the model a second
// time fully resident (one memory64 region) and checks that the logits are equal. Every line of
// the report is measured from the run.
import { execFile } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { launch, openHarness } from './lib/browser.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DEFAULT_MODEL = path.join(ROOT, 'models/synth/llama-7b-q4_k.gguf');
const USAGE = 'usage: npm run example -- memory64 [--model FILE] [--shard-cap BYTES] [--working-set N] [--prompt TEXT] [--tokens N] [--compare] [--json]';

function parseArgs(argv) {
  const args = { example: argv[0], model: null, shardCap: 2 ** 30, workingSet: undefined, prompt: 'hello world', tokens: 8, compare: false, json: false };
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--model') args.model = argv[++i];
    else if (a === '--shard-cap') args.shardCap = Number(argv[++i]);
    else if (a === '--working-set') args.workingSet = Number(argv[++i]);
    else if (a === '--prompt') args.prompt = argv[++i];
    else if (a === '--tokens') args.tokens = Number(argv[++i]);
    else if (a === '--compare') args.compare = true;
    else if (a === '--json') args.json = true;
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  if (args.example !== 'memory64') throw new Error(USAGE);
  if (!Number.isSafeInteger(args.shardCap) || args.shardCap < 1) throw new Error('--shard-cap needs a byte count');
  return args;
}

/** The synthetic 7B-shaped model, written once. */
async function defaultModel() {
  if (await stat(DEFAULT_MODEL).catch(() => null)) return DEFAULT_MODEL;
  await mkdir(path.dirname(DEFAULT_MODEL), { recursive: true });
  console.error(`writing ${path.relative(ROOT, DEFAULT_MODEL)} (4.08 GB, once)…`);
  await promisify(execFile)('bash', [path.join(ROOT, 'tools/dev/native.sh'), 'synth', '--preset', 'llama-7b-q4_k', '--seed', '7', '--out', DEFAULT_MODEL], { cwd: ROOT });
  return DEFAULT_MODEL;
}

/** In the page: load with `options`, then the forward steps. */
async function runInPage({ url, options, prompt, tokens, keepLogits }) {
  const g = window.gguf64;
  const features = g.detectFeatures();
  const groups = [];
  const start = performance.now();
  const m = await g.loadModel(url, {
    cache: false,
    ...options,
    onProgress: (p) => {
      if (p.phase === 'group') groups.push({ ...p.group, ms: performance.now() - start });
    },
  });
  const loadMs = performance.now() - start;
  const ids = m.tokenize(prompt);
  let t0 = performance.now();
  const logits = m.logits(ids);
  const forwardMs = performance.now() - t0;
  let finite = 0;
  for (const v of logits) if (Number.isFinite(v)) finite += 1;
  const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]).slice(0, 5);
  const top = order.map((id) => ({ id, logit: logits[id], text: m.detokenize([id]) }));
  t0 = performance.now();
  for await (const piece of m.generate(ids, { maxTokens: tokens, ignoreEos: true })) void piece;
  const generateMs = performance.now() - t0;
  const out = {
    features, info: { ...m.info }, summary: m.summary(), groups, loadMs, promptIds: ids, forwardMs,
    nLogits: logits.length, finite, top, generation: { ...m.lastGeneration }, generateMs, pager: m.pagerStats() ?? null,
    logits: keepLogits ? Array.from(logits) : null,
  };
  m.unload();
  return out;
}

const mb = (b) => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : `${(b / 1e6).toFixed(1)} MB`);

function report(r, args, compared) {
  const lines = [];
  const say = (s) => lines.push(s);
  const { info } = r;
  say('🚀 Memory64 Model Loading Test (gguf64, headless Chromium)');
  say('==========================================================');
  say('');
  const summary = r.summary.split('\n');
  const analysis = summary.slice(0, summary.findIndex((l) => l.startsWith('Memory plan')));
  say(`📊 ${analysis[0]}`);
  for (const l of analysis.slice(1)) say(l);
  say('');
  say('🧠 Memory64 Initialization:');
  say(`   ${r.features.memory64 ? '✅' : '❌'} Memory64 ${r.features.memory64 ? 'enabled' : 'missing'} in this browser (${info.build} build)`);
  say(`   ${r.features.multiMemory ? '✅' : '❌'} Multi-memory ${r.features.multiMemory ? 'available' : 'missing'}`);
  const mems = info.layout.memories;
  say(`   ✅ ${info.layout.kind} layout: ${mems.length} memories (${info.fileBytes > 3 * 2 ** 30 ? 'model > 3 GB' : 'model < 3 GB'}, shard cap ${mb(args.shardCap)})`);
  for (const m of mems) {
    const what = m.index === 0 ? `main: ${m.holds.join(', ') || 'no weights'}${info.layout.workingSetLayers ? ` + working set of ${info.layout.workingSetLayers} layers` : ''}` : `storage: layers ${m.layers[0]}–${m.layers.at(-1)}`;
    say(`      memory ${m.index}: ${mb(m.bytes)} (${what})`);
  }
  say('   ✅ Runtime initialized');
  say('');
  say(`📦 Loading Weights (${mb(info.fileBytes)} in ${(r.loadMs / 1000).toFixed(1)} s, ${(info.fileBytes / 1e3 / r.loadMs).toFixed(0)} MB/s):`);
  for (const g of r.groups) {
    const name = g.kind === 'layer' ? `Layer ${g.layer}` : g.kind === 'embeddings' ? 'Embeddings' : 'Output norm + LM head';
    say(`   ✅ ${name} loaded (${mb(g.bytes)}, memory ${g.memory}, at ${(g.ms / 1000).toFixed(2)} s)`);
  }
  say('');
  say('🔗 WASM Integration:');
  say(`   ✅ Host function registered: copyIn(memory, src, dst, len) through the ${r.pager?.bridge ?? 'resident'} bridge`);
  say(`   ✅ Layer loader: ${r.pager ? `${r.pager.misses + r.pager.prefetches} page-ins (${r.pager.prefetches} ahead of use), ${r.pager.hits} hits, ${r.pager.evictions} evictions, ${mb(r.pager.bytesPaged)} copied in ${r.pager.pageMs.toFixed(0)} ms` : 'every layer resident'}`);
  say('');
  say('🎯 Results:');
  say(`   ✅ Forward step: ${r.promptIds.length} prompt tokens in ${(r.forwardMs / 1000).toFixed(2)} s, ${r.finite}/${r.nLogits} finite logits`);
  say(`      top tokens: ${r.top.map((t) => `${t.id} ${JSON.stringify(t.text)} (${t.logit.toFixed(3)})`).join(', ')}`);
  const gen = r.generation;
  say(`   ✅ ${gen.outputIds.length} greedy tokens: ${JSON.stringify(gen.text)} ids [${gen.outputIds.join(', ')}]`);
  say(`      ${(gen.decodeMs / 1000 / Math.max(1, gen.outputIds.length - 1)).toFixed(2)} s per token (${gen.decodeTokS.toFixed(2)} tok/s)`);
  if (compared) say(`   ${compared.equal ? '✅' : '❌'} Logits equal the fully resident run's (${compared.kind}, max |difference| ${compared.maxDiff})`);
  return lines.join('\n');
}

const args = parseArgs(process.argv.slice(2));
const file = path.resolve(args.model ?? await defaultModel());
const session = await launch({ extraMounts: [['/example/', path.dirname(file)]] });
let result;
let compared = null;
try {
  const { page } = await openHarness(session);
  const url = `/example/${encodeURIComponent(path.basename(file))}`;
  result = await page.evaluate(runInPage, { url, options: { layout: 'multi', shardCap: args.shardCap, workingSetLayers: args.workingSet }, prompt: args.prompt, tokens: args.tokens, keepLogits: args.compare });
  if (args.compare) {
    const resident = await page.evaluate(runInPage, { url, options: { layout: 'memory64' }, prompt: args.prompt, tokens: 1, keepLogits: true });
    let maxDiff = 0;
    for (let i = 0; i < resident.logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(resident.logits[i] - result.logits[i]));
    compared = { kind: resident.info.layout.kind, equal: maxDiff === 0, maxDiff };
  }
} finally {
  await session.close();
}
if (args.json) {
  const { logits, ...rest } = result;
  void logits;
  console.log(JSON.stringify({ ...rest, compared }, null, 2));
} else {
  console.log(report(result, args, compared));
}
process.exit(compared && !compared.equal ? 1 : 0);
