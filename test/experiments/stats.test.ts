import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  logGamma,
  mean,
  regularizedIncompleteBeta,
  sampleStd,
  studentTCdf,
  studentTTwoSidedP,
  welchTTest,
} from '../../src/experiments/stats.ts';

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: got ${actual}, expected ${expected} (±${tol})`);
}

test('mean and sample std', () => {
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  close(sampleStd([2, 4, 4, 4, 5, 5, 7, 9]), 2.138089935299395, 1e-12, 'std'); // sqrt(32/7)
  assert.ok(Number.isNaN(sampleStd([1])));
  assert.ok(Number.isNaN(mean([])));
});

test('logGamma matches factorials and Γ(1/2) = √π', () => {
  close(logGamma(1), 0, 1e-13, 'lnΓ(1)');
  close(logGamma(10), Math.log(362880), 1e-11, 'lnΓ(10)');
  close(logGamma(0.5), 0.5 * Math.log(Math.PI), 1e-13, 'lnΓ(1/2)');
  close(logGamma(0.1), Math.log(9.513507698668732), 1e-12, 'lnΓ(0.1)');
});

test('regularized incomplete beta: closed forms', () => {
  // I_x(1, b) = 1 − (1−x)^b ; I_x(a, 1) = x^a ; I_x(a, a) at x = 1/2 is 1/2.
  close(regularizedIncompleteBeta(0.3, 1, 4), 1 - 0.7 ** 4, 1e-14, 'I(1,4)');
  close(regularizedIncompleteBeta(0.8, 2.5, 1), 0.8 ** 2.5, 1e-14, 'I(2.5,1)');
  close(regularizedIncompleteBeta(0.5, 7.3, 7.3), 0.5, 1e-13, 'I(a,a)');
  assert.equal(regularizedIncompleteBeta(0, 2, 3), 0);
  assert.equal(regularizedIncompleteBeta(1, 2, 3), 1);
});

test('Student-t CDF: closed forms for ν = 1, 2 and 4', () => {
  for (const t of [-5, -1.3, 0, 0.2, 1, 2.7, 40]) {
    close(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-13, `ν=1 t=${t}`);
    close(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-13, `ν=2 t=${t}`);
    const th = Math.atan(t / 2);
    const cdf4 = 0.5 + (3 / 4) * Math.sin(th) * (1 - Math.sin(th) ** 2 / 3);
    close(studentTCdf(t, 4), cdf4, 1e-13, `ν=4 t=${t}`);
  }
});

test('Student-t two-sided p at textbook critical values and non-integer ν', () => {
  // Critical values from standard t tables (t_{0.975,10}, t_{0.995,5}, t_{0.975,30}, t_{0.95,3}), and
  // p-values from numerical integration of the t density (100-point Gauss–Legendre on 200 panels, python).
  const cases: [number, number, number][] = [
    [2.2281388519649385, 10, 0.05],
    [4.032142983557536, 5, 0.01],
    [2.0422724563012373, 30, 0.05],
    [2.3533634348018264, 3, 0.1],
    [0.5, 2.5, 0.6576979198697148],
    [1.3, 7.3, 0.23314155006616666],
    [3.0, 1.5, 0.13354775425491183],
    [10.0, 4, 0.0005620036227151903],
  ];
  for (const [t, df, p] of cases) {
    close(studentTTwoSidedP(t, df), p, 1e-10, `p(t=${t}, ν=${df})`);
    close(studentTTwoSidedP(-t, df), p, 1e-10, `p(t=${-t}, ν=${df})`);
  }
  assert.equal(studentTTwoSidedP(0, 5), 1);
  assert.equal(studentTTwoSidedP(Number.POSITIVE_INFINITY, 5), 0);
});

test("Welch's t-test reproduces R's t.test(extra ~ group, data = sleep)", () => {
  // R: t = -1.8608, df = 17.776, p-value = 0.07939
  const g1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
  const g2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
  const r = welchTTest(g1, g2);
  close(r.t, -1.8608134674868526, 1e-12, 't');
  close(r.df, 17.776473516178495, 1e-9, 'df');
  close(r.p, 0.07939414018735791, 1e-9, 'p');
});

test("Welch's t-test on unequal sizes, and undefined cases", () => {
  const r = welchTTest([0.901, 0.897, 0.905, 0.899, 0.903], [0.895, 0.893, 0.899, 0.89, 0.894, 0.896]);
  close(r.t, 3.466153200520613, 1e-9, 't');
  close(r.df, 8.470187587991322, 1e-8, 'df');
  close(r.p, 0.00777676755746759, 1e-9, 'p');
  assert.ok(Number.isNaN(welchTTest([1], [1, 2]).p));
  assert.ok(Number.isNaN(welchTTest([1, 1], [2, 2]).p));
});
