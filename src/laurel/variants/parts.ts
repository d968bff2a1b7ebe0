/**
 * The pieces variants share (RW's weights, the low-rank pair, PA's γ and its sum over the history), so that
 * each variant file only says which pieces it has, in which order, and which math.ts formula joins them.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../util/rng.ts';
import { columnOrthogonal, xavierUniform } from '../init.ts';
import * as M from '../math.ts';
import type { LaurelParams, ResidualOptions, RwNorm } from '../options.ts';
import type { ForwardInputs, Sizes } from './spec.ts';

type Entry = [string, tf.Tensor];

export const rwNormOf = (o: ResidualOptions): RwNorm => o.rwNorm ?? 'softmax';

/** Parameters of RW: 2 (softmax/none), 1 (sigmoid), or D times that with rwPerDim. */
export function rwCount(o: ResidualOptions, D: number): number {
  const perScalar = o.rwNorm === 'sigmoid' ? 1 : 2;
  return o.rwPerDim ? perScalar * D : perScalar;
}

/**
 * RW's raw weights so that α = β = 1 (sigmoid: p = 0, α = β = 0.5): w [2] | [D, 2] (softmax logits),
 * alphaBeta [2] | [D, 2] ('none'), p [] | [D] (sigmoid).
 */
export function rwInit(o: ResidualOptions, D: number): Entry {
  const perDim = o.rwPerDim === true;
  if (o.rwNorm === 'sigmoid') return ['p', perDim ? tf.zeros([D]) : tf.scalar(0)];
  if (o.rwNorm === 'none') return ['alphaBeta', tf.ones(perDim ? [D, 2] : [2])];
  return ['w', tf.zeros(perDim ? [D, 2] : [2])];
}

/** RW's raw weights, whichever normalization owns them. */
export const rwRaw = (P: LaurelParams): tf.Tensor => (P.w ?? P.alphaBeta ?? P.p) as tf.Tensor;

/** (α, β) from RW's raw weights (math.ts rwAlphaBeta). */
export const rwWeights = (o: ResidualOptions, P: LaurelParams) => M.rwAlphaBeta(rwNormOf(o), rwRaw(P));

/**
 * V [D, r] (Xavier or column-orthogonal) then U [r, D] (0, LoRA style; Xavier with `uXavier`), or `copies` of
 * each stacked in front ([copies, D, r], [copies, r, D]). Draws V's values from rng before U's.
 */
export function lowRankInit(o: ResidualOptions, s: Sizes, rng: Rng, copies = 0, uXavier = false): Entry[] {
  const { D, r } = s;
  const lead = copies ? [copies] : [];
  const V =
    o.vInit === 'column-orthogonal'
      ? columnOrthogonal(D, r, copies)
      : xavierUniform([...lead, D, r], D, r, rng);
  return [
    ['V', V],
    ['U', uXavier ? xavierUniform([r, D], r, D, rng) : tf.zeros([...lead, r, D])],
  ];
}

/** γ [k]: 1 with a low-rank h (U = 0 already makes the term vanish, and γ ≠ 0 lets U learn), 0 with identity h. */
export const gammaInit = (o: ResidualOptions, k: number): Entry => [
  'gamma',
  o.paH === 'identity' ? tf.zeros([k]) : tf.ones([k]),
];

/**
 * PA's forward (math.ts pa, or lrPa with one low-rank pair per j) over xs = [x_i, …] (at most k; the first
 * blocks of a model have fewer, and then only the first m of γ, V_j, U_j take part); α, β from RW when given.
 */
export function paForward(
  P: LaurelParams,
  a: ForwardInputs,
  k: number,
  perJ: boolean,
  ab?: { alpha: tf.Tensor; beta: tf.Tensor },
): tf.Tensor {
  const xs = [a.x, ...a.prev.slice(0, k - 1)];
  const m = xs.length;
  const cut = m < k;
  const gamma = cut ? tf.slice(P.gamma as tf.Tensor, 0, m) : (P.gamma as tf.Tensor);
  const y = (() => {
    if (!perJ) return M.pa(a.fx, xs, gamma, P.V, P.U, ab?.alpha, ab?.beta);
    const V = cut ? tf.slice(P.V as tf.Tensor, [0, 0, 0], [m, -1, -1]) : (P.V as tf.Tensor);
    const U = cut ? tf.slice(P.U as tf.Tensor, [0, 0, 0], [m, -1, -1]) : (P.U as tf.Tensor);
    return M.lrPa(a.fx, xs, gamma, V, U, ab?.alpha, ab?.beta);
  })();
  return reluIf(y, a.relu);
}

/** ReLU(y) when asked, for formulas without a fused ReLU. */
export const reluIf = (y: tf.Tensor, relu: boolean): tf.Tensor => (relu ? tf.relu(y) : y);

/** PA's low-rank h applies unless the options choose the identity. */
export const unlessIdentityH = (o: ResidualOptions): boolean => o.paH !== 'identity';
