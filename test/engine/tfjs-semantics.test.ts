// Where tfjs's conformance suite found the native kernels departing from the cpu backend's semantics (issue 10):
// concat's shape check, tfjs's 1×1 pool shortcut, NaN in max pooling, the avgPool gradient's divisor with
// padding, and a dy whose shape is not the one the convolution implies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { NATIVE_BACKEND } from '../../src/engine/index.ts';
import { compare, rand, setup, t } from './helpers.ts';

const t4 = (v: Float32Array, shape: number[]) => t(v, shape) as tf.Tensor4D;
const t3 = (v: Float32Array, shape: number[]) => t(v, shape) as tf.Tensor3D;

test('concat rejects mismatched non-axis shapes before writing, with the cpu message', async () => {
  await setup();
  const cases: [number[], number[], number][] = [
    [[2, 2], [1, 2], 1],
    [[2, 1, 3], [2, 2, 1], 0],
    [[1, 2, 3], [2, 2, 3], 1],
    [[0, 2, 3], [1, 0, 3], 1],
    [[2, 1, 3], [1, 1, 3], 2],
  ];
  for (const [a, b, axis] of cases) {
    const messages: string[] = [];
    for (const backend of ['cpu', NATIVE_BACKEND]) {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      assert.throws(
        () => tf.tidy(() => tf.concat([tf.ones(a), tf.ones(b)], axis)),
        (e: Error) => {
          messages.push(e.message);
          return true;
        },
        `${backend}: concat ${a} + ${b} on axis ${axis} must throw`,
      );
      assert.equal(tf.memory().numTensors, before, `${backend}: leaked tensors`);
    }
    assert.equal(messages[1], messages[0]);
  }
});

test('a 1×1 pool that keeps the shape returns its input, as on cpu (tf.pool with pad 1, stride 2)', async () => {
  const x = rand(12, 3);
  await compare(
    () => [
      tf.pool(t3(x, [2, 2, 3]), 1, 'max', 1, undefined, 2),
      tf.pool(t3(x, [2, 2, 3]), 1, 'avg', 1, undefined, 2),
    ],
    0,
    0,
  );
});

test('maxPool ignores NaN like cpu, forward and gradient', async () => {
  const x = Float32Array.from([1, 2, Number.NaN, 4, Number.NaN, 6, 7, 8, 9]);
  await compare(() => tf.maxPool(t4(x, [1, 3, 3, 1]), 2, 1, 'valid'), 0, 0);
  await compare(
    () => tf.grad((v: tf.Tensor) => tf.sum(tf.maxPool(v as tf.Tensor4D, 2, 1, 'valid')))(t(x, [1, 3, 3, 1])),
    0,
    0,
  );
  // A window of only NaN: cpu gives -Infinity and routes no gradient.
  const allNaN = new Float32Array(4).fill(Number.NaN);
  await compare(() => tf.maxPool(t4(allNaN, [1, 2, 2, 1]), 2, 2, 'valid'), 0, 0);
  await compare(
    () =>
      tf.grad((v: tf.Tensor) => tf.sum(tf.maxPool(v as tf.Tensor4D, 2, 2, 'valid')))(t(allNaN, [1, 2, 2, 1])),
    0,
    0,
  );
});

test('avgPool gradient with padding divides by the window size, as tfjs does', async () => {
  const x = rand(9, 5);
  const dy = rand(8, 6);
  const pad: tf.backend_util.ExplicitPadding = [
    [0, 0],
    [1, 2],
    [0, 1],
    [0, 0],
  ];
  await compare(() =>
    tf.grad((v: tf.Tensor) => tf.avgPool(v as tf.Tensor3D, 3, 1, pad))(t(x, [3, 3, 1]), t(dy, [4, 2, 1])),
  );
  const x2 = rand(2 * 5 * 5 * 3, 7);
  await compare(() =>
    tf.grad((v: tf.Tensor) => tf.sum(tf.avgPool(v as tf.Tensor4D, 3, 2, 'same')))(t(x2, [2, 5, 5, 3])),
  );
});

test('conv2dTranspose with an outputShape the convolution does not imply matches cpu', async () => {
  // tfjs's own spec: an 8×8 input, a 4×4 output, filter 8, stride 1, same padding.
  const x = Float32Array.from({ length: 512 }, (_, i) => i % 5);
  const w = Float32Array.from({ length: 8 * 8 * 8 * 8 }, (_, i) => i % 5);
  await compare(
    () =>
      tf.conv2dTranspose(
        t(x, [1, 8, 8, 8]) as tf.Tensor4D,
        t(w, [8, 8, 8, 8]) as tf.Tensor4D,
        [1, 4, 4, 8],
        1,
        'same',
      ),
    0,
    0,
  );
});
