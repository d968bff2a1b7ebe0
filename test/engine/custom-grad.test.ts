// src/engine/ops/custom-grad.ts: outside a gradient tape an op runs its forward alone (no tf.customGrad record);
// inside one (tf.grad, variableGrads, optimizer.minimize) it runs as tf.customGrad. The fused ops and the reference
// ops are built on it: both paths give the same values, leave no tensors behind, and differentiate.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { nativeOps, referenceOps } from '../../src/engine/index.ts';
import { customGrad } from '../../src/engine/ops/custom-grad.ts';
import { rand, setup, t } from './helpers.ts';

test('customGrad: the forward alone outside a tape, tf.customGrad inside one', async () => {
  await setup();
  await tf.setBackend('cpu');
  let saves = 0;
  let grads = 0;
  const square = customGrad((...args) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([x]);
    return {
      value: tf.square(x),
      gradFunc: (dy, saved) => {
        grads++;
        return tf.mul(dy, tf.mul(saved[0], 3)); // deliberately not 2x: proves this gradient is the one used
      },
    };
  });
  const countSaves = customGrad((...args) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([x]);
    saves++;
    return { value: tf.neg(x), gradFunc: (dy) => tf.neg(dy) };
  });
  const x = tf.tensor1d([1, -2, 3]);
  const before = tf.memory().numTensors;
  const y = square(x);
  assert.deepEqual(Array.from(y.dataSync()), [1, 4, 9]);
  y.dispose();
  countSaves(x).dispose();
  assert.equal(tf.memory().numTensors, before, 'the untaped forward leaves only its output');
  assert.equal(grads, 0);
  const g = tf.grad((v: tf.Tensor) => tf.sum(square(v)))(x);
  assert.deepEqual(Array.from(g.dataSync()), [3, -6, 9]);
  assert.equal(grads, 1);
  g.dispose();
  // under a tape tf.customGrad keeps what save() was given until the backward: the forward ran once per call
  tf.grad((v: tf.Tensor) => tf.sum(countSaves(v)))(x).dispose();
  assert.equal(saves, 2);
  x.dispose();
});

test('native fused ops: the same values with and without a tape, no tensors left, gradients as on cpu', async () => {
  await setup();
  await tf.setBackend('native');
  const [m, d, r] = [5, 24, 4];
  const x = t(rand(m * d, 1), [m, d]);
  const fx = t(rand(m * d, 2), [m, d]);
  const V = t(rand(d * r, 3), [d, r]);
  const U = t(rand(r * d, 4), [r, d]);
  const gamma = t(rand(d, 5), [d]);
  const beta = t(rand(d, 6), [d]);
  const [a, b] = [tf.scalar(0.7), tf.scalar(1.3)];
  const scores = t(rand(2 * 6 * 6, 7), [2, 6, 6]);
  type Op = (o: typeof nativeOps, v: tf.Tensor) => tf.Tensor;
  const cases: [string, tf.Tensor, Op][] = [
    ['lowRankCombine', x, (o, v) => o.lowRankCombine(fx, v, V, U, { alpha: a, beta: b })],
    ['combine relu', x, (o, v) => o.combine(fx, v, { alpha: a, beta: b, relu: true })],
    ['layerNorm', x, (o, v) => o.layerNorm(v, gamma, beta, 1e-5)],
    ['gelu', x, (o, v) => o.gelu(v)],
    ['causalSoftmax', scores, (o, v) => o.causalSoftmax(v, 0.5)],
    [
      'batchNormTrain',
      x,
      (o, v) => {
        const s = o.batchNormTrain(v, gamma, beta, 1e-5, true);
        tf.dispose([s.mean, s.variance]);
        return s.y;
      },
    ],
  ];
  const loss = (y: tf.Tensor) => tf.sum(tf.mul(y, y));
  for (const [name, input, op] of cases) {
    const before = tf.memory().numTensors;
    const untaped = op(nativeOps, input);
    assert.equal(tf.memory().numTensors, before + 1, `${name}: tensors left outside a tape`);
    const values = Array.from(untaped.dataSync());
    untaped.dispose();
    let taped: number[] = [];
    const gn = tf.tidy(() =>
      tf
        .grad((v: tf.Tensor) => {
          const y = op(nativeOps, v);
          taped = Array.from(y.dataSync());
          return loss(y);
        })(input)
        .dataSync(),
    );
    assert.deepEqual(taped, values, `${name}: the same forward with and without a tape`);
    await tf.setBackend('cpu');
    const gr = tf.tidy(() =>
      tf
        .grad((v: tf.Tensor) => loss(op(referenceOps, v)))(input)
        .dataSync(),
    );
    await tf.setBackend('native');
    for (let i = 0; i < gn.length; i++)
      assert.ok(
        Math.abs(gn[i] - gr[i]) <= 1e-3 * (1 + Math.abs(gr[i])),
        `${name}: gradient[${i}] ${gn[i]} on native vs ${gr[i]} on cpu`,
      );
  }
  tf.dispose([x, fx, V, U, gamma, beta, a, b, scores]);
});
