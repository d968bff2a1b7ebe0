import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { VARIANTS, residualConfig } from '../../src/laurel/config.ts';
import { ActivationHistory } from '../../src/laurel/history.ts';
import { Residual } from '../../src/laurel/residual.ts';
import { setup } from '../engine/helpers.ts';
import { generalG } from './helpers.ts';

/**
 * A chain of blocks x_{i+1} = Residual_i(tanh(x_i·W_i), x_i), one per variant, PA reading a shared history;
 * every other block with the ReLU epilogue (ctx.relu: fused kernels that keep their output for the backward).
 */
function makeModel(D: number) {
  const blocks = VARIANTS.map((v, i) => ({
    W: tf.variable(tf.randomNormal([D, D], 0, 0.4, 'float32', i)),
    res: new Residual(
      residualConfig(v, v === 'general' ? { g: generalG } : { rank: 2, k: 3, rwPerDim: i % 2 === 0 }),
      D,
      { seed: i },
    ),
  }));
  const vars = blocks.flatMap((b) => [b.W, ...b.res.namedParameters().map((p) => p.variable)]);
  const forward = (x: tf.Tensor) => {
    const history = new ActivationHistory(3);
    for (const [i, { W, res }] of blocks.entries()) {
      const fx = tf.tanh(tf.reshape(tf.matMul(tf.reshape(x, [-1, D]), W), x.shape));
      x = res.forward(fx, x, { history, xNormed: tf.mul(x, 0.5), relu: i % 2 === 1 });
    }
    return x;
  };
  const dispose = () => {
    for (const b of blocks) {
      b.W.dispose();
      b.res.dispose();
    }
  };
  return { vars, forward, dispose };
}

for (const backend of ['cpu', 'native']) {
  test(`tf.memory().numTensors is flat across 50 training steps of a model using every variant (${backend})`, async () => {
    await setup();
    await tf.setBackend(backend);
    const D = 6;
    const model = makeModel(D);
    const x = tf.randomNormal([4, 3, D], 0, 1, 'float32', 1);
    const target = tf.randomNormal([4, 3, D], 0, 1, 'float32', 2);
    const lossFn = () => tf.mean(tf.square(tf.sub(model.forward(x), target))) as tf.Scalar;

    // Path 1: optimizer.minimize (Adam creates its slots on the first step).
    const adam = tf.train.adam(0.01);
    const counts: number[] = [];
    const losses: number[] = [];
    for (let step = 0; step < 50; step++) {
      const cost = adam.minimize(lossFn, true, model.vars)!;
      losses.push(cost.dataSync()[0]);
      cost.dispose();
      counts.push(tf.memory().numTensors);
    }
    assert.ok(
      counts.slice(1).every((c) => c === counts[1]),
      `numTensors drifted: ${counts.slice(0, 5)} … ${counts.slice(-3)}`,
    );
    assert.ok(losses[49] < losses[0], `loss ${losses[0]} -> ${losses[49]}`);

    // Path 2: tf.variableGrads + applyGradients, as a custom training loop would do.
    const sgd = tf.train.momentum(0.01, 0.9);
    const counts2: number[] = [];
    for (let step = 0; step < 50; step++) {
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(lossFn, model.vars);
        sgd.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
        tf.dispose([value, ...Object.values(grads)]);
      });
      counts2.push(tf.memory().numTensors);
    }
    assert.ok(
      counts2.slice(1).every((c) => c === counts2[1]),
      `numTensors drifted: ${counts2.slice(-3)}`,
    );

    const beforeDispose = tf.memory().numTensors;
    adam.dispose();
    sgd.dispose();
    model.dispose();
    tf.dispose([x, target]);
    assert.ok(tf.memory().numTensors < beforeDispose);
  });
}
