import * as tf from '@tensorflow/tfjs';
import * as M from '../math.ts';
import { reluIf } from './parts.ts';
import { defineVariant } from './spec.ts';

/**
 * DenseFormer's depth-weighted average (math.ts dwa, where the mapping onto the history is stated), a neighbour of
 * LAUREL for comparison:  x_{i+1} = a_0·(x_i + f(x_i)) + Σ_{j<m} a_{j+1}·x_{i-j},  over the m ≤ k block inputs
 * that exist. Parameters: dwa [k + 1] = (1, 0, …, 0) (k + 1; DenseFormer's block i has i + 2). Plain residual at
 * init. Reads the last k − 1 earlier block inputs from the history (option k, default 3).
 */
export const dwa = defineVariant({
  name: 'dwa',
  options: ['k'],
  history: 'k',
  paramCount: (_o, s) => s.k + 1,
  init: (_o, s) => [
    ['dwa', tf.tensor1d(Float32Array.from({ length: s.k + 1 }, (_, j) => (j === 0 ? 1 : 0)))],
  ],
  forward: (_o, P, a, s) => {
    const xs = [a.x, ...a.prev.slice(0, s.k - 1)];
    const w = xs.length < s.k ? tf.slice(P.dwa!, 0, xs.length + 1) : P.dwa!;
    return reluIf(M.dwa(a.fx, xs, w), a.relu);
  },
});
