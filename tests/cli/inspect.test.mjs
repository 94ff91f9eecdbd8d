// `npm run inspect` against Python gguf: every tensor and every metadata key of both real models
// must equal what the reference reader reported (tests/golden/*.json, made by tools/golden/gguf_golden.py).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MODELS = ['SmolLM2-135M-Instruct.Q4_1.gguf', 'gemma-3-270m-q4_k_m.gguf'];

function inspect(...args) {
  return run('bash', [path.join(ROOT, 'tools/dev/native.sh'), 'inspect', ...args], { cwd: ROOT, maxBuffer: 64 << 20 });
}

let scratch;
before(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'gguf64-inspect-'));
  await inspect('--help').catch(() => {}); // builds the tool once, outside the timed tests
});
after(() => rm(scratch, { recursive: true, force: true }));

for (const file of MODELS) {
  test(`inspect --json of ${file} equals Python gguf`, async () => {
    const golden = JSON.parse(await readFile(path.join(ROOT, 'tests/golden', file.replace(/\.gguf$/, '.json')), 'utf8'));
    const { stdout } = await inspect(path.join(ROOT, 'models', file), '--json');
    const ours = JSON.parse(stdout);
    assert.equal(ours.file_bytes, golden.file_size);
    assert.equal(ours.version, golden.version);
    assert.equal(ours.alignment, golden.alignment);
    assert.equal(ours.data_offset, golden.data_offset);
    assert.deepEqual(ours.tensors, golden.tensors.map(({ name, type, shape, offset, n_bytes }) => ({ name, type, shape, offset, n_bytes })));
    assert.deepEqual(Object.keys(ours.metadata), golden.metadata.map((m) => m.key));
    for (const m of golden.metadata) {
      const mine = ours.metadata[m.key];
      assert.equal(mine.type, m.type, m.key);
      if (m.type === 'ARRAY') {
        assert.equal(mine.elem_type, m.elem_type, m.key);
        assert.equal(mine.count, m.count, m.key);
        const head = m.values ?? m.first;
        if (head) assert.deepEqual(mine.values.slice(0, Math.min(3, head.length)), head.slice(0, 3), m.key);
      } else {
        assert.deepEqual(mine.value, m.value, m.key);
      }
    }
    assert.equal(ours.plan.kind, 'standard');
    assert.equal(ours.config.n_layers, golden.metadata.find((m) => m.key.endsWith('.block_count')).value);
  });
}

test('inspect --shard-cap and --budget force the multi-memory layout', async () => {
  const { stdout } = await inspect(path.join(ROOT, 'models', MODELS[0]), '--json', '--shard-cap', '20000000', '--budget', '9000000');
  const plan = JSON.parse(stdout).plan;
  assert.equal(plan.kind, 'multi');
  assert.ok(plan.memories.length >= 5, `${plan.memories.length} memories`);
  assert.ok(plan.memories.slice(1).every((m) => m.bytes <= 20e6));
  assert.equal(plan.working_set.slots, Math.floor(9e6 / plan.working_set.slot_bytes));
});

test('a bad file exits 1 with the typed error on stderr, quickly and without a panic', async () => {
  const model = await readFile(path.join(ROOT, 'models', MODELS[0]));
  const cases = {
    'not-gguf.gguf': Buffer.from('<!doctype html><html></html>'),
    'cut.gguf': model.subarray(0, 100_000),
    'huge-count.gguf': Buffer.concat([model.subarray(0, 8), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x40]), model.subarray(16, 4096)]),
  };
  for (const [name, bytes] of Object.entries(cases)) {
    const file = path.join(scratch, name);
    await writeFile(file, bytes);
    const err = await inspect(file).then(() => null, (e) => e);
    assert.ok(err, `${name} was accepted`);
    assert.equal(err.code, 1, `${name}: exit ${err.code}: ${err.stderr}`);
    assert.match(err.stderr, /^error: /, name);
    assert.doesNotMatch(err.stderr, /panicked/, name);
  }
});
