import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module.ts';
import { Rng } from '../util/rng.ts';
import {
  type ResidualConfig,
  addedParamCount,
  effectiveK,
  hasLowRank,
  residualConfig,
  resolveRank,
  sizesOf,
  variantSpec,
} from './config.ts';
import type { ActivationHistory } from './history.ts';
import type { LaurelParams } from './options.ts';
import { rwRaw, rwWeights } from './variants/parts.ts';

/**
 * One learned quantity of a residual: its values when it has at most LEARNED_VALUES of them (α, β, γ, ReZero's
 * α, DWA's weights), else summary statistics (U, V, LayerScale's λ, per-dimension α and β).
 */
export interface LearnedParam {
  name: string;
  shape: number[];
  values?: number[];
  mean?: number;
  rms?: number;
  min?: number;
  max?: number;
}

/** Parameters with at most this many values are listed in full by Residual.learned(). */
export const LEARNED_VALUES = 16;

function describe(name: string, t: tf.Tensor): LearnedParam {
  const v = t.dataSync();
  if (v.length <= LEARNED_VALUES) return { name, shape: t.shape, values: Array.from(v) };
  // one pass, no spread: U and V of a wide model hold more values than a call may take as arguments
  let sum = 0;
  let squares = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const x of v) {
    sum += x;
    squares += x * x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  return { name, shape: t.shape, mean: sum / v.length, rms: Math.sqrt(squares / v.length), min, max };
}

export interface ResidualContext {
  /** Earlier block inputs for PA / general; forward reads it, then pushes its own x. */
  history?: ActivationHistory;
  /** The pre-normed block input x̂ used by the gemma3n form (defaults to x). */
  xNormed?: tf.Tensor;
  /** Return ReLU(x_{i+1}) (a ResNet block's final activation), fused into the combine kernel where one exists. */
  relu?: boolean;
}

/**
 * The initial value of every parameter of a LAUREL residual of width `dim`, in registration order (the
 * variant's record says which, their init and order; shared by Residual and the tfjs layer). Random draws come
 * from one stream seeded by `seed`.
 */
export function initialParams(config: ResidualConfig, dim: number, seed?: number): [string, tf.Tensor][] {
  const rng = new Rng(seed ?? Math.floor(Math.random() * 2 ** 31));
  return variantSpec(config.variant).init(config, sizesOf(config, dim), rng);
}

/**
 * x_{i+1} for a configuration and its parameters (no shape checks, no tidy: callers do both), or ReLU(x_{i+1})
 * with `relu` (inside the combine kernel where the backend has one).
 * prev = [x_{i-1}, x_{i-2}, …] newest first, at most k − 1 of them (all of them for general); xHat = x̂ (gemma3n).
 */
export function residualForward(
  config: ResidualConfig,
  P: LaurelParams,
  fx: tf.Tensor,
  x: tf.Tensor,
  prev: readonly tf.Tensor[] = [],
  xHat: tf.Tensor = x,
  relu = false,
): tf.Tensor {
  const sizes = sizesOf(config, x.shape[x.rank - 1]);
  return variantSpec(config.variant).forward(config, P, { fx, x, prev, xHat, relu }, sizes);
}

/**
 * One LAUREL residual connection of width `dim` (the last dimension of its inputs): `forward(f(x), x)`
 * returns x_{i+1}. The formulas are in math.ts, each variant's parameters, init and forward in its file in
 * variants/. Parameters (all `kind: 'laurel'`):
 *   w [2] | [D, 2] (RW softmax logits), alphaBeta [2] | [D, 2] (RW 'none'), p [] | [D] (RW sigmoid),
 *   V [D, r], U [r, D] (LR, PA's low-rank h, gemma3n), V [k, D, r], U [k, r, D] (LR+PA, RW+LR+PA),
 *   gamma [k] (PA), normScale [D] (gemma3n's RMSNorm), alpha [] (general).
 * At init every variant but sigmoid-RW (0.5·f + 0.5·x), gemma3n, ReZero (x) and LayerScale (x + λ₀·f) is exactly a
 * plain residual.
 */
