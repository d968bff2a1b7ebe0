// Loads the native addon (native/build/Release/laurel_native.node; $LAUREL_ADDON names another build, and
// LAUREL_ASAN=1 the AddressSanitizer one, see scripts/asan.sh). Never throws: returns the reason instead.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureOpenblasCoreType } from './blas-core.ts';

/** C[M,N] = alpha·op(A)·op(B) + beta·C, row-major. */
type Gemm = (
  transA: boolean,
  transB: boolean,
  m: number,
  n: number,
  k: number,
  alpha: number,
  a: Float32Array,
  b: Float32Array,
  beta: number,
  c: Float32Array,
) => void;

export interface NativeAddon {
  /** n in [1, max(64, 4 × cores)] (else it throws); returns the threads started (fewer if the system refused). */
  setNumThreads(n: number): number;
  getNumThreads(): number;
  /** As gemm, each dot product summed in double (the LAUREL kernels' small D×r×D products). */
  smallGemm: Gemm;
  /** Distinct threads that run the chunks of a parallel_for over n items (a test of the thread pool). */
  poolProbe(n: number): number;
  /** The kernel set OpenBLAS chose at load (openblas_get_corename, e.g. "SkylakeX"). */
  blasCore(): string;
  /** C[M,N] = alpha·op(A)·op(B) + beta·C, row-major, straight to cblas_sgemm. */
  gemm: Gemm;
  batchGemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    a: Float32Array,
    b: Float32Array,
    c: Float32Array,
    aOffsets: Int32Array,
    bOffsets: Int32Array,
    parallelBatches?: boolean,
  ): void;
  unary(op: number, x: Float32Array, out: Float32Array, alpha?: number): number;
  binary(
    op: number,
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    shape: Int32Array,
    aStrides: Int32Array,
    bStrides: Int32Array,
  ): number;
  reduce(op: number, x: Float32Array, out: Float32Array, a: number, r: number, b: number): void;
  transpose(x: Float32Array, out: Float32Array, shape: Int32Array, perm: Int32Array): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number, log: boolean): void;
  /** Row i of each T×T matrix: softmax of scale·x over columns ≤ i, 0 past the diagonal. */
  causalSoftmax(x: Float32Array, y: Float32Array, t: number, scale: number): void;
  /** dx = scale·y·(dy − Σ dy·y) per row. */
  causalSoftmaxGrad(dy: Float32Array, y: Float32Array, dx: Float32Array, t: number, scale: number): void;
  gather(
    x: Float32Array,
    indices: Int32Array,
    out: Float32Array,
    outer: number,
    axisSize: number,
    inner: number,
  ): number;
  segmentSum(x: Float32Array, ids: Int32Array, out: Float32Array, inner: number, numSegments: number): void;
  batchNorm(
    x: Float32Array,
    out: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    offset: Float32Array | null,
    scale: Float32Array | null,
    eps: number,
    relu?: boolean,
  ): void;
  tile(x: Float32Array, out: Float32Array, inShape: Int32Array, outShape: Int32Array): void;
  adamw(
    p: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    pOut: Float32Array,
    mOut: Float32Array,
    vOut: Float32Array,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    biasCorrection1: number,
    biasCorrection2: number,
  ): void;
  sgd(
    p: Float32Array,
    g: Float32Array,
    buf: Float32Array,
    pOut: Float32Array,
    bufOut: Float32Array,
    lr: number,
    momentum: number,
    weightDecay: number,
    nesterov: boolean,
    first: boolean,
  ): void;
  stridedCopy(
    src: Float32Array,
    dst: Float32Array,
    shape: Int32Array,
    srcStrides: Int32Array,
    dstStrides: Int32Array,
    srcOffset: number,
    dstOffset: number,
  ): void;
  fill(dst: Float32Array, value: number): void;
  gelu(x: Float32Array, out: Float32Array): void;
  batchNormTrain(
    x: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    y: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    c: number,
    eps: number,
    relu?: boolean,
  ): void;
  batchNormTrainGrad(
    dy: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    variance: Float32Array,
    gamma: Float32Array | null,
    dx: Float32Array,
    dGamma: Float32Array,
    dBeta: Float32Array,
    c: number,
    eps: number,
    beta?: Float32Array | null,
    relu?: boolean,
  ): void;
  geluGrad(dy: Float32Array, x: Float32Array, dx: Float32Array): void;
  layerNorm(
    x: Float32Array,
    gamma: Float32Array | null,
    beta: Float32Array | null,
    out: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    d: number,
    eps: number,
  ): void;
  layerNormGrad(
    dy: Float32Array,
    x: Float32Array,
    mean: Float32Array,
    rstd: Float32Array,
    gamma: Float32Array | null,
    dx: Float32Array,
    dGamma: Float32Array | null,
    dBeta: Float32Array | null,
    d: number,
  ): void;
  combine(
    fx: Float32Array,
    x: Float32Array,
    extra: Float32Array | null,
    alpha: Float32Array | null,
    beta: Float32Array | null,
    out: Float32Array,
    d: number,
    relu?: boolean,
  ): void;
  /** With y (combine's ReLU output), relu_grad(dy, y) (tfjs's dy·step(y)) stands for dy. */
  combineGrad(
    dy: Float32Array,
    fx: Float32Array,
    x: Float32Array,
    extra: Float32Array | null,
    alpha: Float32Array | null,
    beta: Float32Array | null,
    dfx: Float32Array,
    dx: Float32Array | null,
    dAlpha: Float32Array | null,
    dBeta: Float32Array | null,
    d: number,
    y?: Float32Array | null,
  ): void;
  /** The widest D the row kernels below are meant for (x86-64 with AVX-512 or AVX2 only, as they are). */
  rowsMaxD?: number;
  /** out = α·fx + x·B for [M, D] rows and B [D, D] (D ≤ 64), ReLU'd with relu (x86-64 with AVX-512 or AVX2). */
  lowRankCombineRows?(
    fx: Float32Array,
    x: Float32Array,
    B: Float32Array,
    alpha: number,
    out: Float32Array,
    d: number,
    relu?: boolean,
  ): void;
  /**
   * dfx = α·dy, dx = dy·Bᵀ, G = xᵀ·dy, dAlpha[0] = Σ dy·fx (x86-64 with AVX-512 or AVX2); with y (the forward's ReLU
   * output), relu_grad(dy, y) (tfjs's dy·step(y)) stands for dy.
   */
  lowRankCombineGradRows?(
    dy: Float32Array,
    fx: Float32Array,
    x: Float32Array,
    B: Float32Array,
    alpha: number,
    dfx: Float32Array,
    dx: Float32Array,
    G: Float32Array,
    dAlpha: Float32Array,
    d: number,
    y?: Float32Array | null,
  ): void;
  conv2d?(x: Float32Array, w: Float32Array, out: Float32Array, p: Int32Array): void;
  conv2dBackInput?(dy: Float32Array, w: Float32Array, dx: Float32Array, p: Int32Array): void;
  conv2dBackFilter?(x: Float32Array, dy: Float32Array, dw: Float32Array, p: Int32Array): void;
  pool?(op: number, x: Float32Array, out: Float32Array, p: Int32Array): void;
  poolGrad?(op: number, dy: Float32Array, x: Float32Array, dx: Float32Array, p: Int32Array): void;
}

