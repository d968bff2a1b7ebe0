import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { nativeKernelNames } from '../../src/engine/index.ts';
import { compare, rand, setup, t } from './helpers.ts';

test('slice, pad and concat (copies, any rank) match cpu, with gradients', async () => {
  await setup();
  for (const k of ['Slice', 'PadV2', 'Concat']) assert.ok(nativeKernelNames().includes(k), k);
  const shape = [3, 4, 5, 6];
  const x = rand(360, 1);
  await compare(() => tf.slice(t(x, shape), [1, 0, 2, 0], [2, 4, 3, 6]), 0, 0);
  await compare(() => tf.slice(t(x, shape), [0, 1, 0, 3], [-1, 2, 5, 2]), 0, 0);
  await compare(
    () => tf.slice(t(x.subarray(0, 240), [2, 2, 2, 3, 2, 5]), [0, 1, 0, 0, 1, 0], [2, 1, 2, 3, 1, 5]),
    0,
    0,
  );
  await compare(() => tf.slice(t(x, [360]), [7], [100]), 0, 0);
  await compare(
    () =>
      tf.pad(
        t(x, shape),
        [
          [0, 1],
          [2, 0],
          [1, 1],
          [0, 0],
        ],
        0.5,
      ),
    0,
    0,
  );
  await compare(() => tf.pad(t(x, [360]), [[3, 4]]), 0, 0);
  const y = rand(3 * 2 * 5 * 6, 2);
  await compare(() => tf.concat([t(x, shape), t(y, [3, 2, 5, 6])], 1), 0, 0);
  await compare(() => tf.concat([t(x, shape), t(x, shape), t(x, shape)], 3), 0, 0);
  await compare(() => tf.concat([t(x, [6, 60]), t(y, [3, 60])], 0), 0, 0);
  await compare(() => tf.concat([t(x, [6, 60]), t(new Float32Array(0), [6, 0])], 1), 0, 0);
  await compare(() =>
    tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf
        .concat([tf.slice(a, [0, 1, 0, 0], [3, 2, 5, 6]), b], 1)
        .pad([
          [0, 0],
          [1, 1],
          [0, 0],
          [2, 0],
        ])
        .square()
        .sum(),
    )([t(x, shape), t(y, [3, 2, 5, 6])]),
  );
});

test('unstack and stack (Unpack, Pack: one strided copy per slice) match cpu on every axis, with gradients', async () => {
  await setup();
  for (const k of ['Unpack', 'Pack']) assert.ok(nativeKernelNames().includes(k), k);
  const shape = [3, 4, 5, 2];
  const x = rand(120, 7);
  for (let axis = -1; axis < shape.length; axis++) {
    await compare(() => tf.unstack(t(x, shape), axis), 0, 0, `unstack axis ${axis}`);
    await compare(() => tf.stack(tf.unstack(t(x, shape)), axis), 0, 0, `stack axis ${axis}`);
  }
  // The attention split: unstack a [3, B, H, T, d] map, use the parts unevenly, and back through Pack.
  const w = rand(120, 8);
  await compare(() =>
    tf.grads((a: tf.Tensor) => {
      const [q, k, v] = tf.unstack(a.reshape([3, 2, 4, 5]));
      return tf.sum(tf.mul(tf.add(tf.mul(q, 2), tf.mul(k, v)), t(w.subarray(0, 40), [2, 4, 5])));
    })([t(x, [120])]),
  );
});
