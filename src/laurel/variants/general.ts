import * as tf from '@tensorflow/tfjs';
import * as M from '../math.ts';
import { reluIf } from './parts.ts';
import { defineVariant } from './spec.ts';

/**
 * The general form (eq. 2) with the user's g: α·f(x_i) + g(x_i, x_{i-1}, …), g reading every earlier input the
 * history keeps. Parameters: α [] = 1 (1; g's own are the caller's).
 */
export const general = defineVariant({
  name: 'general',
  needsG: true,
  history: 'all',
  paramCount: () => 1,
  init: () => [['alpha', tf.scalar(1)]],
  forward: (o, P, a) => reluIf(M.general(a.fx, P.alpha!, o.g!(a.x, a.prev)), a.relu),
});
