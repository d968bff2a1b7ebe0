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
  resolveRank,
} from './config.ts';
import type { ActivationHistory } from './history.ts';
import * as M from './math.ts';

export interface ResidualContext {
  /** Earlier block inputs for PA / general; forward reads it, then pushes its own x. */
  history?: ActivationHistory;
  /** The pre-normed block input x̂ used by the gemma3n form (defaults to x). */
  xNormed?: tf.Tensor;
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

/**
 * One LAUREL residual connection of width `dim` (the last dimension of its inputs): `forward(f(x), x)`
 * returns x_{i+1}. The formulas are in math.ts; parameters (all `kind: 'laurel'`):
 *   w [2] | [D, 2] (RW softmax logits), alphaBeta [2] | [D, 2] (RW 'none'), p [] | [D] (RW sigmoid),
 *   V [D, r], U [r, D] (LR, PA's low-rank h, gemma3n), V [k, D, r], U [k, r, D] (LR+PA, RW+LR+PA),
 *   gamma [k] (PA), normScale [D] (gemma3n's RMSNorm), alpha [] (general).
 * Init: U = 0 (LoRA style; gemma3n: Xavier), V Xavier or column-orthogonal, RW so that α = β = 1
 * (sigmoid: 0.5, 0.5), γ = 1 with a low-rank h (U = 0 already makes the term vanish, and γ ≠ 0 lets U
 * learn) or γ = 0 with identity h. So at init every variant but sigmoid-RW and gemma3n is a plain residual.
 */
export class Residual extends Module {
  readonly config: ResidualConfig;
  readonly dim: number;
  readonly rank: number | undefined;
  readonly k: number;
  private readonly rwParam?: tf.Variable;
  private readonly V?: tf.Variable;
  private readonly U?: tf.Variable;
  private readonly gamma?: tf.Variable;
  private readonly normScale?: tf.Variable;
  private readonly alpha?: tf.Variable;

  constructor(config: ResidualConfig, dim: number, opts: { seed?: number } = {}) {
    super();
    if (!(Number.isInteger(dim) && dim >= 1))
      throw new Error(`Residual: bad dim ${dim}; allowed: an integer >= 1`);
    this.config = config;
    this.dim = dim;
    const v = config.variant;
    this.k = hasPa(v) ? (config.k ?? 3) : 1;
    this.rank = hasLowRank(config) ? resolveRank(config, dim) : undefined;
    const rng = new Rng(opts.seed ?? Math.floor(Math.random() * 2 ** 31));
    const D = dim;

    if (hasRw(v)) {
      const perDim = config.rwPerDim === true;
      if (config.rwNorm === 'sigmoid') {
        this.rwParam = this.param('p', perDim ? tf.zeros([D]) : tf.scalar(0), 'laurel');
      } else if (config.rwNorm === 'none') {
        this.rwParam = this.param('alphaBeta', tf.ones(perDim ? [D, 2] : [2]), 'laurel');
      } else {
        this.rwParam = this.param('w', tf.zeros(perDim ? [D, 2] : [2]), 'laurel');
      }
    }
    if (this.rank !== undefined) {
      const r = this.rank;
      const copies = hasPerJLowRank(v) ? this.k : 0;
      const lead = copies ? [copies] : [];
      const Vinit =
        config.vInit === 'column-orthogonal'
          ? columnOrthogonal(D, r, copies)
          : xavierUniform([...lead, D, r], D, r, rng);
      this.V = this.param('V', Vinit, 'laurel');
      const Uinit = v === 'gemma3n' ? xavierUniform([r, D], r, D, rng) : tf.zeros([...lead, r, D]);
      this.U = this.param('U', Uinit, 'laurel');
    }
    if (hasPa(v)) {
      this.gamma = this.param(
        'gamma',
        config.paH === 'identity' ? tf.zeros([this.k]) : tf.ones([this.k]),
        'laurel',
      );
    }
    if (v === 'gemma3n') this.normScale = this.param('normScale', tf.ones([D]), 'laurel');
    if (v === 'general') this.alpha = this.param('alpha', tf.scalar(1), 'laurel');
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
        if (!sameShape(p, x)) {
          throw new Error(
            `Residual: history activation shape [${p.shape}] differs from x [${x.shape}]; use one ActivationHistory per stage where shapes agree`,
          );
        }
      }
    }
    const out = tf.tidy(() => this.compute(fx, x, prev, ctx.xNormed ?? x));
    history?.push(x);
    return out;
  }

  private compute(fx: tf.Tensor, x: tf.Tensor, prev: tf.Tensor[], xHat: tf.Tensor): tf.Tensor {
    const v = this.config.variant;
    if (v === 'baseline') return M.plainResidual(fx, x);
    if (v === 'general') return M.general(fx, this.alpha!, this.config.g!(x, prev));
    if (v === 'gemma3n') return M.gemma3n(fx, x, xHat, this.V!, this.U!, this.normScale!);
    const ab = this.rwParam ? M.rwAlphaBeta(this.config.rwNorm ?? 'softmax', this.rwParam) : undefined;
    if (v === 'rw') return M.rw(fx, x, ab!.alpha, ab!.beta);
    if (v === 'lr') return M.lr(fx, x, this.V!, this.U!);
    if (v === 'rw+lr') return M.rwLr(fx, x, ab!.alpha, ab!.beta, this.V!, this.U!);
    const xs = [x, ...prev];
    const m = xs.length;
    const cut = m < this.k;
    const gamma = cut ? tf.slice(this.gamma!, 0, m) : this.gamma!;
    if (hasPerJLowRank(v)) {
      const V = cut ? tf.slice(this.V!, [0, 0, 0], [m, -1, -1]) : this.V!;
      const U = cut ? tf.slice(this.U!, [0, 0, 0], [m, -1, -1]) : this.U!;
      return M.lrPa(fx, xs, gamma, V, U, ab?.alpha, ab?.beta);
    }
    return M.pa(fx, xs, gamma, this.V, this.U, ab?.alpha, ab?.beta);
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
