// The `native` tfjs backend: MathBackendCPU with every cpu kernel copied over and the hot ones replaced by
// calls into the OpenBLAS-linked addon.
import * as tf from '@tensorflow/tfjs';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import type { NativeAddon } from './addon.ts';
import { registerConv } from './kernels/conv.ts';
import { registerElementwise } from './kernels/elementwise.ts';
import { registerMatmul } from './kernels/matmul.ts';
import { registerReduce } from './kernels/reduce.ts';
import { registerShape } from './kernels/shape.ts';
import { type KernelFunc, type Kernels, setAddon } from './kernels/util.ts';

export const NATIVE_BACKEND = 'native';

export class NativeBackend extends MathBackendCPU {
  constructor() {
    super();
    // MathBackendCPU prints a "install tfjs-node" banner on first use; this backend is the answer to it.
    (this as unknown as { firstUse: boolean }).firstUse = false;
  }

  /** Storage for a kernel output of n floats. */
  alloc(n: number): Float32Array {
    return new Float32Array(n);
  }
}

/** Kernel names this backend runs natively. */
export function nativeKernelNames(): string[] {
  return [...overrides().keys()].sort();
}

let kernelMap: Kernels | null = null;
function overrides(): Kernels {
  if (!kernelMap) {
    kernelMap = new Map<string, KernelFunc>();
    registerMatmul(kernelMap);
    registerElementwise(kernelMap);
    registerReduce(kernelMap);
    registerShape(kernelMap);
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
    tf.registerKernel({ ...k, backendName: NATIVE_BACKEND });
  }
  for (const [kernelName, kernelFunc] of own) {
    if (!tf.getKernel(kernelName, NATIVE_BACKEND))
      tf.registerKernel({ kernelName, backendName: NATIVE_BACKEND, kernelFunc });
  }
  tf.registerBackend(NATIVE_BACKEND, () => new NativeBackend(), 3);
  registered = true;
}
