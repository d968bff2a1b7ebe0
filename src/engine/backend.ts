// The `native` tfjs backend: MathBackendCPU with every cpu kernel copied over and the hot ones replaced by
// calls into the OpenBLAS-linked addon.
import * as tf from '@tensorflow/tfjs';
import type { BackendValues, DataType } from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon.ts';
import { poolMegabytes } from './backends.ts';
import { registerCast } from './kernels/cast.ts';
import { registerConv } from './kernels/conv.ts';
import { registerElementwise, registerReluGrad } from './kernels/elementwise.ts';
import { registerLowRank } from './kernels/lowrank.ts';
import { registerMatmul } from './kernels/matmul.ts';
import { registerCombine, registerNorms, registerOptim } from './kernels/optim.ts';
import { registerReduce } from './kernels/reduce.ts';
import { registerCopies, registerShape } from './kernels/shape.ts';
import { type KernelFunc, type Kernels, setAddon } from './kernels/util.ts';

export const NATIVE_BACKEND = 'native';

/**
 * Pool caps: arrays kept per length, and bytes kept in all (`LAUREL_POOL_MB`, default 1024). A training step
 * frees at its end what the next step allocates again, so the pool must hold one step's activations and
 * gradients (ResNet-20 at batch 128: 546 MB) or the misses cost fresh zero-filled arrays and GC: measured
 * 600 → 410 ms per ResNet step when the cap went from 256 MB to 1 GB. Like PyTorch's caching allocator, the
 * memory stays reserved for reuse; `clearPool()` hands it back.
 */
const POOL_PER_SIZE = 256;
const POOL_MIN_LENGTH = 256;

type DataId = object;

/**
 * MathBackendCPU plus a buffer pool for kernel outputs. Only arrays this backend allocated (alloc) are recycled,
 * never one that was handed out by readSync/read (dataSync, data, arraySync ...), and only once no tensor holds
 * it: cpu kernels may register an input's array, or a view of it, under another dataId (Slice and Unpack return
 * views, Complex keeps its inputs' arrays), so every registration (write) of an owned array is counted and the
 * array is pooled when the count returns to 0. Copied cpu kernels are also guarded so that an output aliasing
 * an input's buffer becomes a copy, which keeps the input recyclable.
 */
export class NativeBackend extends MathBackendCPU {
  /** Arrays from alloc, by buffer, with the number of live dataIds whose values are the array or a view of it. */
  private owned = new WeakMap<ArrayBufferLike, { array: Float32Array; refs: number }>();
  private pool = new Map<number, Float32Array[]>();
  private pooledBytes = 0;
  private readonly poolMaxBytes = poolMegabytes(process.env.LAUREL_POOL_MB) * 1024 * 1024;
  pooling = process.env.LAUREL_POOL !== '0';
  poolHits = 0;
  poolMisses = 0;

