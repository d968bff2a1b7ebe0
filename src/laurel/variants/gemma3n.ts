import * as tf from '@tensorflow/tfjs';
import * as M from '../math.ts';
import { DEFAULT_GEMMA3N_RANK } from '../options.ts';
import { lowRankInit, reluIf } from './parts.ts';
import { defineVariant } from './spec.ts';

/**
 * Gemma 3n's LAUREL block (math.ts gemma3n): (x + f(x) + x̂ + RMSNorm(U·V·x̂)) / √2, x̂ the pre-normed input.
 * Parameters: V [D, r], U [r, D] (both Xavier: V drawn first), normScale [D] = 1 (2rD + D). Default r = 64.
 * Models put it around attention whatever placement says (Gemma 3n's form).
 */
export const gemma3n = defineVariant({
  name: 'gemma3n',
  lowRank: () => true,
  defaultRank: DEFAULT_GEMMA3N_RANK,
  xNormed: true,
  fixedPlacement: 'attention',
  paramCount: (_o, s) => 2 * s.r * s.D + s.D,
  init: (o, s, rng) => [...lowRankInit(o, s, rng, 0, true), ['normScale', tf.ones([s.D])]],
  forward: (_o, P, a) => reluIf(M.gemma3n(a.fx, a.x, a.xHat, P.V!, P.U!, P.normScale!), a.relu),
});
