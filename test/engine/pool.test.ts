import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { poolMegabytes } from '../../src/engine/backends.ts';
import { type NativeBackend, ops } from '../../src/engine/index.ts';
import { rand, setup, t } from './helpers.ts';

async function native(): Promise<NativeBackend> {
  await setup();
  await tf.setBackend('native');
  return tf.backend() as NativeBackend;
}

test('buffer pool recycles disposed outputs but never arrays handed out by dataSync', async () => {
  const b = await native();
  assert.ok(b.pooling, 'pooling is on by default');
  const x = t(rand(4096, 1), [64, 64]);
  const y = tf.exp(x);
  const seen = y.dataSync(); // escapes: must not be recycled
  const copy = seen.slice();
  y.dispose();
  const hits0 = b.poolStats().hits;
  for (let i = 0; i < 5; i++) tf.tidy(() => tf.exp(x).add(1).mul(2));
  assert.ok(b.poolStats().hits > hits0, 'disposed outputs are reused');
  assert.deepEqual(seen, copy, 'an array returned by dataSync was overwritten');
  x.dispose();
});

test('a slice (subarray view in the cpu kernel) survives recycling of its source', async () => {
  await native();
  const vals = rand(8192, 2);
  const src = tf.exp(t(vals, [128, 64])); // pooled output
  const s = tf.slice(src, [10, 0], [5, 64]); // contiguous slice: a view in tfjs's cpu kernel
  src.dispose();
  // Churn the pool with arrays of the source's size.
  for (let i = 0; i < 4; i++) tf.tidy(() => tf.neg(t(new Float32Array(8192), [128, 64])).add(5));
  const got = s.dataSync();
  for (let j = 0; j < 5 * 64; j++)
    assert.ok(Math.abs(got[j] - Math.exp(vals[10 * 64 + j])) < 1e-5 * Math.exp(1));
  s.dispose();
  // Unstack/split also slice.
  const src2 = tf.exp(t(vals, [2, 4096]));
  const [a] = tf.unstack(src2);
  const [c] = tf.split(src2, 2, 0);
  src2.dispose();
  for (let i = 0; i < 4; i++) tf.tidy(() => tf.neg(t(new Float32Array(8192), [2, 4096])).add(5));
  const av = a.dataSync();
  const cv = c.dataSync();
  for (let j = 0; j < 4096; j += 97) {
    assert.ok(Math.abs(av[j] - Math.exp(vals[j])) < 1e-4);
    assert.ok(Math.abs(cv[j] - Math.exp(vals[j])) < 1e-4);
  }
  tf.dispose([a, c]);
});

test('no leaks: tensor and byte counts stay flat across 100 training steps (conv, BN, GELU, combine, LN, dense, CE)', async () => {
  const b = await native();
  const w1 = tf.variable(
    t(
      rand(3 * 3 * 1 * 8, 1).map((v) => v * 0.3),
      [3, 3, 1, 8],
    ),
  );
  const b1 = tf.variable(tf.zeros([8]));
  const w2 = tf.variable(
    t(
      rand(8 * 7 * 7 * 10, 2).map((v) => v * 0.05),
      [8 * 7 * 7, 10],
    ),
  );
  const emb = tf.variable(t(rand(20 * 4, 3), [20, 4]));
  const x = t(rand(16 * 14 * 14, 4), [16, 14, 14, 1]);
  const ids = tf.tensor1d(
    Int32Array.from({ length: 16 }, (_, i) => i % 20),
    'int32',
  );
  const labels = tf.oneHot(
    tf.tensor1d(
      Int32Array.from({ length: 16 }, (_, i) => i % 10),
      'int32',
    ),
    10,
  );
  const gam = tf.variable(tf.ones([8]));
  const bet = tf.variable(tf.zeros([8]));
  const alpha = tf.variable(tf.scalar(1));
  const opt = tf.train.adam(1e-2);
  const loss = () =>
    tf.tidy(() => {
      const h0 = tf.fused.conv2d({
        x: x as tf.Tensor4D,
        filter: w1 as tf.Tensor4D,
        strides: 1,
        pad: 'same',
        bias: b1,
        activation: 'relu',
      });
      const bn = ops().batchNormTrain(h0, gam, bet, 1e-5, false);
      const h = ops().combine(ops().gelu(bn.y), h0, { alpha });
      const p = ops().layerNorm(
        tf.maxPool(h as tf.Tensor4D, 2, 2, 'valid').reshape([16, -1]),
        undefined,
        undefined,
        1e-5,
      );
      const e = tf.gather(emb, ids).sum(1, true);
      const logits = tf.matMul(p, w2).add(e);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    });
  const losses: number[] = [];
  const counts: { tensors: number; bytes: number }[] = [];
  for (let i = 0; i < 100; i++) {
    const l = opt.minimize(loss, true)!;
    losses.push(l.dataSync()[0]);
    l.dispose();
    const m = tf.memory();
    counts.push({ tensors: m.numTensors, bytes: m.numBytes });
  }
  assert.deepEqual(
    counts[99],
    counts[1],
    `tensors/bytes grew: ${JSON.stringify(counts[1])} → ${JSON.stringify(counts[99])}`,
  );
  assert.ok(losses[99] < losses[0], `training must reduce the loss (${losses[0]} → ${losses[99]})`);
  assert.ok(b.poolStats().bytes <= 256 * 1024 * 1024);
  opt.dispose();
  tf.dispose([w1, b1, w2, emb, x, ids, labels, gam, bet, alpha]);
});

