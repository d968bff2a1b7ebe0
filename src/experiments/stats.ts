/**
 * Statistics for experiment reports: mean, sample std, the paired t-test with its 95 % confidence interval (rows
 * of one experiment share seeds, weights and batches: common random numbers), Welch's unequal-variance t-test
 * beside it, and the minimum detectable effect. The t distribution comes from stdlib (`@stdlib/stats-ttest`,
 * `@stdlib/stats-ttest2`, `@stdlib/stats-base-dists-t-cdf` / `-t-quantile`), and so does the binomial tail
 * (`@stdlib/stats-base-dists-binomial-cdf`) and Holm's adjustment for many tests (`@stdlib/stats-padjust`);
 * test/experiments/stats.test.ts checks them against mpmath, exact rational sums and R's published output
 * (test/fixtures/make_stats_reference.py), Holm's against values worked by hand.
 */
import type BinomialCdf from '@stdlib/stats-base-dists-binomial-cdf';
import type TCdf from '@stdlib/stats-base-dists-t-cdf';
import type TQuantile from '@stdlib/stats-base-dists-t-quantile';
import type PAdjust from '@stdlib/stats-padjust';
import type TTest from '@stdlib/stats-ttest';
import type TTest2 from '@stdlib/stats-ttest2';
import { requireOptional } from '../util/optional.ts';

/** Significance level of the tests and the confidence intervals (95 %). */
export const ALPHA = 0.05;
/** Power the minimum detectable effect is stated at. */
export const POWER = 0.8;

/** A p-value as the reports print it: three decimals, or `<0.001`. */
export function formatP(p: number): string {
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (divides by n − 1); NaN for fewer than two values. */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return Number.NaN;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (xs.length - 1));
}

/** CDF of Student's t with `df` (> 0, not necessarily integer) degrees of freedom; NaN for df ≤ 0. */
export function studentTCdf(t: number, df: number): number {
  return df > 0 ? requireOptional<typeof TCdf>('@stdlib/stats-base-dists-t-cdf')(t, df) : Number.NaN;
}

/** The p-quantile of Student's t with `df` degrees of freedom; NaN for df ≤ 0. */
export function studentTQuantile(p: number, df: number): number {
  return df > 0
    ? requireOptional<typeof TQuantile>('@stdlib/stats-base-dists-t-quantile')(p, df)
    : Number.NaN;
}

export interface WelchResult {
  /** t statistic of mean(a) − mean(b). */
  t: number;
  /** Welch–Satterthwaite degrees of freedom. */
  df: number;
  /** Two-sided p-value; NaN when undefined (fewer than 2 values in a group, or both groups constant). */
  p: number;
}

const NO_WELCH: WelchResult = { t: Number.NaN, df: Number.NaN, p: Number.NaN };

/** Welch's two-sample t-test (unequal variances), two-sided. */
export function welchTTest(a: readonly number[], b: readonly number[]): WelchResult {
  if (a.length < 2 || b.length < 2) return NO_WELCH;
  // stdlib divides by the pooled standard error: both groups constant would give 0/0
  if (!(sampleStd(a) ** 2 / a.length + sampleStd(b) ** 2 / b.length > 0)) return NO_WELCH;
  const r = requireOptional<typeof TTest2>('@stdlib/stats-ttest2')([...a], [...b], {
    variance: 'unequal',
    alpha: ALPHA,
  });
  return { t: r.statistic, df: r.df, p: r.pValue };
}

export interface PairedResult {
  /** Pairs (trials of both rows with the same seed). */
  n: number;
  /** Mean of the paired differences a − b. */
  mean: number;
  /** Sample std of the differences; NaN for n < 2. */
  sd: number;
  /** 95 % confidence interval of the mean difference; NaN ends for n < 2. */
  ci: [number, number];
  /** Half-width of the interval (t₀.₉₇₅,ₙ₋₁ · sd/√n). */
  halfWidth: number;
  t: number;
  df: number;
  /** Two-sided p-value of the paired t-test. */
  p: number;
  /** Minimum detectable effect at 80 % power and α = 0.05 for these n and sd (see `minimumDetectableEffect`). */
  mde: number;
}

