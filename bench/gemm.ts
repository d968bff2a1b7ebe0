// GEMM throughput: square matMul through tfjs on the native backend vs cblas_sgemm called directly, in one run;
// and LAUREL's skinny products (the low-rank path's 1×1 projections) through the addon's routing, which takes
// them to its own AVX-512 or AVX2 kernels where it has them, vs cblas_sgemm directly.
//   node --import tsx bench/gemm.ts [--quick]   → prints {native_gflops, openblas_gflops, sizes, skinny}
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../src/engine/addon.ts';
import { getNumThreads, initBackend } from '../src/engine/index.ts';
import { bestOf } from './timing.ts';

export interface GemmSize {
  n: number;
  native_gflops: number;
  openblas_gflops: number;
}

export interface SkinnyCase {
  /** C[M, N] = A·B over K ('tall': A [M, K], B [K, N]) or Aᵀ·B ('deep': A [K, M], B [K, N]; K long). */
  kind: 'tall' | 'deep';
  m: number;
  n: number;
  k: number;
  /** ms per product through batchGemm (own kernels where the addon has them) and through cblas_sgemm. */
  routed_ms: number;
  openblas_ms: number;
  ratio: number;
}

export interface GemmResult {
  /** At the headline size (1024²). */
  native_gflops: number;
  openblas_gflops: number;
  ratio: number;
  threads: number;
  sizes: GemmSize[];
  skinny: SkinnyCase[];
}

// ResNet-20 at batch 128 (its three stages: [M, D] maps with D = 16, 32, 64, r = 16) and the GPT (M = 2048
// tokens, D = 256, r = 16): the forward's x·V and the gradient's xᵀ·g.
const SKINNY: [SkinnyCase['kind'], number, number, number][] = [
  ['tall', 100352, 16, 16],
  ['tall', 25088, 32, 32],
  ['tall', 6272, 64, 64],
  ['tall', 6272, 16, 64],
  ['tall', 2048, 16, 256],
  ['deep', 16, 16, 100352],
  ['deep', 32, 32, 25088],
  ['deep', 64, 64, 6272],
  ['deep', 64, 16, 6272],
];

function benchSkinny(
  addon: NonNullable<ReturnType<typeof loadAddon>['addon']>,
  quick: boolean,
): SkinnyCase[] {
  const reps = quick ? 3 : 7;
  const minMs = quick ? 20 : 60;
  const zero = Int32Array.of(0);
  return SKINNY.map(([kind, m, n, k]) => {
    const ta = kind === 'deep';
    const a = tf.randomUniform([m * k], -1, 1, 'float32', 3);
    const b = tf.randomUniform([k * n], -1, 1, 'float32', 4);
    const [av, bv] = [a.dataSync() as Float32Array, b.dataSync() as Float32Array];
    tf.dispose([a, b]);
    const c = new Float32Array(m * n);
    const routed = () => addon.batchGemm(ta, false, m, n, k, av, bv, c, zero, zero);
    const direct = () => addon.gemm(ta, false, m, n, k, 1, av, bv, 0, c);
    let [tRouted, tDirect] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
    for (let r = 0; r < reps; r++) {
      tRouted = Math.min(tRouted, bestOf(1, minMs, routed)[0]);
      tDirect = Math.min(tDirect, bestOf(1, minMs, direct)[0]);
    }
    return { kind, m, n, k, routed_ms: tRouted, openblas_ms: tDirect, ratio: tRouted / tDirect };
  });
}

export async function benchGemm(opts: { quick?: boolean; sizes?: number[] } = {}): Promise<GemmResult> {
  const backend = await initBackend('native');
  if (backend !== 'native') throw new Error('the native backend is not available');
  const addon = loadAddon().addon!;
  const sizes = opts.sizes ?? (opts.quick ? [512, 1024] : [512, 1024, 2048]);
  const reps = opts.quick ? 3 : 5;
  const minMs = opts.quick ? 150 : 400;
  const out: GemmSize[] = [];
  for (const n of sizes) {
    const flops = 2 * n * n * n;
    const a = tf.randomUniform([n, n], -1, 1, 'float32', 1);
    const b = tf.randomUniform([n, n], -1, 1, 'float32', 2);
    const av = a.dataSync() as Float32Array;
    const bv = b.dataSync() as Float32Array;
    const c = new Float32Array(n * n);
    // Interleave the two paths so that both see the same machine load.
    const direct = () => addon.gemm(false, false, n, n, n, 1, av, bv, 0, c);
    const viaTf = () => tf.matMul(a, b).dispose();
    direct();
    viaTf();
    let tDirect = Number.POSITIVE_INFINITY;
    let tTf = Number.POSITIVE_INFINITY;
    for (let r = 0; r < reps; r++) {
      tDirect = Math.min(tDirect, bestOf(1, minMs, direct)[0]);
      tTf = Math.min(tTf, bestOf(1, minMs, viaTf)[0]);
    }
    out.push({ n, native_gflops: flops / tTf / 1e6, openblas_gflops: flops / tDirect / 1e6 });
    tf.dispose([a, b]);
  }
  const head = out.find((s) => s.n === 1024) ?? out[0];
  return {
    native_gflops: head.native_gflops,
    openblas_gflops: head.openblas_gflops,
    ratio: head.native_gflops / head.openblas_gflops,
    threads: getNumThreads(),
    sizes: out,
    skinny: benchSkinny(addon, opts.quick ?? false),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[1]?.endsWith('.ts')) {
  const r = await benchGemm({ quick: process.argv.includes('--quick') });
  console.log(JSON.stringify(r));
}
