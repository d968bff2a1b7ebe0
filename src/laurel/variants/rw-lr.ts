import * as M from '../math.ts';
import { lowRankInit, rwCount, rwInit, rwNormOf, rwRaw } from './parts.ts';
import { defineVariant } from './spec.ts';

/** RW+LR (eq. 5): α·f(x) + β·(x + U·V·x). Parameters: RW's weights, V [D, r], U [r, D] (2rD + 2). */
export const rwLr = defineVariant({
  name: 'rw+lr',
  foldsIntoShortcut: true,
  rw: true,
  lowRank: () => true,
  paramCount: (o, s) => rwCount(o, s.D) + 2 * s.r * s.D,
  init: (o, s, rng) => [rwInit(o, s.D), ...lowRankInit(o, s, rng)],
  forward: (o, P, a) => M.rwFromRaw(rwNormOf(o), rwRaw(P), a.fx, a.x, P.V!, P.U!, a.relu),
});
