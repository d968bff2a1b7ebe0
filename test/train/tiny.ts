// Shared helpers for the training tests: a tiny classifier (with a buffer, like batch-norm running stats)
// and a synthetic image set, small enough for the tfjs cpu backend.
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../../src/data/types.ts';
import { Module } from '../../src/nn/module.ts';
import { Rng } from '../../src/util/rng.ts';

export class TinyNet extends Module {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  readonly g: tf.Variable;
  readonly mean: tf.Variable;

  constructor(inputs: number, classes: number, seed: number) {
    super();
    this.w = this.param('fc.kernel', tf.randomNormal([inputs, classes], 0, 0.3, 'float32', seed), 'weight');
    this.b = this.param('fc.bias', tf.zeros([classes]), 'bias');
    this.g = this.param('gate', tf.ones([1]), 'laurel');
    this.mean = this.buffer('running_mean', tf.zeros([inputs]));
  }

  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      const flat = tf.reshape(x, [x.shape[0], -1]);
      if (this.training) this.mean.assign(tf.add(tf.mul(this.mean, 0.9), tf.mul(tf.mean(flat, 0), 0.1)));
      const centered = tf.sub(flat, this.training ? tf.mean(flat, 0) : this.mean);
      return tf.add(tf.mul(tf.matMul(centered, this.w), this.g), this.b);
    });
  }
}

/** n images of 4×4×1, 3 classes; the class sets the brightness, so it survives crops and flips. */
export function syntheticImages(n: number, seed: number): ImageSet {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 16);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rng.int(3);
    for (let j = 0; j < 16; j++) x[i * 16 + j] = 0.3 * rng.normal() + 0.7 * y[i];
  }
  return { x, y, n, height: 4, width: 4, channels: 1, numClasses: 3, fill: 0 };
}
