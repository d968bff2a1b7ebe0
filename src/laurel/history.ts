import type * as tf from '@tensorflow/tfjs';

/**
 * The earlier block inputs that PA (and `general`) read: x_{i-1}, x_{i-2}, … Only the last k − 1 are kept
 * (x_i itself is the residual's own input). A model creates one per forward pass (per stage for ResNets,
 * where shapes agree) and hands it to every Residual; each Residual reads it, then pushes its own x.
 *
 * The history does not own its tensors: it never disposes them (they are the caller's block inputs, and
 * gradients flow through them). It only drops its references beyond k − 1.
 */
export class ActivationHistory {
  readonly k: number;
  private readonly items: tf.Tensor[] = []; // newest first

  constructor(k: number) {
    if (!(Number.isInteger(k) && k >= 1))
      throw new Error(`ActivationHistory: bad k ${k}; allowed: an integer >= 1`);
    this.k = k;
  }

  /** Records a block input; the oldest is dropped once k − 1 are held. */
  push(x: tf.Tensor): void {
    if (this.k === 1) return;
    this.items.unshift(x);
    if (this.items.length > this.k - 1) this.items.length = this.k - 1;
  }

  /** Up to `n` most recent block inputs, newest first (x_{i-1}, x_{i-2}, …). */
  recent(n: number = this.k - 1): tf.Tensor[] {
    return this.items.slice(0, Math.max(0, n));
  }

  get length(): number {
    return this.items.length;
  }

  clear(): void {
    this.items.length = 0;
  }
}
