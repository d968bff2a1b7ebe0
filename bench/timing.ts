// Timing and its statistics, shared by the benchmarks (bench/conv.ts, bench/gemm.ts, bench/inference.ts).

/**
 * [wall ms, process CPU ms] per call, each the best of `reps` rounds: a round repeats `fn` until at least minMs
 * has passed, and the fastest round counts.
 */
export function bestOf(reps: number, minMs: number, fn: () => void): [number, number] {
  let best = Number.POSITIVE_INFINITY;
  let bestCpu = Number.POSITIVE_INFINITY;
  for (let r = 0; r < reps; r++) {
    let calls = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let t = t0;
    do {
      fn();
      calls++;
      t = performance.now();
    } while (t - t0 < minMs);
    const c = process.cpuUsage(c0);
    best = Math.min(best, (t - t0) / calls);
    bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000 / calls);
  }
  return [best, bestCpu];
}

/** The median of `xs` with a distribution-free confidence interval. */
export interface MedianCi {
  median: number;
  /** The interval's ends: order statistics of `xs`; null when n is too small for `level` (n < 6 at 95 %). */
  low: number | null;
  high: number | null;
  n: number;
}

/**
 * median(xs) and the interval [x_(j), x_(n+1−j)] of the sorted values that covers the population median with
 * probability ≥ `level` for any continuous distribution: j is the largest rank with P(B ≤ j − 1) ≤ (1 − level)/2,
 * B ~ Binomial(n, 1/2) (the sign-test interval). Used on paired per-round ratios, whose VM outliers would drag a
 * mean-based interval.
 */
export function medianCi(xs: readonly number[], level = 0.95): MedianCi {
  const n = xs.length;
  if (n === 0) throw new Error('medianCi: no values');
  if (!(level > 0 && level < 1)) throw new Error(`medianCi: bad level ${level}; allowed: 0 < level < 1`);
  const s = [...xs].sort((a, b) => a - b);
  const h = n >> 1;
  const median = n % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
  // cdf = P(B ≤ j − 1), grown one rank at a time; pmf in log space so that large n does not underflow to 0.
  const tail = (1 - level) / 2;
  let logChoose = 0;
  let cdf = 0;
  let j = 0;
  for (let i = 0; i <= h; i++) {
    if (i > 0) logChoose += Math.log((n - i + 1) / i);
    cdf += Math.exp(logChoose - n * Math.LN2);
    if (cdf > tail) break;
    j = i + 1;
  }
  return j === 0 ? { median, low: null, high: null, n } : { median, low: s[j - 1], high: s[n - j], n };
}

/** a_i / b_i for each round i (a and b timed in the same rounds). */
export function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new Error(`pairedRatios: ${a.length} against ${b.length} rounds`);
  return a.map((x, i) => x / b[i]);
}