export class Residual extends Module {
  readonly config: ResidualConfig;
  readonly dim: number;
  readonly rank: number | undefined;
  readonly k: number;
  private readonly P: LaurelParams = {};

  constructor(config: ResidualConfig, dim: number, opts: { seed?: number } = {}) {
    super();
    if (!(Number.isInteger(dim) && dim >= 1))
      throw new Error(`Residual: bad dim ${dim}; allowed: an integer >= 1`);
    // Re-validated and normalized, so that a hand-written literal config gets the same checks and defaults.
    const { variant, ...given } = config;
    config = residualConfig(variant, given);
    this.config = config;
    this.dim = dim;
    this.k = effectiveK(config);
    this.rank = hasLowRank(config) ? resolveRank(config, dim) : undefined;
    for (const [name, init] of initialParams(config, dim, opts.seed))
      this.P[name] = this.param(name, init, 'laurel');
  }

  /**
   * What this residual has learned, in the paper's terms: RW's α and β (from its raw weights, math.ts
   * rwAlphaBeta), then every other parameter as stored (γ, U, V, ReZero's α, λ, DWA's weights).
   */
  learned(): LearnedParam[] {
    const out: LearnedParam[] = [];
    // RW's raw weights are shown as the α and β they stand for, in their place
    const raw = variantSpec(this.config.variant).rw ? rwRaw(this.P) : undefined;
    if (raw) {
      const { alpha, beta } = tf.tidy(() => rwWeights(this.config, this.P));
      out.push(describe('alpha', alpha), describe('beta', beta));
      tf.dispose([alpha, beta]);
    }
    for (const [name, t] of Object.entries(this.P)) if (t && t !== raw) out.push(describe(name, t));
    return out;
  }

  /** Parameters this residual adds over a plain one (the paper's formula; equals parameterCount()). */
  addedParams(): number {
    return addedParamCount(this.config, this.dim);
  }

  /**
   * x_{i+1} from fx = f(x_i) and x = x_i (same shape [..., D], rank ≥ 2). With PA, the earlier inputs come
   * from ctx.history (only those that exist: the first blocks use fewer than k); x is pushed into the history
   * afterwards, whatever the variant.
   */
  forward(fx: tf.Tensor, x: tf.Tensor, ctx: ResidualContext = {}): tf.Tensor {
    this.checkShapes(fx, x, ctx);
    const use = variantSpec(this.config.variant).history;
    const history = ctx.history;
    let prev: tf.Tensor[] = [];
    if (history && use !== 'none') {
      prev = use === 'all' ? history.recent() : history.recent(this.k - 1);
      for (const p of prev) {
        if (p.isDisposed) {
          throw new Error(
            'Residual: an activation in the history was disposed (a tf.tidy around an earlier block freed it); keep the block inputs alive until the forward pass ends, e.g. return them from that tidy',
          );
        }
        if (!sameShape(p, x)) {
          throw new Error(
            `Residual: history activation shape [${p.shape}] differs from x [${x.shape}]; use one ActivationHistory per stage where shapes agree`,
          );
        }
      }
    }
    const out = tf.tidy(() =>
      residualForward(this.config, this.P, fx, x, prev, ctx.xNormed ?? x, ctx.relu === true),
    );
    history?.push(x);
    return out;
  }

  private checkShapes(fx: tf.Tensor, x: tf.Tensor, ctx: ResidualContext): void {
    if (x.rank < 2) throw new Error(`Residual: x must have rank >= 2 ([..., D]), got shape [${x.shape}]`);
    if (!sameShape(fx, x)) {
      throw new Error(`Residual: fx shape [${fx.shape}] must equal x shape [${x.shape}]`);
    }
    const D = x.shape[x.rank - 1];
    if (D !== this.dim)
      throw new Error(`Residual: last dimension of x is ${D}; allowed: ${this.dim} (the dim)`);
    if (ctx.xNormed && !sameShape(ctx.xNormed, x)) {
      throw new Error(`Residual: xNormed shape [${ctx.xNormed.shape}] must equal x shape [${x.shape}]`);
    }
  }
}

function sameShape(a: tf.Tensor, b: tf.Tensor): boolean {
  return a.rank === b.rank && a.shape.every((s, i) => s === b.shape[i]);
}
