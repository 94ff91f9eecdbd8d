#!/usr/bin/env node
// Benchmark (not a test): `quant::matmul` over real-sized weight matrices in headless Chromium
// (wasm64, one thread), tiled (rows × activations per kernel call) against the untiled per-row
// loop, for one activation (decode) and a batch of 32 (prompt). Weights come from
// `MatmulBench` (src/web/bench.rs); the memcpy of the same bytes inside wasm memory is the
// physical reference. Median [min-max] over the runs; the modes alternate within each run, and
// "xN" is the per-row median over the mode's median. Each case runs in the relaxed-SIMD build and
// the SIMD128 build (each in its own page: a thread holds one variant), one after the other;
// "relaxed/simd128" is the ratio of their tiled speeds.
//
// With --stream every matrix gets enough rows to weigh about 128 MB, more than the caches hold,
// so each call streams its weights from memory as decoding a model does.
//
// With --native every type takes llama.cpp's own benchmark shape (a 4096-row, 14336-column weight
// matrix; one and eight activations), and the same products also run natively: llama.cpp's
// `test-backend-ops perf -o MUL_MAT` on the CPU backend, built for this CPU from the vendored
// source (tools/bench/build-native-ggml.sh, on first use), after the browser runs. It gives the
// backend half the machine's cores: one thread on this 2-core machine (printed). Its time includes
// quantizing the f32 activations, which gguf64's `matmul` here takes ready (they are quantized
// once per matmul in a model too: a few microseconds against milliseconds).
//
//   node tools/bench/kernels.mjs [--runs N] [--types Q4_K,Q6_K,...] [--stream | --native] [--json]
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { launch, openHarness } from '../lib/browser.mjs';
import { stats } from '../lib/stats.mjs';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 7;
const json = args.includes('--json');
const only = args.includes('--types') ? args[args.indexOf('--types') + 1].split(',') : null;
const stream = args.includes('--stream');
const native = args.includes('--native');
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// ggml type id, name, cols, rows: projections of SmolLM2-135M and Gemma 3 270M, then every
// other type with kernels on a 2048 x 1024 matrix.
const CASES = [
  [3, 'Q4_1', 576, 1536],
  [8, 'Q8_0', 576, 8192],
  [6, 'Q5_0', 640, 2048],
  [12, 'Q4_K', 2048, 640],
  [14, 'Q6_K', 2048, 640],
  [8, 'Q8_0', 640, 8192],
  [0, 'F32', 2048, 1024],
  [1, 'F16', 2048, 1024],
  [30, 'BF16', 2048, 1024],
  [2, 'Q4_0', 2048, 1024],
  [7, 'Q5_1', 2048, 1024],
  [10, 'Q2_K', 2048, 1024],
  [11, 'Q3_K', 2048, 1024],
  [13, 'Q5_K', 2048, 1024],
];
const BATCHES = stream ? [1] : native ? [1, 8] : [1, 32];
// Bytes per weight of each type, to size the streaming matrices.
const BYTES_PER_WEIGHT = { Q4_1: 20 / 32, Q8_0: 34 / 32, Q5_0: 22 / 32, Q4_K: 144 / 256, Q6_K: 210 / 256, F32: 4, F16: 2, BF16: 2, Q4_0: 18 / 32, Q5_1: 24 / 32, Q2_K: 84 / 256, Q3_K: 110 / 256, Q5_K: 176 / 256 };
const STREAM_BYTES = 128e6;
// test-backend-ops' MUL_MAT performance shape: m = 4096 rows, k = 14336 columns.
const NATIVE_SHAPE = { rows: 4096, cols: 14336 };
const sized = ([id, name, cols, rows]) => {
  if (native) return [id, name, NATIVE_SHAPE.cols, NATIVE_SHAPE.rows];
  return stream ? [id, name, cols, Math.ceil(STREAM_BYTES / (cols * BYTES_PER_WEIGHT[name]) / 64) * 64] : [id, name, cols, rows];
};
// One case per type in --native mode (the shape is the same for all).
const firstOfType = (c, i, all) => !native || all.findIndex((d) => d[1] === c[1]) === i;

