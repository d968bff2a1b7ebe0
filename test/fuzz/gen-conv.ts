// Fuzz generators for the convolution and pooling kernels: Conv2D (NHWC and NCHW), FusedConv2D, the two
// backprop kernels (through conv2d's gradient and conv2dTranspose), MaxPool, AvgPool and their gradients.
// Geometry: strides, dilations, 'valid' / 'same' / numeric / explicit pads, dimRoundingMode, rank-3 inputs, and
// the channel counts and 3-wide windows that pick the addon's direct and row kernels.
import * as tf from '@tensorflow/tfjs';
import type { Generator } from './case.ts';
import type { Draw } from './draw.ts';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

interface Geometry {
  /** The conv input [N, H, W, C] (NHWC; N dropped for a rank-3 input). */
  x: number[];
  kh: number;
  kw: number;
  strides: [number, number];
  dilations: [number, number];
  pad: Pad;
  rounding: Rounding;
  nchw: boolean;
  /** NHWC output dims from tfjs's computeConv2DInfo. */
  out: number[];
}

function drawPad(d: Draw, nchw: boolean): Pad {
  const r = d.rng.next();
  if (r < 0.3) return 'valid';
  if (r < 0.6) return 'same';
  if (r < 0.75) return d.int(0, 2);
  const [t, b, l, rr] = [d.int(0, 2), d.int(0, 2), d.int(0, 2), d.int(0, 2)];
  return nchw
    ? [
        [0, 0],
        [0, 0],
        [t, b],
        [l, rr],
      ]
    : [
        [0, 0],
        [t, b],
        [l, rr],
        [0, 0],
      ];
}

/** A conv or pool geometry whose output is non-empty (a few draws, else a 1×1 'valid' window). */
function geometry(d: Draw, o: { channels: number; dilate: boolean; nchw: boolean }): Geometry {
  const n = d.chance(0.15) ? 0 : d.int(1, 3);
  for (let attempt = 0; ; attempt++) {
    const last = attempt >= 8;
    const kh = last ? 1 : d.pick([1, 1, 2, 3, 3, 3, 4, 5]);
    const kw = last ? 1 : d.chance(0.6) ? kh : d.pick([1, 2, 3, 3, 5]);
    const strides: [number, number] = last || d.chance(0.5) ? [1, 1] : [d.int(1, 3), d.int(1, 3)];
    const one = strides[0] === 1 && strides[1] === 1;
    const dilations: [number, number] =
      !last && o.dilate && one && d.chance(0.3) ? [d.int(1, 3), d.int(1, 3)] : [1, 1];
    const pad = last ? 'valid' : drawPad(d, o.nchw);
    const rounding: Rounding =
      typeof pad === 'string' || d.chance(0.5) ? undefined : d.pick(['floor', 'round', 'ceil'] as const);
    const hw = () => d.int(1, d.mode.small || d.chance(0.8) ? 10 : 24);
    const x = [...(n ? [n] : []), hw(), hw(), o.channels];
    const x4 = n ? x : [1, ...x];
    const info = tf.backend_util.computeConv2DInfo(
      (o.nchw ? toNchw(x4) : x4) as [number, number, number, number],
      [kh, kw, o.channels, 1],
      strides,
      dilations,
      pad,
      rounding,
      false,
      o.nchw ? 'channelsFirst' : 'channelsLast',
    );
    if (info.outHeight > 0 && info.outWidth > 0) {
      const out = [info.batchSize, info.outHeight, info.outWidth];
      return { x, kh, kw, strides, dilations, pad, rounding, nchw: o.nchw, out: n ? out : out.slice(1) };
    }
  }
}

const channels = (d: Draw) => d.pick([1, 2, 3, d.int(4, 9), 8, 16]);
const outChannels = (d: Draw) => d.pick([1, 2, 3, d.int(4, 12), 8, 16, 32]);

/** NHWC → NCHW for a rank-3 or rank-4 shape (or its explicit pad, already drawn in NCHW order). */
function toNchw(s: number[]): number[] {
  return s.length === 4 ? [s[0], s[3], s[1], s[2]] : [s[2], s[0], s[1]];
}

function geometryAttrs(g: Geometry): Record<string, unknown> {
  return { strides: g.strides, dilations: g.dilations, pad: g.pad, dimRoundingMode: g.rounding };
}

