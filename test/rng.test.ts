import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../src/util/rng.ts';

test('Rng is reproducible from a seed and from a saved state', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(
    xs,
    Array.from({ length: 5 }, () => b.next()),
  );
  const saved = a.state;
  const next = a.next();
  const c = new Rng(0);
  c.state = saved;
  assert.equal(c.next(), next);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

test('Rng rejects a non-finite seed', () => {
  assert.throws(() => new Rng(Number.NaN), /seed must be a finite number/);
});
