import * as tf from '@tensorflow/tfjs';
import type { NamedTensors } from './optimizer.ts';

/**
 * Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_): when ‖g‖₂ over all gradients exceeds
 * `maxNorm`, every gradient is scaled by maxNorm / ‖g‖₂. Returns new tensors (the caller disposes both sets)
 * and the norm before clipping.
 */
export function clipGradNorm(grads: NamedTensors, maxNorm: number): { grads: NamedTensors; norm: number } {
  const names = Object.keys(grads);
  const norm = tf.tidy(() => tf.sqrt(tf.addN(names.map((n) => tf.sum(tf.square(grads[n]))))).dataSync()[0]);
  const scale = norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
  const out: NamedTensors = {};
  for (const n of names) out[n] = scale === 1 ? grads[n].clone() : tf.mul(grads[n], scale);
  return { grads: out, norm };
}
