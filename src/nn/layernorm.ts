import * as tf from '@tensorflow/tfjs';
import { NATIVE_BACKEND, fusedLayerNorm } from '../engine/index.ts';
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
 *
 * The normalization x ↦ γ·x̂ is one custom-gradient op with the closed-form backward
 *   ∂L/∂x = (1/σ) · (dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)),  dx̂ = γ·dy,  ∂L/∂γ = Σ dy·x̂,
 * which takes fewer full-size ops than differentiating the elementary ops. On the native backend the whole
 * layer (γ and β included) is one fused kernel forward and one backward (engine fusedLayerNorm).
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
    if (tf.getBackend() === NATIVE_BACKEND && x.dtype === 'float32') {
      return fusedLayerNorm(x, this.gamma, this.beta ?? undefined, this.eps) as T;
    }
    const d = this.dim;
    const eps = this.eps;
    const norm = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xi, gamma, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const centered = tf.sub(xi, tf.mean(xi, -1, true));
      const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), eps));
      const xHat = tf.mul(centered, rstd);
      save([xHat, rstd, gamma]);
      return {
        value: tf.mul(xHat, gamma),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xh, r, g] = saved;
          const dxHat = tf.mul(dy, g);
          const lead = xh.shape.slice(0, -1).map((_, i) => i);
          const dGamma = tf.sum(tf.mul(dy, xh), lead);
          // ∂L/∂x = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)), means over the last axis.
          const proj = tf.mul(xh, tf.div(tf.sum(tf.mul(dxHat, xh), -1, true), d));
          const dx = tf.mul(tf.sub(tf.sub(dxHat, tf.div(tf.sum(dxHat, -1, true), d)), proj), r);
          return [dx, dGamma];
        },
      };
    });
    return tf.tidy(() => {
      const y = norm(x, this.gamma);
      return (this.beta ? tf.add(y, this.beta) : y) as T;
    });
  }
}
