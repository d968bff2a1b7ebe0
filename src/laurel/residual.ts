import * as tf from '@tensorflow/tfjs';
import { Module } from '../nn/module.ts';
import { Rng } from '../util/rng.ts';
import {
  type ResidualConfig,
  addedParamCount,
  hasLowRank,
  hasPa,
  hasPerJLowRank,
  hasRw,
  residualConfig,
  resolveRank,
} from './config.ts';
import type { ActivationHistory } from './history.ts';
import * as M from './math.ts';

export interface ResidualContext {
  /** Earlier block inputs for PA / general; forward reads it, then pushes its own x. */
  history?: ActivationHistory;
  /** The pre-normed block input x̂ used by the gemma3n form (defaults to x). */
  xNormed?: tf.Tensor;
  /** Return ReLU(x_{i+1}) (a ResNet block's final activation), fused into the combine kernel where one exists. */
  relu?: boolean;
}

/** Xavier (Glorot) uniform: U(−a, a), a = sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform(shape: number[], fanIn: number, fanOut: number, rng: Rng): tf.Tensor {
  const a = Math.sqrt(6 / (fanIn + fanOut));
  const n = shape.reduce((p, s) => p * s, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (2 * rng.next() - 1) * a;
  return tf.tensor(v, shape);
}

/**
 * Column-orthogonal V (NOTES.md, LLM experiments): V[i][j] = 1/sqrt(r·D) if i mod r == j, else 0,
 * with i over the D inputs and j over the r outputs (V stored [D, r]): column j is the indicator of the
 * inputs i ≡ j (mod r), so the r columns have disjoint supports and are orthogonal. (Reading i over r
 * would make `i mod r` a no-op, V a truncated identity.) `copies` > 1 stacks identical copies: [copies, D, r].
 */
export function columnOrthogonal(D: number, r: number, copies = 0): tf.Tensor {
  const v = new Float32Array(D * r);
  const c = 1 / Math.sqrt(r * D);
  for (let i = 0; i < D; i++) v[i * r + (i % r)] = c;
  if (copies === 0) return tf.tensor(v, [D, r]);
  const all = new Float32Array(copies * D * r);
  for (let j = 0; j < copies; j++) all.set(v, j * D * r);
  return tf.tensor(all, [copies, D, r]);
}

/** LAUREL parameters by name (see Residual for the names and shapes). */
export type LaurelParams = Partial<
  Record<'w' | 'alphaBeta' | 'p' | 'V' | 'U' | 'gamma' | 'normScale' | 'alpha', tf.Tensor>
>;

/** k as used by a residual: config.k for PA variants, else 1. */
export const effectiveK = (config: ResidualConfig): number => (hasPa(config.variant) ? (config.k ?? 3) : 1);

/**
 * The initial value of every parameter of a LAUREL residual of width `dim`, in registration order
 * (shared by Residual and the tfjs layer). Init: U = 0 (LoRA style; gemma3n: Xavier), V Xavier or
 * column-orthogonal, RW so that α = β = 1 (sigmoid: p = 0, α = β = 0.5), γ = 1 with a low-rank h (U = 0
 * already makes the term vanish, and γ ≠ 0 lets U learn) or γ = 0 with identity h (so the term vanishes),
 * gemma3n's RMSNorm scale 1, general's α = 1.
 */
