// llama.cpp's reference for the 7B-shaped synthetic presets of tests/e2e/large.test.mjs, so the
// test need not run a 5 GB model through llama.cpp each time (on 2 cores that run took 60-110 s
// per preset and slowed the browser's load beside it 4-6 fold):
//
//   node tools/golden/llamacpp-large.mjs [--preset NAME ...]   -> tests/golden/llamacpp/large.json
//
// For each preset: writes the file (`synth --preset NAME --seed SEED`), records its SHA-256 (the
// test hashes the file it writes and refuses a golden of other bytes), then runs
// tests/llamacpp/synth_loads.mjs on it twice, flash attention off (the reference: prompt ids,
// 8 greedy ids, llama.cpp's top-2 gap at each step, the first step's 8 most likely tokens) and
// on; `flash_attention_max_abs_diff` is the largest change that makes to those 8 first-step
// log-probabilities: how far llama.cpp moves when only its attention kernel changes. Each file is
// deleted once measured. Needs node-llama-cpp (npm test's setup) and about 6 GB of disk.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(ROOT, 'tests/golden/llamacpp/large.json');
export const PRESETS = ['llama3-8b-q4_k', 'qwen2.5-7b-q4_k', 'gemma2-9b-q4_k'];
export const SEED = 3;
export const TOKENS = 8;

/** SHA-256 (hex) of a file, streamed. */
export async function fileSha256(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 16 << 20 })) hash.update(chunk);
  return hash.digest('hex');
}

/** Writes `preset` with the golden's seed to `file`. */
export function writePreset(preset, file) {
  return run('bash', [path.join(ROOT, 'tools/dev/native.sh'), 'synth', '--preset', preset, '--seed', String(SEED), '--out', file], { cwd: ROOT });
}

async function llamaCpp(file, flash) {
  const args = [path.join(ROOT, 'tests/llamacpp/synth_loads.mjs'), file, '--tokens', String(TOKENS), '--timeout', '600', '--json'];
  const { stdout } = await run('node', flash ? [...args, '--flash-attention'] : args, { maxBuffer: 1 << 24 });
  return JSON.parse(stdout);
}

async function reference(preset) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gguf64-large-golden-'));
  try {
    const file = path.join(dir, `${preset}.gguf`);
    await writePreset(preset, file);
    const sha256 = await fileSha256(file);
    const off = await llamaCpp(file, false);
    const on = await llamaCpp(file, true);
    const onLogprob = new Map(on.firstTop.map((t) => [t.id, t.logprob]));
    // A token of one top 8 missing from the other's moved by more than the gap between them:
    // count it at the distance to the other's 8th.
    const floor = on.firstTop.at(-1).logprob;
    const spread = Math.max(...off.firstTop.map((t) => Math.abs(t.logprob - (onLogprob.get(t.id) ?? floor))));
    console.error(`${preset}: greedy ${JSON.stringify(off.generated)} (flash on ${JSON.stringify(on.generated)}), spread ${spread.toFixed(4)}`);
    return {
      preset, seed: SEED, sha256, prompt: off.prompt, generated: off.generated, gaps: off.gaps, firstTop: off.firstTop,
      flash_attention_generated: on.generated, flash_attention_max_abs_diff: spread, threads: off.threads,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main() {
  const argv = process.argv.slice(2);
  const wanted = argv.flatMap((a, i) => (argv[i - 1] === '--preset' ? [a] : []));
  const unknown = wanted.filter((p) => !PRESETS.includes(p));
  if (unknown.length || argv.length !== 2 * wanted.length) {
    console.error(`usage: node tools/golden/llamacpp-large.mjs [--preset ${PRESETS.join('|')} ...]`);
    process.exit(2);
  }
  const golden = JSON.parse(await readFile(OUT, 'utf8').catch(() => '{"presets":[]}'));
  for (const preset of wanted.length ? wanted : PRESETS) {
    const entry = await reference(preset);
    golden.presets = [...golden.presets.filter((p) => p.preset !== preset), entry]
      .sort((a, b) => PRESETS.indexOf(a.preset) - PRESETS.indexOf(b.preset));
  }
  golden.about = 'llama.cpp (node-llama-cpp 3.21.1, CPU, flash attention off) on the 7B-shaped synthetic presets: '
    + 'prompt "hello world", 8 greedy ids, top-2 log-probability gap per step, first step top 8; written by tools/golden/llamacpp-large.mjs';
  await writeFile(OUT, `${JSON.stringify({ about: golden.about, presets: golden.presets }, null, 1)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
