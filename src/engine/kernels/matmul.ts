// BatchMatMul and _FusedMatMul through OpenBLAS sgemm (zero-copy), with batch broadcasting.
import * as tf from '@tensorflow/tfjs';
import { applyActivation, binaryInto } from './elementwise.ts';
import {
  type Backend,
  type KernelArgs,
  type Kernels,
  type TensorInfo,
  addon,
  allFloat,
  f32,
  sizeOf,
  withFallback,
} from './util.ts';

const offsetCache = new Map<string, { outBatch: number[]; ao: Int32Array; bo: Int32Array }>();

function batchOffsets(aBatch: number[], bBatch: number[], aMat: number, bMat: number) {
  const key = `${aBatch.join(',')}|${bBatch.join(',')}|${aMat}|${bMat}`;
  const hit = offsetCache.get(key);
  if (hit) return hit;
  const outBatch = tf.backend_util.assertAndGetBroadcastShape(aBatch, bBatch);
  const rank = outBatch.length;
  const n = sizeOf(outBatch);
  const ao = new Int32Array(n);
  const bo = new Int32Array(n);
  const pad = (s: number[]) => [...new Array(rank - s.length).fill(1), ...s];
  const ap = pad(aBatch);
  const bp = pad(bBatch);
  for (let i = 0; i < n; i++) {
    let rem = i;
    let ai = 0;
    let bi = 0;
    let aStride = 1;
    let bStride = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const idx = rem % outBatch[d];
      rem = Math.floor(rem / outBatch[d]);
      if (ap[d] !== 1) ai += idx * aStride;
      if (bp[d] !== 1) bi += idx * bStride;
      aStride *= ap[d];
      bStride *= bp[d];
    }
    ao[i] = ai * aMat;
    bo[i] = bi * bMat;
  }
  const plan = { outBatch, ao, bo };
  if (offsetCache.size > 1024) offsetCache.clear();
  offsetCache.set(key, plan);
  return plan;
}

export function matmul(
  b: Backend,
  a: TensorInfo,
  bt: TensorInfo,
  transA: boolean,
  transB: boolean,
): TensorInfo {
  const ar = a.shape.length;
  const br = bt.shape.length;
  const m = transA ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = transA ? a.shape[ar - 2] : a.shape[ar - 1];
  const k2 = transB ? bt.shape[br - 1] : bt.shape[br - 2];
  const n = transB ? bt.shape[br - 2] : bt.shape[br - 1];
  if (k !== k2) {
    throw new Error(
      `Error in matMul: inner shapes (${k}) and (${k2}) of Tensors with shapes ${a.shape} and ${bt.shape} and transposeA=${transA} and transposeB=${transB} must match.`,
    );
  }
  const { outBatch, ao, bo } = batchOffsets(a.shape.slice(0, -2), bt.shape.slice(0, -2), m * k, k * n);
  const out = b.alloc(sizeOf(outBatch) * m * n);
  if (m * n > 0) {
    if (k === 0) out.fill(0);
    else {
      // Small products in a batch (attention): split the batch over threads, one GEMM thread each.
      const small = ao.length >= 4 && m * n * k <= 256 * 256 * 64;
      addon().batchGemm(transA, transB, m, n, k, f32(b, a), f32(b, bt), out, ao, bo, small);
    }
  }
  return b.makeTensorInfo([...outBatch, m, n], 'float32', out);
}

function batchMatMul({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { a, b } = inputs;
  const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
  return matmul(backend, a, b, transposeA, transposeB);
}

function fusedMatMul({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { a, b, bias, preluActivationWeights } = inputs;
  const { transposeA, transposeB, activation, leakyreluAlpha } = attrs as {
    transposeA: boolean;
    transposeB: boolean;
    activation: string;
    leakyreluAlpha?: number;
  };
  const out = matmul(backend, a, b, transposeA, transposeB);
  const values = f32(backend, out);
  if (bias) binaryInto(backend, 'add', out.shape, values, bias, values);
  applyActivation(backend, out.shape, values, activation, preluActivationWeights, leakyreluAlpha);
  return out;
}

export function registerMatmul(k: Kernels): void {
  const floatAB = ({ inputs }: KernelArgs) => allFloat(inputs.a, inputs.b);
  k.set('BatchMatMul', withFallback('BatchMatMul', floatAB, batchMatMul));
  k.set(
    '_FusedMatMul',
    withFallback(
      '_FusedMatMul',
      ({ inputs }) => allFloat(inputs.a, inputs.b, inputs.bias, inputs.preluActivationWeights),
      fusedMatMul,
    ),
  );
}
