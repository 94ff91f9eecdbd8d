#!/usr/bin/env node
// Headless runner: loads a model in headless Chromium through the public API and prints one JSON
// object (or a short summary without --json).
//
//   node tools/dev/run.mjs --model models/SmolLM2-135M-Instruct.Q4_1.gguf --json
//   node tools/dev/run.mjs --model http://127.0.0.1:8080/models/x.gguf --build wasm32
import { stat } from 'node:fs/promises';
import path from 'node:path';

import { launch, openHarness } from '../lib/browser.mjs';

const USAGE = `usage: node tools/dev/run.mjs --model <path|url> [--json] [--verify] [--build auto|wasm64|wasm32]
       [--layout auto|standard|memory64|paged|multi] [--shard-cap BYTES] [--budget BYTES] [--working-set N]
       [--profile DIR [--port N]] [--no-cache]
       [--prompt TEXT [--chat] [--max-tokens N] [--temperature T] [--seed S] [--top-k K] [--top-p P]
        [--min-p P] [--repeat-penalty R] [--context N]]
  --prompt       generate from TEXT and add prompt_ids, output_ids, text, finish, prompt_tok_s,
                 decode_tok_s (and pager statistics for a paged layout); --chat formats TEXT as a
                 user turn with the model's chat template; --temperature 0 (default) is greedy
  --verify       add tensor_sha256: SHA-256 of every tensor's bytes read back from memory
  --profile DIR  reuse this browser profile (and its model cache) instead of a fresh one;
                 the page origin must stay the same for the cache to apply, so the server
                 listens on --port (default 8765)`;

function parseArgs(argv) {
  const args = { json: false, verify: false, cache: true, build: 'auto', layout: 'auto', generate: { maxTokens: 32 } };
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
  const { loadModel } = window.gguf64;
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
    };
    if (verify) {
      result.tensor_sha256 = m.tensorSha256();
      // One pass over the layers through the pager (a paged layout copies each one in).
      for (let layer = 0; layer < (i.nLayers ?? 0); layer++) {
        m.acquireLayer(layer);
        m.releaseLayer(layer);
      }
      result.pager = m.pagerStats() ?? null;
    }
    if (prompt !== undefined) {
      for await (const piece of m.generate(prompt, generate)) void piece;
      const g = m.lastGeneration;
      Object.assign(result, {
        prompt_ids: g.promptIds, output_ids: g.outputIds, text: g.text, finish: g.finish,
        prompt_tok_s: Number(g.promptTokS.toFixed(2)), decode_tok_s: Number(g.decodeTokS.toFixed(2)),
      });
      result.pager = m.pagerStats() ?? null;
    }
    m.unload();
    return result;
  } catch (err) {
    return { error: { code: err.code, message: err.message, offset: err.offset ?? null } };
  }
}

async function run(args) {
  const { mounts, urlPath } = await modelLocation(args.model);
  const port = args.profile ? (args.port ?? 8765) : 0;
  const session = await launch({ extraMounts: mounts, profileDir: args.profile, port });
  try {
    const { page } = await openHarness(session);
    const url = urlPath.startsWith('http') ? urlPath : `${session.server.url}${urlPath}`;
    const options = { build: args.build, layout: args.layout, shardCap: args.shardCap, memoryBudget: args.memoryBudget,
      workingSetLayers: args.workingSetLayers, cache: args.cache };
    const baseline = await session.rssBytes();
    const result = await page.evaluate(loadInPage, { url, options, verify: args.verify, prompt: args.prompt,
      generate: { ...args.generate, chat: args.chat ?? false } });
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

try {
  const args = parseArgs(process.argv.slice(2));
  const result = await run(args);
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
  process.exit(result.error ? 1 : 0);
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
