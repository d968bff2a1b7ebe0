// Conv2D, FusedConv2D, Conv2DBackpropInput/Filter (im2col + sgemm in the addon) and Max/AvgPool with grads.
import * as tf from '@tensorflow/tfjs';
import { applyActivation, binaryInto } from './elementwise.ts';
import {
  type KernelArgs,
  type Kernels,
  type TensorInfo,
  addon,
  allFloat,
  f32,
  sizeOf,
  withFallback,
} from './util.ts';

type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
  leakyreluAlpha?: number;
  inputShape?: number[];
  filterShape?: number[];
  filterSize?: number | [number, number];
}

function convParams(c: Conv2DInfo): Int32Array {
  return Int32Array.from([
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.outChannels,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    c.padInfo.top,
    c.padInfo.left,
  ]);
}

function poolParams(c: Conv2DInfo): Int32Array {
  return Int32Array.from([
    c.batchSize,
    c.inHeight,
    c.inWidth,
    c.inChannels,
    c.outHeight,
    c.outWidth,
    c.filterHeight,
    c.filterWidth,
    c.strideHeight,
    c.strideWidth,
    c.dilationHeight,
    c.dilationWidth,
    c.padInfo.top,
    c.padInfo.left,
  ]);
}

const nhwc = ({ attrs }: KernelArgs) => ((attrs as unknown as ConvAttrs).dataFormat ?? 'NHWC') === 'NHWC';

