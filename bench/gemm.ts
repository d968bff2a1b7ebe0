// GEMM throughput: square matMul through tfjs on the native backend vs cblas_sgemm called directly, in one run.
//   node --import tsx bench/gemm.ts [--quick]   → prints {native_gflops, openblas_gflops, sizes: {...}}
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

export interface GemmResult {
  /** At the headline size (1024²). */
  native_gflops: number;
  openblas_gflops: number;
  ratio: number;
  threads: number;
  sizes: GemmSize[];
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
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[1]?.endsWith('.ts')) {
  const r = await benchGemm({ quick: process.argv.includes('--quick') });
  console.log(JSON.stringify(r));
}
