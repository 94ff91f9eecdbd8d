#!/usr/bin/env node
// Headless runner: loads a model in headless Chromium through the public API and prints one JSON
// object (or a short summary without --json).
//
//   node tools/run.mjs --model models/SmolLM2-135M-Instruct.Q4_1.gguf --json
//   node tools/run.mjs --model http://127.0.0.1:8080/models/x.gguf --build wasm32
import { stat } from 'node:fs/promises';
import path from 'node:path';

import { launch, openHarness } from './browser.mjs';

const USAGE = 'usage: node tools/run.mjs --model <path|url> [--json] [--build auto|wasm64|wasm32]';

function parseArgs(argv) {
  const args = { json: false, build: 'auto' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--model') args.model = argv[++i];
    else if (a === '--build') args.build = argv[++i];
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
    return await page.evaluate(async ({ url, build }) => {
      const { loadModel } = window.gguf64;
      try {
        const m = await loadModel(url, { build });
        const i = m.info;
        return {
          build: i.build,
          model: { arch: i.arch, name: i.name, n_layers: i.nLayers, n_tensors: i.nTensors, file_bytes: i.fileBytes },
          load: { bytes: i.fileBytes, ms: Math.round(i.loadMs) },
        };
      } catch (err) {
        return { error: { code: err.code, message: err.message, offset: err.offset ?? null } };
      }
    }, { url, build: args.build });
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
    const { build, model: m, load } = result;
    console.log(`${m.arch} · ${m.n_layers} layers · ${m.n_tensors} tensors · ${load.bytes} bytes in ${load.ms} ms (${build})`);
  }
  process.exit(result.error ? 1 : 0);
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
