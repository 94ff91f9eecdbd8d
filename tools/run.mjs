#!/usr/bin/env node
// Headless runner: loads a model in headless Chromium through the public API and prints one JSON
// object (or a short summary without --json).
//
//   node tools/run.mjs --model models/SmolLM2-135M-Instruct.Q4_1.gguf --json
//   node tools/run.mjs --model http://127.0.0.1:8080/models/x.gguf --build wasm32
import { stat } from 'node:fs/promises';
import path from 'node:path';

import { launch, openHarness } from './browser.mjs';

const USAGE = `usage: node tools/run.mjs --model <path|url> [--json] [--build auto|wasm64|wasm32]
       [--layout auto|standard|memory64|paged|multi] [--shard-cap BYTES] [--budget BYTES]`;

function parseArgs(argv) {
  const args = { json: false, build: 'auto', layout: 'auto' };
  const bytes = (flag, v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${flag} needs a positive byte count, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--model') args.model = argv[++i];
    else if (a === '--build') args.build = argv[++i];
    else if (a === '--layout') args.layout = argv[++i];
    else if (a === '--shard-cap') args.shardCap = bytes(a, argv[++i]);
    else if (a === '--budget') args.memoryBudget = bytes(a, argv[++i]);
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

async function run(args) {
  const { mounts, urlPath } = await modelLocation(args.model);
  const session = await launch({ extraMounts: mounts });
  try {
    const { page } = await openHarness(session);
    const url = urlPath.startsWith('http') ? urlPath : `${session.server.url}${urlPath}`;
    const options = { build: args.build, layout: args.layout, shardCap: args.shardCap, memoryBudget: args.memoryBudget };
    return await page.evaluate(async ({ url, options }) => {
      const { loadModel } = window.gguf64;
      try {
        const log = [];
        const m = await loadModel(url, { ...options, onProgress: (p) => p.phase === 'group' && log.push(p.group) });
        const i = m.info;
        return {
          build: i.build,
          model: { arch: i.arch, name: i.name, n_layers: i.nLayers, n_tensors: i.nTensors, file_bytes: i.fileBytes },
          load: { bytes: i.fileBytes, ms: Math.round(i.loadMs), groups_registered: log.length },
          layout: {
            kind: i.layout.kind,
            memories: i.layout.memories.map((mem) => ({ index: mem.index, bytes: mem.bytes, layers: mem.layers, holds: mem.holds })),
            working_set_layers: i.layout.workingSetLayers,
          },
        };
      } catch (err) {
        return { error: { code: err.code, message: err.message, offset: err.offset ?? null } };
      }
    }, { url, options });
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
  }
  process.exit(result.error ? 1 : 0);
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
