import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  binomialUpperTail,
  ciHalfWidth,
  holmAdjust,
  mean,
  minimumDetectableEffect,
  pairedTTest,
  pairsForHalfWidth,
  sampleStd,
  studentTCdf,
  studentTQuantile,
  welchTTest,
} from '../../src/experiments/stats.ts';

/** mpmath at 40 digits from the textbook formulas: test/fixtures/make_stats_reference.py. */
const REF = JSON.parse(readFileSync(new URL('../fixtures/stats_reference.json', import.meta.url), 'utf8'));

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (±${tol})`);
}

test('mean and sample std', () => {
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  close(sampleStd([2, 4, 4, 4, 5, 5, 7, 9]), 2.138089935299395, 1e-12, 'std'); // sqrt(32/7)
  assert.ok(Number.isNaN(sampleStd([1])));
  assert.ok(Number.isNaN(mean([])));
});

test('Student-t CDF and quantiles against mpmath, including non-integer ν', () => {
  for (const c of REF.cdf)
    close(studentTCdf(Number(c.t), Number(c.df)), c.p, 1e-12, `cdf(${c.t}, ν=${c.df})`);
  for (const c of REF.quantile)
    close(studentTQuantile(Number(c.p), Number(c.df)), c.t, 1e-9 * Math.max(1, c.t), `q(${c.p}, ν=${c.df})`);
  assert.ok(Number.isNaN(studentTCdf(1, 0)) && Number.isNaN(studentTQuantile(0.5, -1)));
});

test('Student-t quantiles match a published t table (3 decimals)', () => {
  // t_{0.975, ν} for ν = 1, 2, 3, 4, 5, 9, 19, 29 as printed in standard tables
  const table = [12.706, 4.303, 3.182, 2.776, 2.571, 2.262, 2.093, 2.045];
  [1, 2, 3, 4, 5, 9, 19, 29].forEach((df, i) =>
    close(studentTQuantile(0.975, df), table[i]!, 5e-4, `ν=${df}`),
  );
});

test("paired t-test reproduces R's t.test(sleep$extra[1:10], sleep$extra[11:20], paired = TRUE)", () => {
  // R prints: t = -4.0621, df = 9, p-value = 0.002833, 95 % CI -2.4598858 -0.7001142, mean difference -1.58
  const { sleep1, sleep2 } = REF.data;
  const r = pairedTTest(sleep1, sleep2);
  const e = REF.sleep_paired;
  close(r.mean, e.mean, 1e-12, 'mean');
  close(r.t, e.t, 1e-10, 't');
  assert.equal(r.df, 9);
  close(r.p, e.p, 1e-10, 'p');
  close(r.ci[0], e.ci[0], 1e-9, 'ci lo');
  close(r.ci[1], e.ci[1], 1e-9, 'ci hi');
  close(r.p, 0.002833, 5e-7, "R's p");
  close(r.ci[0], -2.4598858, 5e-8, "R's CI");
  close(r.halfWidth, ciHalfWidth(r.sd, r.n), 1e-12, 'half-width');
});

test('paired t-test on correlated rows, and its degenerate cases', () => {
  const { rowA, rowB } = REF.data;
  const r = pairedTTest(rowB, rowA);
  close(r.mean, REF.rows_paired.mean, 1e-14, 'mean');
  close(r.p, REF.rows_paired.p, 1e-10, 'p');
  close(r.ci[0], REF.rows_paired.ci[0], 1e-12, 'ci lo');
  // the same numbers unpaired: Welch's test cannot tell, the paired one can
  const w = welchTTest(rowB, rowA);
  close(w.p, REF.rows_welch.p, 1e-10, 'Welch p');
  close(w.df, REF.rows_welch.df, 1e-8, 'Welch df');
  assert.ok(r.p < 0.01 && w.p > 0.05, `paired ${r.p}, Welch ${w.p}`);
  const flat = pairedTTest([1, 2, 3], [0, 1, 2]);
  assert.deepEqual([flat.mean, flat.halfWidth, flat.ci], [1, 0, [1, 1]]);
  assert.ok(Number.isNaN(flat.p));
  const one = pairedTTest([1], [0]);
  assert.ok(Number.isNaN(one.halfWidth) && Number.isNaN(one.ci[0]) && Number.isNaN(one.mde));
  assert.throws(() => pairedTTest([1, 2], [1]), /2 values against 1/);
});

test("Welch's t-test reproduces R's t.test(extra ~ group, data = sleep); undefined cases are NaN", () => {
  // R: t = -1.8608, df = 17.776, p-value = 0.07939, 95 % CI -3.3654832 0.2054832
  const r = welchTTest(REF.data.sleep1, REF.data.sleep2);
  close(r.t, REF.sleep_welch.t, 1e-12, 't');
  close(r.df, REF.sleep_welch.df, 1e-9, 'df');
  close(r.p, REF.sleep_welch.p, 1e-10, 'p');
  close(r.p, 0.07939, 5e-6, "R's p");
  assert.ok(Number.isNaN(welchTTest([1], [1, 2]).p));
  assert.ok(Number.isNaN(welchTTest([1, 1], [2, 2]).p));
});

test('minimum detectable effect and the pairs a CI target needs', () => {
  // (t_{0.975,4} + t_{0.8,4}) · sd/√5 with the quantiles from mpmath
  const q975 = REF.quantile.find((q: { p: string; df: number }) => q.p === '0.975' && q.df === 4).t;
  const q80 = REF.quantile.find((q: { p: string; df: number }) => q.p === '0.8' && q.df === 4).t;
  close(minimumDetectableEffect(0.02, 5), ((q975 + q80) * 0.02) / Math.sqrt(5), 1e-12, 'MDE');
  assert.ok(minimumDetectableEffect(0.02, 20) < minimumDetectableEffect(0.02, 5));
  close(ciHalfWidth(0.02, 5), (q975 * 0.02) / Math.sqrt(5), 1e-12, 'half-width');
  // the fewest pairs that reach ±0.01 with sd 0.02: one pair fewer misses it
  const n = pairsForHalfWidth(0.02, 0.01)!;
  assert.ok(ciHalfWidth(0.02, n) <= 0.01 && ciHalfWidth(0.02, n - 1) > 0.01, `n = ${n}`);
  assert.equal(pairsForHalfWidth(1, 1e-6, 50), null);
  assert.ok(Number.isNaN(minimumDetectableEffect(0.1, 1)));
});

test('binomial upper tail P(X ≥ k) against exact rational sums, tiny tails included', () => {
  for (const c of REF.binomial_upper) {
    const got = binomialUpperTail(c.k, c.n, c.p);
    close(got, c.tail, 1e-12 * c.tail + 1e-300, `P(X ≥ ${c.k}), n = ${c.n}, p = ${c.p}`);
  }
  assert.equal(binomialUpperTail(0, 10, 0.25), 1);
  assert.equal(binomialUpperTail(11, 10, 0.25), 0);
  for (const bad of [
    [1.5, 10, 0.25],
    [1, -1, 0.25],
    [1, 10, 1.5],
  ])
    assert.ok(Number.isNaN(binomialUpperTail(bad[0], bad[1], bad[2])), `NaN for ${bad}`);
});

test("Holm's adjustment: sorted step-down multipliers m, m − 1, …, a running maximum, capped at 1; order kept", () => {
  // by hand (R's p.adjust(p, "holm") defines it the same way): sorted 0.005·4 = 0.02, 0.01·3 = 0.03,
  // 0.03·2 = 0.06, 0.04·1 = 0.04 → raised to the running maximum 0.06
  const got = holmAdjust([0.01, 0.04, 0.03, 0.005]);
  [0.03, 0.06, 0.06, 0.02].forEach((want, i) => close(got[i], want, 1e-15, `p[${i}]`));
  const two = holmAdjust([0.2, 0.001]);
  close(two[0], 0.2, 1e-15, 'the larger p keeps its value');
  close(two[1], 0.002, 1e-15, 'the smaller p doubles');
  assert.deepEqual(holmAdjust([0.5, 0.6]), [1, 1]);
  assert.deepEqual(holmAdjust([]), []);
});
