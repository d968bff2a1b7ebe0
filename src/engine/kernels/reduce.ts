// Reductions (Sum, Mean, Max, Min over any axes), Transpose, Softmax and attention's causal softmax.
import * as tf from '@tensorflow/tfjs';
import {
  type Backend,
  type KernelArgs,
  type KernelFunc,
  type Kernels,
  MAX_RANK,
  type TensorInfo,
  addon,
  allFloat,
  f32,
  sizeOf,
  withFallback,
} from './util.ts';

const REDUCE = { sum: 0, max: 1, min: 2, mean: 3, prod: 4 } as const;

/** transpose(shape, perm) with dims of size 1 dropped: the groups of output dims that are consecutive input dims. */
function transposeGroups(shape: readonly number[], perm: readonly number[]) {
  const keep: number[] = [];
  for (let d = 0; d < shape.length; d++) if (shape[d] !== 1) keep.push(d);
  const remap = new Map(keep.map((d, i) => [d, i]));
  const p = perm.filter((d) => shape[d] !== 1).map((d) => remap.get(d)!);
  const s = keep.map((d) => shape[d]);
  // Groups of output dims that are consecutive input dims.
  const groups: number[][] = [];
  for (const d of p) {
    const g = groups[groups.length - 1];
    if (g && g[g.length - 1] + 1 === d) g.push(d);
    else groups.push([d]);
  }
  return { groups, s };
}

/** Whether the addon's transpose takes this one (at most MAX_RANK dims once collapsed); else cpu's kernel does. */
export function transposeFits(shape: readonly number[], perm: readonly number[]): boolean {
  return transposeGroups(shape, perm).groups.length <= MAX_RANK;
}

/** out = transpose(x, perm), with dims of size 1 dropped and runs of consecutive dims merged. */
export function transposeRaw(
  x: Float32Array,
  shape: readonly number[],
  perm: readonly number[],
  out: Float32Array,
): void {
  const { groups, s } = transposeGroups(shape, perm);
  if (groups.length <= 1) {
    out.set(x.subarray(0, out.length));
    return;
  }
  const byInput = groups.slice().sort((a, b) => a[0] - b[0]);
  const inShape = Int32Array.from(byInput.map((g) => g.reduce((acc, d) => acc * s[d], 1)));
  const newPerm = Int32Array.from(groups.map((g) => byInput.indexOf(g)));
  addon().transpose(x, out, inShape, newPerm);
}

export function transpose(backend: Backend, x: TensorInfo, perm: number[]): TensorInfo {
  const out = backend.alloc(sizeOf(x.shape));
  transposeRaw(f32(backend, x), x.shape, perm, out);
  return backend.makeTensorInfo(
    perm.map((d) => x.shape[d]),
    'float32',
    out,
  );
}

/** The dims of `shape` with size-1 dims dropped and neighbours with the same reduced flag merged. */
function reduceGroups(shape: readonly number[], isRed: readonly boolean[]) {
  const groups: { n: number; red: boolean }[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const g = groups[groups.length - 1];
    if (g && g.red === isRed[d]) g.n *= shape[d];
    else groups.push({ n: shape[d], red: isRed[d] });
  }
  return groups;
}

/**
 * Whether reduceRaw takes these axes: one reduced run, or runs that its transpose takes (at most MAX_RANK once
 * collapsed; e.g. every other axis of a rank-10 tensor is not), else cpu's kernel does.
 */
export function reduceFits(shape: readonly number[], axes: readonly number[]): boolean {
  const groups = reduceGroups(
    shape,
    shape.map((_, d) => axes.includes(d)),
  );
  return groups.filter((g) => g.red).length <= 1 || groups.length <= MAX_RANK;
}

/** Reduces `axes` of x into a new float32 array (the reduced dims removed). */
export function reduceRaw(
  backend: Backend,
  op: keyof typeof REDUCE,
  x: Float32Array,
  shape: readonly number[],
  axes: number[],
): Float32Array {
  const rank = shape.length;
  const isRed = new Array<boolean>(rank).fill(false);
  for (const a of axes) isRed[a] = true;
  let outSize = 1;
  for (let d = 0; d < rank; d++) if (!isRed[d]) outSize *= shape[d];
  const out = backend.alloc(outSize);
  const total = sizeOf(shape);
  if (total === 0) {
    // An empty reduction gives what tfjs's cpu kernels give: max and min NaN (they start from the first
    // element, absent here), mean 0 (cpu sums x / n), sum 0, prod 1.
    out.fill(op === 'max' || op === 'min' ? Number.NaN : op === 'prod' ? 1 : 0);
    return out;
  }
  const groups = reduceGroups(shape, isRed);
  const redGroups = groups.filter((g) => g.red);
  if (redGroups.length === 0) {
    out.set(x.subarray(0, outSize));
    return out;
  }
  if (redGroups.length === 1) {
    const i = groups.indexOf(redGroups[0]);
    const A = groups.slice(0, i).reduce((acc, g) => acc * g.n, 1);
    const B = groups.slice(i + 1).reduce((acc, g) => acc * g.n, 1);
    addon().reduce(REDUCE[op], x, out, A, redGroups[0].n, B);
    return out;
  }
  const gShape = groups.map((g) => g.n);
  const perm = [...groups.keys()]
    .filter((i) => !groups[i].red)
    .concat([...groups.keys()].filter((i) => groups[i].red));
  const tmp = backend.alloc(total);
  transposeRaw(x, gShape, perm, tmp);
  const R = redGroups.reduce((acc, g) => acc * g.n, 1);
  addon().reduce(REDUCE[op], tmp, out, total / R, R, 1);
  backend.free?.(tmp);
  return out;
}

