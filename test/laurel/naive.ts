/**
 * An independent, loop-by-loop float64 reference of every LAUREL variant, written straight from the
 * formulas (no tfjs), for output checks and finite-difference gradients.
 * Activations are flat [N, D] row-major; V is [D, r] (or [k, D, r]), U is [r, D] (or [k, r, D]).
 */
import type { ResidualConfig } from '../../src/laurel/config.ts';

export type Params = Record<string, Float64Array>;

export interface NaiveInputs {
  fx: Float64Array;
  /** [x_i, x_{i-1}, …] newest first. */
  xs: Float64Array[];
  xHat: Float64Array;
}

function lowRankRow(
  x: Float64Array,
  off: number,
  V: Float64Array,
  U: Float64Array,
  D: number,
  r: number,
  o = 0,
) {
  const z = new Float64Array(r);
  for (let q = 0; q < r; q++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += x[off + d] * V[o * D * r + d * r + q];
    z[q] = s;
  }
  const y = new Float64Array(D);
  for (let d = 0; d < D; d++) {
    let s = 0;
    for (let q = 0; q < r; q++) s += z[q] * U[o * r * D + q * D + d];
    y[d] = s;
  }
  return y;
}

/** (α_d, β_d) for dimension d. */
function alphaBeta(cfg: ResidualConfig, P: Params, d: number): [number, number] {
  const per = cfg.rwPerDim === true;
  if (cfg.rwNorm === 'sigmoid') {
    const p = per ? P.p[d] : P.p[0];
    const a = 1 / (1 + Math.exp(-p));
    return [a, 1 - a];
  }
  if (cfg.rwNorm === 'none') {
    return per ? [P.alphaBeta[2 * d], P.alphaBeta[2 * d + 1]] : [P.alphaBeta[0], P.alphaBeta[1]];
  }
  const w0 = per ? P.w[2 * d] : P.w[0];
  const w1 = per ? P.w[2 * d + 1] : P.w[1];
  const e0 = Math.exp(w0);
  const e1 = Math.exp(w1);
  return [(2 * e0) / (e0 + e1), (2 * e1) / (e0 + e1)];
}

export type NaiveG = (x: Float64Array, hist: Float64Array[]) => Float64Array;

export function naiveResidual(
  cfg: ResidualConfig,
  P: Params,
  inp: NaiveInputs,
  N: number,
  D: number,
  r: number,
  g?: NaiveG,
): Float64Array {
  const v = cfg.variant;
  const { fx, xs, xHat } = inp;
  const x = xs[0];
  const out = new Float64Array(N * D);
  if (v === 'dwa') {
    for (let i = 0; i < N * D; i++) {
      out[i] = P.dwa[0] * (x[i] + fx[i]);
      xs.forEach((xj, j) => {
        out[i] += P.dwa[j + 1] * xj[i];
      });
    }
    return out;
  }
  if (v === 'general') {
    const gx = g!(x, xs.slice(1));
    for (let i = 0; i < N * D; i++) out[i] = P.alpha[0] * fx[i] + gx[i];
    return out;
  }
  for (let n = 0; n < N; n++) {
    const off = n * D;
    let extra: Float64Array | undefined;
    if (v === 'lr' || v === 'rw+lr') extra = lowRankRow(x, off, P.V, P.U, D, r);
    if (v === 'pa' || v === 'rw+pa') {
      const s = new Float64Array(D);
      xs.forEach((xj, j) => {
        for (let d = 0; d < D; d++) s[d] += P.gamma[j] * xj[off + d];
      });
      extra = cfg.paH === 'identity' ? s : lowRankRow(s, 0, P.V, P.U, D, r);
    }
    if (v === 'lr+pa' || v === 'rw+lr+pa') {
      extra = new Float64Array(D);
      for (let j = 0; j < xs.length; j++) {
        const y = lowRankRow(xs[j], off, P.V, P.U, D, r, j);
        for (let d = 0; d < D; d++) extra[d] += P.gamma[j] * y[d];
      }
    }
    if (v === 'gemma3n') {
      const y = lowRankRow(xHat, off, P.V, P.U, D, r);
      let ms = 0;
      for (let d = 0; d < D; d++) ms += y[d] * y[d];
      const inv = 1 / Math.sqrt(ms / D + 1e-6);
      for (let d = 0; d < D; d++) {
        out[off + d] = (x[off + d] + fx[off + d] + xHat[off + d] + y[d] * inv * P.normScale[d]) / Math.SQRT2;
      }
      continue;
    }
    for (let d = 0; d < D; d++) {
      const [a, b] = v.startsWith('rw')
        ? alphaBeta(cfg, P, d)
        : v === 'rezero'
          ? [P.alpha[0], 1]
          : v === 'layerscale'
            ? [P.lambda[d], 1]
            : [1, 1];
      out[off + d] = a * fx[off + d] + b * (x[off + d] + (extra ? extra[d] : 0));
    }
  }
  return out;
}
