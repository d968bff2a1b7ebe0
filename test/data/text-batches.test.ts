import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  TextWindowSampler,
  countSequentialWindows,
  sequentialWindows,
  splitInputsTargets,
  unigramCrossEntropy,
} from '../../src/data/text-batches.ts';

const stream = Int32Array.from({ length: 100 }, (_, i) => i); // token i at position i

test('random windows: shape [B, T+1], contiguous, seeded', () => {
  const s = new TextWindowSampler(stream, { batchSize: 4, seqLen: 8, seed: 3 });
  const b = s.next();
  assert.equal(b.tokens.length, 4 * 9);
  assert.deepEqual([b.batchSize, b.seqLen], [4, 8]);
  for (let r = 0; r < 4; r++) {
    const row = b.tokens.subarray(r * 9, r * 9 + 9);
    for (let j = 1; j < 9; j++) assert.equal(row[j], row[0] + j);
    assert.ok(row[0] >= 0 && row[8] <= 99);
  }
  const t = new TextWindowSampler(stream, { batchSize: 4, seqLen: 8, seed: 3 });
  assert.deepEqual(Array.from(t.next().tokens), Array.from(b.tokens));
  const u = new TextWindowSampler(stream, { batchSize: 4, seqLen: 8, seed: 4 });
  assert.notDeepEqual(Array.from(u.next().tokens), Array.from(b.tokens));
  // the whole range of starts is reachable, including the last
  const starts = new Set<number>();
  const w = new TextWindowSampler(
    Int32Array.from({ length: 12 }, (_, i) => i),
    { batchSize: 8, seqLen: 10, seed: 0 },
  );
  for (let i = 0; i < 10; i++) for (let r = 0; r < 8; r++) starts.add(w.next().tokens[r * 11]);
  assert.deepEqual([...starts].sort(), [0, 1]);
});

test('sampler save/restore continues identically', () => {
  const a = new TextWindowSampler(stream, { batchSize: 2, seqLen: 5, seed: 9 });
  a.next();
  a.next();
  const st = JSON.parse(JSON.stringify(a.state()));
  const rest = [a.next(), a.next()].map((b) => Array.from(b.tokens));
  const b = new TextWindowSampler(stream, { batchSize: 2, seqLen: 5, seed: 9 });
  b.restore(st);
  assert.equal(b.step, 2);
  assert.deepEqual(
    [b.next(), b.next()].map((x) => Array.from(x.tokens)),
    rest,
  );
  assert.throws(
    () => new TextWindowSampler(stream, { batchSize: 2, seqLen: 5, seed: 1 }).restore(st),
    /seed 9/,
  );
});

test('sequential sweep: every target predicted exactly once, last batch partial, capped sweep', () => {
  const T = 7;
  const batches = [...sequentialWindows(stream, { batchSize: 4, seqLen: T })];
  assert.equal(countSequentialWindows(100, T), 14);
  assert.deepEqual(
    batches.map((b) => b.batchSize),
    [4, 4, 4, 2],
  );
  const targets = batches.flatMap((b) => Array.from(splitInputsTargets(b).targets));
  assert.deepEqual(
    targets,
    Array.from({ length: 14 * T }, (_, i) => i + 1),
  );
  const capped = [...sequentialWindows(stream, { batchSize: 4, seqLen: T, maxWindows: 3 })];
  assert.equal(capped.length, 1);
  const starts = [0, 1, 2].map((r) => capped[0].tokens[r * (T + 1)]);
  assert.deepEqual(starts, [0, 4 * T, 9 * T]);
  assert.throws(
    () => [...sequentialWindows(stream.subarray(0, 5), { batchSize: 1, seqLen: 8 })],
    /shorter than one window/,
  );
});

test('inputs/targets are shifted by one', () => {
  const { inputs, targets } = splitInputsTargets({
    tokens: Int32Array.from([1, 2, 3, 4, 5, 6]),
    batchSize: 2,
    seqLen: 2,
  });
  assert.deepEqual(Array.from(inputs), [1, 2, 4, 5]);
  assert.deepEqual(Array.from(targets), [2, 3, 5, 6]);
});

test('unigram cross-entropy: uniform gives log V; a skewed fit is lower on matching data', () => {
  const uniform = Int32Array.from({ length: 400 }, (_, i) => i % 4);
  assert.ok(Math.abs(unigramCrossEntropy(uniform, uniform, 4, 0) - Math.log(4)) < 1e-12);
  const skew = Int32Array.from({ length: 1000 }, (_, i) => (i % 10 === 0 ? 1 : 0));
  const h = unigramCrossEntropy(skew, skew, 4, 0);
  const expected = -(0.9 * Math.log(0.9) + 0.1 * Math.log(0.1));
  assert.ok(Math.abs(h - expected) < 1e-12);
  // smoothing keeps unseen test tokens finite
  assert.ok(Number.isFinite(unigramCrossEntropy(skew, Int32Array.of(3), 4)));
  assert.throws(() => unigramCrossEntropy(skew, Int32Array.of(4), 4), /not in \[0, 4\)/);
});
