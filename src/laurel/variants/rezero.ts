import * as tf from '@tensorflow/tfjs';
import * as M from '../math.ts';
import { defineVariant } from './spec.ts';

/**
 * ReZero (math.ts rezero), a neighbour of LAUREL for comparison: x + a·f(x). Parameters: alpha [] = 0 (1).
 * At init the block is the identity x_{i+1} = x_i.
 */
export const rezero = defineVariant({
  name: 'rezero',
  paramCount: () => 1,
  init: () => [['alpha', tf.scalar(0)]],
  forward: (_o, P, a) => M.rezero(a.fx, a.x, P.alpha!, a.relu),
});
