// Fuzz generators for laurel's own kernels, through the ops interface (native: the fused kernels; cpu: the
// reference formulas) and the optimizers (native: one fused update; cpu: the tf ops): LAUREL's combine and
// low-rank combine (scalar / per-dimension α and β, extra, ReLU), GELU, layer norm, training-mode batch norm,
// AdamW and SGD with momentum. Each kernel's gradient kernel is reached by the same case's gradient.
import * as tf from '@tensorflow/tfjs';
import { ops } from '../../src/engine/index.ts';
import type { NamedParam } from '../../src/nn/module.ts';
import { AdamW, Sgd } from '../../src/train/optim/index.ts';
import type { Generator, InputSpec } from './case.ts';
import type { Draw } from './draw.ts';

/** Rows of width D: [.., D] with at most ~maxSize elements, sometimes past the row kernels' 1024-row split. */
function rows(d: Draw, dim: number, maxSize = 40000): number[] {
  const lead = d.chance(0.15)
    ? [d.int(1024, Math.max(1024, Math.floor(maxSize / dim)))]
    : d.shape(0, 3, Math.max(1, Math.floor(maxSize / dim)), false);
  return [...lead, dim];
}

const width = (d: Draw) => d.pick([1, 2, 3, d.int(4, 16), 16, 32, d.int(17, 64), 64, d.int(65, 130)]);

/** α or β: absent, a scalar ([] or [1]) or per last dimension ([D]). */
function weight(d: Draw, name: string, dim: number): InputSpec | null {
  const r = d.rng.next();
  if (r < 0.3) return null;
  return d.input(name, r < 0.55 ? [] : r < 0.75 ? [1] : [dim], { scale: 0.7 });
}

const combine: Generator = (d) => {
  const dim = width(d);
  const shape = rows(d, dim);
  const inputs = [d.input('fx', shape), d.input('x', shape)];
  if (d.chance(0.3)) inputs.push(d.input('extra', shape));
  for (const n of ['alpha', 'beta']) {
    const w = weight(d, n, dim);
    if (w) inputs.push(w);
  }
  const relu = d.chance(0.4);
  return {
    inputs,
    attrs: { relu },
    family: 'reduce',
    run: (t) => ops().combine(t.fx, t.x, { extra: t.extra, alpha: t.alpha, beta: t.beta, relu }),
  };
};

const lowRankCombine: Generator = (d) => {
  const dim = width(d);
  const r = d.int(1, Math.max(1, Math.min(dim, 40)));
  const shape = rows(d, dim, 30000);
  const inputs = [
    d.input('fx', shape),
    d.input('x', shape),
    d.input('V', [dim, r], { scale: 0.3 }),
    d.input('U', [r, dim], { scale: 0.3 }),
  ];
  // The fused kernel takes scalar α, β; a [D] one takes the reference path on both backends.
  for (const n of ['alpha', 'beta'])
    if (d.chance(0.6)) inputs.push(d.input(n, d.pick([[], [1]]), { scale: 0.7 }));
  const relu = d.chance(0.4);
  return {
    inputs,
    attrs: { rank: r, relu },
    family: 'gemm',
    run: (t) => ops().lowRankCombine(t.fx, t.x, t.V, t.U, { alpha: t.alpha, beta: t.beta, relu }),
  };
};

const gelu: Generator = (d) => {
  const x = d.input('x', d.shape(0, 4, 70000), { scale: d.pick([0.5, 2, 8]), specials: true });
  return { inputs: [x], attrs: {}, family: 'transcendental', run: (t) => ops().gelu(t.x) };
};

const layerNorm: Generator = (d) => {
  const dim = width(d);
  const inputs = [d.input('x', rows(d, dim), { scale: d.pick([0.1, 1, 5]) }), d.input('gamma', [dim])];
  if (d.chance(0.7)) inputs.push(d.input('beta', [dim]));
  const eps = d.pick([1e-5, 1e-3, 0.1]);
  return {
    inputs,
    attrs: { eps },
    family: 'reduce',
    run: (t) => ops().layerNorm(t.x, t.gamma, t.beta, eps),
  };
};

const batchNormTrain: Generator = (d) => {
  const c = width(d);
  const lead = d.shape(1, 3, Math.max(1, Math.floor(40000 / c)), false);
  const inputs = [
    d.input('x', [...lead, c], { scale: d.pick([0.1, 1, 5]) }),
    d.input('gamma', [c]),
    d.input('beta', [c]),
  ];
  const eps = d.pick([1e-5, 1e-3, 0.1]);
  const relu = d.chance(0.4);
  return {
    inputs,
    attrs: { eps, relu },
    family: 'reduce',
    // The batch statistics carry no gradient on native (they do in the reference): only y is weighed.
    gradOutputs: [0],
    run: (t) => {
      const { y, mean, variance } = ops().batchNormTrain(t.x, t.gamma, t.beta, eps, relu);
      return [y, mean, variance];
    },
  };
};

/** A few optimizer steps on one parameter: the parameter and every slot after each step. */
function optimizer(kind: 'adamw' | 'sgd'): Generator {
  return (d) => {
    const shape = d.shape(0, 3, 20000);
    const steps = d.int(1, 3);
    const inputs = [
      d.input('p', shape, { grad: false }),
      ...Array.from({ length: steps }, (_, i) => d.input(`g${i}`, shape, { grad: false })),
    ];
    const lr = d.pick([1e-3, 0.01, 0.1]);
    const weightDecay = d.pick([0, 0.01, 0.1]);
    const momentum = d.pick([0.5, 0.9]);
    const nesterov = d.chance(0.5);
    const [beta1, beta2] = [d.pick([0.9, 0.5]), d.pick([0.999, 0.9])];
    const kindOf = d.pick(['weight', 'bias'] as const);
    return {
      inputs,
      attrs:
        kind === 'adamw'
          ? { steps, lr, weightDecay, beta1, beta2, kind: kindOf }
          : { steps, lr, weightDecay, momentum, nesterov, kind: kindOf },
      family: 'reduce',
      grads: false,
      run: (t) => {
        const variable = tf.variable(t.p, true, undefined, 'float32');
        const params: NamedParam[] = [{ name: 'p', variable, kind: kindOf }];
        const opt =
          kind === 'adamw'
            ? new AdamW(params, { weightDecay, beta1, beta2 })
            : new Sgd(params, { momentum, nesterov, weightDecay, decayBias: true });
        const outs: tf.Tensor[] = [];
        for (let i = 0; i < steps; i++) {
          opt.step({ p: t[`g${i}`] }, lr);
          outs.push(tf.clone(variable), ...Object.values(opt.getState().tensors).map((s) => tf.clone(s)));
        }
        opt.dispose();
        variable.dispose();
        return outs;
      },
    };
  };
}

export const laurelGenerators: Record<string, Generator> = {
  LaurelCombine: combine,
  LaurelCombineGrad: combine,
  LaurelLowRankCombine: lowRankCombine,
  LaurelLowRankCombineGrad: lowRankCombine,
  LaurelGelu: gelu,
  LaurelGeluGrad: gelu,
  LaurelLayerNorm: layerNorm,
  LaurelLayerNormGrad: layerNorm,
  LaurelBatchNormTrain: batchNormTrain,
  LaurelBatchNormTrainGrad: batchNormTrain,
  LaurelAdamW: optimizer('adamw'),
  LaurelSgd: optimizer('sgd'),
};
