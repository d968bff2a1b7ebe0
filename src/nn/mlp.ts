import * as tf from '@tensorflow/tfjs';
import { ops } from '../engine/ops/index.ts';
import type { InitOptions, KernelInit } from './init.ts';
import { rngOf } from './init.ts';
import { Linear } from './linear.ts';
import { Module } from './module.ts';

/** GELU, tanh approximation (GPT-2's; the ops interface's gelu, one fused kernel each way on native). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return ops().gelu(x);
}

export interface MlpOptions extends InitOptions {
  /** Hidden width as a multiple of the input width. Default 4. */
  ratio?: number;
  /** Biases on both projections. Default true. */
  bias?: boolean;
  /** Init of the first projection. Default `'torch'`. */
  init?: KernelInit;
  /** Init of the output projection (GPT-2 scales it by 1/√(2·layers)). Default: same as `init`. */
  projInit?: KernelInit;
}

/**
 * Transformer feed-forward block: `y = gelu(x·W₁ + b₁)·W₂ + b₂`.
 *
 * Args:
 *   dim: D, input and output width.
 *
 * Parameters: `fc` (Linear D→ratio·D), `proj` (Linear ratio·D→D).
 *
 * Shapes: [..., D] → [..., D].
 */
export class Mlp extends Module {
  readonly fc: Linear;
  readonly proj: Linear;

  constructor(
    readonly dim: number,
    opts: MlpOptions = {},
  ) {
    super();
    const rng = rngOf(opts);
    const hidden = Math.round((opts.ratio ?? 4) * dim);
    const bias = opts.bias ?? true;
    this.fc = this.child('fc', new Linear(dim, hidden, { rng, bias, init: opts.init }));
    this.proj = this.child('proj', new Linear(hidden, dim, { rng, bias, init: opts.projInit ?? opts.init }));
  }

  forward<T extends tf.Tensor>(x: T): T {
    return tf.tidy(() => this.proj.forward(gelu(this.fc.forward(x)))) as T;
  }
}
