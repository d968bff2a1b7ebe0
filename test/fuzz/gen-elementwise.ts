// Fuzz generators for the elementwise kernels: unary ops (and, through their gradients, LaurelReluGrad,
// LaurelSigmoidGrad and LaurelTanhGrad), broadcasting binary ops, Prelu and AddN.
import * as tf from '@tensorflow/tfjs';
import type { Family, Generator } from './case.ts';
import type { Domain, Draw } from './draw.ts';

interface UnaryOp {
  fn: (x: tf.Tensor, alpha: number) => tf.Tensor;
  family: Family;
  domain?: Domain;
  /** Attribute alpha drawn for the op (Step, LeakyRelu). */
  alpha?: boolean;
  ints?: boolean;
}

const UNARY: Record<string, UnaryOp> = {
  Neg: { fn: (x) => tf.neg(x), family: 'arith', ints: true },
  Relu: { fn: (x) => tf.relu(x), family: 'arith', ints: true },
  Exp: { fn: (x) => tf.exp(x), family: 'transcendental' },
  Log: { fn: (x) => tf.log(x), family: 'transcendental', domain: 'positive' },
  Sqrt: { fn: (x) => tf.sqrt(x), family: 'arith', domain: 'positive' },
  Rsqrt: { fn: (x) => tf.rsqrt(x), family: 'arith', domain: 'positive' },
  Square: { fn: (x) => tf.square(x), family: 'arith', ints: true },
  Tanh: { fn: (x) => tf.tanh(x), family: 'transcendental' },
  Sigmoid: { fn: (x) => tf.sigmoid(x), family: 'transcendental' },
  Erf: { fn: (x) => tf.erf(x), family: 'transcendental' },
  Abs: { fn: (x) => tf.abs(x), family: 'arith', ints: true },
  Reciprocal: { fn: (x) => tf.reciprocal(x), family: 'arith', domain: 'nonzero' },
  Step: { fn: (x, a) => tf.step(x, a), family: 'arith', alpha: true },
  Relu6: { fn: (x) => tf.relu6(x), family: 'arith', ints: true },
  Elu: { fn: (x) => tf.elu(x), family: 'transcendental' },
  LeakyRelu: { fn: (x, a) => tf.leakyRelu(x, a), family: 'arith', alpha: true },
  Softplus: { fn: (x) => tf.softplus(x), family: 'transcendental' },
  Log1p: { fn: (x) => tf.log1p(x), family: 'transcendental', domain: 'gt-1' },
};

function unary(name: string): Generator {
  const op = UNARY[name];
  return (d: Draw) => {
    const shape = d.shape(0, 6, 70000);
    // Scales reach the approximations' branches: tanh's and erf's small-|x| series, exp's clamps.
    const scale = d.pick([0.03, 0.2, 1, 1, 3, 8, 40]);
    // Now and then outside the domain (NaN out), as a user's data may be.
    const domain = op.domain && d.chance(0.9) ? op.domain : 'any';
    const x = d.input('x', shape, { domain, scale, specials: true, raw: op.ints ? ['int32'] : [] });
    const alpha = op.alpha ? d.pick([0, 0.2, -0.5, 1.5]) : 0;
    return {
      inputs: [x],
      attrs: op.alpha ? { alpha } : {},
      family: op.family,
      run: ({ x: xt }) => op.fn(xt, alpha),
    };
  };
}

const BINARY: Record<string, { fn: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor; family: Family }> = {
  Add: { fn: tf.add, family: 'arith' },
  Sub: { fn: tf.sub, family: 'arith' },
  Multiply: { fn: tf.mul, family: 'arith' },
  RealDiv: { fn: tf.div, family: 'arith' },
  Maximum: { fn: tf.maximum, family: 'arith' },
  Minimum: { fn: tf.minimum, family: 'arith' },
  SquaredDifference: { fn: tf.squaredDifference, family: 'arith' },
};

function binary(name: string): Generator {
  const op = BINARY[name];
  return (d: Draw) => {
    const out = d.shapeOrHigh(0.08, 0, 6, 70000);
    let as = d.broadcastTo(out);
    let bs = d.broadcastTo(out);
    if (d.chance(0.3)) as = out.slice();
    else if (d.chance(0.3)) bs = out.slice();
    if (d.chance(0.1)) [as, bs] = [bs, []];
    const a = d.input('a', as, { specials: true, raw: ['int32'] });
    // Divisors away from 0 (the gradient's 1/b² would make every comparison one of ∞s).
    const domain = name === 'RealDiv' ? 'nonzero' : 'any';
    const b = d.input('b', bs, { specials: true, raw: ['int32'], domain });
    return { inputs: [a, b], attrs: {}, family: op.family, run: ({ a: at, b: bt }) => op.fn(at, bt) };
  };
}

const prelu: Generator = (d) => {
  const xs = d.shapeOrHigh(0.08, 1, 5, 70000);
  const x = d.input('x', xs, { specials: true });
  const alpha = d.input('alpha', d.broadcastTo(xs), { scale: 0.5 });
  return { inputs: [x, alpha], attrs: {}, family: 'arith', run: (t) => tf.prelu(t.x, t.alpha) };
};

const addN: Generator = (d) => {
  const shape = d.shape(0, 5, 20000);
  const first = d.input('x0', shape, { specials: true, raw: ['int32'] });
  const n = d.int(1, 5);
  // tf.addN takes one dtype: the others are of the first one's kind.
  const rest = Array.from({ length: n - 1 }, (_, i) => d.input(`x${i + 1}`, shape, { kind: first.kind }));
  const inputs = [first, ...rest];
  return {
    inputs,
    attrs: { n },
    family: 'reduce',
    run: (t) => tf.addN(inputs.map((s) => t[s.name])),
  };
};

export const elementwiseGenerators: Record<string, Generator> = {
  ...Object.fromEntries(Object.keys(UNARY).map((n) => [n, unary(n)])),
  ...Object.fromEntries(Object.keys(BINARY).map((n) => [n, binary(n)])),
  Prelu: prelu,
  AddN: addN,
  LaurelReluGrad: unary('Relu'),
  LaurelSigmoidGrad: unary('Sigmoid'),
  LaurelTanhGrad: unary('Tanh'),
};
