import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { Gpt } from '../../src/models/gpt.ts';
import { buildModel } from '../../src/models/index.ts';
import { fitLogistic, predictLogistic } from '../../src/train/logistic.ts';
import { linearProbe, textFeatures } from '../../src/train/probe.ts';
import { Rng } from '../../src/util/rng.ts';

/** Two overlapping Gaussian classes in `d` dimensions, the second shifted along the first axis. */
function blobs(n: number, d: number, seed: number): { X: Float32Array[]; y: number[] } {
  const rng = new Rng(seed);
  const X: Float32Array[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    X.push(Float32Array.from({ length: d }, (_, j) => rng.normal() * (j + 1) + (j === 0 ? 1.5 * label : 0)));
    y.push(label);
  }
  return { X, y };
}

test('logistic regression: the fit is the regularized optimum (gradient zero) and classifies held-out data', () => {
  const { X, y } = blobs(400, 5, 1);
  const lambda = 0.01;
  const m = fitLogistic(X, y, { lambda });
  assert.ok(m.iterations < 25, `${m.iterations} Newton steps`);
  // ∂/∂w_j [mean log-loss] + λ w_j = 0 on standardized features; ∂/∂b = 0
  const g = new Float64Array(6);
  X.forEach((x, i) => {
    const r = (predictLogistic(m, x) - y[i]!) / X.length;
    for (let j = 0; j < 5; j++) g[j]! += (r * (x[j]! - m.mean[j]!)) / m.std[j]!;
    g[5]! += r;
  });
  for (let j = 0; j < 5; j++) assert.ok(Math.abs(g[j]! + lambda * m.w[j]!) < 1e-9, `∂w${j}`);
  assert.ok(Math.abs(g[5]!) < 1e-9, '∂b');
  assert.ok(Math.abs(m.w[0]!) > 5 * Math.max(...Array.from(m.w.slice(1), Math.abs)), 'the informative axis');
  const test2 = blobs(400, 5, 2);
  const acc = test2.X.filter((x, i) => (predictLogistic(m, x) >= 0.5 ? 1 : 0) === test2.y[i]).length / 400;
  assert.ok(acc > 0.7 && acc < 0.9, `accuracy ${acc}`); // the Bayes rate of this overlap is ~0.77
  assert.throws(() => fitLogistic(X, y.slice(1)), /400 rows against 399 labels/);
});

test('probe features: right padding changes nothing (causal LM), the mean runs over the text only; no leaks', () => {
  const m = buildModel({ model: 'gpt', layers: 1, dim: 16, heads: 2, context: 16, seed: 3 }) as Gpt;
  m.setTraining(false);
  const a = Int32Array.from([72, 105, 33]);
  const b = Int32Array.from({ length: 20 }, (_, i) => 97 + (i % 26)); // longer than the context: cut to 16
  textFeatures(m, [a, b], 16); // a first call may build lasting constants of the model (per sequence length)
  const before = tf.memory().numTensors;
  const [fa, fb] = textFeatures(m, [a, b], 16);
  assert.equal(tf.memory().numTensors, before);
  const [alone] = textFeatures(m, [a], 16);
  for (let j = 0; j < 16; j++) assert.ok(Math.abs(fa![j]! - alone![j]!) < 1e-5);
  const h = m.features(tf.tensor2d(a, [1, 3], 'int32'));
  const mean = tf.mean(h, 1).dataSync();
  for (let j = 0; j < 16; j++) assert.ok(Math.abs(fa![j]! - mean[j]!) < 1e-5);
  assert.equal(fb!.length, 16);
  tf.dispose(h);
  m.dispose();
});

test('linear probe: texts whose first bytes give the label are separated; the majority baseline is reported', () => {
  const m = buildModel({ model: 'gpt', layers: 1, dim: 16, heads: 2, context: 8, seed: 1 }) as Gpt;
  m.setTraining(false);
  const rng = new Rng(5);
  const item = (label: number) => ({
    tokens: Int32Array.from({ length: 6 }, (_, i) => (i < 3 ? (label ? 200 : 10) + i : 40 + rng.int(40))),
    label,
  });
  const train = Array.from({ length: 60 }, (_, i) => item(i % 3 === 0 ? 1 : 0));
  const test2 = Array.from({ length: 30 }, (_, i) => item(i % 3 === 0 ? 1 : 0));
  const r = linearProbe(m, train, test2, 8);
  assert.equal(r.accuracy, 1);
  assert.ok(Math.abs(r.majority - 2 / 3) < 1e-12);
  assert.deepEqual([r.train, r.test, r.correct.length], [60, 30, 30]);
  m.dispose();
});
