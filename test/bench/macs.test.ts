// bench/macs.ts counts the multiply-adds a forward pass runs from tf.profile's shapes: checked against counts
// done by hand for each kernel it knows, on the native backend (where the low-rank combine is one kernel).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { forwardMacs, kernelMacs } from '../../bench/macs.ts';
import { ops } from '../../src/engine/index.ts';
import { Conv2d } from '../../src/nn/conv2d.ts';
import { Linear } from '../../src/nn/linear.ts';
import { setup } from '../engine/helpers.ts';

test('forwardMacs: convolutions, matmuls and the low-rank combine counted by hand', async () => {
  await setup();
  const conv = new Conv2d(3, 8, 3, { padding: 1, filterGrad: 'tfjs' });
  const x = tf.ones([2, 10, 10, 3]) as tf.Tensor4D;
  // 2·10·10 output pixels × 8 channels × 3·3·3 taps; the same with the fused bias + ReLU epilogue
  assert.equal(await forwardMacs(() => conv.forward(x).dispose()), 2 * 10 * 10 * 8 * 27);
  assert.equal(await forwardMacs(() => conv.forward(x, { relu: true }).dispose()), 2 * 10 * 10 * 8 * 27);
  const lin = new Linear(16, 4);
  assert.equal(await forwardMacs(() => lin.forward(tf.ones([5, 16])).dispose()), 5 * 16 * 4);
  const a = tf.ones([3, 4, 6]);
  const b = tf.ones([3, 6, 5]);
  assert.equal(await forwardMacs(() => tf.matMul(a, b).dispose()), 3 * 4 * 5 * 6);
  assert.equal(await forwardMacs(() => tf.matMul(b, a, true, true).dispose()), 3 * 5 * 4 * 6);
  const h = tf.ones([6, 16]);
  const [V, U] = [tf.ones([16, 4]), tf.zeros([4, 16])];
  // (x·V)·U: 6 rows × (16·4 + 4·16)
  assert.equal(await forwardMacs(() => ops().lowRankCombine(h, h, V, U).dispose()), 6 * 2 * 16 * 4);
  assert.equal(await forwardMacs(() => tf.add(h, h).dispose()), 0, 'element-wise work is not counted');
  for (const t of [x, a, b, h, V, U]) t.dispose();
  conv.dispose();
  lin.dispose();
});

test('kernelMacs: kernels without a product count 0; a missing output counts 0', () => {
  assert.equal(kernelMacs('Relu', [[4, 4]], [[4, 4]]), 0);
  assert.equal(
    kernelMacs(
      'Conv2D',
      [
        [1, 3, 3, 2],
        [3, 3, 2, 5],
      ],
      [],
    ),
    0,
  );
});
