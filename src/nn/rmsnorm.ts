import * as tf from '@tensorflow/tfjs';
import { Module } from './module.ts';

export interface RMSNormOptions {
  /** Added to the mean square before the square root. Default 1e-6. */
  eps?: number;
}

/**
 * Root-mean-square normalization over the last dimension (Zhang & Sennrich, 2019):
 *
 *   y = γ · x / √(mean(x²) + ε),   mean over the last axis.
 *
 * Args:
 *   dim: D, the size of the last dimension.
 *
 * Parameters: `gamma` [D] = 1 (kind 'norm').
 *
 * Shapes: input [..., D] → output of the same shape.
 */
export class RMSNorm extends Module {
  readonly gamma: tf.Variable;
  readonly eps: number;

  constructor(
    readonly dim: number,
    opts: RMSNormOptions = {},
  ) {
    super();
    this.eps = opts.eps ?? 1e-6;
    this.gamma = this.param('gamma', tf.ones([dim]), 'norm');
  }

  forward<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => {
      const ms = tf.mean(tf.square(x), -1, true);
      return tf.mul(x, tf.mul(tf.rsqrt(tf.add(ms, this.eps)), this.gamma)) as T;
    });
  }
}
