import * as M from '../math.ts';
import { defineVariant } from './spec.ts';

/** The plain residual f(x) + x (eq. 1), so that a model can switch LAUREL off by configuration. No parameters. */
export const baseline = defineVariant({
  name: 'baseline',
  foldsIntoShortcut: true,
  fixedPlacement: 'none',
  paramCount: () => 0,
  init: () => [],
  forward: (_o, _P, a) =>
    a.relu ? M.combine(a.fx, a.x, undefined, undefined, undefined, true) : M.plainResidual(a.fx, a.x),
});
