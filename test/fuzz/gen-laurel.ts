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
  const lead =
    !d.mode.small && d.chance(0.15)
      ? [d.int(1024, Math.max(1024, Math.floor(maxSize / dim)))]
      : d.shape(0, 3, Math.max(1, Math.floor(maxSize / dim)), false);
  return [...lead, dim];
}

const width = (d: Draw) => d.pick([1, 2, 3, d.int(4, 16), 16, 32, d.int(17, 64), 64, d.int(65, 130)]);

/** α or β: absent, a scalar ([] or [1]) or per last dimension ([D]); |α| ≥ 0.3 (see clearOfKink). */
function weight(d: Draw, name: string, dim: number): InputSpec | null {
  const r = d.rng.next();
  if (r < 0.3) return null;
  return d.input(name, r < 0.55 ? [] : r < 0.75 ? [1] : [dim], { scale: 0.7, domain: 'nonzero' });
}

/** Element j of a weight broadcast over the last dimension (1 when absent). */
const at = (w: InputSpec | undefined, j: number, dim: number) =>
  w ? w.values[w.values.length === 1 ? 0 : j % dim] : 1;

/**
 * ReLU's gradient jumps at 0, so where a pre-activation lies within rounding of 0 the backends, each rounding
 * correctly, may take different sides (the fused kernels round α·f + β·x once, the reference twice). Moves such
 * elements 0.01 away: `pre(j)` is element j's pre-activation in double and its terms' magnitude, `move(j, by)`
 * adds `by` to it (a few rounds, as a move of a shared parameter moves other elements too).
 */
function clearOfKink(n: number, pre: (j: number) => [number, number], move: (j: number, by: number) => void) {
  for (let round = 0; round < 4; round++) {
    let moved = false;
    for (let j = 0; j < n; j++) {
      const [y, mag] = pre(j);
      if (Math.abs(y) > 1e-4 * (1 + mag)) continue;
      move(j, y >= 0 ? 0.01 : -0.01);
      moved = true;
    }
    if (!moved) return;
  }
}

const combine: Generator = (d) => {
  const dim = width(d);
  const shape = rows(d, dim);
  const relu = d.chance(0.4);
  // With ReLU, f is float32 so that clearOfKink can move it by 0.01/α.
  const fx = d.input('fx', shape, relu ? { kind: 'float32' } : {});
  const x = d.input('x', shape);
  const extra = d.chance(0.3) ? d.input('extra', shape) : undefined;
  const [alpha, beta] = ['alpha', 'beta'].map((n) => weight(d, n, dim) ?? undefined);
  const inputs = [fx, x, extra, alpha, beta].filter((s): s is InputSpec => s !== undefined);
  if (relu) {
    clearOfKink(
      fx.values.length,
      (j) => {
        const [a, b] = [at(alpha, j, dim), at(beta, j, dim)];
        const g = x.values[j] + (extra ? extra.values[j] : 0);
        return [a * fx.values[j] + b * g, Math.abs(a * fx.values[j]) + Math.abs(b * g)];
      },
      (j, by) => {
        fx.values[j] += by / at(alpha, j, dim);
      },
    );
  }
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
  const relu = d.chance(0.4);
  const fx = d.input('fx', shape, relu ? { kind: 'float32' } : {});
  const x = d.input('x', shape);
  const V = d.input('V', [dim, r], { scale: 0.3 });
  const U = d.input('U', [r, dim], { scale: 0.3 });
  // The fused kernel takes scalar α, β (a [D] one would take the reference path on both backends).
  const [alpha, beta] = ['alpha', 'beta'].map((n) =>
    d.chance(0.6) ? d.input(n, d.pick([[], [1]]), { scale: 0.7, domain: 'nonzero' }) : undefined,
  );
  const inputs = [fx, x, V, U, alpha, beta].filter((s): s is InputSpec => s !== undefined);
  if (relu) {
    // β·(x + (x·V)·U) per element, in double.
    const g = new Float64Array(fx.values.length);
    const xv = new Float64Array(r);
    for (let row = 0; row < g.length / dim; row++) {
      xv.fill(0);
      for (let i = 0; i < dim; i++)
        for (let k = 0; k < r; k++) xv[k] += x.values[row * dim + i] * V.values[i * r + k];
      for (let j = 0; j < dim; j++) {
        let u = x.values[row * dim + j];
        for (let k = 0; k < r; k++) u += xv[k] * U.values[k * dim + j];
        g[row * dim + j] = at(beta, 0, 1) * u;
      }
    }
    clearOfKink(
      g.length,
      (j) => [
        at(alpha, 0, 1) * fx.values[j] + g[j],
        Math.abs(at(alpha, 0, 1) * fx.values[j]) + Math.abs(g[j]),
      ],
      (j, by) => {
        fx.values[j] += by / at(alpha, 0, 1);
      },
    );
  }
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
    // Normalized rows: unit-sized whatever x's size; ∂γ and ∂β sum over the rows (W's terms are unit-sized).
    scale: 1,
    gradScale: Math.sqrt(inputs[0].values.length / dim),
    run: (t) => ops().layerNorm(t.x, t.gamma, t.beta, eps),
  };
};

