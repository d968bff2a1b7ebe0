import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';

/**
 * Seeded weight initializers. Values are drawn in JavaScript from an `Rng`, so the same seed gives the
 * same weights on every backend (tfjs's own seeded initializers differ between backends).
 */

/** Options shared by the layers: where their random numbers come from. */
export interface InitOptions {
  /** Random stream to draw from; it advances, so sibling layers get different weights. */
  rng?: Rng;
  /** Used only when `rng` is absent: a fresh `Rng(seed)`. Default 0. */
  seed?: number;
}

/** The stream a layer draws from: `opts.rng`, else a new `Rng(opts.seed ?? 0)`. */
export function rngOf(opts: InitOptions | undefined): Rng {
  return opts?.rng ?? new Rng(opts?.seed ?? 0);
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** N(0, std²) samples of the given shape. */
export function normal(rng: Rng, shape: number[], std: number): tf.Tensor {
  const data = new Float32Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = std * rng.normal();
  return tf.tensor(data, shape, 'float32');
}

/** U(−bound, bound) samples of the given shape. */
export function uniform(rng: Rng, shape: number[], bound: number): tf.Tensor {
  const data = new Float32Array(size(shape));
  for (let i = 0; i < data.length; i++) data[i] = (2 * rng.next() - 1) * bound;
  return tf.tensor(data, shape, 'float32');
}

/**
 * How a conv or linear kernel is initialized.
 * - `'torch'`: PyTorch's default, kaiming_uniform(a=√5), i.e. U(±1/√fan_in); the bias also U(±1/√fan_in).
 * - `'kaiming-normal-fan-out'`: torchvision's ResNet conv init, N(0, 2/fan_out) with fan_out = out·kh·kw.
 * - `{ std }`: N(0, std²) (GPT-2 uses std 0.02); the bias starts at zero.
 */
export type KernelInit = 'torch' | 'kaiming-normal-fan-out' | { std: number };

/** Draws a kernel of `shape` whose last dimension is the output and whose other dimensions multiply to fan_in. */
export function initKernel(rng: Rng, shape: number[], init: KernelInit): tf.Tensor {
  const fanOut = shape[shape.length - 1];
  const fanIn = size(shape) / fanOut;
  if (init === 'torch') return uniform(rng, shape, 1 / Math.sqrt(fanIn));
  if (init === 'kaiming-normal-fan-out')
    return normal(rng, shape, Math.sqrt(2 / (size(shape) / shape[shape.length - 2])));
  return normal(rng, shape, init.std);
}

/** Draws the bias that goes with a kernel initialized by `init` (`fanIn` as in `initKernel`). */
export function initBias(rng: Rng, units: number, fanIn: number, init: KernelInit): tf.Tensor {
  if (init === 'torch') return uniform(rng, [units], 1 / Math.sqrt(fanIn));
  return tf.zeros([units]);
}