/** The native columns of a result: llama.cpp's GMAC/s and gguf64's speed over it (none without). */
function nativeColumns(us, macs, ours) {
  if (!us) return {};
  return { native_us: us, native_gmac_s: macs / us / 1e3, ratio_to_native: us / 1e3 / ours.median };
}

/** ggml's name of a type (`q4_K`, `iq4_nl`, `f32`) from ours (`Q4_K`, `IQ4_NL`, `F32`). */
const ggmlName = (name) => name.toLowerCase().replace(/_k$/, '_K');

/**
 * llama.cpp's own MUL_MAT timings for `types` at the native shape and `batches` activations:
 * microseconds per product by `${type} T=${n}`, and the threads the backend used.
 */
function nativeMulMat(types, batches) {
  const bin = execFileSync('bash', [path.join(ROOT, 'tools/bench/build-native-ggml.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const filter = `type_a=(${types.map(ggmlName).join('|')}),type_b=f32,m=${NATIVE_SHAPE.rows},n=(${batches.join('|')}),k=${NATIVE_SHAPE.cols},`;
  // Console output: one line per case, `MUL_MAT(type_a=q4_K,...,n=1,...): N runs - T us/run - ...`.
  const out = execFileSync(path.resolve(ROOT, bin), ['perf', '-o', 'MUL_MAT', '-b', 'CPU', '-p', filter], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const times = {};
  for (const line of out.split('\n')) {
    const type = /type_a=([A-Za-z0-9_]+)/.exec(line)?.[1];
    const n = /[(,]n=(\d+)/.exec(line)?.[1];
    const us = /([\d.]+) us\/run/.exec(line)?.[1];
    if (type && n && us) times[`${type} T=${n}`] = Number(us);
  }
  return { bin, threads: Math.max(1, Math.floor(os.cpus().length / 2)), times };
}

const session = await launch();
try {
  const measure = async (simd) => {
    const { page } = await openHarness(session);
    try {
      const cases = CASES.filter(([, name]) => !only || only.includes(name)).filter(firstOfType).map(sized);
      return await page.evaluate(benchPage, { runs, cases, batches: BATCHES, simd });
    } finally {
      await page.close();
    }
  };
  // Case by case in the page: every tiling mode of one case alternates within each run.
  async function benchPage({ runs, cases, batches, simd }) {
    const { bindings } = await window.gguf64testing.runtimeFor('wasm64', simd);
    const out = [];
    for (const [id, name, cols, nrows] of cases) {
      for (const batch of batches) {
        const b = new bindings.MatmulBench(id, cols, nrows, batch);
        const time = (f) => { const s = performance.now(); f(); return performance.now() - s; };
        // Repeat each call to at least ~20 ms so the timer resolution does not matter, timing
        // ten warm calls to choose the count (one cold call can take ten times as long).
        b.run(0);
        const once = time(() => { for (let r = 0; r < 10; r++) b.run(0); }) / 10;
        const reps = Math.max(1, Math.ceil(20 / Math.max(0.005, once)));
        const modes = [0, 1, 2, 4, 5]; // per-row loop, tiles of 1, 2, 4 rows, then matmul over the stored order
        const sums = modes.map((m) => b.run(m));
        const samples = { modes: modes.map(() => []), copy: [] };
        for (let i = 0; i <= runs; i++) {
          const t = modes.map((m) => time(() => { for (let r = 0; r < reps; r++) b.run(m); }) / reps);
          const c = time(() => { for (let r = 0; r < 20; r++) b.copy(); }) / 20;
          if (i > 0) { t.forEach((v, k) => samples.modes[k].push(v)); samples.copy.push(c); }
        }
        out.push({ name, cols, rows: nrows, batch, bytes: b.weightBytes(), same: sums.every((v) => v === sums[0]), sum: sums[0], samples });
        b.free();
      }
    }
    return out;
  }
  const plain = await measure('simd128');
  const rows = await measure('relaxed');
  const ref = native ? nativeMulMat([...new Set(rows.map((r) => r.name))], BATCHES) : null;
  const report = {
    machine: `${os.cpus()[0].model}, ${os.cpus().length} cores`,
    date: new Date().toISOString().slice(0, 10),
    runs,
    native: ref && { binary: ref.bin, threads: ref.threads },
    results: rows.map((r, i) => {
      const [perRow, t1, t2, t4, st] = r.samples.modes.map(stats);
      const p = plain[i];
      const plainTiled = stats(p.samples.modes[4]);
      const copy = stats(r.samples.copy);
      const macs = r.cols * r.rows * r.batch;
      const rate = (s) => ({ ms: s, gb_s: r.bytes / s.median / 1e6, gmac_s: macs / s.median / 1e6 });
      return {
        type: r.name, shape: `${r.rows}x${r.cols}`, batch: r.batch, bytes: r.bytes, same_sum: r.same,
        per_row: rate(perRow), tiled_r1: rate(t1), tiled_r2: rate(t2), tiled_r4: rate(t4), stored: rate(st),
        memcpy_ms: copy,
        memcpy_gb_s: r.bytes / copy.median / 1e6,
        // What a loaded model runs: `matmul` over the order the loader stores the matrix in.
        tiled_gb_s: rate(st).gb_s,
        tiled_gmac_s: rate(st).gmac_s,
        simd128_tiled: rate(plainTiled),
        simd128_ms: Object.fromEntries(['per_row', 'r1', 'r2', 'r4', 'stored'].map((k, m) => [k, stats(p.samples.modes[m])])),
        relaxed_over_simd128: plainTiled.median / st.median,
        // The two builds' products are the same integers and the same float steps: equal sums.
        same_as_simd128: r.sum === p.sum,
        // llama.cpp natively (--native): its GMAC/s, and gguf64's speed over its.
        ...nativeColumns(ref?.times[`${ggmlName(r.name)} T=${r.batch}`], macs, st),
      };
    }),
  };
  if (json) console.log(JSON.stringify(report, null, 2));
  else {
    console.log(`${report.machine}, ${report.date}, ${runs} runs (median [min-max] ms per matmul; relaxed-SIMD build unless named)`);
    const ms = (s) => `${s.median.toFixed(3)} [${s.min.toFixed(3)}-${s.max.toFixed(3)}]`;
    for (const r of report.results) {
      const col = (name, x) => `${name} ${ms(x.ms)} ${x.gmac_s.toFixed(2)} GMAC/s x${(r.per_row.ms.median / x.ms.median).toFixed(2)}`;
      console.log(`${r.type.padEnd(5)} ${r.shape.padStart(10)} T=${String(r.batch).padEnd(2)} ` +
        `per-row ${ms(r.per_row.ms)} ${r.per_row.gb_s.toFixed(2)} GB/s ${r.per_row.gmac_s.toFixed(2)} GMAC/s | ` +
        `${col('R1', r.tiled_r1)} | ${col('R2', r.tiled_r2)} | ${col('R4', r.tiled_r4)} | ${col('stored', r.stored)} | ` +
        `memcpy ${r.memcpy_gb_s.toFixed(1)} GB/s | SIMD128 build ${r.simd128_tiled.gmac_s.toFixed(2)} GMAC/s, relaxed/simd128 x${r.relaxed_over_simd128.toFixed(2)}` +
        `${r.native_gmac_s ? ` | native ${r.native_gmac_s.toFixed(2)} GMAC/s, gguf64/native x${r.ratio_to_native.toFixed(2)}` : ''}` +
        `${r.same_sum ? '' : ' | RESULTS DIFFER'}${r.same_as_simd128 ? '' : ' | DIFFERS FROM SIMD128'}`);
    }
    if (report.native) console.log(`native: ${report.native.binary} (test-backend-ops perf -o MUL_MAT -b CPU), ${report.native.threads} thread(s); gguf64/native is native's time over gguf64's median (stored order)`);
  }
} finally {
  await session.close();
}
