import * as tf from '@tensorflow/tfjs';
import { type InitOptions, normal, rngOf } from './init.ts';
import { Module } from './module.ts';

export interface EmbeddingOptions extends InitOptions {
  /** Standard deviation of the N(0, std²) initialization. Default 1 (PyTorch); GPT-2 uses 0.02. */
  std?: number;
}

/**
 * Lookup table: `y[..., :] = E[ids[...], :]`.
 *
 * Args:
 *   count: number of rows V (vocabulary size or context length).
 *   dim: D, the size of each row.
 *
 * Parameters: `table` E [V, D] (kind 'embedding').
 *
 * Shapes: int32 ids of any shape S → float32 [...S, D].
 */
export class Embedding extends Module {
  readonly table: tf.Variable;

  constructor(
    readonly count: number,
    readonly dim: number,
    opts: EmbeddingOptions = {},
  ) {
    super();
    this.table = this.param('table', normal(rngOf(opts), [count, dim], opts.std ?? 1), 'embedding');
  }

  forward(ids: tf.Tensor): tf.Tensor {
    return tf.gather(this.table, ids);
  }
}
