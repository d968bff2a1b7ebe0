// Helpers shared by the native kernels: storage access, broadcasting plans, fallbacks to the cpu kernels.
import * as tf from '@tensorflow/tfjs';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from '../addon.ts';

export type Backend = MathBackendCPU & { alloc(n: number): Float32Array; free?(a: Float32Array): void };
export type TensorInfo = tf.TensorInfo;
export type KernelFunc = tf.KernelFunc;
export type Kernels = Map<string, KernelFunc>;

export interface KernelArgs {
  inputs: Record<string, TensorInfo>;
  backend: Backend;
  attrs?: tf.NamedAttrMap;
}

let addonRef: NativeAddon | null = null;
export function setAddon(a: NativeAddon): void {
  addonRef = a;
}
export function addon(): NativeAddon {
  if (!addonRef) throw new Error('laurel native addon not loaded');
  return addonRef;
}

/**
 * The one way a native kernel reads an input: the Float32Array behind a tensor (zero-copy). Storage of another
 * type (the cpu kernels share an int32 or bool tensor's array with a float32 view of it; cast.ts stops that on
 * this backend, but a tensor may come from elsewhere, e.g. the real part of a complex64) is converted by value,
 * never reinterpreted: reading an Int32Array's bytes as floats gives garbage, a Uint8Array's reads past its end.
 * Kernels never write into inputs, so a converted copy is safe; outputs come from alloc (Float32Array), so an
 * epilogue that reads its own output through f32 gets the real storage.
 */
export function f32(b: Backend, t: TensorInfo): Float32Array {
  return asArray(b.data.get(t.dataId).values, Float32Array);
}

/** As f32, for int32 inputs (indices, segment ids). */
export function i32(b: Backend, t: TensorInfo): Int32Array {
  return asArray(b.data.get(t.dataId).values, Int32Array);
}

function asArray<T extends Float32Array | Int32Array>(
  values: unknown,
  Ctor: { new (n: number): T; from(a: ArrayLike<number>): T },
): T {
  if (values instanceof Ctor) return values;
  if (ArrayBuffer.isView(values) || Array.isArray(values)) return Ctor.from(values as ArrayLike<number>);
  throw new Error(`laurel native: a kernel input has no numeric storage (${typeof values})`);
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function output(b: Backend, shape: number[], values: Float32Array): TensorInfo {
  return b.makeTensorInfo(shape, 'float32', values);
}

/** The gradients of the optional α and β inputs (each present only when its input was given), in that order. */
export function optionalGrads(
  b: Backend,
  pairs: [TensorInfo | undefined, Float32Array | null][],
): TensorInfo[] {
  return pairs.flatMap(([t, g]) => (t && g ? [output(b, t.shape.slice(), g)] : []));
}

/** The combine kernels' α and β: the alpha and beta inputs (length 1 or D); null where absent (read as 1). */
export function combineWeights(
  be: Backend,
  inputs: KernelArgs['inputs'],
): { a: Float32Array | null; b: Float32Array | null } {
  const { alpha, beta } = inputs;
  return { a: alpha ? f32(be, alpha) : null, b: beta ? f32(be, beta) : null };
}

/** The gradients of those inputs from ∂L/∂α and ∂L/∂β, α's and β's where present. */
export function combineWeightGrads(
  be: Backend,
  inputs: KernelArgs['inputs'],
  dAlpha: Float32Array | null,
  dBeta: Float32Array | null,
): TensorInfo[] {
  return optionalGrads(be, [
    [inputs.alpha, dAlpha],
    [inputs.beta, dBeta],
  ]);
}

/** The cpu backend's own kernel, for dtypes and attributes we do not handle natively. */
export function cpuKernel(name: string): KernelFunc {
  const k = tf.getKernel(name, 'cpu');
  if (!k) throw new Error(`laurel: no cpu kernel ${name}`);
  return k.kernelFunc;
}

export function allFloat(...ts: (TensorInfo | undefined)[]): boolean {
  return ts.every((t) => t === undefined || t.dtype === 'float32');
}

/** Wraps a native kernel: falls back to the cpu kernel when `ok(args)` is false. */
export function withFallback(
  name: string,
  ok: (a: KernelArgs) => boolean,
  fn: (a: KernelArgs) => TensorInfo | TensorInfo[],
): KernelFunc {
  const cpu = cpuKernel(name);
  return ((args: KernelArgs) => (ok(args) ? fn(args) : cpu(args as never))) as unknown as KernelFunc;
}

export interface BroadcastPlan {
  outShape: number[];
  shape: Int32Array;
  aStrides: Int32Array;
  bStrides: Int32Array;
}

/** The most dimensions the addon's strided kernels take (broadcasts, transposes), after collapsing. */
export const MAX_RANK = 8;

const planCache = new Map<string, BroadcastPlan>();

/** broadcastPlan's plan; throws when it needs more than MAX_RANK dimensions (see broadcastFits). */
export function broadcastPlan(aShape: readonly number[], bShape: readonly number[]): BroadcastPlan {
  const plan = collapsedBroadcast(aShape, bShape);
  if (plan.shape.length > MAX_RANK) throw new Error(`laurel: broadcast rank > ${MAX_RANK}`);
  return plan;
}

/**
 * Whether the broadcast of a and b collapses to at most MAX_RANK dimensions (e.g. [2,1,2,1,2,1,2,1,2] with
 * [1,2,1,2,1,2,1,2,1] does not): the binary kernels give the others to cpu's.
 */
export function broadcastFits(aShape: readonly number[], bShape: readonly number[]): boolean {
  return collapsedBroadcast(aShape, bShape).shape.length <= MAX_RANK;
}

/** Collapses the broadcast of a and b into the fewest dimensions, with element strides (0 where broadcast). */
function collapsedBroadcast(aShape: readonly number[], bShape: readonly number[]): BroadcastPlan {
  const key = `${aShape.join(',')}|${bShape.join(',')}`;
  const hit = planCache.get(key);
  if (hit) return hit;
  const outShape = tf.backend_util.assertAndGetBroadcastShape(aShape as number[], bShape as number[]);
  const rank = outShape.length;
  const pad = (s: readonly number[]) => [...new Array(rank - s.length).fill(1), ...s];
  const ap = pad(aShape);
  const bp = pad(bShape);
  const strides = (p: number[]) => {
    const st = new Array<number>(rank);
    let acc = 1;
    for (let d = rank - 1; d >= 0; d--) {
      st[d] = p[d] === 1 && outShape[d] !== 1 ? 0 : acc;
      acc *= p[d];
    }
    return st;
  };
  const as = strides(ap);
  const bs = strides(bp);
  const dims: { n: number; a: number; b: number }[] = [];
  for (let d = 0; d < rank; d++) {
    if (outShape[d] === 1) continue;
    const prev = dims[dims.length - 1];
    if (prev && prev.a === as[d] * outShape[d] && prev.b === bs[d] * outShape[d]) {
      prev.n *= outShape[d];
      prev.a = as[d];
      prev.b = bs[d];
    } else dims.push({ n: outShape[d], a: as[d], b: bs[d] });
  }
  if (dims.length === 0) dims.push({ n: 1, a: 1, b: 1 });
  const plan = {
    outShape,
    shape: Int32Array.from(dims.map((d) => d.n)),
    aStrides: Int32Array.from(dims.map((d) => d.a)),
    bStrides: Int32Array.from(dims.map((d) => d.b)),
  };
  if (planCache.size > 4096) planCache.clear();
  planCache.set(key, plan);
  return plan;
}
