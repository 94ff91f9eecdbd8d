// The rules by which gguf64's output counts as agreeing with llama.cpp's (the same rules as the
// native test tests/inference_llamacpp.rs).
//
// Primary, `teacherForcing`: against the portable llama.cpp build, for one prompt of
// tests/golden/llamacpp/<model>.portable.json, along the reference's own greedy tokens: at every
// position gguf64's top-1 is the reference's wherever the reference's top-1/top-2 logit gap
// exceeds TIE_GAP, and gguf64's log-probability of the reference's top-1 is within
// TEACHER_TOLERANCE of the reference's.
//
// Secondary (reported, not asserted), `agreement`: against node-llama-cpp's prebuilt binary, for
// one prompt of tests/golden/llamacpp/<model>.reference.json:
//
// * top-1 at the first generated position: llama.cpp's, unless wllama (llama.cpp built for wasm,
//   <model>.wllama.json) also picks another token there;
// * its log-probability within max(0.1, spread), where spread is how far llama.cpp itself moves
//   the top-20 log-probabilities when only its attention kernel changes (flash attention on/off);
// * the greedy continuation equals llama.cpp's, or agrees at least as far as wllama's, or
//   diverges at a near-tie: where llama.cpp's own top-2 logit gap is below max(0.1, spread), a
//   difference llama.cpp's own kernels can flip.

export const TIE_GAP = 0.01;
export const TEACHER_TOLERANCE = 0.01;
const NEAR_TIE = 0.1;
const LOGPROB_TOLERANCE = 0.1;

/** Leading positions where `a` and `b` agree. */
export function agreeing(a, b) {
  let n = 0;
  while (n < a.length && n < b.length && a[n] === b[n]) n++;
  return n;
}

/** log-softmax of `logits` at `id`, in f64. */
export function logprob(logits, id) {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  return logits[id] - max - Math.log(sum);
}

export function argmax(logits) {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * @param {object} ref one prompt of the reference file
 * @param {number[]} wllamaGreedy wllama's greedy ids for it
 * @param {{ top1: number, logprobOfLlamaTop1: number, greedy: number[] }} ours
 * @returns {{ summary: string, failures: string[] }}
 */
export function agreement(ref, wllamaGreedy, ours) {
  const wantTop = ref.first.top[0].id;
  const wantLp = ref.first.top[0].logprob;
  const tolerance = Math.max(LOGPROB_TOLERANCE, ref.flash_attention_top20_max_abs_diff);
  const agree = agreeing(ours.greedy, ref.greedy);
  const wllamaAgree = agreeing(wllamaGreedy, ref.greedy);
  const gap = ref.steps[agree]?.gap;
  const failures = [];
  if (ours.top1 !== wantTop && wllamaGreedy[0] === wantTop) {
    failures.push(`top-1 ${ours.top1} where llama.cpp and wllama pick ${wantTop}`);
  }
  if (Math.abs(ours.logprobOfLlamaTop1 - wantLp) > tolerance) {
    failures.push(`log-probability of ${wantTop}: ${ours.logprobOfLlamaTop1.toFixed(4)}, llama.cpp ${wantLp.toFixed(4)} (tolerance ${tolerance.toFixed(3)})`);
  }
  const nearTie = gap !== undefined && gap < Math.max(NEAR_TIE, ref.flash_attention_top20_max_abs_diff);
  if (agree < ref.greedy.length && agree < wllamaAgree && !nearTie) {
    failures.push(`greedy agrees for ${agree} tokens, wllama for ${wllamaAgree}; llama.cpp's gap there ${gap}`);
  }
  const summary = `top-1 ${ours.top1} (llama.cpp ${wantTop}), logprob ${ours.logprobOfLlamaTop1.toFixed(4)} (llama.cpp ${wantLp.toFixed(4)}, `
    + `tolerance ${tolerance.toFixed(3)}), greedy agrees ${agree}/${ref.greedy.length} (wllama ${wllamaAgree}), `
    + `llama.cpp's gap at the divergence ${gap === undefined ? '-' : gap.toFixed(4)}`;
  return { summary, failures };
}

/**
 * @param {object} ref one prompt of the portable reference (`positions`: { top1, logprob, gap })
 * @param {{ top1: number, logprob: number }[]} ours per position: gguf64's argmax and its
 *   log-probability of the reference's top-1
 * @returns {{ deltas: number[], failures: string[] }}
 */
export function teacherForcing(ref, ours) {
  const deltas = [];
  const failures = [];
  ref.positions.forEach((want, i) => {
    const got = ours[i];
    const delta = Math.abs(got.logprob - want.logprob);
    deltas.push(delta);
    if (delta > TEACHER_TOLERANCE) failures.push(`position ${i}: |Δ log-probability| ${delta.toFixed(4)} > ${TEACHER_TOLERANCE}`);
    if (got.top1 !== want.top1 && want.gap > TIE_GAP) failures.push(`position ${i}: top-1 ${got.top1} where the reference picks ${want.top1} (its gap ${want.gap})`);
  });
  return { deltas, failures };
}

/** Median and maximum of `values`. */
export function medianMax(values) {
  const v = [...values].sort((a, b) => a - b);
  return { median: v[Math.floor(v.length / 2)] ?? 0, max: v[v.length - 1] ?? 0 };
}

/**
 * The greedy part of the rule alone, for files with a live llama.cpp run and no wllama run (the
 * 7B-shaped synthetic models): `ours` equals llama.cpp's greedy ids, or first differs at a step
 * where llama.cpp's own top-2 log-probability gap is below NEAR_TIE (a near-tie its own kernels
 * can flip; after it the two texts continue from different tokens).
 * @param {number[]} ours gguf64's greedy ids
 * @param {{ generated: number[], gaps: number[] }} ref llama.cpp's ids and its top-2 gap at each step
 * @returns {{ agree: number, gap: number | undefined, ok: boolean }}
 */
export function greedyAgreement(ours, ref) {
  const agree = agreeing(ours, ref.generated);
  const gap = ref.gaps[agree];
  const ok = (agree === ref.generated.length && ours.length === agree) || (gap !== undefined && gap < NEAR_TIE);
  return { agree, gap, ok };
}
