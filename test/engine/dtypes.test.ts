// The native backend keeps a tensor's storage its dtype's array (cast.ts), and native kernels read inputs by
// value (util.ts f32/i32): int32 and bool data cast to float32 must give the numbers, not their bit patterns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { NATIVE_BACKEND } from '../../src/engine/index.ts';
import { compare, setup } from './helpers.ts';

test('issue 10 repros: float ops on int32 and bool data cast to float32 give the numbers', async () => {
  await setup();
  await tf.setBackend(NATIVE_BACKEND);
  const [six, shifted] = tf.tidy(() => [
    tf.mul(tf.scalar(1.5), tf.cast(tf.scalar(4, 'int32'), 'float32')).dataSync()[0],
    Array.from(
      tf
        .cast(tf.greater(tf.tensor1d([1, 2, 3]), 1.5), 'float32')
        .add(0.5)
        .dataSync(),
    ),
  ]) as unknown as [number, number[]];
  assert.equal(six, 6);
  assert.deepEqual(shifted, [0.5, 1.5, 1.5]);
});

test('a widening cast on native gets storage of its new dtype', async () => {
  await setup();
  await tf.setBackend(NATIVE_BACKEND);
  const backend = tf.backend() as unknown as { data: { get(id: object): { values: unknown } } };
  const storage = (x: tf.Tensor) => backend.data.get(x.dataId).values;
  tf.tidy(() => {
    const b = tf.tensor1d([true, false, true], 'bool');
    const i = tf.tensor1d([3, -7, 1 << 24], 'int32');
    assert.ok(storage(tf.cast(i, 'float32')) instanceof Float32Array);
    assert.ok(storage(tf.cast(b, 'float32')) instanceof Float32Array);
    assert.ok(storage(tf.cast(b, 'int32')) instanceof Int32Array);
    assert.deepEqual(Array.from(tf.cast(i, 'float32').dataSync()), [3, -7, 1 << 24]);
    assert.deepEqual(Array.from(tf.cast(b, 'int32').dataSync()), [1, 0, 1]);
  });
});

test('native kernels agree with cpu on cast int32 / bool inputs (values and gradients)', async () => {
  const ints = () => tf.tensor2d([1, -2, 3, 4, 0, 6], [2, 3], 'int32');
  const mask = () => tf.greater(tf.tensor2d([0.1, 0.7, 0.3, 0.9, 0.5, 0.2], [2, 3]), 0.4);
  const f = (x: tf.Tensor) => tf.cast(x, 'float32');
  const w = () => tf.tensor2d([0.5, -1, 2, 1.5, 3, -0.25], [2, 3]);
  // Binary, unary, reduction, matmul, softmax and gather, each fed a cast tensor.
  await compare(() => [
    tf.add(f(ints()), w()),
    tf.mul(w(), f(mask())),
    tf.exp(tf.mul(f(ints()), 0.1)),
    tf.erf(f(ints())),
    tf.sum(f(mask()), 1),
    tf.max(f(ints()), 0),
    tf.matMul(f(ints()), f(mask()), false, true),
    tf.softmax(f(ints())),
    tf.gather(w(), tf.cast(tf.tensor1d([true, false, true], 'bool'), 'int32'), 1),
    tf.concat([f(ints()), f(mask())], 0),
    tf.slice(f(ints()), [0, 1], [2, 2]),
  ]);
  // A weighted loss with a bool mask as the weights (was ±Infinity) and its gradient.
  await compare(() => {
    const pred = w();
    return [
      tf.losses.meanSquaredError(tf.zeros([2, 3]), pred, f(mask())),
      tf.grad((p: tf.Tensor) => tf.losses.absoluteDifference(tf.zeros([2, 3]), p, f(mask())))(pred),
    ];
  });
  // Gradients that tfjs builds from cast comparisons (max, maximum, where, relu6).
  await compare(() => [
    tf.grad((x: tf.Tensor) => tf.max(x))(w()),
    tf.grad((x: tf.Tensor) => tf.sum(tf.maximum(x, tf.scalar(1))))(w()),
    tf.grad((x: tf.Tensor) => tf.sum(tf.relu6(tf.mul(x, 3))))(w()),
    tf.grad((x: tf.Tensor) => tf.sum(tf.pow(x, tf.scalar(2, 'int32'))))(w()),
  ]);
});
