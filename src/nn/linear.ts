import * as tf from '@tensorflow/tfjs';
import { type InitOptions, type KernelInit, initBias, initKernel, rngOf } from './init.ts';
import { Module } from './module.ts';

export interface LinearOptions extends InitOptions {
  /** Add a learned bias b. Default true. */
  bias?: boolean;
  /** Kernel initialization, see `KernelInit`. Default `'torch'` (PyTorch's nn.Linear default). */
  init?: KernelInit;
}

/**
 * Fully connected layer acting on the last dimension: `y = x·W + b`.
 *
 * Args:
 *   inFeatures: size D_in of the last input dimension.
 *   outFeatures: size D_out of the last output dimension.
 *
 * Parameters: `kernel` W [D_in, D_out] (kind 'weight'), `bias` b [D_out] (kind 'bias').
 *
 * Shapes: input [..., D_in] (any rank ≥ 2) → output [..., D_out].
 * One fused matmul+bias op; inputs of rank > 2 are reshaped to 2-D around it.
 */
export class Linear extends Module {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    const rng = rngOf(opts);
    const init = opts.init ?? 'torch';
    this.kernel = this.param('kernel', initKernel(rng, [inFeatures, outFeatures], init), 'weight');
    this.bias =
      (opts.bias ?? true) ? this.param('bias', initBias(rng, outFeatures, inFeatures, init), 'bias') : null;
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const x2 = x.rank === 2 ? (x as tf.Tensor2D) : (tf.reshape(x, [-1, this.inFeatures]) as tf.Tensor2D);
      const y = tf.fused.matMul({ a: x2, b: this.kernel as tf.Tensor2D, bias: this.bias ?? undefined });
      return x.rank === 2 ? y : tf.reshape(y, [...lead, this.outFeatures]);
    });
  }
}
