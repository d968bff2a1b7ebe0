// Backend selection for laurel: `native` (OpenBLAS addon) by default, `cpu` or `wasm` on request, and a
// one-line warning with the reason whenever we fall back.
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from './addon.ts';
import { NATIVE_BACKEND, nativeKernelNames, registerNativeBackend } from './backend.ts';
import { type BackendName, poolMegabytes, requestedBackend } from './backends.ts';
import { nativeOps } from './fused.ts';
import { registerOps } from './ops/index.ts';
import { getNumThreads, setNumThreads } from './threads.ts';

export { BACKEND_NAMES, type BackendName, requestedBackend } from './backends.ts';
export { NATIVE_BACKEND, NativeBackend, nativeKernelNames } from './backend.ts';
export { addonLoaded, loadAddon } from './addon.ts';
export { MAX_THREADS, checkThreads, getNumThreads, setNumThreads } from './threads.ts';
export {
  fusedCombine,
  fusedLowRankCombine,
  fusedCausalSoftmax,
  fusedGelu,
  fusedBatchNormTrain,
  fusedLayerNorm,
  nativeAdamW,
  nativeOps,
  nativeSgd,
  type AdamWStep,
  type SgdStep,
} from './fused.ts';
export {
  type BatchNormArgs,
  type BatchNormStats,
  type CombineArgs,
  type Ops,
  ops,
  referenceOps,
  registerOps,
} from './ops/index.ts';

function warn(msg: string): void {
  console.warn(`laurel: ${msg}`);
}

/** Makes the native backend available to tfjs; returns null on success or the reason it is not. */
export function ensureNative(): string | null {
  const { addon, error } = loadAddon();
  if (!addon) return error ?? 'native addon unavailable';
  setNumThreads(getNumThreads());
  registerNativeBackend(addon);
  registerOps(NATIVE_BACKEND, nativeOps);
  return null;
}

async function trySet(name: string): Promise<string | null> {
  try {
    const ok = await tf.setBackend(name);
    if (!ok) return `tfjs could not initialise the ${name} backend`;
    await tf.ready();
    // tfjs's cpu backend greets its first tensor in Node with an advert for tfjs-node (on stderr); laurel
    // chose this backend on purpose, so the banner is noise.
    const b = tf.backend() as { firstUse?: boolean };
    if (b.firstUse === true) b.firstUse = false;
    return null;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

/**
 * How Conv2d should compute its kernel gradient on `backend` (src/nn ConvFilterGradMode): through
 * Conv2DBackpropFilter ('tfjs') where that kernel is native, else as a forward convolution ('conv').
 */
export function convFilterGradMode(backend: string): 'conv' | 'tfjs' {
  return backend === NATIVE_BACKEND && nativeKernelNames().includes('Conv2DBackpropFilter') ? 'tfjs' : 'conv';
}

/**
 * Selects the tfjs backend: `name`, else $LAUREL_BACKEND, else `native`. Falls back (native/wasm → cpu) with one
 * warning line saying why. Returns the name in use.
 */
export async function initBackend(name?: BackendName): Promise<string> {
  const want = requestedBackend(name);
  if (want === 'native') {
    poolMegabytes(process.env.LAUREL_POOL_MB);
    const why = ensureNative() ?? (await trySet(NATIVE_BACKEND));
    if (why === null) return tf.getBackend();
    warn(`native backend unavailable (${why}); falling back to the slow cpu backend`);
  } else if (want === 'wasm') {
    let why: string | null = null;
    try {
      await import('@tensorflow/tfjs-backend-wasm');
      why = await trySet('wasm');
    } catch (e) {
      why = (e as Error).message.split('\n')[0];
    }
    if (why === null) return tf.getBackend();
    warn(`wasm backend unavailable (${why}); falling back to the cpu backend`);
  }
  const why = await trySet('cpu');
  if (why !== null) throw new Error(`laurel: cannot initialise the cpu backend: ${why}`);
  return tf.getBackend();
}
