import { gammaInit, lowRankInit, paForward, unlessIdentityH } from './parts.ts';
import { defineVariant } from './spec.ts';

/**
 * PA (math.ts pa): f(x_i) + x_i + Σ_j γ_j·h(x_{i-j}), one shared h = U·V (or the identity).
 * Parameters: V [D, r], U [r, D] (low-rank h), γ [k] (2rD + k; identity h: k).
 */
export const pa = defineVariant({
  name: 'pa',
  pa: true,
  paHIdentity: true,
  lowRank: unlessIdentityH,
  history: 'k',
  paramCount: (_o, s) => s.k + 2 * s.r * s.D,
  init: (o, s, rng) => [...(s.r ? lowRankInit(o, s, rng) : []), gammaInit(o, s.k)],
  forward: (_o, P, a, s) => paForward(P, a, s.k, false),
});
