import * as tf from '@tensorflow/tfjs';
import { ops } from '../engine/ops/index.ts';
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
    return ops().layerNorm(x, this.gamma, this.beta ?? undefined, this.eps) as T;
  }
}
