import { gammaInit, lowRankInit, paForward, rwCount, rwInit, rwWeights } from './parts.ts';
import { defineVariant } from './spec.ts';

/**
 * RW+LR+PA (eq. 6, math.ts lrPa with α, β): α·f(x_i) + β·(x_i + Σ_j γ_j·U_j·V_j·x_{i-j}).
 * Parameters: RW's weights, V [k, D, r], U [k, r, D], γ [k] (2rkD + k + 2).
 */
export const rwLrPa = defineVariant({
  name: 'rw+lr+pa',
  rw: true,
  pa: true,
  perJLowRank: true,
  lowRank: () => true,
  history: 'k',
  paramCount: (o, s) => rwCount(o, s.D) + s.k + 2 * s.r * s.D * s.k,
  init: (o, s, rng) => [rwInit(o, s.D), ...lowRankInit(o, s, rng, s.k), gammaInit(o, s.k)],
  forward: (o, P, a, s) => paForward(P, a, s.k, true, rwWeights(o, P)),
});
