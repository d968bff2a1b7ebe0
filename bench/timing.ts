// Timing shared by the kernel benchmarks (bench/conv.ts, bench/gemm.ts).

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