/** clearOfKink for ReLU(BN(x)) with channel statistics m, v (per channel, the last dimension): moves β. */
function clearBatchNormKink(
  x: InputSpec,
  m: ArrayLike<number>,
  v: ArrayLike<number>,
  gamma: InputSpec,
  beta: InputSpec,
  eps: number,
): void {
  const c = gamma.values.length;
  clearOfKink(
    x.values.length,
    (j) => {
      const k = j % c;
      const z = ((x.values[j] - m[k]) / Math.sqrt(v[k] + eps)) * gamma.values[k];
      return [z + beta.values[k], Math.abs(z) + Math.abs(beta.values[k])];
    },
    (j, by) => {
      beta.values[j % c] += by;
    },
  );
}

/** ops().batchNorm: inference mode with given statistics (+ ReLU); gradients to x, mean, variance, γ and β. */
const batchNorm: Generator = (d) => {
  const c = width(d);
  const lead = d.shape(1, 3, Math.max(1, Math.floor(40000 / c)), false);
  const eps = d.pick([1e-5, 1e-3, 0.1]);
  const relu = d.chance(0.4);
  const x = d.input('x', [...lead, c], { scale: d.pick([0.1, 1, 5]), specials: !relu });
  const mean = d.input('mean', [c]);
  const variance = d.input('variance', [c], { domain: 'positive' });
  const gamma = d.input('gamma', [c]);
  const beta = d.input('beta', [c], relu ? { kind: 'float32' } : {});
  if (relu) clearBatchNormKink(x, mean.values, variance.values, gamma, beta, eps);
  return {
    inputs: [x, mean, variance, gamma, beta],
    attrs: { varianceEpsilon: eps, relu },
    family: 'reduce',
    // The parameters' gradients sum over the rows.
    gradScale: Math.sqrt(x.values.length / c),
    run: (t) =>
      ops().batchNorm(t.x, { mean: t.mean, variance: t.variance, gamma: t.gamma, beta: t.beta, eps, relu }),
  };
};

const batchNormTrain: Generator = (d) => {
  const c = width(d);
  const lead = d.shape(1, 3, Math.max(1, Math.floor(40000 / c)), false);
  const eps = d.pick([1e-5, 1e-3, 0.1]);
  const relu = d.chance(0.4);
  const x = d.input('x', [...lead, c], { scale: d.pick([0.1, 1, 5]) });
  const gamma = d.input('gamma', [c]);
  // With ReLU, β is float32 so that clearOfKink can move a channel by 0.01.
  const beta = d.input('beta', [c], relu ? { kind: 'float32' } : {});
  const inputs = [x, gamma, beta];
  if (relu) {
    const m = new Float64Array(c);
    const v = new Float64Array(c);
    const rowsN = x.values.length / c;
    x.values.forEach((xv, j) => {
      m[j % c] += xv / rowsN;
    });
    x.values.forEach((xv, j) => {
      v[j % c] += (xv - m[j % c]) ** 2 / rowsN;
    });
    clearBatchNormKink(x, m, v, gamma, beta, eps);
  }
  return {
    inputs,
    attrs: { eps, relu },
    family: 'reduce',
    // The batch statistics carry no gradient on native (they do in the reference): only y is weighed.
    gradOutputs: [0],
    // ∂γ and ∂β sum over the rows.
    gradScale: Math.sqrt(x.values.length / c),
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
  LaurelBatchNorm: batchNorm,
  LaurelBatchNormTrain: batchNormTrain,
  LaurelBatchNormTrainGrad: batchNormTrain,
  LaurelAdamW: optimizer('adamw'),
  LaurelSgd: optimizer('sgd'),
};
