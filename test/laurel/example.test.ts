import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ActivationHistory, Residual, residualConfig } from '../../src/laurel/index.ts';

// The README's quick example of wrapping a residual block with LAUREL, kept runnable here.
test('README example: wrapping a residual block with LAUREL', () => {
  const D = 64;
  const W = tf.variable(tf.randomNormal([D, D], 0, 0.1)); // the block f: any function of x
  const laurel = new Residual(residualConfig('rw+lr', { rank: 8 }), D, { seed: 0 });
  const history = new ActivationHistory(3); // one per forward pass; PA variants read it
  const x = tf.randomNormal([2, 16, D]); // [B, T, D]; [B, D] and NHWC work the same way
  const fx = tf.relu(tf.matMul(x.reshape([-1, D]), W).reshape(x.shape));
  const y = laurel.forward(fx, x, { history }); // x_{i+1} = α·f(x) + β·(x + U·V·x)
  assert.equal(laurel.addedParams(), 2 * 8 * D + 2); // 1026
  assert.deepEqual(y.shape, x.shape);
  // At init (U = 0, α = β = 1) this is exactly f(x) + x.
  assert.ok(tf.max(tf.abs(tf.sub(y, tf.add(fx, x)))).dataSync()[0] < 1e-6);
});