const NATIVE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native');

/** The addon file to load: $LAUREL_ADDON, else the ASan build when LAUREL_ASAN=1, else native/build's. */
export function addonPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LAUREL_ADDON) return resolve(env.LAUREL_ADDON);
  const build = env.LAUREL_ASAN === '1' ? join('build-asan', 'build') : 'build';
  return join(NATIVE_DIR, build, 'Release', 'laurel_native.node');
}

let cached: { addon: NativeAddon | null; error: string | null } | null = null;

/** Whether this process has loaded the addon (and OpenBLAS, which reads its environment as it loads). */
export function addonLoaded(): boolean {
  return cached?.addon != null;
}

/** The addon, or null with the reason it could not be loaded. */
export function loadAddon(): { addon: NativeAddon | null; error: string | null } {
  if (cached) return cached;
  if (process.env.LAUREL_NO_NATIVE === '1') {
    cached = { addon: null, error: 'LAUREL_NO_NATIVE=1 is set' };
    return cached;
  }
  const path = addonPath();
  if (!existsSync(path)) {
    const build =
      process.env.LAUREL_ASAN === '1'
        ? 'LAUREL_ASAN=1 node scripts/build-native.mjs'
        : 'node scripts/build-native.mjs';
    cached = {
      addon: null,
      error: `native addon not built (${relative(process.cwd(), path)} missing; run: ${process.env.LAUREL_ADDON ? 'check $LAUREL_ADDON' : build})`,
    };
    return cached;
  }
  try {
    ensureOpenblasCoreType(); // before OpenBLAS loads with the addon
    const require = createRequire(import.meta.url);
    const addon = require(path) as NativeAddon;
    cached = { addon, error: null };
  } catch (e) {
    cached = { addon: null, error: `native addon failed to load: ${(e as Error).message.split('\n')[0]}` };
  }
  return cached;
}
