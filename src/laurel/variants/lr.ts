import * as M from '../math.ts';
import { lowRankInit } from './parts.ts';
import { defineVariant } from './spec.ts';

/** LR (eq. 3): f(x) + x + U·V·x. Parameters: V [D, r], U [r, D] (2rD). */
export const lr = defineVariant({
  name: 'lr',
  foldsIntoShortcut: true,
  lowRank: () => true,
  paramCount: (_o, s) => 2 * s.r * s.D,
  init: (o, s, rng) => lowRankInit(o, s, rng),
  forward: (_o, P, a) => M.lowRankCombine(a.fx, a.x, P.V!, P.U!, undefined, undefined, a.relu),
});
