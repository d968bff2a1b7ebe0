import * as tf from '@tensorflow/tfjs';
import * as M from '../math.ts';
import { defineVariant } from './spec.ts';

/** LayerScale's λ at init when the options give no layerScaleInit (CaiT uses 0.1 to 1e-6, smaller when deeper). */
export const DEFAULT_LAYER_SCALE_INIT = 1e-4;

/**
 * LayerScale (math.ts layerScale), a neighbour of LAUREL for comparison: x + diag(λ)·f(x).
 * Parameters: lambda [D] = layerScaleInit (D). At init the block is x + ε·f(x), near the identity.
 */
export const layerscale = defineVariant({
  name: 'layerscale',
  options: ['layerScaleInit'],
  paramCount: (_o, s) => s.D,
  init: (o, s) => [['lambda', tf.fill([s.D], o.layerScaleInit ?? DEFAULT_LAYER_SCALE_INIT)]],
  forward: (_o, P, a) => M.layerScale(a.fx, a.x, P.lambda!, a.relu),
});
