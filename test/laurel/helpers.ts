import * as tf from '@tensorflow/tfjs';
import { type ResidualConfig, residualConfig } from '../../src/laurel/config.ts';
import { ActivationHistory } from '../../src/laurel/history.ts';
import { Residual } from '../../src/laurel/residual.ts';
import { Rng } from '../../src/util/rng.ts';
import type { NaiveG, Params } from './naive.ts';

/** A linear g for the `general` variant: g(x, h) = 0.5·x + Σ_j 0.25/(j+1)·h_j; and its float64 twin. */
export const generalG = (x: tf.Tensor, hist: readonly tf.Tensor[]): tf.Tensor =>
  hist.reduce((acc, h, j) => tf.add(acc, tf.mul(h, 0.25 / (j + 1))), tf.mul(x, 0.5));
export const naiveGeneralG: NaiveG = (x, hist) =>
  x.map((v, i) => 0.5 * v + hist.reduce((s, h, j) => s + (0.25 / (j + 1)) * h[i], 0));

export interface Case {
  name: string;
  config: ResidualConfig;
  /** Earlier activations to provide (≤ k − 1; fewer exercises the first blocks). */
  prev: number;
  /** gemma3n: pass a separate xNormed. */
  xNormed?: boolean;
}

const c = (variant: string, opts: Partial<ResidualConfig> = {}) => residualConfig(variant, opts);

/** Every variant and option that changes the math. */
export const CASES: Case[] = [
  { name: 'baseline', config: c('baseline'), prev: 0 },
  { name: 'rw softmax', config: c('rw'), prev: 0 },
  { name: 'rw softmax per-dim', config: c('rw', { rwPerDim: true }), prev: 0 },
  { name: 'rw sigmoid', config: c('rw', { rwNorm: 'sigmoid' }), prev: 0 },
  { name: 'rw sigmoid per-dim', config: c('rw', { rwNorm: 'sigmoid', rwPerDim: true }), prev: 0 },
  { name: 'rw none', config: c('rw', { rwNorm: 'none' }), prev: 0 },
  { name: 'rw none per-dim', config: c('rw', { rwNorm: 'none', rwPerDim: true }), prev: 0 },
  { name: 'lr', config: c('lr', { rank: 2 }), prev: 0 },
  { name: 'pa lowrank', config: c('pa', { rank: 2, k: 3 }), prev: 2 },
  { name: 'pa lowrank short history', config: c('pa', { rank: 2, k: 3 }), prev: 1 },
  { name: 'pa lowrank no history', config: c('pa', { rank: 2, k: 3 }), prev: 0 },
  { name: 'pa identity', config: c('pa', { paH: 'identity', k: 3 }), prev: 2 },
  { name: 'rw+lr', config: c('rw+lr', { rank: 2 }), prev: 0 },
  {
    name: 'rw+lr sigmoid per-dim',
    config: c('rw+lr', { rank: 1, rwNorm: 'sigmoid', rwPerDim: true }),
    prev: 0,
  },
  { name: 'rw+pa lowrank', config: c('rw+pa', { rank: 2, k: 3 }), prev: 2 },
  { name: 'rw+pa identity', config: c('rw+pa', { paH: 'identity', k: 2 }), prev: 1 },
  { name: 'lr+pa', config: c('lr+pa', { rank: 2, k: 3 }), prev: 2 },
  { name: 'lr+pa short history', config: c('lr+pa', { rank: 2, k: 3 }), prev: 1 },
  { name: 'rw+lr+pa', config: c('rw+lr+pa', { rank: 2, k: 3 }), prev: 2 },
  {
    name: 'rw+lr+pa none per-dim',
    config: c('rw+lr+pa', { rank: 2, k: 2, rwNorm: 'none', rwPerDim: true }),
    prev: 1,
  },
  { name: 'gemma3n', config: c('gemma3n', { rank: 2 }), prev: 0, xNormed: true },
  { name: 'general', config: c('general', { g: generalG }), prev: 2 },
  { name: 'rezero', config: c('rezero'), prev: 0 },
  { name: 'dwa', config: c('dwa', { k: 3 }), prev: 2 },
  { name: 'dwa short history', config: c('dwa', { k: 4 }), prev: 1 },
  { name: 'layerscale', config: c('layerscale', { layerScaleInit: 0.1 }), prev: 0 },
];

export function randn(rng: Rng, n: number, scale = 1, shift = 0): Float64Array {
  return Float64Array.from({ length: n }, () => shift + scale * rng.normal());
}

/** Non-trivial parameter values for every parameter of `res` (U ≠ 0, α ≠ β, γ ≠ init). */
export function randomParams(res: Residual, rng: Rng): Params {
  const P: Params = {};
  for (const { name, variable } of res.namedParameters()) {
    const n = variable.size;
    P[name] =
      name === 'normScale' || name === 'alphaBeta' || name === 'alpha'
        ? randn(rng, n, 0.3, 1)
        : randn(rng, n, 0.6);
  }
  return P;
}

export function setParams(res: Residual, P: Params): void {
  for (const { name, variable } of res.namedParameters()) {
    variable.assign(tf.tensor(Float32Array.from(P[name]), variable.shape));
  }
}

/** A history holding `prev` (given newest first), for a residual of `k`. */
export function historyOf(k: number, prev: tf.Tensor[]): ActivationHistory {
  const h = new ActivationHistory(Math.max(k, prev.length + 1));
  for (let j = prev.length - 1; j >= 0; j--) h.push(prev[j]);
  return h;
}

export function shapeFor(rng: Rng, kind: number, D: number): number[] {
  const s = () => 1 + rng.int(3);
  if (kind === 0) return [1 + rng.int(4), D];
  if (kind === 1) return [s(), s(), D];
  return [s(), s(), s(), D];
}

/** max over i of |a − b| / (atol + rtol·|b|) ≤ 1 means close. */
export function closeness(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, atol: number) {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i]));
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  return { worst, at, a: a[at], b: b[at] };
}

export { Residual, Rng };