export function initialParams(
  config: ResidualConfig,
  dim: number,
  seed?: number,
): [keyof LaurelParams, tf.Tensor][] {
  const v = config.variant;
  const D = dim;
  const k = effectiveK(config);
  const rng = new Rng(seed ?? Math.floor(Math.random() * 2 ** 31));
  const out: [keyof LaurelParams, tf.Tensor][] = [];
  if (hasRw(v)) {
    const perDim = config.rwPerDim === true;
    if (config.rwNorm === 'sigmoid') out.push(['p', perDim ? tf.zeros([D]) : tf.scalar(0)]);
    else if (config.rwNorm === 'none') out.push(['alphaBeta', tf.ones(perDim ? [D, 2] : [2])]);
    else out.push(['w', tf.zeros(perDim ? [D, 2] : [2])]);
  }
  if (hasLowRank(config)) {
    const r = resolveRank(config, dim);
    const copies = hasPerJLowRank(v) ? k : 0;
    const lead = copies ? [copies] : [];
    out.push([
      'V',
      config.vInit === 'column-orthogonal'
        ? columnOrthogonal(D, r, copies)
        : xavierUniform([...lead, D, r], D, r, rng),
    ]);
    out.push(['U', v === 'gemma3n' ? xavierUniform([r, D], r, D, rng) : tf.zeros([...lead, r, D])]);
  }
  if (hasPa(v)) out.push(['gamma', config.paH === 'identity' ? tf.zeros([k]) : tf.ones([k])]);
  if (v === 'gemma3n') out.push(['normScale', tf.ones([D])]);
  if (v === 'general') out.push(['alpha', tf.scalar(1)]);
  return out;
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
  const v = config.variant;
  const norm = config.rwNorm ?? 'softmax';
  const rwRaw = P.w ?? P.alphaBeta ?? P.p;
  if (v === 'baseline')
    return relu ? M.combine(fx, x, undefined, undefined, undefined, true) : M.plainResidual(fx, x);
  if (v === 'rw') return M.rwFromRaw(norm, rwRaw!, fx, x, undefined, undefined, relu);
  if (v === 'lr') return M.lowRankCombine(fx, x, P.V!, P.U!, undefined, undefined, relu);
  if (v === 'rw+lr') return M.rwFromRaw(norm, rwRaw!, fx, x, P.V!, P.U!, relu);
  const y = (() => {
    if (v === 'general') return M.general(fx, P.alpha!, config.g!(x, prev));
    if (v === 'gemma3n') return M.gemma3n(fx, x, xHat, P.V!, P.U!, P.normScale!);
    const ab = hasRw(v) ? M.rwAlphaBeta(norm, rwRaw!) : undefined;
    const k = effectiveK(config);
    const xs = [x, ...prev.slice(0, k - 1)];
    const m = xs.length;
    const cut = m < k;
    const gamma = cut ? tf.slice(P.gamma!, 0, m) : P.gamma!;
    if (hasPerJLowRank(v)) {
      const V = cut ? tf.slice(P.V!, [0, 0, 0], [m, -1, -1]) : P.V!;
      const U = cut ? tf.slice(P.U!, [0, 0, 0], [m, -1, -1]) : P.U!;
      return M.lrPa(fx, xs, gamma, V, U, ab?.alpha, ab?.beta);
    }
    return M.pa(fx, xs, gamma, P.V, P.U, ab?.alpha, ab?.beta);
  })();
  return relu ? tf.relu(y) : y;
}

/**
 * One LAUREL residual connection of width `dim` (the last dimension of its inputs): `forward(f(x), x)`
 * returns x_{i+1}. The formulas are in math.ts, the initial values in initialParams. Parameters (all
 * `kind: 'laurel'`):
 *   w [2] | [D, 2] (RW softmax logits), alphaBeta [2] | [D, 2] (RW 'none'), p [] | [D] (RW sigmoid),
 *   V [D, r], U [r, D] (LR, PA's low-rank h, gemma3n), V [k, D, r], U [k, r, D] (LR+PA, RW+LR+PA),
 *   gamma [k] (PA), normScale [D] (gemma3n's RMSNorm), alpha [] (general).
 * At init every variant but sigmoid-RW (0.5·f + 0.5·x) and gemma3n is exactly a plain residual.
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
    const v = this.config.variant;
    const history = ctx.history;
    let prev: tf.Tensor[] = [];
    if (history && (hasPa(v) || v === 'general')) {
      prev = v === 'general' ? history.recent() : history.recent(this.k - 1);
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
