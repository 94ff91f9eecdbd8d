// The package as a new user gets it: `npm pack`, then a fresh webpack 5 app and a fresh Vite app
// install the tarball, import `gguf64`, build, and in headless Chromium load SmolLM2 (in the
// package's worker) and generate 8 greedy tokens, which must be the text the main-thread API
// gives for the same prompt. A TypeScript consumer is type-checked against the installed package.
//
// The apps live under .setup/package-test/ (git-ignored): their bundlers are installed once and
// reused; the tarball is installed afresh on every run. Needs `bash tools/dev/build.sh` first.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { launch, openHarness } from '../../tools/lib/browser.mjs';
import { startServer } from '../../tools/dev/serve.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const APPS = path.join(ROOT, '.setup/package-test');
const MODEL = 'SmolLM2-135M-Instruct.Q4_1.gguf';
const PROMPT = 'The capital of France is';
const TOKENS = 8;
const run = promisify(execFile);

/** Exact versions of what each fresh app installs. */
const WEBPACK = { webpack: '5.112.2', 'webpack-cli': '6.0.1' };
const VITE = { vite: '8.3.8', typescript: '5.9.3' };

let tarball;
let scratch;
let session;
let reference;

/** Runs a command in `cwd`; its output is kept for the failure message. */
async function sh(cwd, file, args) {
  try {
    return await run(file, args, { cwd, maxBuffer: 64 << 20, env: { ...process.env, npm_config_update_notifier: 'false' } });
  } catch (err) {
    throw new Error(`${file} ${args.join(' ')} (in ${cwd}) failed:\n${err.stdout}\n${err.stderr}`);
  }
}

/**
 * A fresh app folder with `files`; its dev dependencies are installed only when they changed
 * since the last run, then the tarball is installed as a user would (`npm install <tarball>`).
 */
async function makeApp(name, devDependencies, files) {
  const dir = path.join(APPS, name);
  await mkdir(dir, { recursive: true });
  const manifest = JSON.stringify({ name: `gguf64-${name}`, private: true, type: 'module', devDependencies }, null, 2);
  const stamp = await readFile(path.join(dir, '.installed'), 'utf8').catch(() => '');
  if (stamp !== manifest) {
    await rm(path.join(dir, 'node_modules'), { recursive: true, force: true });
    await rm(path.join(dir, 'package-lock.json'), { force: true });
    await writeFile(path.join(dir, 'package.json'), manifest);
    await sh(dir, 'npm', ['install', '--no-audit', '--no-fund']);
    await writeFile(path.join(dir, '.installed'), manifest);
  }
  await writeFile(path.join(dir, 'package.json'), manifest); // `npm install <tarball>` below adds itself
  await rm(path.join(dir, 'dist'), { recursive: true, force: true });
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
  }
  await sh(dir, 'npm', ['install', '--no-audit', '--no-fund', tarball]);
  return dir;
}

/** The app's code: what a user writes. It exposes one function for the test to call. */
const APP_CODE = `import { loadModel } from 'gguf64';

window.generateWithGguf64 = async (url, prompt, maxTokens) => {
  let groups = 0;
  const model = await loadModel(url, { cache: false, onProgress: (p) => { if (p.phase === 'group') groups += 1; } });
  const inWorker = typeof model.tokenize('x')?.then === 'function';
  let text = '';
  for await (const piece of model.generate(prompt, { maxTokens, temperature: 0 })) text += piece;
  const { outputIds, finish } = model.lastGeneration;
  const { arch, build, simd, parallel } = model.info;
  await model.unload();
  return { text, outputIds, finish, arch, build, simd, groups, inWorker, threads: parallel.threads, cores: navigator.hardwareConcurrency };
};
window.appReady = true;
`;

const TS_CONSUMER = `import { loadModel, ErrorCode, Gguf64Error, type LoadProgress, type WorkerModel } from 'gguf64';

export async function demo(url: string): Promise<string> {
  const model: WorkerModel = await loadModel(url, { simd: 'auto', onProgress: (p: LoadProgress) => console.log(p.layersDone, p.layout?.kind) });
  const simd: 'relaxed' | 'simd128' = model.info.simd;
  let text = '';
  try {
    for await (const piece of model.generate('Hello', { maxTokens: 8, temperature: 0 })) text += piece;
  } catch (err) {
    if (err instanceof Gguf64Error && err.code === ErrorCode.CONTEXT_FULL) return '';
    throw err;
  }
  const ids: number[] = await model.tokenize(text);
  console.log(model.info.layout.memories.length, model.lastGeneration?.decodeTokS, ids.length, simd);
  await model.unload();
  return text;
}
`;

