import * as M from '../math.ts';
import { rwCount, rwInit, rwNormOf, rwRaw } from './parts.ts';
import { defineVariant } from './spec.ts';

/** RW (eq. 4): α·f(x) + β·x. Parameters: RW's weights (2; sigmoid 1; per-dim D times that). */
export const rw = defineVariant({
  name: 'rw',
  foldsIntoShortcut: true,
  rw: true,
  paramCount: (o, s) => rwCount(o, s.D),
  init: (o, s) => [rwInit(o, s.D)],
  forward: (o, P, a) => M.rwFromRaw(rwNormOf(o), rwRaw(P), a.fx, a.x, undefined, undefined, a.relu),
});
