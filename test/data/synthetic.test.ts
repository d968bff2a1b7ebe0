import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageBatcher } from '../../src/data/image-batches.ts';
import { CopyTask, markovTokenStream, syntheticImageTask } from '../../src/data/synthetic.ts';
import { splitInputsTargets, unigramCrossEntropy } from '../../src/data/text-batches.ts';

test('synthetic images: shapes, balance, determinism, and learnable (nearest class mean > 90 %)', () => {
  const { train, test: te } = syntheticImageTask({ seed: 1, nTrain: 500, nTest: 200, numClasses: 5 });
  assert.equal(train.x.length, 500 * 28 * 28);
  assert.deepEqual([te.n, te.height, te.width, te.channels, te.numClasses], [200, 28, 28, 1, 5]);
  const counts = [0, 0, 0, 0, 0];
  for (const v of train.y) counts[v]++;
  assert.deepEqual(counts, [100, 100, 100, 100, 100]);
  const again = syntheticImageTask({ seed: 1, nTrain: 500, nTest: 200, numClasses: 5 });
  assert.deepEqual(Array.from(again.test.x.subarray(0, 100)), Array.from(te.x.subarray(0, 100)));
  const size = 784;
  const means = Array.from({ length: 5 }, () => new Float64Array(size));
  for (let i = 0; i < train.n; i++)
    for (let j = 0; j < size; j++) means[train.y[i]][j] += train.x[i * size + j] / 100;
  let correct = 0;
  for (let i = 0; i < te.n; i++) {
    let best = -1;
    let bestD = Number.POSITIVE_INFINITY;
    for (let k = 0; k < 5; k++) {
      let d = 0;
      for (let j = 0; j < size; j++) d += (te.x[i * size + j] - means[k][j]) ** 2;
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    if (best === te.y[i]) correct++;
  }
  assert.ok(correct / te.n > 0.9, `nearest-mean accuracy ${correct / te.n}`);
  // works with the batcher
  assert.deepEqual(new ImageBatcher(train, { batchSize: 8, seed: 0 }).next().value.shape, [8, 28, 28, 1]);
});

test('copy task: second half repeats the first; state restore', () => {
  const task = new CopyTask({ batchSize: 3, seqLen: 9, vocabSize: 20, seed: 2 });
  const b = task.next();
  assert.equal(b.tokens.length, 3 * 10);
  const { inputs, targets } = splitInputsTargets(b);
  for (let r = 0; r < 3; r++) {
    const row = Array.from(b.tokens.subarray(r * 10, r * 10 + 10));
    assert.equal(row[0], 0);
    assert.deepEqual(row.slice(5, 9), row.slice(1, 5));
    assert.equal(row[9], row[1]);
    assert.ok(row.slice(1).every((t) => t >= 1 && t < 20));
    // the first predictable target equals the token h positions earlier in the inputs
    for (let t = task.firstPredictable; t < 9; t++)
      assert.equal(targets[r * 9 + t], inputs[r * 9 + t + 1 - task.half]);
  }
  const st = task.state();
  const n1 = task.next();
  const other = new CopyTask({ batchSize: 3, seqLen: 9, vocabSize: 20, seed: 2 });
  other.restore(st);
  assert.deepEqual(Array.from(other.next().tokens), Array.from(n1.tokens));
});

test('markov stream: entropy rate log(branching), well below unigram entropy', () => {
  const { tokens, entropyRate } = markovTokenStream({ n: 20000, vocabSize: 32, seed: 5 });
  assert.equal(tokens.length, 20000);
  assert.equal(entropyRate, Math.log(2));
  const h = unigramCrossEntropy(tokens.subarray(0, 10000), tokens.subarray(10000), 32);
  assert.ok(h > entropyRate + 1.5, `unigram ${h}`);
  const bigrams = new Map<number, Set<number>>();
  for (let i = 0; i + 1 < tokens.length; i++) {
    if (!bigrams.has(tokens[i])) bigrams.set(tokens[i], new Set());
    bigrams.get(tokens[i])!.add(tokens[i + 1]);
  }
  for (const s of bigrams.values()) assert.ok(s.size <= 2);
});
