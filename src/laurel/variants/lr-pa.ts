import { gammaInit, lowRankInit, paForward } from './parts.ts';
import { defineVariant } from './spec.ts';

/**
 * LR+PA (math.ts lrPa): f(x_i) + x_i + Σ_j γ_j·U_j·V_j·x_{i-j}, one low-rank pair per j.
 * Parameters: V [k, D, r], U [k, r, D], γ [k] (2rkD + k).
 */
export const lrPa = defineVariant({
  name: 'lr+pa',
  pa: true,
  perJLowRank: true,
  lowRank: () => true,
  history: 'k',
  paramCount: (_o, s) => s.k + 2 * s.r * s.D * s.k,
  init: (o, s, rng) => [...lowRankInit(o, s, rng, s.k), gammaInit(o, s.k)],
  forward: (_o, P, a, s) => paForward(P, a, s.k, true),
});
