import * as tf from '@tensorflow/tfjs';
import { Module } from './module.ts';

export interface LayerNormOptions {
  /** Added to the variance before the square root. Default 1e-5 (PyTorch). */
  eps?: number;
  /** Learn the shift β. Default true. */
  bias?: boolean;
}

/**
 * Layer normalization over the last dimension:
 *
 *   y = γ · (x − mean(x)) / √(var(x) + ε) + β,   statistics over the last axis (biased variance).
 *
 * Args:
 *   dim: D, the size of the last dimension.
 *
 * Parameters: `gamma` [D] = 1, `beta` [D] = 0 (kind 'norm').
 *
 * Shapes: input [..., D] → output of the same shape.
 */
export class LayerNorm extends Module {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable | null;
  readonly eps: number;

  constructor(
    readonly dim: number,
    opts: LayerNormOptions = {},
  ) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.gamma = this.param('gamma', tf.ones([dim]), 'norm');
    this.beta = (opts.bias ?? true) ? this.param('beta', tf.zeros([dim]), 'norm') : null;
  }

  forward<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const centered = tf.sub(x, tf.mean(x, -1, true));
      const variance = tf.mean(tf.square(centered), -1, true);
      const y = tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, this.eps))), this.gamma);
      return (this.beta ? tf.add(y, this.beta) : y) as T;
    });
  }
}