function reduceKernel(op: keyof typeof REDUCE, axisAttr: string) {
  return ({ inputs, backend, attrs }: KernelArgs): TensorInfo => {
    const { x } = inputs;
    const a = attrs as Record<string, number | number[] | boolean>;
    const axes = tf.util.parseAxisParam(a[axisAttr] as number | number[], x.shape);
    const values = reduceRaw(backend, op, f32(backend, x), x.shape, axes);
    let [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    if (a.keepDims) outShape = tf.backend_util.expandShapeToKeepDim(outShape, axes);
    return backend.makeTensorInfo(outShape, 'float32', values);
  };
}

function softmax({ inputs, backend }: KernelArgs): TensorInfo {
  const { logits } = inputs;
  const cols = logits.shape[logits.shape.length - 1];
  const out = backend.alloc(sizeOf(logits.shape));
  addon().softmax(f32(backend, logits), out, cols === 0 ? 0 : out.length / cols, cols, false);
  return backend.makeTensorInfo(logits.shape.slice(), 'float32', out);
}

// Attention's scaled, causally masked softmax over the last axis of [..., T, T] (see fused.ts fusedCausalSoftmax).
function causalSoftmax({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { x } = inputs;
  const out = backend.alloc(sizeOf(x.shape));
  addon().causalSoftmax(
    f32(backend, x),
    out,
    x.shape[x.shape.length - 1],
    (attrs as { scale: number }).scale,
  );
  return backend.makeTensorInfo(x.shape.slice(), 'float32', out);
}

function causalSoftmaxGrad({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { dy, y } = inputs;
  const out = backend.alloc(sizeOf(y.shape));
  const t = y.shape[y.shape.length - 1];
  addon().causalSoftmaxGrad(f32(backend, dy), f32(backend, y), out, t, (attrs as { scale: number }).scale);
  return backend.makeTensorInfo(y.shape.slice(), 'float32', out);
}

export function registerReduce(k: Kernels): void {
  k.set('LaurelCausalSoftmax', causalSoftmax as unknown as KernelFunc);
  k.set('LaurelCausalSoftmaxGrad', causalSoftmaxGrad as unknown as KernelFunc);
  const fx = ({ inputs }: KernelArgs) => allFloat(inputs.x);
  const fits =
    (axisAttr: string) =>
    ({ inputs, attrs }: KernelArgs) =>
      allFloat(inputs.x) &&
      reduceFits(
        inputs.x.shape,
        tf.util.parseAxisParam((attrs as Record<string, number | number[]>)[axisAttr], inputs.x.shape),
      );
  k.set('Sum', withFallback('Sum', fits('axis'), reduceKernel('sum', 'axis')));
  k.set('Mean', withFallback('Mean', fits('axis'), reduceKernel('mean', 'axis')));
  k.set('Max', withFallback('Max', fits('reductionIndices'), reduceKernel('max', 'reductionIndices')));
  k.set('Min', withFallback('Min', fits('axis'), reduceKernel('min', 'axis')));
  k.set(
    'Transpose',
    withFallback(
      'Transpose',
      ({ inputs, attrs }) =>
        fx({ inputs } as KernelArgs) && transposeFits(inputs.x.shape, (attrs as { perm: number[] }).perm),
      ({ inputs, backend, attrs }) => transpose(backend, inputs.x, (attrs as { perm: number[] }).perm),
    ),
  );
  k.set(
    'Softmax',
    withFallback(
      'Softmax',
      ({ inputs, attrs }) => {
        const dim = (attrs as { dim: number }).dim;
        const r = inputs.logits.shape.length;
        return allFloat(inputs.logits) && (dim === -1 || dim === r - 1);
      },
      softmax,
    ),
  );
}
