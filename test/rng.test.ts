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

test('Rng rejects a seed it would fold into another: only 32-bit integers, signed or not', () => {
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 1.5, -(2 ** 31) - 1, 2 ** 32])
    assert.throws(
      () => new Rng(bad),
      /^Error: Rng: seed must be an integer from -2147483648 to 4294967295, got /,
      String(bad),
    );
  assert.equal(new Rng(-1).next(), new Rng(2 ** 32 - 1).next(), 'the same 32-bit pattern');
});
