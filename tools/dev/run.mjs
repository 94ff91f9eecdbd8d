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
// time fully resident (one memory64 region) and checks that the logits are equal. --preset
// llama-17g writes and runs a model larger than one memory's 16 GiB instead (the plan chooses
// the layout), and --reference checks every position against the portable llama.cpp build.
// Every line of the report is measured from the run.
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { launch, openHarness } from '../lib/browser.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SYNTH_DIR = path.join(ROOT, 'models/synth');
const PORTABLE_PYTHON = path.join(ROOT, '.setup/llamacpp-portable/bin/python');
/** Largest |difference| of a log-probability from llama.cpp's that counts as equal (its golden
 * files keep 6 decimals; gguf64 repeats ggml's arithmetic, so real models differ by 5e-7). */
const REFERENCE_TOLERANCE = 1e-4;

const USAGE = `usage: node tools/dev/run.mjs --model <path|url> [--json] [--verify] [--build auto|wasm64|wasm32]
       [--layout auto|standard|memory64|paged|multi|disk] [--shard-cap BYTES] [--budget BYTES] [--memory-limit BYTES]
       [--working-set N] [--profile DIR [--port N]] [--no-cache] [--browser chromium|firefox] [--threads N|auto [--isolated] [--transport T]]
       [--prompt TEXT [--chat] [--max-tokens N] [--temperature T] [--seed S] [--top-k K] [--top-p P]
        [--min-p P] [--repeat-penalty R] [--context N]]
       node tools/dev/run.mjs memory64 [--model FILE | --preset NAME] [--shard-cap BYTES] [--working-set N]
        [--prompt TEXT] [--tokens N] [--compare] [--reference] [--json]   (npm run example -- memory64 …)
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
                 again fully resident and checks the logits are equal
  --preset NAME  a synthetic model, written once to models/synth/NAME.gguf (\`npm run synth\` lists
                 them); llama-17g (18.56 GB) is larger than one memory, so its layout is the
                 plan's own choice (multi-memory, with the layers that fit resident in the main
                 memory) unless --shard-cap or --working-set is given. It needs about 20 GB of
                 free memory and the machine to itself for a few minutes
  --reference    then score every position of the prompt and the greedy tokens, and run the
                 portable llama.cpp build (tools/golden/build-portable-llamacpp.sh) on the same
                 ids after the browser has closed: each position's top-16 log-probabilities must
                 match within ${REFERENCE_TOLERANCE}, and llama.cpp's argmax must be each greedy token`;

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
    else if (a === '--memory-limit') args.memoryLimit = bytes(a, argv[++i]);
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
  const args = { mode: 'memory64', model: null, preset: null, shardCap: undefined, workingSet: undefined, prompt: 'hello world', tokens: 8, compare: false, reference: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--model') args.model = argv[++i];
    else if (a === '--preset') args.preset = argv[++i];
    else if (a === '--reference') args.reference = true;
    else if (a === '--shard-cap') args.shardCap = Number(argv[++i]);
    else if (a === '--working-set') args.workingSet = Number(argv[++i]);
    else if (a === '--prompt') args.prompt = argv[++i];
    else if (a === '--tokens') args.tokens = Number(argv[++i]);
    else if (a === '--compare') args.compare = true;
    else if (a === '--json') args.json = true;
    else if (a === '--help' || a === '-h') { console.log(USAGE); process.exit(0); }
    else throw new Error(`unknown argument ${a} for memory64\n${USAGE}`);
  }
  if (args.shardCap !== undefined && (!Number.isSafeInteger(args.shardCap) || args.shardCap < 1)) throw new Error('--shard-cap needs a byte count');
  if (args.model && args.preset) throw new Error('--model and --preset exclude each other');
  if (args.preset && !/^[a-z0-9._-]+$/.test(args.preset)) throw new Error(`bad preset name ${args.preset}`);
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
        memories: i.layout.memories.map((mem) => ({ index: mem.index, bytes: mem.bytes, tier: mem.tier, layers: mem.layers, holds: mem.holds })),
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
    const options = { build: args.build, layout: args.layout, shardCap: args.shardCap, memoryBudget: args.memoryBudget, memoryLimit: args.memoryLimit,
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

/** The synthetic model of `preset` (seed 7), written once. */
async function syntheticModel(preset) {
  const file = path.join(SYNTH_DIR, `${preset}.gguf`);
  if (await stat(file).catch(() => null)) return file;
  await mkdir(SYNTH_DIR, { recursive: true });
  console.error(`writing ${path.relative(ROOT, file)} (once)…`);
  await promisify(execFile)('bash', [path.join(ROOT, 'tools/dev/native.sh'), 'synth', '--preset', preset, '--seed', '7', '--out', file], { cwd: ROOT });
  return file;
}

/** In the page: load with `options`, then the forward steps. */
async function exampleInPage({ url, options, prompt, tokens, keepLogits, score }) {
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
  const generation = { ...m.lastGeneration };
  // Every position of the prompt and the greedy tokens, as log-probabilities (the prefix is
  // reused from the cache, so each costs one token).
  let scores = null;
  if (score) {
    const seq = [...ids, ...generation.outputIds];
    scores = [];
    for (let n = 1; n <= seq.length; n++) {
      const l = m.logits(seq.slice(0, n));
      let max = -Infinity;
      for (const v of l) max = Math.max(max, v);
      let sum = 0;
      for (const v of l) sum += Math.exp(v - max);
      const lse = max + Math.log(sum);
      scores.push(Array.from(l, (v) => v - lse));
    }
  }
  const out = {
    features, info: { ...m.info }, summary: m.summary(), groups, loadMs, promptIds: ids, forwardMs,
    nLogits: logits.length, finite, top, generation, generateMs, pager: m.pagerStats() ?? null,
    logits: keepLogits ? Array.from(logits) : null, scores,
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
  const largest = Math.max(...mems.map((m) => m.bytes));
  say(`   ✅ ${info.layout.kind} layout: ${mems.length} memories (${info.fileBytes > 16 * 2 ** 30 ? 'model > 16 GiB, one memory\'s cap' : info.fileBytes > 3 * 2 ** 30 ? 'model > 3 GB' : 'model < 3 GB'}, ${args.shardCap ? `shard cap ${mb(args.shardCap)}` : 'default shard cap 16 GiB'}, largest memory ${mb(largest)})`);
  for (const m of mems) {
    const resident = m.layers.length ? `, layers ${m.layers[0]}–${m.layers.at(-1)} resident` : '';
    const what = m.index === 0 ? `main: ${m.holds.join(', ') || 'no weights'}${resident}${info.layout.workingSetLayers ? ` + working set of ${info.layout.workingSetLayers} layers` : ''}` : `storage: layers ${m.layers[0]}–${m.layers.at(-1)}`;
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
  if (r.peakBytes) say(`   📈 Renderer peak ${mb(r.peakBytes)}, ${mb(r.peakBytes - r.baselineBytes)} above its ${mb(r.baselineBytes)} before the load: ${((r.peakBytes - r.baselineBytes) / info.fileBytes).toFixed(3)}× the model's ${mb(info.fileBytes)}`);
  const ref = r.reference;
  if (ref) {
    say(`   ${ref.ok ? '✅' : '❌'} llama.cpp (portable build, ${ref.positions} positions): max |Δ log-prob| ${ref.maxDiff.toExponential(2)} over each position's top ${ref.topK} (bound ${REFERENCE_TOLERANCE}), top-1 equal at ${ref.top1Equal}/${ref.positions}, llama.cpp's argmax is the greedy token at ${ref.greedyAgree}/${ref.greedyPositions}`);
  }
  return lines.join('\n');
}

/** The `memory64` mode: loads into storage shards, runs the forward steps, prints the seed's report. */
async function runExample(args) {
  const model = args.model ?? await syntheticModel(args.preset ?? 'llama-7b-q4_k');
  const { mounts, urlPath } = await modelLocation(model);
  // Beyond one memory's 16 GiB the plan chooses (and must page); below it the seed's example
  // forces storage shards of 1 GiB.
  const beyond = !/^https?:/.test(model) && (await stat(model)).size > 16 * 2 ** 30;
  const chooses = beyond && args.shardCap === undefined && args.workingSet === undefined;
  if (!chooses) args.shardCap ??= 2 ** 30;
  const options = chooses ? { layout: 'auto' } : { layout: 'multi', shardCap: args.shardCap, workingSetLayers: args.workingSet };
  const session = await launch({ extraMounts: mounts });
  let result;
  let compared = null;
  try {
    const { page } = await openHarness(session);
    const url = urlPath.startsWith('http') ? urlPath : `${session.server.url}${urlPath}`;
    const baselineBytes = await session.rssBytes();
    result = await page.evaluate(exampleInPage, { url, options, prompt: args.prompt, tokens: args.tokens, keepLogits: args.compare, score: args.reference });
    result.peakBytes = await session.peakBytes();
    result.baselineBytes = baselineBytes;
    if (args.compare) {
      const resident = await page.evaluate(exampleInPage, { url, options: { layout: 'memory64' }, prompt: args.prompt, tokens: 1, keepLogits: true });
      let maxDiff = 0;
      for (let i = 0; i < resident.logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(resident.logits[i] - result.logits[i]));
      compared = { kind: resident.info.layout.kind, equal: maxDiff === 0, maxDiff };
    }
  } finally {
    await session.close();
  }
  // Only now: llama.cpp maps the same file, and both at once do not fit this machine.
  if (args.reference) result.reference = await compareWithLlamaCpp(model, result);
  if (args.json) {
    const { logits, scores, ...rest } = result;
    void logits, scores;
    console.log(JSON.stringify({ ...rest, compared }, null, 2));
  } else {
    console.log(exampleReport(result, args, compared));
  }
  return (compared && !compared.equal) || (result.reference && !result.reference.ok) ? 1 : 0;
}

/** The portable llama.cpp build's log-probabilities for the run's prompt and greedy tokens
 * (cached beside the model, keyed by the ids), compared with the page's. */
async function compareWithLlamaCpp(model, result) {
  if (!(await stat(PORTABLE_PYTHON).catch(() => null))) {
    throw new Error(`--reference needs the portable llama.cpp build: bash tools/golden/build-portable-llamacpp.sh`);
  }
  const seq = [...result.promptIds, ...result.generation.outputIds];
  const { createHash } = await import('node:crypto');
  const key = createHash('sha256').update(JSON.stringify(seq)).digest('hex').slice(0, 12);
  const out = model.replace(/\.gguf$/, '') + `.llamacpp-${key}.json`;
  const fresh = await stat(out).then((o) => stat(model).then((m) => o.mtimeMs > m.mtimeMs)).catch(() => false);
  if (!fresh) {
    const ids = `${out}.ids`;
    await writeFile(ids, JSON.stringify([seq]));
    console.error(`llama.cpp (portable build) on ${seq.length} ids…`);
    await promisify(execFile)(PORTABLE_PYTHON, [path.join(ROOT, 'tools/golden/llamacpp_portable.py'), 'eval', model, '--ids', ids,
      '--out', out, '--n-ctx', '256', '--no-flash-check'], { cwd: ROOT, maxBuffer: 1 << 26 }).finally(() => rm(ids, { force: true }));
  }
  const golden = JSON.parse(await readFile(out, 'utf8'));
  const positions = golden.sequences[0].positions;
  let maxDiff = 0;
  let top1Equal = 0;
  let greedyAgree = 0;
  let greedyPositions = 0;
  positions.forEach((p, i) => {
    const ours = result.scores[i];
    for (const t of p.top) maxDiff = Math.max(maxDiff, Math.abs(ours[t.id] - t.logprob));
    let best = 0;
    for (let k = 1; k < ours.length; k++) if (ours[k] > ours[best]) best = k;
    if (best === p.top[0].id) top1Equal += 1;
    if (i >= result.promptIds.length - 1 && i + 1 < seq.length) {
      greedyPositions += 1;
      if (p.top[0].id === seq[i + 1]) greedyAgree += 1;
    }
  });
  const ok = positions.length === seq.length && maxDiff <= REFERENCE_TOLERANCE && top1Equal === positions.length && greedyAgree === greedyPositions;
  return { ok, file: path.relative(ROOT, out), positions: positions.length, topK: golden.top_k, maxDiff, top1Equal, greedyAgree, greedyPositions, build: golden.reference.build };
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
