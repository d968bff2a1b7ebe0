// The ops interface's types (see ./index.ts).
import type * as tf from '@tensorflow/tfjs';

/** The optional parts of the combine x_{i+1} = α·f + β·(x + extra) (missing α, β mean 1, missing extra 0). */
export interface CombineArgs {
  extra?: tf.Tensor;
  /** Scalar ([] or [1]) or per last dimension ([D]). */
  alpha?: tf.Tensor;
  beta?: tf.Tensor;
  /** Return ReLU of the result (a ResNet block's end). */
  relu?: boolean;
}

/** Inference-mode batch norm's statistics (the running ones), affine parameters, ε, and whether ReLU follows. */
export interface BatchNormArgs {
  mean: tf.Tensor;
  variance: tf.Tensor;
  gamma: tf.Tensor;
  beta: tf.Tensor;
  eps: number;
  relu: boolean;
}

export interface BatchNormStats {
  y: tf.Tensor;
  /** The batch mean and biased variance over every axis but the last (no gradient). */
  mean: tf.Tensor;
  variance: tf.Tensor;
}

export interface Ops {
  readonly name: string;
  /** α·f + β·(x + extra), then ReLU when `relu` (eq. 2 with g = β·(x + extra)). */
  combine(fx: tf.Tensor, x: tf.Tensor, args?: CombineArgs): tf.Tensor;
  /** U·V·x on the last dimension (V [D, r], U [r, D]; stored row-vector style, so (x·V)·U). */
  lowRank(x: tf.Tensor, V: tf.Tensor, U: tf.Tensor): tf.Tensor;
  /** combine with extra = U·V·x. */
  lowRankCombine(
    fx: tf.Tensor,
    x: tf.Tensor,
    V: tf.Tensor,
    U: tf.Tensor,
    args?: Omit<CombineArgs, 'extra'>,
  ): tf.Tensor;
  /** GELU, tanh approximation (PyTorch's approximate='tanh'). */
  gelu(x: tf.Tensor): tf.Tensor;
  /** (x − mean)·rsqrt(var + eps)·γ (+ β) over the last dimension, biased variance. */
  layerNorm(x: tf.Tensor, gamma: tf.Tensor | undefined, beta: tf.Tensor | undefined, eps: number): tf.Tensor;
  /**
   * Attention's weights softmax(scale·S + M) over the last axis of the scores S [..., T, N]: query i sits at
   * position offset + i and sees the keys 0 … offset + i (M = 0 there, −∞ past it). offset = N − T: 0 for a
   * whole window (T = N), the cached length when decoding.
   */
  causalSoftmax(scores: tf.Tensor, scale: number): tf.Tensor;
  /**
   * Inference-mode batch norm over the last axis with given statistics (the running mean and variance):
   * (x − mean)·rsqrt(variance + eps)·γ + β, then ReLU when `relu`. Gradients flow to all five inputs.
   */
  batchNorm(x: tf.Tensor, args: BatchNormArgs): tf.Tensor;
  /** Training-mode batch norm over every axis but the last, then ReLU when `relu`. */
  batchNormTrain(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number, relu: boolean): BatchNormStats;
}
