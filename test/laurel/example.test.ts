import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
// The README imports 'laurel' and 'laurel/node': the package's exports map names these two files.
import { ActivationHistory, Residual, laurelResidual, residualConfig } from '../../src/index.ts';
import { registerFileIO } from '../../src/node.ts';

// The README's examples, kept runnable here. The quick example of wrapping a residual block with LAUREL, kept runnable here.
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

test('README example: the Layers API layer in a tf.model, fit, save to file:// and load', async () => {
  registerFileIO();
  const x = tf.input({ shape: [32, 64] });
  const fx = tf.layers.dense({ units: 64, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  const y = laurelResidual({ variant: 'rw+lr', rank: 8 }).apply([fx, x]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: x, outputs: y });
  model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  const xs = tf.randomNormal([4, 32, 64]);
  await model.fit(xs, tf.zeros([4, 32, 64]), { epochs: 1, verbose: 0 });
  const dir = mkdtempSync(join(tmpdir(), 'laurel-readme-'));
  try {
    await model.save(`file://${dir}`);
    const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
    const diff = tf.max(tf.abs(tf.sub(model.predict(xs) as tf.Tensor, loaded.predict(xs) as tf.Tensor)));
    assert.equal(diff.dataSync()[0], 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
