import * as tf from '@tensorflow/tfjs';
import { ops } from '../engine/ops/index.ts';
import { Module } from './module.ts';

export interface BatchNormOptions {
  /** Weight of the new batch statistic in the running average (PyTorch convention). Default 0.1. */
  momentum?: number;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
}

/**
 * Batch normalization over the last (channel) dimension, PyTorch semantics:
 *
 *   y = γ · (x − μ) / √(σ² + ε) + β
 *
 * In training mode μ, σ² are the batch statistics over every axis but the last (biased variance), and the
 * running statistics are updated as
 *   running_mean ← (1 − m)·running_mean + m·μ,
 *   running_var  ← (1 − m)·running_var  + m·σ²·n/(n − 1)   (unbiased, n = elements per channel).
 * In inference mode (`setTraining(false)`) the running statistics are used and nothing is updated.
 *
 * Training mode is one custom-gradient op with the closed-form backward (x̂ = (x − μ)/√(σ² + ε)):
 *   ∂L/∂β = Σ dy,   ∂L/∂γ = Σ dy·x̂,   ∂L/∂x = γ/√(σ² + ε) · (dy − Σdy/n − x̂·Σ(dy·x̂)/n)
 * (sums over every axis but the last), which needs far fewer full-size ops than differentiating the
 * elementary ops. The running-statistic update is a `Variable.assign` inside that op's forward: the tape
 * records the op as one node, so the update never enters gradient computation, and it leaks no tensors.
 * On the native backend the training-mode op is one fused kernel forward and one backward (engine
 * fusedBatchNormTrain), which returns the batch μ and σ² for the same running-statistic update.
 *
 * Args:
 *   channels: C, the size of the last dimension.
 *
 * Parameters: `gamma` [C] = 1 and `beta` [C] = 0 (kind 'norm'). Buffers: `runningMean` [C] = 0,
 * `runningVar` [C] = 1 (saved in checkpoints, not counted as parameters).
 *
 * Shapes: input [..., C] (NHWC for images) → output of the same shape.
 */
export class BatchNorm extends Module {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly momentum: number;
  readonly eps: number;

  constructor(
    readonly channels: number,
    opts: BatchNormOptions = {},
  ) {
    super();
    this.momentum = opts.momentum ?? 0.1;
    this.eps = opts.eps ?? 1e-5;
    this.gamma = this.param('gamma', tf.ones([channels]), 'norm');
    this.beta = this.param('beta', tf.zeros([channels]), 'norm');
    this.runningMean = this.buffer('runningMean', tf.zeros([channels]));
    this.runningVar = this.buffer('runningVar', tf.ones([channels]));
  }

  forward<T extends tf.Tensor>(x: T): T {
    return this.normalize(x, false);
  }

  /**
   * ReLU(BN(x)), the conv → BN → ReLU pattern of ResNets. The same values as `tf.relu(bn.forward(x))`; on the
   * native backend in training mode it is one kernel each way (the ReLU costs no extra pass over memory).
   */
  forwardRelu<T extends tf.Tensor>(x: T): T {
    return this.normalize(x, true);
  }

  private normalize<T extends tf.Tensor>(x: T, relu: boolean): T {
    if (!this.training) {
      const { runningMean: mean, runningVar: variance, gamma, beta, eps } = this;
      return ops().batchNorm(x, { mean, variance, gamma, beta, eps, relu }) as T;
    }
    const n = x.size / this.channels;
    const m = this.momentum;
    const { y, mean, variance } = ops().batchNormTrain(x, this.gamma, this.beta, this.eps, relu);
    // The running-statistic update on the C values in a JS loop: six tiny kernels fewer per layer.
    const unbias = (m * n) / Math.max(n - 1, 1);
    for (const [run, batch, scale] of [
      [this.runningMean, mean, m],
      [this.runningVar, variance, unbias],
    ] as const) {
      const r = run.dataSync() as Float32Array;
      const b = batch.dataSync() as Float32Array;
      const next = new Float32Array(r.length);
      for (let i = 0; i < r.length; i++) next[i] = (1 - m) * r[i] + scale * b[i];
      const t = tf.tensor1d(next);
      run.assign(t);
      t.dispose();
    }
    tf.dispose([mean, variance]);
    return y as T;
  }
}
