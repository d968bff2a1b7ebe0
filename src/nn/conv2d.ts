import * as tf from '@tensorflow/tfjs';
import { type InitOptions, type KernelInit, initBias, initKernel, rngOf } from './init.ts';
import { Module } from './module.ts';

/**
 * Spatial padding of a convolution.
 * - a number p: p zeros on every side (PyTorch's `padding=p`; torchvision uses p=1 for 3×3 and p=3 for 7×7);
 * - `[[top, bottom], [left, right]]`: explicit, possibly asymmetric;
 * - `'same'` / `'valid'`: TensorFlow's rules. Beware: for stride 2, TF 'same' pads asymmetrically
 *   (more at the bottom/right) and so differs from PyTorch's symmetric padding.
 */
export type Padding = number | [[number, number], [number, number]] | 'same' | 'valid';

export interface Conv2dOptions extends InitOptions {
  /** Stride in both spatial dimensions. Default 1. */
  stride?: number;
  /** See `Padding`. Default 0 (no padding, as in PyTorch). */
  padding?: Padding;
  /** Add a learned per-channel bias. Default true (PyTorch's default; ResNets turn it off). */
  bias?: boolean;
  /** Kernel initialization, see `KernelInit`. Default `'torch'`. */
  init?: KernelInit;
}

/**
 * 2-D convolution over NHWC tensors:
 * `y[n, i, j, o] = b[o] + Σ_{u,v,c} x[n, s·i + u − p_top, s·j + v − p_left, c] · W[u, v, c, o]`.
 *
 * Args:
 *   inChannels: C_in.
 *   outChannels: C_out.
 *   kernelSize: k (square k×k kernels).
 *
 * Parameters: `kernel` W [k, k, C_in, C_out] (HWIO, kind 'weight'), `bias` b [C_out] (kind 'bias').
 *
 * Shapes: input [N, H, W, C_in] → output [N, H', W', C_out] with
 * H' = ⌊(H + p_top + p_bottom − k) / s⌋ + 1 (same for W').
 */
export class Conv2d extends Module {
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable | null;
  readonly stride: number;
  readonly padding: Padding;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number,
    opts: Conv2dOptions = {},
  ) {
    super();
    const rng = rngOf(opts);
    const init = opts.init ?? 'torch';
    this.stride = opts.stride ?? 1;
    this.padding = opts.padding ?? 0;
    const shape = [kernelSize, kernelSize, inChannels, outChannels];
    this.kernel = this.param('kernel', initKernel(rng, shape, init), 'weight');
    const fanIn = kernelSize * kernelSize * inChannels;
    this.bias =
      (opts.bias ?? true) ? this.param('bias', initBias(rng, outChannels, fanIn, init), 'bias') : null;
  }

  /** The padding argument in the form tf.conv2d takes. */
  private tfPad(): 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]] {
    const p = this.padding;
    if (typeof p === 'string' || typeof p === 'number') return p;
    return [[0, 0], p[0], p[1], [0, 0]];
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const k = this.kernel as tf.Tensor4D;
    // Unpadded 1×1 convolutions are matmuls on the channel dimension (after subsampling for stride > 1).
    if (this.kernelSize === 1 && (this.padding === 0 || this.padding === 'valid')) {
      return tf.tidy(() => {
        const s = this.stride;
        const xs = s === 1 ? x : tf.stridedSlice(x, [0, 0, 0, 0], x.shape, [1, s, s, 1]);
        const [n, h, w] = xs.shape;
        const y = tf.fused.matMul({
          a: tf.reshape(xs, [-1, this.inChannels]) as tf.Tensor2D,
          b: tf.reshape(k, [this.inChannels, this.outChannels]) as tf.Tensor2D,
          bias: this.bias ?? undefined,
        });
        return tf.reshape(y, [n, h, w, this.outChannels]);
      });
    }
    return tf.fused.conv2d({
      x,
      filter: k,
      strides: this.stride,
      pad: this.tfPad() as 'same',
      bias: this.bias ?? undefined,
    });
  }
}
