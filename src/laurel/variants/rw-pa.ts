import { gammaInit, lowRankInit, paForward, rwCount, rwInit, rwWeights, unlessIdentityH } from './parts.ts';
import { defineVariant } from './spec.ts';

/**
 * RW+PA (math.ts pa with α, β): α·f(x_i) + β·(x_i + Σ_j γ_j·h(x_{i-j})).
 * Parameters: RW's weights, V [D, r], U [r, D] (low-rank h), γ [k] (2rD + k + 2; identity h: k + 2).
 */
export const rwPa = defineVariant({
  name: 'rw+pa',
  rw: true,
  pa: true,
  paHIdentity: true,
  lowRank: unlessIdentityH,
  history: 'k',
  paramCount: (o, s) => rwCount(o, s.D) + s.k + 2 * s.r * s.D,
  init: (o, s, rng) => [rwInit(o, s.D), ...(s.r ? lowRankInit(o, s, rng) : []), gammaInit(o, s.k)],
  forward: (o, P, a, s) => paForward(P, a, s.k, false, rwWeights(o, P)),
});
