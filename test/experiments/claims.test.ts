// The report's verdicts on the paper's claims: which side of 0 the paired CI falls on, per metric direction.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { judgeClaims, verdict } from '../../src/experiments/claims.ts';
import { getExperiment } from '../../src/experiments/definitions/index.ts';
import type { PairedRow } from '../../src/experiments/paired.ts';

const row = (higherIsBetter: boolean, ci: [number, number], n = 5) =>
  ({ paired: { n, ci, mean: (ci[0] + ci[1]) / 2 }, metric: { higherIsBetter } }) as unknown as PairedRow;

test('verdict: agrees / disagrees / cannot tell by the CI, for accuracy (higher) and loss (lower)', () => {
  assert.equal(verdict(row(true, [0.001, 0.004])), 'agrees');
  assert.equal(verdict(row(true, [-0.004, -0.001])), 'disagrees');
  assert.equal(verdict(row(true, [-0.001, 0.004])), 'cannot tell');
  assert.equal(verdict(row(false, [-0.03, -0.01])), 'agrees', 'a lower loss is better');
  assert.equal(verdict(row(false, [0.01, 0.03])), 'disagrees');
  assert.equal(verdict(row(false, [-0.01, 0.03])), 'cannot tell');
  assert.equal(verdict(row(true, [Number.NaN, Number.NaN], 1)), 'one pair: no CI');
  assert.equal(verdict(null), 'not run');
});

test('claims: the neighbour questions only where the budget runs the neighbours', () => {
  for (const name of ['vision', 'lm'] as const) {
    const def = getExperiment(name);
    const judged = (budget: 'standard' | 'full') =>
      judgeClaims(
        def,
        def.rows(budget).map((r) => ({ row: r, records: [] })),
      ).map((j) => j.claim.against);
    assert.ok(!judged('standard').includes('rezero'), `${name} standard`);
    assert.ok(judged('full').includes('rezero') && judged('full').includes('layerscale'), `${name} full`);
    // every claim names rows of the full budget (a typo would silently drop a claim)
    const ids = new Set(def.rows('full').map((r) => r.id));
    for (const c of def.claims ?? []) assert.ok(ids.has(c.row) && ids.has(c.against), `${name}: ${c.text}`);
  }
});