  constructor() {
    super();
    // MathBackendCPU prints a "install tfjs-node" banner on first use; this backend is the answer to it.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** Storage for a kernel output of n floats; contents are undefined (recycled), kernels overwrite them all. */
  alloc(n: number): Float32Array {
    if (this.pooling && n >= POOL_MIN_LENGTH) {
      const list = this.pool.get(n);
      const a = list?.pop();
      if (a) {
        this.pooledBytes -= a.byteLength;
        this.poolHits++;
        return a;
      }
      this.poolMisses++;
    }
    const a = new Float32Array(n);
    if (this.pooling && n >= POOL_MIN_LENGTH) this.owned.set(a.buffer, { array: a, refs: 0 });
    return a;
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId = super.write(values, shape, dtype);
    if (ArrayBuffer.isView(values)) {
      const o = this.owned.get(values.buffer);
      if (o) o.refs++;
    }
    return dataId;
  }

  /** One dataId no longer holds `v`: the owned array behind it goes to the pool when none does. */
  release(v: ArrayBufferView): void {
    const o = this.owned.get(v.buffer);
    if (!o || --o.refs > 0) return;
    this.owned.delete(v.buffer);
    this.free(o.array);
  }

  /** Keeps an array that no tensor holds any more for reuse by alloc (within the pool's caps). */
  private free(a: Float32Array): void {
    if (!this.pooling) return;
    if (this.pooledBytes + a.byteLength > this.poolMaxBytes) return;
    let list = this.pool.get(a.length);
    if (!list) {
      list = [];
      this.pool.set(a.length, list);
    }
    if (list.length >= POOL_PER_SIZE) return;
    list.push(a);
    this.pooledBytes += a.byteLength;
    this.owned.set(a.buffer, { array: a, refs: 0 });
  }

  /** Drops every pooled array (memory goes back to the GC). */
  clearPool(): void {
    this.pool.clear();
    this.pooledBytes = 0;
  }

  poolStats(): { bytes: number; arrays: number; hits: number; misses: number } {
    let arrays = 0;
    for (const l of this.pool.values()) arrays += l.length;
    return { bytes: this.pooledBytes, arrays, hits: this.poolHits, misses: this.poolMisses };
  }

  /** An array that escapes to the user must never be recycled. */
  private escape(dataId: DataId): void {
    if (!this.data.has(dataId)) return;
    const v = this.data.get(dataId).values;
    if (ArrayBuffer.isView(v)) this.owned.delete(v.buffer);
  }

  override readSync(dataId: DataId) {
    this.escape(dataId);
    return super.readSync(dataId);
  }

  override async read(dataId: DataId) {
    this.escape(dataId);
    return super.read(dataId);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const values = this.data.has(dataId) ? this.data.get(dataId).values : undefined;
    const done = super.disposeData(dataId, force);
    if (ArrayBuffer.isView(values) && !this.data.has(dataId)) this.release(values);
    return done;
  }

  override dispose(): void {
    this.clearPool();
    super.dispose();
  }
}

/** Wraps a copied cpu kernel: an output that shares an input's buffer under a new dataId gets its own copy. */
function guardAliasing(fn: KernelFunc): KernelFunc {
  return ((args: Parameters<KernelFunc>[0]) => {
    const out = fn(args);
    const b = args.backend as NativeBackend;
    if (!b.pooling) return out;
    const outs = (Array.isArray(out) ? out : [out]) as tf.TensorInfo[];
    const ins = Object.values(args.inputs) as (tf.TensorInfo | undefined)[];
    for (const o of outs) {
      if (!o || !b.data.has(o.dataId)) continue;
      const od = b.data.get(o.dataId);
      const ov = od.values;
      if (!ArrayBuffer.isView(ov)) continue;
      for (const i of ins) {
        if (!i || i.dataId === o.dataId || !b.data.has(i.dataId)) continue;
        const iv = b.data.get(i.dataId).values;
        if (ArrayBuffer.isView(iv) && iv.buffer === ov.buffer) {
          od.values = (ov as Float32Array).slice();
          b.release(ov);
          break;
        }
      }
    }
    return out;
  }) as KernelFunc;
}

/** Kernel names this backend runs natively. */
export function nativeKernelNames(): string[] {
  return [...overrides().keys()].sort();
}

let kernelMap: Kernels | null = null;
function overrides(): Kernels {
  if (!kernelMap) {
    kernelMap = new Map<string, KernelFunc>();
    registerCast(kernelMap);
    registerMatmul(kernelMap);
    registerElementwise(kernelMap);
    registerReduce(kernelMap);
    registerShape(kernelMap);
    registerCopies(kernelMap);
    registerOptim(kernelMap);
    registerReluGrad(kernelMap);
    registerCombine(kernelMap);
    registerLowRank(kernelMap);
    registerNorms(kernelMap);
    registerConv(kernelMap);
  }
  return kernelMap;
}

let registered = false;

/** Registers the backend and its kernels with tfjs (idempotent). */
export function registerNativeBackend(addon: NativeAddon): void {
  if (registered) return;
  setAddon(addon);
  const own = overrides();
  for (const k of tf.getKernelsForBackend('cpu')) {
    if (own.has(k.kernelName) || tf.getKernel(k.kernelName, NATIVE_BACKEND)) continue;
    tf.registerKernel({ ...k, backendName: NATIVE_BACKEND, kernelFunc: guardAliasing(k.kernelFunc) });
  }
  for (const [kernelName, kernelFunc] of own) {
    if (!tf.getKernel(kernelName, NATIVE_BACKEND))
      tf.registerKernel({ kernelName, backendName: NATIVE_BACKEND, kernelFunc });
  }
  tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(), 3);
  // Relu's gradient as one native kernel on this backend; the same formula as tfjs's elsewhere.
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved;
      const d = dy as tf.Tensor;
      return {
        x: () =>
          tf.getBackend() === NATIVE_BACKEND && d.dtype === 'float32' && x.dtype === 'float32'
            ? (tf.engine().runKernel('LaurelReluGrad', { dy: d, x }) as tf.Tensor)
            : tf.mul(d, tf.cast(tf.step(x), 'float32')),
      };
    },
  });
  // Sigmoid and Tanh gradients from the saved output y, likewise one kernel each.
  const fromOutput = (
    kernelName: string,
    native: string,
    tfOps: (dy: tf.Tensor, y: tf.Tensor) => tf.Tensor,
  ) =>
    tf.registerGradient({
      kernelName,
      outputsToSave: [true],
      gradFunc: (dy, saved) => {
        const [y] = saved;
        const d = dy as tf.Tensor;
        return {
          x: () =>
            tf.getBackend() === NATIVE_BACKEND && d.dtype === 'float32' && y.dtype === 'float32'
              ? (tf.engine().runKernel(native, { dy: d, y }) as tf.Tensor)
              : tfOps(d, y),
        };
      },
    });
  // Inference-mode batch norm (+ ReLU), ops().batchNorm: with d = dy masked where y ≤ 0 under ReLU and
  // x̂ = (x − mean)·rstd, the gradients of y = x̂·scale + offset (tf ops: rarely run, e.g. a frozen-BN fine-tune).
  tf.registerGradient({
    kernelName: 'LaurelBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale, y] = saved;
      const { varianceEpsilon: eps, relu } = attrs as unknown as { varianceEpsilon: number; relu: boolean };
      const axes = x.shape.slice(0, -1).map((_, i) => i);
      const d = relu ? tf.mul(dy as tf.Tensor, tf.step(y)) : (dy as tf.Tensor);
      const rstd = tf.rsqrt(tf.add(variance, eps));
      const centered = tf.sub(x, mean);
      const dx = () => tf.mul(d, tf.mul(scale, rstd));
      return {
        x: dx,
        mean: () => tf.neg(tf.sum(dx(), axes)),
        variance: () =>
          tf.sum(tf.mul(tf.mul(d, centered), tf.mul(scale, tf.mul(-0.5, tf.pow(rstd, 3)))), axes),
        scale: () => tf.sum(tf.mul(d, tf.mul(centered, rstd)), axes),
        offset: () => tf.sum(d, axes),
      };
    },
  });
  fromOutput('Sigmoid', 'LaurelSigmoidGrad', (d, y) => tf.mul(d, tf.mul(y, tf.sub(tf.scalar(1), y))));
  fromOutput('Tanh', 'LaurelTanhGrad', (d, y) => tf.mul(tf.sub(tf.scalar(1), tf.square(y)), d));
  registered = true;
}
