// GatherV2, UnsortedSegmentSum, Tile and FusedBatchNorm.
import {
  type KernelArgs,
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

function batchNorm({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { x, mean, variance, offset, scale } = inputs;
  const eps = (attrs as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001;
  const out = backend.alloc(sizeOf(x.shape));
  addon().batchNorm(
    f32(backend, x),
    out,
    f32(backend, mean),
    f32(backend, variance),
    offset ? f32(backend, offset) : null,
    scale ? f32(backend, scale) : null,
    eps,
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
}
