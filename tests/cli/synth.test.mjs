// `npm run synth`: a synthetic model written by our GGUF writer must be read the same way by our
// parser (`npm run inspect`), by Python `gguf` (tools/golden/synth_check.py) and by llama.cpp
// (node-llama-cpp 3.21.1, tests/llamacpp/synth_loads.mjs), which must generate from it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const native = (tool, ...args) => run('bash', [path.join(ROOT, 'tools/dev/native.sh'), tool, ...args], { cwd: ROOT, maxBuffer: 64 << 20 });

let dir;
let tiny;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gguf64-synth-'));
  tiny = path.join(dir, 'tiny.gguf');
  await native('synth', '--preset', 'tiny', '--seed', '7', '--out', tiny);
});
after(() => rm(dir, { recursive: true, force: true }));

test('the same seed writes the same bytes; another seed does not', async () => {
  const again = path.join(dir, 'again.gguf');
  const other = path.join(dir, 'other.gguf');
  await native('synth', '--preset', 'tiny', '--seed', '7', '--out', again);
  await native('synth', '--preset', 'tiny', '--seed', '8', '--out', other);
  const [a, b, c] = await Promise.all([tiny, again, other].map((f) => readFile(f)));
  assert.ok(a.equals(b));
  assert.ok(!a.equals(c));
});

test('our parser reads the tiny preset as a llama model whose tensors fill the file', async () => {
  const report = JSON.parse((await native('inspect', tiny, '--json')).stdout);
  const { size } = await stat(tiny);
  assert.equal(report.metadata['general.architecture'].value, 'llama');
  assert.equal(report.config.n_layers, 2);
  const end = Math.max(...report.tensors.map((t) => t.offset + t.n_bytes));
  assert.equal(report.data_offset + Math.ceil(end / report.alignment) * report.alignment, size);
});

test('Python gguf reads and dequantizes every tensor of the tiny preset', async () => {
  // Exits non-zero (and `run` rejects) on any problem.
  const { stdout } = await run('python3', [path.join(ROOT, 'tools/golden/synth_check.py'), tiny]);
  assert.match(stdout, /21 tensors .* 0 problems/);
});

test('llama.cpp loads the tiny preset and generates from it with finite logits', async () => {
  const { stdout } = await run('node', [path.join(ROOT, 'tests/llamacpp/synth_loads.mjs'), tiny, '--tokens', '8', '--json'],
    { cwd: ROOT, timeout: 150_000 });
  const result = JSON.parse(stdout);
  assert.equal(result.generated.length, 8, stdout);
  assert.ok(result.generated.every((id) => Number.isInteger(id) && id >= 0 && id < result.nVocab));
});
