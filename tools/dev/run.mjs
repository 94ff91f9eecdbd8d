#!/usr/bin/env node
// Headless runner: loads a model in headless Chromium (or Firefox: --browser firefox) through the
// public API.
//
// Default mode: prints one JSON object (or a short summary without --json).
//   node tools/dev/run.mjs --model models/SmolLM2-135M-Instruct.Q4_1.gguf --json
//   node tools/dev/run.mjs --model http://127.0.0.1:8080/models/x.gguf --build wasm32
//
// `memory64` mode: the seed's `memory64-model-test` example, for real (`npm run example -- memory64`).
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

import { launch, openHarness } from '../lib/browser.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SYNTH_7B = path.join(ROOT, 'models/synth/llama-7b-q4_k.gguf');

const USAGE = `usage: node tools/dev/run.mjs --model <path|url> [--json] [--verify] [--build auto|wasm64|wasm32]
       [--layout auto|standard|memory64|paged|multi] [--shard-cap BYTES] [--budget BYTES] [--working-set N]
       [--profile DIR [--port N]] [--no-cache] [--browser chromium|firefox] [--threads N|auto [--isolated] [--transport T]]
       [--prompt TEXT [--chat] [--max-tokens N] [--temperature T] [--seed S] [--top-k K] [--top-p P]
        [--min-p P] [--repeat-penalty R] [--context N]]
       node tools/dev/run.mjs memory64 [--model FILE] [--shard-cap BYTES] [--working-set N] [--prompt TEXT]
        [--tokens N] [--compare] [--json]        (npm run example -- memory64 …)
  --prompt       generate from TEXT and add prompt_ids, output_ids, text, finish, prompt_tok_s,
                 decode_tok_s (and pager statistics for a paged layout); --chat formats TEXT as a
                 user turn with the model's chat template; --temperature 0 (default) is greedy
  --browser      the headless browser (default chromium, or GGUF64_BROWSER); the JSON's
                 \`browser\` names it with its version
  --threads      load through the worker API, split over N worker threads (or 'auto'); the JSON
                 adds threads, transport and cross_origin_isolated (and thread_times). Without it
                 the model runs on the page's thread, as before
  --isolated     serve the page with COOP/COEP headers (cross-origin isolated: the threads meet in
                 shared memory unless --transport message-channel)
  --verify       add tensor_sha256: SHA-256 of every tensor's bytes read back from memory
  --profile DIR  reuse this browser profile (and its model cache) instead of a fresh one;
                 the page origin must stay the same for the cache to apply, so the server
                 listens on --port (default 8765)
  memory64       the seed's example: the model (default: the synthetic 7B-shaped one, written once)
                 in storage shards of --shard-cap bytes (default 1 GiB), a report of every step,
                 the prompt's logits and --tokens greedy tokens (default 8); --compare loads it
                 again fully resident and checks the logits are equal`;

