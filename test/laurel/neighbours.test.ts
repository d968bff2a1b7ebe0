/**
 * LAUREL's neighbours in the same harness (issue #13): ReZero (x + a·f(x), a = 0 at init), LayerScale
 * (x + diag(λ)·f(x), λ = layerScaleInit) and DenseFormer's DWA. Their finite-difference checks run in
 * gradcheck.test.ts (helpers CASES), their PyTorch comparison in fixtures.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { addedParamCount, residualConfig } from '../../src/laurel/config.ts';
import { ActivationHistory } from '../../src/laurel/history.ts';
import { laurelResidual } from '../../src/laurel/layers/index.ts';
import { Residual } from '../../src/laurel/residual.ts';

const f = tf.tensor2d([
  [2, -4, 6],
  [1, 0.5, -3],
]);
const x = tf.tensor2d([
  [1, 1, -1],
  [0.25, 2, 3],
]);
const values = (t: tf.Tensor) => Array.from(t.dataSync());

test('ReZero is the identity at init (x, not f + x), one scalar parameter, and a·f + x once a is set', () => {
  const res = new Residual(residualConfig('rezero'), 3, { seed: 1 });
  assert.deepEqual(values(res.forward(f, x)), values(x));
  assert.deepEqual(
    res.namedParameters().map((p) => [p.name, p.variable.shape, p.kind]),
    [['alpha', [], 'laurel']],
  );
  assert.equal(res.addedParams(), 1);
  assert.equal(res.parameterCount(), 1);
  res.namedParameters()[0].variable.assign(tf.scalar(0.5));
  assert.deepEqual(values(res.forward(f, x)), [2, -1, 2, 0.75, 2.25, 1.5]);
  assert.deepEqual(values(res.forward(f, x, { relu: true })), [2, 0, 2, 0.75, 2.25, 1.5]);
  res.dispose();
});

test('LayerScale starts at x + ε·f (ε = 1e-4 by default, or layerScaleInit), D parameters, per-channel λ', () => {
  const res = new Residual(residualConfig('layerscale'), 3, { seed: 1 });
  const y = values(res.forward(f, x));
  values(x).forEach((xi, i) => assert.ok(Math.abs(y[i] - (xi + 1e-4 * values(f)[i])) < 1e-6, `${i}`));
  assert.equal(res.addedParams(), 3);
  assert.equal(addedParamCount(residualConfig('layerscale'), 64), 64);
  const lam = res.namedParameters()[0];
  assert.equal(lam.name, 'lambda');
  lam.variable.assign(tf.tensor1d([1, 0, 0.5]));
  assert.deepEqual(values(res.forward(f, x)), [3, 1, 2, 1.25, 2, 1.5]);
  const custom = new Residual(residualConfig('layerscale', { layerScaleInit: 0.1 }), 3);
  assert.deepEqual(
    values(custom.namedParameters()[0].variable).map((v) => Math.round(v * 1e6) / 1e6),
    [0.1, 0.1, 0.1],
  );
  res.dispose();
  custom.dispose();
});

test('layerScaleInit is checked (one line naming the field) and dropped where it does not apply', () => {
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '0.1'])
    assert.throws(
      () => residualConfig('layerscale', { layerScaleInit: bad as number }),
      /residualConfig: bad layerScaleInit .*allowed: a finite number > 0/,
    );
  assert.deepEqual(residualConfig('layerscale', { layerScaleInit: 1e-6, rank: 4 }), {
    variant: 'layerscale',
    layerScaleInit: 1e-6,
  });
  assert.deepEqual(residualConfig('rw+lr', { layerScaleInit: 1e-6, rank: 4 }).layerScaleInit, undefined);
  assert.deepEqual(residualConfig('rezero', { rank: 4, k: 2 }), { variant: 'rezero' });
});

test('the tfjs layer offers both, and LayerScale keeps layerScaleInit through getConfig', () => {
  const layer = laurelResidual({ variant: 'layerscale', layerScaleInit: 0.01 });
  const y = layer.apply([f, x]) as tf.Tensor;
  values(x).forEach((xi, i) => assert.ok(Math.abs(values(y)[i] - (xi + 0.01 * values(f)[i])) < 1e-6));
  assert.equal(layer.getConfig().layerScaleInit, 0.01);
  assert.equal(layer.addedParams(), 3);
  const rz = laurelResidual({ variant: 'rezero' });
  assert.deepEqual(values(rz.apply([f, x]) as tf.Tensor), values(x));
  assert.equal(rz.maxInputs(), 2);
});

test('DWA is the plain residual at init, averages the block inputs the history holds, k + 1 parameters', () => {
  const res = new Residual(residualConfig('dwa'), 3, { seed: 1 });
  assert.deepEqual(residualConfig('dwa', { rank: 4, paH: 'identity' }), { variant: 'dwa', k: 3 });
  assert.equal(res.addedParams(), 4);
  const p1 = tf.tensor2d([
    [10, 20, 30],
    [1, 2, 3],
  ]);
  const p2 = tf.tensor2d([
    [100, 0, 0],
    [0, 0, 100],
  ]);
  const history = new ActivationHistory(3);
  history.push(p2);
  history.push(p1);
  const plain = values(tf.add(f, x));
  assert.deepEqual(values(res.forward(f, x, { history })), plain);
  assert.equal(history.length, 2, 'x pushed, oldest dropped');
  const [w] = res.namedParameters();
  assert.equal(w.name, 'dwa');
  w.variable.assign(tf.tensor1d([0.5, 1, 0.25, 0.125]));
  const h2 = new ActivationHistory(3);
  h2.push(p2);
  h2.push(p1);
  const want = plain.map((v, i) => 0.5 * v + values(x)[i] + 0.25 * values(p1)[i] + 0.125 * values(p2)[i]);
  assert.deepEqual(values(res.forward(f, x, { history: h2 })), want);
  // Without history only a_0, a_1 take part.
  assert.deepEqual(
    values(res.forward(f, x)),
    plain.map((v, i) => 0.5 * v + values(x)[i]),
  );
  res.dispose();
});