/** tf.conv2d; `gradable`: NHWC and no dilation, so that tfjs has its gradient (the backprop kernels). */
function conv2d(o: { gradable: boolean }): Generator {
  return (d) => {
    const c = channels(d);
    const oc = outChannels(d);
    const nchw = !o.gradable && d.chance(0.1);
    const g = geometry(d, { channels: c, dilate: !o.gradable, nchw });
    const xShape = nchw ? toNchw(g.x) : g.x;
    const x = d.input('x', xShape);
    const f = d.input('filter', [g.kh, g.kw, c, oc]);
    const format = nchw ? 'NCHW' : 'NHWC';
    const dilated = g.dilations[0] > 1 || g.dilations[1] > 1;
    return {
      inputs: [x, f],
      attrs: { ...geometryAttrs(g), dataFormat: format },
      family: 'gemm',
      // tfjs has no gradient for dilated convolutions.
      grads: !dilated,
      run: (t) =>
        tf.conv2d(
          t.x as tf.Tensor4D,
          t.filter as tf.Tensor4D,
          g.strides,
          g.pad,
          format,
          g.dilations,
          g.rounding,
        ),
    };
  };
}

const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const;

const fusedConv2d: Generator = (d) => {
  const c = channels(d);
  const oc = outChannels(d);
  const g = geometry(d, { channels: c, dilate: true, nchw: false });
  const inputs = [d.input('x', g.x), d.input('filter', [g.kh, g.kw, c, oc])];
  const withBias = d.chance(0.7);
  if (withBias) inputs.push(d.input('bias', d.pick([[oc], [1]])));
  const activation = d.pick(ACTIVATIONS);
  if (activation === 'prelu') inputs.push(d.input('prelu', d.pick([[oc], [1]]), { scale: 0.5 }));
  const leakyreluAlpha = d.pick([0.2, 0.01, 1.5]);
  const dilated = g.dilations[0] > 1 || g.dilations[1] > 1;
  return {
    inputs,
    attrs: { ...geometryAttrs(g), activation, leakyreluAlpha, bias: withBias },
    family: 'gemm',
    grads: !dilated,
    run: (t) =>
      tf.fused.conv2d({
        x: t.x as tf.Tensor4D,
        filter: t.filter as tf.Tensor4D,
        strides: g.strides,
        pad: g.pad,
        dilations: g.dilations,
        dimRoundingMode: g.rounding,
        bias: t.bias,
        activation,
        preluActivationWeights: t.prelu,
        leakyreluAlpha,
      }),
  };
};

/** tf.conv2dTranspose: Conv2DBackpropInput forward, Conv2D and Conv2DBackpropFilter in its gradient. */
const conv2dTranspose: Generator = (d) => {
  const c = channels(d);
  const oc = outChannels(d);
  const g = geometry(d, { channels: c, dilate: false, nchw: false });
  // The transpose maps the conv's output [.., OH, OW, OC] back to its input g.x; now and then x is a row or a
  // column off the output that g.x implies (tfjs does not check; cpu's kernel reads what it reads, and native
  // must neither read past x nor disagree).
  const out = g.out.slice();
  if (d.chance(0.05)) out[out.length - d.int(1, 2)] += d.pick([-1, 1]);
  const x = d.input('x', [...out.map((s) => Math.max(1, s)), oc]);
  const f = d.input('filter', [g.kh, g.kw, c, oc]);
  return {
    inputs: [x, f],
    attrs: { outputShape: g.x, ...geometryAttrs(g) },
    family: 'gemm',
    run: (t) =>
      tf.conv2dTranspose(
        t.x as tf.Tensor4D,
        t.filter as tf.Tensor4D,
        g.x as [number, number, number, number],
        g.strides,
        g.pad,
        g.rounding,
      ),
  };
};

function pool(kind: 'max' | 'avg'): Generator {
  return (d) => {
    const c = d.pick([1, 2, 3, d.int(4, 20)]);
    const g = geometry(d, { channels: c, dilate: false, nchw: false });
    const x = d.input('x', g.x, { specials: true });
    const fn = kind === 'max' ? tf.maxPool : tf.avgPool;
    return {
      inputs: [x],
      attrs: { filterSize: [g.kh, g.kw], strides: g.strides, pad: g.pad, dimRoundingMode: g.rounding },
      family: kind === 'max' ? 'arith' : 'reduce',
      run: (t) => fn(t.x as tf.Tensor4D, [g.kh, g.kw], g.strides, g.pad, g.rounding),
    };
  };
}

const convOrTranspose: Generator = (d) =>
  d.chance(0.5) ? conv2d({ gradable: true })(d) : conv2dTranspose(d);

export const convGenerators: Record<string, Generator> = {
  Conv2D: conv2d({ gradable: false }),
  FusedConv2D: fusedConv2d,
  Conv2DBackpropInput: convOrTranspose,
  Conv2DBackpropFilter: convOrTranspose,
  MaxPool: pool('max'),
  AvgPool: pool('avg'),
  MaxPoolGrad: pool('max'),
  AvgPoolGrad: pool('avg'),
};
