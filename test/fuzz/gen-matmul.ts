// Fuzz generators for BatchMatMul (batch broadcasting, transposes, and the tall / deep shapes that take the
// addon's skinny kernels) and _FusedMatMul (bias, every fused activation).
import * as tf from '@tensorflow/tfjs';
import type { Generator } from './case.ts';
import type { Draw } from './draw.ts';

/** m, n, k: mostly small, sometimes the skinny products' tall (M ≥ 1024, N·K ≤ 4096) or deep (K ≥ 1024) shapes. */
function dims(d: Draw): [number, number, number] {
  const r = d.rng.next();
  const z = () => (d.chance(0.03) ? 0 : 1);
  if (r < 0.55) return [d.int(1, 9) * z(), d.int(1, 9) * z(), d.int(1, 9) * z()];
  if (r < 0.85 || d.mode.small) return [d.int(1, 70), d.int(1, 70), d.int(1, 70)];
  if (r < 0.93) return [d.int(1024, 2500), d.int(1, 64), d.int(1, 64)];
  return [d.int(1, 64), d.int(1, 64), d.int(1024, 2500)];
}

/**
 * The batch dims of a and b, broadcastable to each other. tfjs's cpu BatchMatMul pairs flattened batch i with
 * batches i mod |a| and i mod |b|, which is broadcasting only when each side is the output's batch with leading
 * dims dropped or 1 (a [12] with b [2, 1, 1] pairs wrongly there; native broadcasts right): only those are
 * drawn. The fused op reshapes both to one batch dim first: one of them is then of size 1.
 */
function batches(d: Draw, m: number, n: number, k: number, fused: boolean): [number[], number[]] {
  if (m * n * k > 50000 || d.chance(0.4)) return [[], []];
  const out = d.shape(1, 3, Math.max(1, Math.floor(200000 / Math.max(1, m * n * k))), false);
  const suffix = () => {
    const cut = d.int(0, out.length);
    return d.chance(0.5) ? out.slice(cut) : out.map((s, i) => (i < cut ? 1 : s));
  };
  if (fused) {
    const one = out.map(() => 1);
    return d.pick([
      [out, out],
      [out, one],
      [one, out],
      [out, []],
      [[], out],
    ] as [number[], number[]][]);
  }
  return d.chance(0.5) ? [out, suffix()] : [suffix(), out];
}

interface Mm {
  a: number[];
  b: number[];
  out: number[];
  transposeA: boolean;
  transposeB: boolean;
}

function matmulShapes(d: Draw, fused: boolean): Mm {
  const [m, n, k] = dims(d);
  const [ab, bb] = batches(d, m, n, k, fused);
  const transposeA = d.chance(0.4);
  const transposeB = d.chance(0.4);
  const out = [...tf.backend_util.assertAndGetBroadcastShape(ab, bb), m, n];
  return {
    a: [...ab, ...(transposeA ? [k, m] : [m, k])],
    b: [...bb, ...(transposeB ? [n, k] : [k, n])],
    out,
    transposeA,
    transposeB,
  };
}

const batchMatMul: Generator = (d) => {
  const s = matmulShapes(d, false);
  const a = d.input('a', s.a, { raw: ['int32'] });
  const b = d.input('b', s.b, { raw: ['int32'] });
  const { transposeA, transposeB } = s;
  return {
    inputs: [a, b],
    attrs: { transposeA, transposeB },
    family: 'gemm',
    run: (t) => tf.matMul(t.a, t.b, transposeA, transposeB),
  };
};

const ACTIVATIONS = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const;

const fusedMatMul: Generator = (d) => {
  const s = matmulShapes(d, true);
  const a = d.input('a', s.a);
  const b = d.input('b', s.b);
  const n = s.out[s.out.length - 1];
  const inputs = [a, b];
  const withBias = d.chance(0.7);
  if (withBias) inputs.push(d.input('bias', d.pick([[n], [1], s.out.slice(-2), d.broadcastTo(s.out)])));
  const activation = d.pick(ACTIVATIONS);
  if (activation === 'prelu')
    inputs.push(d.input('prelu', d.pick([[n], [1], s.out.slice(-2)]), { scale: 0.5 }));
  const leakyreluAlpha = d.pick([0.2, 0.01, 1.5]);
  const { transposeA, transposeB } = s;
  return {
    inputs,
    attrs: { transposeA, transposeB, activation, leakyreluAlpha, bias: withBias },
    family: 'gemm',
    run: (t) =>
      tf.fused.matMul({
        a: t.a,
        b: t.b,
        transposeA,
        transposeB,
        bias: t.bias,
        activation,
        preluActivationWeights: t.prelu,
        leakyreluAlpha,
      }),
  };
};

export const matmulGenerators: Record<string, Generator> = {
  BatchMatMul: batchMatMul,
  _FusedMatMul: fusedMatMul,
};
