// GatherV2, UnsortedSegmentSum, Tile and FusedBatchNorm (also as LaurelBatchNorm, with a fused ReLU).
import * as tf from '@tensorflow/tfjs';
import {
  type KernelArgs,
  type KernelFunc,
  type Kernels,
  type TensorInfo,
  addon,
  f32,
  i32,
  sizeOf,
  withFallback,
} from './util.ts';

function gather({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { x, indices } = inputs;
  let axis = (attrs as { axis: number }).axis;
  if (axis < 0) axis += x.shape.length;
  const outer = sizeOf(x.shape.slice(0, axis));
  const inner = sizeOf(x.shape.slice(axis + 1));
  const outShape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const out = backend.alloc(sizeOf(outShape));
  const idx = i32(backend, indices);
  const bad = addon().gather(f32(backend, x), idx, out, outer, x.shape[axis], inner);
  if (bad >= 0) throw new Error(`GatherV2: the index value ${idx[bad]} is not in [0, ${x.shape[axis] - 1}]`);
  return backend.makeTensorInfo(outShape, 'float32', out);
}

function segmentSum({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { x, segmentIds } = inputs;
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const inner = sizeOf(x.shape.slice(segmentIds.shape.length));
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = backend.alloc(numSegments * inner);
  addon().segmentSum(f32(backend, x), i32(backend, segmentIds), out, inner, numSegments);
  return backend.makeTensorInfo(outShape, 'float32', out);
}

function tile({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { x } = inputs;
  const reps = (attrs as { reps: number[] }).reps;
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = backend.alloc(sizeOf(outShape));
  if (out.length > 0) addon().tile(f32(backend, x), out, Int32Array.from(x.shape), Int32Array.from(outShape));
  return backend.makeTensorInfo(outShape, 'float32', out);
}

/** tfjs's FusedBatchNorm; as LaurelBatchNorm (ops().batchNorm) also with attr `relu`, ReLU as it writes. */
function batchNorm({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { x, mean, variance, offset, scale } = inputs;
  const { varianceEpsilon, relu } = attrs as { varianceEpsilon?: number; relu?: boolean };
  const eps = varianceEpsilon ?? 0.001;
  const out = backend.alloc(sizeOf(x.shape));
  addon().batchNorm(
    f32(backend, x),
    out,
    f32(backend, mean),
    f32(backend, variance),
    offset ? f32(backend, offset) : null,
    scale ? f32(backend, scale) : null,
    eps,
    relu === true,
  );
  return backend.makeTensorInfo(x.shape.slice(), 'float32', out);
}

export function registerShape(k: Kernels): void {
  k.set(
    'GatherV2',
    withFallback(
      'GatherV2',
      ({ inputs, attrs }) =>
        inputs.x.dtype === 'float32' &&
        inputs.indices.dtype === 'int32' &&
        ((attrs as { batchDims?: number }).batchDims ?? 0) === 0 &&
        sizeOf(inputs.x.shape) > 0,
      gather,
    ),
  );
  k.set(
    'UnsortedSegmentSum',
    withFallback(
      'UnsortedSegmentSum',
      ({ inputs }) => inputs.x.dtype === 'float32' && inputs.segmentIds.dtype === 'int32',
      segmentSum,
    ),
  );
  k.set(
    'Tile',
    withFallback(
      'Tile',
      ({ inputs }) => inputs.x.dtype === 'float32' && inputs.x.shape.length <= 8 && inputs.x.shape.length > 0,
      tile,
    ),
  );
  k.set(
    'FusedBatchNorm',
    withFallback(
      'FusedBatchNorm',
      ({ inputs }) =>
        [inputs.x, inputs.mean, inputs.variance, inputs.offset, inputs.scale].every(
          (t) => t === undefined || (t.dtype === 'float32' && sizeOf(t.shape) > 0),
        ),
      batchNorm,
    ),
  );
  k.set('LaurelBatchNorm', batchNorm as unknown as KernelFunc);
}

function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    st[d] = acc;
    acc *= shape[d];
  }
  return st;
}

/** dst[dOff + Σ i·ds] = src[sOff + Σ i·ss] over `shape`, with size-1 dims dropped and contiguous runs merged. */
export function copyRegion(
  src: Float32Array,
  dst: Float32Array,
  shape: readonly number[],
  ss: readonly number[],
  ds: readonly number[],
  sOff: number,
  dOff: number,
): void {
  if (sizeOf(shape) === 0) return;
  const dims: { n: number; s: number; d: number }[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const prev = dims[dims.length - 1];
    if (prev && prev.s === ss[i] * shape[i] && prev.d === ds[i] * shape[i]) {
      prev.n *= shape[i];
      prev.s = ss[i];
      prev.d = ds[i];
    } else dims.push({ n: shape[i], s: ss[i], d: ds[i] });
  }
  if (dims.length === 0) dims.push({ n: 1, s: 1, d: 1 });
  addon().stridedCopy(
    src,
    dst,
    Int32Array.from(dims.map((x) => x.n)),
    Int32Array.from(dims.map((x) => x.s)),
    Int32Array.from(dims.map((x) => x.d)),
    sOff,
    dOff,
  );
}

function slice({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { x } = inputs;
  const a = attrs as { begin: number | number[]; size: number | number[] };
  const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, a.begin, a.size);
  tf.slice_util.assertParamsValid(x as tf.Tensor, begin, size);
  const out = backend.alloc(sizeOf(size));
  const st = stridesOf(x.shape);
  const off = begin.reduce((acc, b, i) => acc + b * st[i], 0);
  copyRegion(f32(backend, x), out, size, st, stridesOf(size), off, 0);
  return backend.makeTensorInfo(size.slice(), 'float32', out);
}

function padV2({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { x } = inputs;
  const { paddings, constantValue } = attrs as { paddings: [number, number][]; constantValue: number };
  const outShape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
  const out = backend.alloc(sizeOf(outShape));
  addon().fill(out, constantValue);
  const ost = stridesOf(outShape);
  const off = paddings.reduce((acc, p, i) => acc + p[0] * ost[i], 0);
  copyRegion(f32(backend, x), out, x.shape, stridesOf(x.shape), ost, 0, off);
  return backend.makeTensorInfo(outShape, 'float32', out);
}

function concat({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const ts = (inputs as unknown as TensorInfo[]).filter((t) => sizeOf(t.shape) > 0);
  const all = inputs as unknown as TensorInfo[];
  const axis = tf.util.parseAxisParam((attrs as { axis: number }).axis, all[0].shape)[0];
  // Every non-axis dimension must agree before anything is written (a mismatch made the strided copies write
  // past the output's end); the same check and message as the cpu kernel's.
  tf.backend_util.assertParamsConsistent(
    all.map((t) => t.shape),
    axis,
  );
  const outShape = tf.backend_util.computeOutShape(
    all.map((t) => t.shape),
    axis,
  );
  const out = backend.alloc(sizeOf(outShape));
  const ost = stridesOf(outShape);
  let at = 0;
  for (const t of ts) {
    copyRegion(f32(backend, t), out, t.shape, stridesOf(t.shape), ost, 0, at * ost[axis]);
    at += t.shape[axis];
  }
  return backend.makeTensorInfo(outShape, 'float32', out);
}

/** tf.unstack: the `num` slices along `axis`, each without that axis (one strided copy each). */
function unpack({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const { value } = inputs;
  const axis = tf.util.parseAxisParam((attrs as { axis: number }).axis, value.shape)[0];
  const st = stridesOf(value.shape);
  const outShape = value.shape.filter((_, i) => i !== axis);
  const ost = stridesOf(outShape);
  const srcStrides = st.filter((_, i) => i !== axis);
  return Array.from({ length: value.shape[axis] }, (_, j) => {
    const out = backend.alloc(sizeOf(outShape));
    copyRegion(f32(backend, value), out, outShape, srcStrides, ost, j * st[axis], 0);
    return backend.makeTensorInfo(outShape.slice(), 'float32', out);
  });
}

/** tf.stack: the inputs (one shape) side by side along a new `axis` (one strided copy each). */
function pack({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const ts = inputs as unknown as TensorInfo[];
  const inShape = ts[0].shape;
  const axis = tf.util.parseAxisParam((attrs as { axis: number }).axis, [...inShape, ts.length])[0];
  const outShape = [...inShape.slice(0, axis), ts.length, ...inShape.slice(axis)];
  const out = backend.alloc(sizeOf(outShape));
  const ost = stridesOf(outShape);
  const dstStrides = ost.filter((_, i) => i !== axis);
  ts.forEach((t, j) =>
    copyRegion(f32(backend, t), out, inShape, stridesOf(inShape), dstStrides, 0, j * ost[axis]),
  );
  return backend.makeTensorInfo(outShape, 'float32', out);
}

export function registerCopies(k: Kernels): void {
  k.set(
    'Unpack',
    withFallback(
      'Unpack',
      ({ inputs }) => inputs.value.dtype === 'float32' && inputs.value.shape.length <= 8,
      unpack,
    ),
  );
  k.set(
    'Pack',
    withFallback(
      'Pack',
      ({ inputs }) => {
        const ts = inputs as unknown as TensorInfo[];
        const shape = ts[0]?.shape.join(',');
        return (
          ts.length > 0 &&
          ts.every((t) => t.dtype === 'float32' && t.shape.length < 8 && t.shape.join(',') === shape)
        );
      },
      pack,
    ),
  );
  k.set(
    'Slice',
    withFallback('Slice', ({ inputs }) => inputs.x.dtype === 'float32' && inputs.x.shape.length <= 8, slice),
  );
  k.set(
    'PadV2',
    withFallback('PadV2', ({ inputs }) => inputs.x.dtype === 'float32' && inputs.x.shape.length <= 8, padV2),
  );
  k.set(
    'Concat',
    withFallback(
      'Concat',
      ({ inputs }) => {
        const ts = inputs as unknown as TensorInfo[];
        return (
          ts.length > 0 && ts.every((t) => t.dtype === 'float32' && t.shape.length <= 8 && t.shape.length > 0)
        );
      },
      concat,
    ),
  );
}