/** Serves `dist` (and the models) and runs the app's function in a page; no page errors allowed. */
async function runApp(dist) {
  const server = await startServer({ mounts: [['/', dist], ['/models/', path.join(ROOT, 'models')]] });
  const page = await session.context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => msg.type() === 'error' && errors.push(msg.text()));
  try {
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => window.appReady === true, null, { timeout: 30_000 });
    const result = await page.evaluate(([url, prompt, n]) => window.generateWithGguf64(url, prompt, n), [`/models/${MODEL}`, PROMPT, TOKENS]);
    return { ...result, errors };
  } finally {
    await page.close();
    await server.close();
  }
}

before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'gguf64-pack-'));
  const { stdout } = await sh(ROOT, 'npm', ['pack', '--json', '--pack-destination', scratch]);
  tarball = path.join(scratch, JSON.parse(stdout)[0].filename);
  session = await launch();
  const { page } = await openHarness(session);
  reference = await page.evaluate(async ([url, prompt, n]) => {
    const model = await window.gguf64.loadModel(url, { cache: false });
    let text = '';
    for await (const piece of model.generate(prompt, { maxTokens: n, temperature: 0 })) text += piece;
    const { outputIds } = model.lastGeneration;
    model.unload();
    return { text, outputIds };
  }, [`/models/${MODEL}`, PROMPT, TOKENS]);
  await page.close();
});

after(async () => {
  await session?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

test('the tarball holds the entry, the worker, the declarations and both builds (each plain and relaxed SIMD), and nothing else', async () => {
  const { stdout } = await sh(ROOT, 'tar', ['-tzf', tarball]);
  const files = stdout.trim().split('\n').map((f) => f.replace(/^package\//, '')).sort();
  for (const f of ['package.json', 'src/js/gguf64.js', 'src/js/worker.js', 'src/js/shard-worker.js', 'src/js/index.js', 'types/index.d.ts',
    'pkg/wasm64/gguf64.js', 'pkg/wasm64/gguf64_bg.wasm', 'pkg/wasm64/gguf64_relaxed_bg.wasm',
    'pkg/wasm32/gguf64.js', 'pkg/wasm32/gguf64_bg.wasm', 'pkg/wasm32/gguf64_relaxed_bg.wasm']) {
    assert.ok(files.includes(f), `${f} missing from ${files.join(', ')}`);
  }
  const outside = files.filter((f) => !/^(package\.json|README\.md|LICENSE.*|src\/js\/[^/]+\.js|types\/[^/]+\.d\.ts|pkg\/wasm(32|64)\/gguf64(_bg\.wasm|_relaxed_bg\.wasm|\.js))$/.test(f));
  assert.deepEqual(outside, []);
});

test('a fresh webpack 5 app installs the tarball, builds, loads SmolLM2 in a worker and generates', async () => {
  const dir = await makeApp('webpack-app', WEBPACK, {
    'src/index.js': APP_CODE,
    'webpack.config.js': `import path from 'node:path';
export default { mode: 'production', entry: './src/index.js', output: { path: path.resolve('dist'), clean: false } };
`,
    'dist/index.html': '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>webpack app</title><script src="main.js"></script>\n',
  });
  await sh(dir, path.join(dir, 'node_modules/.bin/webpack'), ['--no-stats']);
  const result = await runApp(path.join(dir, 'dist'));
  assert.deepEqual(result.errors, []);
  assert.equal(result.inWorker, true);
  assert.equal(result.arch, 'llama');
  assert.equal(result.groups, 32); // embeddings, 30 layers, output
  // Chromium and Firefox validate relaxed SIMD: the bundle emitted gguf64_relaxed_bg.wasm too, and it ran.
  assert.equal(result.simd, 'relaxed');
  // The default splits the model over the machine's cores (up to 4; SmolLM2's 9 heads in 3
  // groups go to at most 3): the bundle's shard worker ran.
  assert.equal(result.threads, Math.min(result.cores, 3));
  assert.deepEqual(result.outputIds, reference.outputIds);
  assert.equal(result.text, reference.text);
});

test('a fresh Vite app installs the tarball, builds, loads SmolLM2 in a worker and generates; a TypeScript consumer type-checks', async () => {
  const dir = await makeApp('vite-app', VITE, {
    'index.html': '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>vite app</title><script type="module" src="/src/main.js"></script>\n',
    'src/main.js': APP_CODE,
    'src/consumer.ts': TS_CONSUMER,
    'tsconfig.json': JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', strict: true, noEmit: true, lib: ['ES2022', 'DOM', 'DOM.Iterable'] }, files: ['src/consumer.ts'] }),
  });
  await sh(dir, path.join(dir, 'node_modules/.bin/tsc'), ['-p', '.']);
  await sh(dir, path.join(dir, 'node_modules/.bin/vite'), ['build', '--logLevel', 'warn']);
  const result = await runApp(path.join(dir, 'dist'));
  assert.deepEqual(result.errors, []);
  assert.equal(result.inWorker, true);
  assert.equal(result.arch, 'llama');
  assert.equal(result.simd, 'relaxed');
  assert.equal(result.threads, Math.min(result.cores, 3));
  assert.deepEqual(result.outputIds, reference.outputIds);
  assert.equal(result.text, reference.text);
});