function conv2d({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { x, filter } = inputs;
  const a = attrs as unknown as ConvAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    a.strides,
    a.dilations ?? 1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const out = backend.alloc(sizeOf(info.outShape));
  if (out.length > 0) addon().conv2d!(f32(backend, x), f32(backend, filter), out, convParams(info));
  return backend.makeTensorInfo(info.outShape.slice(), 'float32', out);
}

function fusedConv2d(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { bias, preluActivationWeights } = inputs;
  const a = attrs as unknown as ConvAttrs;
  const out = conv2d(args);
  const values = f32(backend, out);
  if (bias) binaryInto(backend, 'add', out.shape, values, bias, values);
  applyActivation(
    backend,
    out.shape,
    values,
    a.activation ?? 'linear',
    preluActivationWeights,
    a.leakyreluAlpha,
  );
  return out;
}

function backInputInfo({ inputs, attrs }: KernelArgs): Conv2DInfo {
  const a = attrs as unknown as ConvAttrs;
  return tf.backend_util.computeConv2DInfo(
    a.inputShape as [number, number, number, number],
    inputs.filter.shape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
}

function conv2dBackInput(args: KernelArgs): TensorInfo {
  const { inputs, backend } = args;
  const { dy, filter } = inputs;
  const info = backInputInfo(args);
  const dx = backend.alloc(sizeOf(info.inShape));
  if (dx.length > 0) addon().conv2dBackInput!(f32(backend, dy), f32(backend, filter), dx, convParams(info));
  return backend.makeTensorInfo(info.inShape.slice(), 'float32', dx);
}

function backFilterInfo({ inputs, attrs }: KernelArgs): Conv2DInfo {
  const a = attrs as unknown as ConvAttrs;
  return tf.backend_util.computeConv2DInfo(
    inputs.x.shape as [number, number, number, number],
    a.filterShape as [number, number, number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
}

function conv2dBackFilter(args: KernelArgs): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const fs = (attrs as unknown as ConvAttrs).filterShape as [number, number, number, number];
  const info = backFilterInfo(args);
  const dw = backend.alloc(sizeOf(fs));
  if (sizeOf(dy.shape) === 0) dw.fill(0);
  else addon().conv2dBackFilter!(f32(backend, x), f32(backend, dy), dw, convParams(info));
  return backend.makeTensorInfo(fs.slice(), 'float32', dw);
}

function poolInfo(shape: number[], a: ConvAttrs): Conv2DInfo {
  return tf.backend_util.computePool2DInfo(
    shape as [number, number, number, number],
    a.filterSize as [number, number],
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
}

function pool(op: 0 | 1) {
  return ({ inputs, backend, attrs }: KernelArgs): TensorInfo => {
    const { x } = inputs;
    const info = poolInfo(x.shape, attrs as unknown as ConvAttrs);
    const out = backend.alloc(sizeOf(info.outShape));
    if (out.length > 0) addon().pool!(op, f32(backend, x), out, poolParams(info));
    return backend.makeTensorInfo(info.outShape.slice(), 'float32', out);
  };
}

function poolGrad(op: 0 | 1) {
  return ({ inputs, backend, attrs }: KernelArgs): TensorInfo => {
    const { dy, input } = inputs;
    const info = poolInfo(input.shape, attrs as unknown as ConvAttrs);
    const dx = backend.alloc(sizeOf(input.shape));
    if (dx.length > 0 && sizeOf(dy.shape) > 0) {
      addon().poolGrad!(op, f32(backend, dy), op === 0 ? f32(backend, input) : dx, dx, poolParams(info));
    }
    return backend.makeTensorInfo(input.shape.slice(), 'float32', dx);
  };
}

/**
 * tfjs does not check that dy has the shape the convolution implies (conv2dTranspose takes any outputShape);
 * the cpu kernels then read dy by its own strides over the implied extent. The native kernels assume the
 * implied shape, so any other dy goes to the cpu kernel.
 */
function dyMatches(dy: TensorInfo, info: Conv2DInfo): boolean {
  return tf.util.arraysEqual(dy.shape, info.outShape);
}

/** tfjs's pools return their input unchanged for a 1×1 window that keeps the shape (whatever the padding). */
function poolIsIdentity(a: KernelArgs): boolean {
  const info = poolInfo(a.inputs.x.shape, a.attrs as unknown as ConvAttrs);
  return (
    info.filterHeight === 1 && info.filterWidth === 1 && tf.util.arraysEqual(info.inShape, info.outShape)
  );
}

function poolGradOk(a: KernelArgs): boolean {
  const { dy, input } = a.inputs;
  return allFloat(dy, input) && dyMatches(dy, poolInfo(input.shape, a.attrs as unknown as ConvAttrs));
}

export function registerConv(k: Kernels): void {
  k.set(
    'Conv2D',
    withFallback('Conv2D', (a) => nhwc(a) && allFloat(a.inputs.x, a.inputs.filter), conv2d),
  );
  k.set(
    'FusedConv2D',
    withFallback(
      'FusedConv2D',
      (a) => nhwc(a) && allFloat(a.inputs.x, a.inputs.filter, a.inputs.bias, a.inputs.preluActivationWeights),
      fusedConv2d,
    ),
  );
  k.set(
    'Conv2DBackpropInput',
    withFallback(
      'Conv2DBackpropInput',
      (a) => nhwc(a) && allFloat(a.inputs.dy, a.inputs.filter) && dyMatches(a.inputs.dy, backInputInfo(a)),
      conv2dBackInput,
    ),
  );
  k.set(
    'Conv2DBackpropFilter',
    withFallback(
      'Conv2DBackpropFilter',
      (a) => nhwc(a) && allFloat(a.inputs.x, a.inputs.dy) && dyMatches(a.inputs.dy, backFilterInfo(a)),
      conv2dBackFilter,
    ),
  );
  k.set(
    'MaxPool',
    withFallback('MaxPool', (a) => allFloat(a.inputs.x) && !poolIsIdentity(a), pool(0)),
  );
  k.set(
    'AvgPool',
    withFallback('AvgPool', (a) => allFloat(a.inputs.x) && !poolIsIdentity(a), pool(1)),
  );
  k.set('MaxPoolGrad', withFallback('MaxPoolGrad', poolGradOk, poolGrad(0)));
  k.set('AvgPoolGrad', withFallback('AvgPoolGrad', poolGradOk, poolGrad(1)));
}