test('arrays that cpu fallbacks keep under other tensors (rank-9 slice/unstack views, complex parts) stay live', async () => {
  const b = await native();
  const shape = [2, 2, 2, 2, 2, 2, 2, 2, 4]; // rank 9: past the native kernels, the cpu kernels run
  const churn = (ones: tf.Tensor, k: number) => tf.mul(ones, k); // same length: takes a pooled array
  const ones = tf.ones(shape);
  for (const view of [(x: tf.Tensor) => tf.slice(x, [0], [1]), (x: tf.Tensor) => tf.unstack(x)[0]]) {
    const x = tf.add(ones, 1); // a native output, all 2
    const y = view(x); // a view of x's array
    x.dispose();
    const z = churn(ones, 7);
    assert.ok(
      Array.from(y.dataSync()).every((v) => v === 2),
      'a view outlived its source and was overwritten',
    );
    tf.dispose([y, z]);
  }
  const flat = tf.ones([1024]);
  const re = tf.add(flat, 1);
  const im = tf.add(flat, 2);
  const c = tf.complex(re, im); // keeps re's and im's arrays under its own parts
  c.dispose();
  const [p, q] = [churn(flat, 8), churn(flat, 7)];
  assert.equal(re.dataSync()[0], 2, 'a complex part freed the live real input');
  assert.equal(im.dataSync()[0], 3, 'a complex part freed the live imaginary input');
  tf.dispose([p, q]);
  // disposed twice over (the part, then the input): the array must enter the pool once
  const re2 = tf.add(flat, 1);
  const im2 = tf.add(flat, 2);
  tf.complex(re2, im2).dispose();
  tf.dispose([re2, im2]);
  const fresh = [3, 4, 5, 6].map((k) => churn(flat, k));
  assert.deepEqual(
    fresh.map((f) => f.dataSync()[0]),
    [3, 4, 5, 6],
    'two tensors were given one array',
  );
  tf.dispose([...fresh, ones, flat]);
  assert.ok(b.pooling);
});

test('LAUREL_POOL_MB: default 1024, a number is taken, anything else is a clear error', () => {
  assert.equal(poolMegabytes(undefined), 1024);
  assert.equal(poolMegabytes(''), 1024);
  assert.equal(poolMegabytes('0'), 0);
  assert.equal(poolMegabytes('300'), 300);
  assert.throws(() => poolMegabytes('lots'), /LAUREL_POOL_MB must be a number of megabytes/);
  assert.throws(() => poolMegabytes('-5'), /LAUREL_POOL_MB/);
});

test('a training-step-sized working set (many arrays of one length) is recycled without misses', async () => {
  const b = await native();
  const n = 64 * 1024; // 256 KB each, 40 live at once: more than the old per-size cap of 16
  const x = t(rand(n, 5), [n]);
  const step = () => {
    // All 80 outputs are alive together, as a step's activations are, then all are freed.
    const ys = Array.from({ length: 40 }, (_, i) => tf.mul(x, i / 40));
    const zs = ys.map((y) => tf.exp(y));
    tf.dispose([...ys, ...zs]);
  };
  step();
  const before = b.poolStats();
  step();
  const after = b.poolStats();
  assert.equal(after.misses - before.misses, 0, 'the second step allocates nothing new');
  assert.ok(after.hits - before.hits >= 80);
  x.dispose();
});
