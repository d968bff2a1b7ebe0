// Disagreements between the native and cpu backends that the fuzzer (npm run fuzz) found, each pinned by the case
// that showed it (the fuzz command in the test's name reruns the original).
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ops } from '../../src/engine/index.ts';
import { compare, rand, t } from './helpers.ts';

test("empty reductions give cpu's values: max and min NaN, sum and mean 0 (fuzz --seed 1 --op Mean --case 1)", async () => {
  const empty = () => t(new Float32Array(0), [3, 0]);
  await compare(
    () => [tf.max(empty(), 1), tf.min(empty(), 1), tf.sum(empty(), 1), tf.mean(empty(), 1)],
    0,
    0,
  );
  await compare(
    () => [tf.max(t(new Float32Array(0), [0]), 0, true), tf.mean(t(new Float32Array(0), [0]))],
    0,
    0,
  );
});

test('exp overflows to Infinity past ln(FLT_MAX), and is accurate just below it (fuzz --seed 2 --op Exp --case 6)', async () => {
  const x = Float32Array.of(88.3, 88.4, 88.5, 88.7, 88.72, 88.8, 89, 100, 1e10, Number.POSITIVE_INFINITY);
  await compare(() => tf.exp(t(x, [x.length])), 1e-6, 0, 'exp');
  // Through exp's users: the saturated ends of sigmoid and tanh, softmax of large logits.
  const big = Float32Array.of(-1e4, -200, -90, 90, 200, 1e4);
  await compare(() => [tf.sigmoid(t(big, [6])), tf.tanh(t(big, [6])), tf.softmax(t(big, [6]))], 1e-6, 1e-30);
});

test('Relu gradient is dy·step(x) as in tfjs: NaN at a NaN x, and for a NaN or infinite dy at x ≤ 0 (fuzz --seed 2 --op Relu --case 5)', async () => {
  const x = Float32Array.of(Number.NaN, -1, 0, 2, -3, 0.5);
  const dy = Float32Array.of(
    1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NaN,
    2,
    Number.NEGATIVE_INFINITY,
  );
  await compare(() => tf.grad((v: tf.Tensor) => tf.relu(v))(t(x, [6]), t(dy, [6])), 0, 0);
});

test("average pooling of a window wholly in the padding is NaN, as cpu's 0 / 0 (fuzz --seed 1 --op AvgPool --case 0)", async () => {
  const x = rand(7 * 9, 3);
  await compare(
    () =>
      tf.avgPool(
        t(x, [1, 7, 9, 1]) as tf.Tensor4D,
        [5, 1],
        [1, 2],
        [
          [0, 0],
          [0, 1],
          [2, 1],
          [0, 0],
        ],
      ),
    1e-6,
    1e-7,
  );
  await compare(
    () => tf.avgPool(t(rand(60, 4), [1, 6, 5, 2]) as tf.Tensor4D, 1, [2, 3], 1, 'round'),
    1e-6,
    1e-7,
  );
});

test('shapes that collapse to more than 8 strided dims run (on cpu kernels) instead of throwing: alternating broadcasts, transposes and reduced axes of rank 10 (the fuzz draws such rank-9/10 shapes since)', async () => {
  const alt = (first: number) => Array.from({ length: 10 }, (_, i) => ((i + first) % 2 === 0 ? 2 : 1));
  const x = () => t(rand(1024, 7), Array(10).fill(2));
  await compare(() => tf.add(t(rand(32, 5), alt(0)), t(rand(32, 6), alt(1))), 0, 0, 'add');
  await compare(() => tf.prelu(t(rand(32, 5), alt(0)), t(rand(32, 6), alt(1))), 0, 0, 'prelu');
  await compare(() => tf.transpose(x(), [9, 7, 5, 3, 1, 8, 6, 4, 2, 0]), 0, 0, 'transpose');
  await compare(() => [tf.sum(x(), [0, 2, 4, 6, 8]), tf.max(x(), [1, 3, 5, 7, 9])], 1e-5, 1e-6, 'reductions');
  // Their gradients too (the Sum's backward tiles, the transpose's transposes back).
  await compare(() =>
    tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.transpose(v, [9, 7, 5, 3, 1, 8, 6, 4, 2, 0]), 2)))(x()),
  );
});

test('training batch norm keeps a zero-variance channel exact: y = β, and dx = 0 for one row (fuzz --seed 99 --op LaurelBatchNormTrain --case 58, LaurelBatchNormTrainGrad --case 121)', async () => {
  // Channel 0 constant 1 over the rows (variance 0, rstd = 1/√eps ≈ 316): x·mul + (β − mean·mul) left 3e-5 of
  // rounding where (x − mean)·mul + β gives β; one row: γ·rstd·dy − γ·rstd·dβ left k1·dy's rounding, not 0.
  const x = Float32Array.of(1, 0.5, 1, -1, 1, 2);
  const gamma = Float32Array.of(1.3, 0.7);
  const beta = Float32Array.of(0.0027, -0.4);
  const run = (rows: number) => () => {
    const xs = t(x.subarray(0, rows * 2), [rows, 2]);
    const g = t(gamma, [2]);
    const b = t(beta, [2]);
    const y = ops().batchNormTrain(xs, g, b, 1e-5, false).y;
    const w = t(rand(rows * 2, 9), [rows, 2]);
    const grads = tf.grads((a: tf.Tensor, c: tf.Tensor, e: tf.Tensor) =>
      tf.sum(tf.mul(ops().batchNormTrain(a, c, e, 1e-5, false).y, w)),
    )([xs, g, b]);
    return [y, ...grads];
  };
  await compare(run(3), 1e-6, 1e-7, 'three rows');
  await compare(run(1), 1e-6, 1e-7, 'one row');
});
