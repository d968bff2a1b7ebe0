// Fuzz generators for reductions (Sum, Mean, Max, Min over random axes, keepDims), Transpose, Softmax and the
// causal softmax (LaurelCausalSoftmax and its gradient, against the masked tf.softmax on cpu).
import * as tf from '@tensorflow/tfjs';
import { fusedCausalSoftmax } from '../../src/engine/index.ts';
import { type Generator, meanAbs } from './case.ts';

const REDUCE: Record<string, (x: tf.Tensor, axis?: number | number[], keepDims?: boolean) => tf.Tensor> = {
  Sum: tf.sum,
  Mean: tf.mean,
  Max: tf.max,
  Min: tf.min,
};

function reduce(name: string): Generator {
  const fn = REDUCE[name];
  return (d) => {
    const shape = d.shapeOrHigh(0.08, 0, 6, 70000);
    const x = d.input('x', shape, { specials: true, raw: name === 'Sum' ? ['int32', 'bool'] : ['int32'] });
    const r = d.rng.next();
    const axes = d.axes(shape.length);
    const axis = r < 0.2 || shape.length === 0 ? undefined : r < 0.5 ? axes[0] : axes;
    const keepDims = d.chance(0.4);
    const ax = axis === undefined ? shape.map((_, i) => i) : tf.util.parseAxisParam(axis, shape);
    const terms = ax.reduce((n, a) => n * shape[a], 1);
    return {
      inputs: [x],
      attrs: { axis: axis ?? null, keepDims },
      family: 'reduce',
      // A sum of n terms rounds like √n of them; a mean like one, and max and min not at all.
      scale: meanAbs([x]) * (name === 'Sum' ? Math.sqrt(terms) : 1),
      run: (t) => fn(t.x, axis, keepDims),
    };
  };
}

const transpose: Generator = (d) => {
  const shape = d.shapeOrHigh(0.1, 0, 7, 70000);
  const perm = d.perm(shape.length);
  const x = d.input('x', shape, { specials: true, raw: ['int32', 'bool'] });
  return { inputs: [x], attrs: { perm }, family: 'copy', run: (t) => tf.transpose(t.x, perm) };
};

const softmax: Generator = (d) => {
  const shape = d.shape(1, 5, 70000);
  const x = d.input('x', shape, { specials: true, scale: d.pick([0.1, 1, 10, 100]) });
  // Probabilities, and a gradient y·(dy − Σ y·dy) whose terms are probabilities times unit weights: both scale 1
  // (a peaked softmax's gradient is small everywhere, its rounding is not).
  return { inputs: [x], attrs: {}, family: 'reduce', scale: 1, gradScale: 1, run: (t) => tf.softmax(t.x) };
};

/** softmax(scale·S + M) over the last axis, M = −∞ past the diagonal: the formula the fused kernel replaces. */
function maskedSoftmax(s: tf.Tensor, scale: number): tf.Tensor {
  const n = s.shape[s.rank - 1];
  const mask = tf.tensor2d(
    Float32Array.from({ length: n * n }, (_, k) =>
      k % n > Math.floor(k / n) ? Number.NEGATIVE_INFINITY : 0,
    ),
    [n, n],
  );
  return tf.softmax(tf.add(tf.mul(s, scale), mask));
}

const causalSoftmax: Generator = (d) => {
  const t = d.pick([1, 2, 3, d.int(4, 17), d.int(18, 80)]);
  const lead = d.shape(0, 2, Math.max(1, Math.floor(20000 / (t * t))), false);
  const scale = d.pick([1, 0.125, 0.5 * d.rng.next() + 0.01, 3]);
  const x = d.input('x', [...lead, t, t], { scale: d.pick([0.5, 2, 10]) });
  return {
    inputs: [x],
    attrs: { scale },
    family: 'reduce',
    scale: 1,
    gradScale: 1,
    run: ({ x: s }) => fusedCausalSoftmax(s, scale) ?? maskedSoftmax(s, scale),
  };
};

export const reduceGenerators: Record<string, Generator> = {
  ...Object.fromEntries(Object.keys(REDUCE).map((n) => [n, reduce(n)])),
  Transpose: transpose,
  Softmax: softmax,
  LaurelCausalSoftmax: causalSoftmax,
  LaurelCausalSoftmaxGrad: causalSoftmax,
};
