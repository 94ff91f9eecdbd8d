// Summary statistics shared by the benchmarks: every figure is reported as its median with the
// minimum and maximum over the runs.

/** `{ median, min, max }` of a list of numbers (the upper median for an even count). */
export function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s.at(-1) };
}