/**
 * The paired t-test of a[i] − b[i] (two-sided) with its 95 % CI and MDE. All differences equal (sd = 0) gives a
 * zero-width interval and p = NaN (no noise estimate), not a division by zero.
 */
export function pairedTTest(a: readonly number[], b: readonly number[]): PairedResult {
  if (a.length !== b.length) throw new Error(`pairedTTest: ${a.length} values against ${b.length}`);
  const d = a.map((x, i) => x - b[i]!);
  const n = d.length;
  const m = mean(d);
  const sd = sampleStd(d);
  if (n < 2 || !(sd > 0)) {
    const ci: [number, number] = n >= 2 ? [m, m] : [Number.NaN, Number.NaN];
    return {
      n,
      mean: m,
      sd,
      ci,
      halfWidth: n >= 2 ? 0 : Number.NaN,
      t: Number.NaN,
      df: n - 1,
      p: Number.NaN,
      mde: Number.NaN,
    };
  }
  const r = requireOptional<typeof TTest>('@stdlib/stats-ttest')(d, { alpha: ALPHA });
  const ci: [number, number] = [r.ci[0], r.ci[1]];
  return {
    n,
    mean: m,
    sd,
    ci,
    halfWidth: (ci[1] - ci[0]) / 2,
    t: r.statistic,
    df: r.df,
    p: r.pValue,
    mde: minimumDetectableEffect(sd, n),
  };
}

/**
 * Smallest true mean difference a two-sided paired t-test at level α detects with probability `power`, given
 * the differences' std `sd` and n pairs: (t₁₋α/₂,ₙ₋₁ + t_power,ₙ₋₁) · sd/√n. This is the usual central-t
 * approximation of the noncentral-t power equation; it is slightly optimistic for very small n.
 */
export function minimumDetectableEffect(sd: number, n: number, alpha = ALPHA, power = POWER): number {
  if (!(n >= 2) || !(sd >= 0)) return Number.NaN;
  return ((studentTQuantile(1 - alpha / 2, n - 1) + studentTQuantile(power, n - 1)) * sd) / Math.sqrt(n);
}

/** Half-width of the 95 % CI of a mean difference from n pairs with std `sd`: t₀.₉₇₅,ₙ₋₁ · sd/√n. */
export function ciHalfWidth(sd: number, n: number, alpha = ALPHA): number {
  if (!(n >= 2) || !(sd >= 0)) return Number.NaN;
  return (studentTQuantile(1 - alpha / 2, n - 1) * sd) / Math.sqrt(n);
}

/** Fewest pairs (≥ 2, at most `max`) whose 95 % CI half-width with std `sd` is ≤ `halfWidth`; null past `max`. */
export function pairsForHalfWidth(sd: number, halfWidth: number, max = 1000): number | null {
  if (!(sd >= 0) || !(halfWidth > 0)) return null;
  for (let n = 2; n <= max; n++) if (ciHalfWidth(sd, n) <= halfWidth) return n;
  return null;
}

/**
 * P(X ≥ k) for X ~ Binomial(n, p): the one-sided p-value of k successes in n trials against a success rate of p
 * (e.g. k right answers of n four-way choices against chance, p = 1/4). 1 for k ≤ 0, 0 for k > n.
 */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (!Number.isInteger(k) || !Number.isInteger(n) || n < 0 || !(p >= 0 && p <= 1)) return Number.NaN;
  if (k <= 0) return 1;
  if (k > n) return 0;
  // X ≥ k ⇔ n − X ≤ n − k, and n − X ~ Binomial(n, 1 − p): a lower tail, so that tiny p-values do not cancel to 0
  return requireOptional<typeof BinomialCdf>('@stdlib/stats-base-dists-binomial-cdf')(n - k, n, 1 - p);
}

/**
 * Holm's step-down adjustment of p-values for testing them all at once (family-wise error ≤ α when every
 * adjusted p < α is called significant); the same as R's `p.adjust(p, "holm")`. Order is kept.
 */
export function holmAdjust(ps: readonly number[]): number[] {
  if (ps.length === 0) return [];
  return requireOptional<typeof PAdjust>('@stdlib/stats-padjust')([...ps], 'holm');
}