function parseArgs(argv) {
  if (argv[0] === 'memory64') return parseExampleArgs(argv.slice(1));
  const args = { mode: 'report', json: false, verify: false, cache: true, build: 'auto', layout: 'auto', generate: { maxTokens: 32 } };
  const bytes = (flag, v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${flag} needs a positive byte count, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--verify') args.verify = true;
    else if (a === '--no-cache') args.cache = false;
    else if (a === '--profile') args.profile = argv[++i];
    else if (a === '--port') args.port = Number(argv[++i]);
    else if (a === '--model') args.model = argv[++i];
    else if (a === '--browser') args.browser = argv[++i];
    else if (a === '--threads') args.threads = argv[++i] === 'auto' ? 'auto' : Number(argv[i]);
    else if (a === '--isolated') args.isolated = true;
    else if (a === '--transport') args.transport = argv[++i];
    else if (a === '--build') args.build = argv[++i];
    else if (a === '--layout') args.layout = argv[++i];
    else if (a === '--shard-cap') args.shardCap = bytes(a, argv[++i]);
    else if (a === '--budget') args.memoryBudget = bytes(a, argv[++i]);
    else if (a === '--working-set') args.workingSetLayers = bytes(a, argv[++i]);
    else if (a === '--prompt') args.prompt = argv[++i];
    else if (a === '--chat') args.chat = true;
    else if (a === '--max-tokens') args.generate.maxTokens = bytes(a, argv[++i]);
    else if (a === '--context') args.generate.contextLength = bytes(a, argv[++i]);
    else if (a === '--top-k') args.generate.topK = Number(argv[++i]);
    else if (a === '--temperature') args.generate.temperature = Number(argv[++i]);
    else if (a === '--seed') args.generate.seed = Number(argv[++i]);
    else if (a === '--top-p') args.generate.topP = Number(argv[++i]);
    else if (a === '--min-p') args.generate.minP = Number(argv[++i]);
    else if (a === '--repeat-penalty') args.generate.repeatPenalty = Number(argv[++i]);
    else if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  if (!args.model) throw new Error(USAGE);
  if (args.browser !== undefined && !['chromium', 'firefox'].includes(args.browser)) throw new Error(`--browser must be chromium or firefox\n${USAGE}`);
  return args;
}

/** Arguments of the `memory64` mode (the seed's example). */
function parseExampleArgs(argv) {
  const args = { mode: 'memory64', model: null, shardCap: 2 ** 30, workingSet: undefined, prompt: 'hello world', tokens: 8, compare: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--model') args.model = argv[++i];
    else if (a === '--shard-cap') args.shardCap = Number(argv[++i]);
    else if (a === '--working-set') args.workingSet = Number(argv[++i]);
    else if (a === '--prompt') args.prompt = argv[++i];
    else if (a === '--tokens') args.tokens = Number(argv[++i]);
    else if (a === '--compare') args.compare = true;
    else if (a === '--json') args.json = true;
    else if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
    else throw new Error(`unknown argument ${a} for memory64\n${USAGE}`);
  }
  if (!Number.isSafeInteger(args.shardCap) || args.shardCap < 1) throw new Error('--shard-cap needs a byte count');
  return args;
}

/** A local file is served from its own folder under /run-model/; a URL is used as given. */
async function modelLocation(model) {
  if (/^https?:\/\//.test(model)) return { mounts: [], urlPath: model };
  const file = path.resolve(model);
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) throw new Error(`no such model file: ${model}`);
  return { mounts: [['/run-model/', path.dirname(file)]], urlPath: `/run-model/${encodeURIComponent(path.basename(file))}` };
}

/** Runs in the page: loads the model and measures what the JSON reports. */
async function loadInPage({ url, options, verify, prompt, generate }) {
  // With threads: the package's entry, in its worker; every method then answers a promise.
  const { loadModel } = options.threads === undefined ? window.gguf64 : window.gguf64pkg;
  const start = performance.now();
  let firstLayerMs = null;
  let layers = 0;
  let groups = 0;
  try {
    const m = await loadModel(url, {
      ...options,
      onProgress: (p) => {
        if (p.phase !== 'group') return;
        groups += 1;
        if (p.group.kind === 'layer') {
          layers += 1;
          firstLayerMs ??= performance.now() - start;
        }
      },
    });
    const i = m.info;
    const result = {
      build: i.build,
      model: { arch: i.arch, name: i.name, n_layers: i.nLayers, n_tensors: i.nTensors, file_bytes: i.fileBytes },
      load: {
        bytes: i.fileBytes,
        ms: Math.round(i.loadMs),
        mb_per_s: Math.round(i.fileBytes / 1e3 / i.loadMs),
        first_layer_ms: firstLayerMs === null ? null : Math.round(firstLayerMs),
        from_cache: i.cache?.bytesFromCache ?? 0,
      },
      layers_registered: layers,
      groups_registered: groups,
      layout: {
        kind: i.layout.kind,
        memories: i.layout.memories.map((mem) => ({ index: mem.index, bytes: mem.bytes, layers: mem.layers, holds: mem.holds })),
        working_set_layers: i.layout.workingSetLayers,
      },
      threads: i.parallel.threads,
      transport: i.parallel.transport,
      cross_origin_isolated: i.parallel.crossOriginIsolated,
    };
    if (verify) {
      result.tensor_sha256 = await m.tensorSha256();
      // One pass over the layers through the pager (a paged layout copies each one in).
      const { acquireLayer, releaseLayer } = window.gguf64testing;
      for (let layer = 0; layer < (i.nLayers ?? 0); layer++) {
        await acquireLayer(m, layer);
        await releaseLayer(m, layer);
      }
      result.pager = (await m.pagerStats()) ?? null;
    }
    if (prompt !== undefined) {
      for await (const piece of m.generate(prompt, generate)) void piece;
      const g = m.lastGeneration;
      Object.assign(result, {
        prompt_ids: g.promptIds, output_ids: g.outputIds, text: g.text, finish: g.finish,
        prompt_tok_s: Number(g.promptTokS.toFixed(2)), decode_tok_s: Number(g.decodeTokS.toFixed(2)),
      });
      if (g.threadTimes) result.thread_times = g.threadTimes;
      result.pager = (await m.pagerStats()) ?? null;
    }
    await m.unload();
    return result;
  } catch (err) {
    return { error: { code: err.code, message: err.message, offset: err.offset ?? null } };
  }
}

async function runReport(args) {
  const { mounts, urlPath } = await modelLocation(args.model);
  const port = args.profile ? (args.port ?? 8765) : 0;
  const session = await launch({ extraMounts: mounts, profileDir: args.profile, port, browser: args.browser, isolated: args.isolated });
  try {
    const { page } = await openHarness(session);
    const url = urlPath.startsWith('http') ? urlPath : `${session.server.url}${urlPath}`;
    const options = { build: args.build, layout: args.layout, shardCap: args.shardCap, memoryBudget: args.memoryBudget,
      workingSetLayers: args.workingSetLayers, cache: args.cache, threads: args.threads, transport: args.transport };
    const baseline = await session.rssBytes();
    const result = { browser: session.browserVersion, ...await page.evaluate(loadInPage, { url, options, verify: args.verify, prompt: args.prompt,
      generate: { ...args.generate, chat: args.chat ?? false } }) };
    if (result.load) {
      // The renderer's peak resident set (VmHWM, as Linux reports it) and its size before the
      // load: peak - baseline is what the load cost, to compare with the model's bytes.
      result.load.peak_bytes = await session.peakBytes();
      result.load.baseline_bytes = baseline;
    }
    return result;
  } finally {
    await session.close();
  }
}

/** The synthetic 7B-shaped model, written once. */
async function syntheticModel() {
  if (await stat(SYNTH_7B).catch(() => null)) return SYNTH_7B;
  await mkdir(path.dirname(SYNTH_7B), { recursive: true });
  console.error(`writing ${path.relative(ROOT, SYNTH_7B)} (4.08 GB, once)…`);
  await promisify(execFile)('bash', [path.join(ROOT, 'tools/dev/native.sh'), 'synth', '--preset', 'llama-7b-q4_k', '--seed', '7', '--out', SYNTH_7B], { cwd: ROOT });
  return SYNTH_7B;
}

/** In the page: load with `options`, then the forward steps. */
async function exampleInPage({ url, options, prompt, tokens, keepLogits }) {
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

function exampleReport(r, args, compared) {
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

/** The `memory64` mode: loads into storage shards, runs the forward steps, prints the seed's report. */
async function runExample(args) {
  const { mounts, urlPath } = await modelLocation(args.model ?? await syntheticModel());
  const session = await launch({ extraMounts: mounts });
  let result;
  let compared = null;
  try {
    const { page } = await openHarness(session);
    const url = urlPath.startsWith('http') ? urlPath : `${session.server.url}${urlPath}`;
    result = await page.evaluate(exampleInPage, { url, options: { layout: 'multi', shardCap: args.shardCap, workingSetLayers: args.workingSet }, prompt: args.prompt, tokens: args.tokens, keepLogits: args.compare });
    if (args.compare) {
      const resident = await page.evaluate(exampleInPage, { url, options: { layout: 'memory64' }, prompt: args.prompt, tokens: 1, keepLogits: true });
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
    console.log(exampleReport(result, args, compared));
  }
  return compared && !compared.equal ? 1 : 0;
}

/** The default mode: one JSON object (or a short summary). */
function printReport(args, result) {
  if (args.json) console.log(JSON.stringify(result, null, 2));
  else if (result.error) console.log(`error ${result.error.code}: ${result.error.message}`);
  else {
    const { build, model: m, load, layout } = result;
    console.log(`${m.arch} · ${m.n_layers} layers · ${m.n_tensors} tensors · ${load.bytes} bytes in ${load.ms} ms (${build})`);
    console.log(`layout ${layout.kind}: ${layout.memories.map((mem) => `memory ${mem.index} ${(mem.bytes / 1e6).toFixed(1)} MB, ${mem.layers.length} layers`).join('; ')}`);
    if (result.text !== undefined) {
      console.log(`${result.prompt_ids.length} prompt tokens at ${result.prompt_tok_s} tok/s, ${result.output_ids.length} generated at ${result.decode_tok_s} tok/s (${result.finish})`);
      console.log(result.text);
    }
  }
  return result.error ? 1 : 0;
}

try {
  const args = parseArgs(process.argv.slice(2));
  process.exit(args.mode === 'memory64' ? await runExample(args) : printReport(args, await runReport(args)));
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
