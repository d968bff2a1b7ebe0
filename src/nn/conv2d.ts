import * as tf from '@tensorflow/tfjs';
import { customGrad } from '../engine/ops/custom-grad.ts';
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
  /** How the kernel gradient is computed, see `ConvFilterGradMode`. Default `'conv'`. */
  filterGrad?: ConvFilterGradMode;
}

/**
 * How Conv2d (k > 1) computes ∂L/∂W:
 * - `'conv'`: as a dilated forward convolution (`conv2dWithFastFilterGrad`), which runs on the Conv2D kernel
 *   (with dilations = stride) and avoids tfjs-backend-cpu's very slow Conv2DBackpropFilter;
 * - `'tfjs'`: tf.conv2d's own gradient (Conv2DBackpropFilter), for a backend with a fast kernel for it.
 * Both give the same numbers (test/nn checks them against a reference): a speed choice of whoever builds
 * the model for a backend (src/engine convFilterGradMode), not part of the model.
 */
export type ConvFilterGradMode = 'conv' | 'tfjs';

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
  readonly filterGrad: ConvFilterGradMode;

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
    this.filterGrad = opts.filterGrad ?? 'conv';
    if (this.filterGrad !== 'conv' && this.filterGrad !== 'tfjs')
      throw new Error(`Conv2d: bad filterGrad '${this.filterGrad}'; allowed: 'conv', 'tfjs'`);
    const shape = [kernelSize, kernelSize, inChannels, outChannels];
    this.kernel = this.param('kernel', initKernel(rng, shape, init), 'weight');
    const fanIn = kernelSize * kernelSize * inChannels;
    this.bias =
      (opts.bias ?? true) ? this.param('bias', initBias(rng, outChannels, fanIn, init), 'bias') : null;
  }

  /** [top, bottom, left, right] zeros for an input of spatial size h × w (TF's rule for 'same'). */
  pads(h: number, w: number): [number, number, number, number] {
    const p = this.padding;
    const k = this.kernelSize;
    const s = this.stride;
    if (typeof p === 'number') return [p, p, p, p];
    if (p === 'valid') return [0, 0, 0, 0];
    if (p === 'same') {
      const th = Math.max((Math.ceil(h / s) - 1) * s + k - h, 0);
      const tw = Math.max((Math.ceil(w / s) - 1) * s + k - w, 0);
      return [Math.floor(th / 2), th - Math.floor(th / 2), Math.floor(tw / 2), tw - Math.floor(tw / 2)];
    }
    return [p[0][0], p[0][1], p[1][0], p[1][1]];
  }

  /**
   * y = conv(x) + b, then ReLU with `relu` (serving forms fold a batch norm into b and fuse the ReLU that followed
   * it: one kernel, bias and ReLU applied as the output is written, where the backend has one).
   */
  forward(x: tf.Tensor4D, opts: { relu?: boolean } = {}): tf.Tensor4D {
    const k = this.kernel as tf.Tensor4D;
    const pads = this.pads(x.shape[1], x.shape[2]);
    const activation = opts.relu ? 'relu' : 'linear';
    const bias = this.bias ?? undefined;
    return tf.tidy(() => {
      // Unpadded 1×1 convolutions are matmuls on the channel dimension (after subsampling for stride > 1).
      if (this.kernelSize === 1 && pads.every((q) => q === 0)) {
        const s = this.stride;
        const xs = s === 1 ? x : subsample(x, s);
        const [n, h, w] = xs.shape;
        const y = tf.fused.matMul({
          a: tf.reshape(xs, [-1, this.inChannels]) as tf.Tensor2D,
          b: tf.reshape(k, [this.inChannels, this.outChannels]) as tf.Tensor2D,
          bias,
          activation,
        });
        return tf.reshape(y, [n, h, w, this.outChannels]);
      }
      const pad: [[0, 0], [number, number], [number, number], [0, 0]] = [
        [0, 0],
        [pads[0], pads[1]],
        [pads[2], pads[3]],
        [0, 0],
      ];
      if (this.filterGrad === 'tfjs')
        return tf.fused.conv2d({ x, filter: k, strides: this.stride, pad, bias, activation });
      const y = conv2dWithFastFilterGrad(x, k, this.stride, pads);
      const yb = bias ? tf.add<tf.Tensor4D>(y, bias) : y;
      return opts.relu ? tf.relu(yb) : yb;
    });
  }
}

/**
 * tf.conv2d with explicit padding, whose kernel gradient is computed as a convolution too:
 *
 *   ∂L/∂W[u, v, c, o] = Σ_{n,i,j} x_pad[n, s·i + u, s·j + v, c] · ∂L/∂y[n, i, j, o]
 *                     = conv2d(x_padᵀ [C, Hp, Wp, N], ∂L/∂yᵀ [Ho, Wo, N, O], dilation s)[c, u, v, o]
 *
 * tfjs-backend-cpu's Conv2DBackpropFilter kernel is ~100× slower than its forward Conv2D (it reads every
 * element through TensorBuffer.get); this keeps the whole backward pass on fast kernels. The input gradient
 * is tfjs's own (conv2dTranspose).
 */
function conv2dWithFastFilterGrad(
  x: tf.Tensor4D,
  w: tf.Tensor4D,
  s: number,
  [pt, pb, pl, pr]: [number, number, number, number],
): tf.Tensor4D {
  const pad: [[0, 0], [number, number], [number, number], [0, 0]] = [
    [0, 0],
    [pt, pb],
    [pl, pr],
    [0, 0],
  ];
  const f = customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, wi, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([xi, wi]);
    return {
      value: tf.conv2d(xi as tf.Tensor4D, wi as tf.Tensor4D, s, pad),
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dx = tf.conv2dTranspose(dy, ws, xs.shape, s, pad);
        const [kh, kw, c, o] = ws.shape;
        const a = tf.transpose(tf.pad(xs, pad), [3, 1, 2, 0]) as tf.Tensor4D;
        const filt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
        let dw = tf.conv2d(a, filt, 1, 'valid', 'NHWC', s) as tf.Tensor4D;
        if (dw.shape[1] !== kh || dw.shape[2] !== kw) dw = tf.slice(dw, [0, 0, 0, 0], [c, kh, kw, o]);
        return [dx, tf.transpose(dw, [1, 2, 0, 3])];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}

/**
 * x[:, ::s, ::s, :] with ops that have gradients in tfjs (StridedSlice has none): zero-pad H and W up to
 * multiples of s, view as [N, H/s, s, W/s, s, C] and keep offset 0 of each s-group.
 */
function subsample(x: tf.Tensor4D, s: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const ho = Math.ceil(h / s);
  const wo = Math.ceil(w / s);
  const padded =
    ho * s === h && wo * s === w
      ? x
      : tf.pad(x, [
          [0, 0],
          [0, ho * s - h],
          [0, wo * s - w],
          [0, 0],
        ]);
  const grouped = tf.reshape(padded, [n, ho, s, wo, s, c]);
  return tf.reshape(tf.slice(grouped, [0, 0, 0, 0, 0, 0], [n, ho, 1, wo, 1, c]), [n, ho, wo, c]);
}
