// bench/timing.ts's statistics: the sign-test interval of a median (ranks computed exactly with Python's
// math.comb: n = 6 → 1..6, 10 → 2..9, 20 → 6..15, 100 → 40..61, 1000 → 469..532) and paired ratios.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { medianCi, pairedRatios } from '../../bench/timing.ts';

// 1..n shuffled, so that the interval's ends are the ranks themselves.
const ranks = (n: number) => Array.from({ length: n }, (_, i) => ((i * 7919) % n) + 1);

test('medianCi: 95 % sign-test ranks match the exact binomial for small and large n', () => {
  for (const [n, lo, hi] of [
    [6, 1, 6],
    [10, 2, 9],
    [20, 6, 15],
    [100, 40, 61],
    [1000, 469, 532],
  ]) {
    const xs = ranks(n);
    assert.equal(new Set(xs).size, n);
    const c = medianCi(xs);
    assert.deepEqual([c.low, c.high, c.n], [lo, hi, n], `n = ${n}`);
    assert.equal(c.median, (n + 1) / 2);
  }
});

test('medianCi: too few values for the level give no interval; bad input is refused', () => {
  assert.deepEqual(medianCi([3, 1, 2, 5, 4]), { median: 3, low: null, high: null, n: 5 });
  assert.deepEqual(medianCi([2, 1, 3, 4, 5], 0.9).low, 1);
  assert.throws(() => medianCi([]), /no values/);
  assert.throws(() => medianCi([1, 2], 1), /bad level/);
});

test('pairedRatios: round by round, refusing unequal rounds', () => {
  assert.deepEqual(pairedRatios([2, 9], [1, 3]), [2, 3]);
  assert.throws(() => pairedRatios([1], [1, 2]), /1 against 2 rounds/);
});
