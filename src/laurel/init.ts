import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.ts';

/** Xavier (Glorot) uniform: U(−a, a), a = sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform(shape: number[], fanIn: number, fanOut: number, rng: Rng): tf.Tensor {
  const a = Math.sqrt(6 / (fanIn + fanOut));
  const n = shape.reduce((p, s) => p * s, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (2 * rng.next() - 1) * a;
  return tf.tensor(v, shape);
}

/**
 * Column-orthogonal V (NOTES.md, LLM experiments): V[i][j] = 1/sqrt(r·D) if i mod r == j, else 0,
 * with i over the D inputs and j over the r outputs (V stored [D, r]): column j is the indicator of the
 * inputs i ≡ j (mod r), so the r columns have disjoint supports and are orthogonal. (Reading i over r
 * would make `i mod r` a no-op, V a truncated identity.) `copies` > 1 stacks identical copies: [copies, D, r].
 */
export function columnOrthogonal(D: number, r: number, copies = 0): tf.Tensor {
  const v = new Float32Array(D * r);
  const c = 1 / Math.sqrt(r * D);
  for (let i = 0; i < D; i++) v[i * r + (i % r)] = c;
  if (copies === 0) return tf.tensor(v, [D, r]);
  const all = new Float32Array(copies * D * r);
  for (let j = 0; j < copies; j++) all.set(v, j * D * r);
  return tf.tensor(all, [copies, D, r]);
}
