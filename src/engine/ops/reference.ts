/**
 * The reference ops: each formula of the ops interface written once, in tf ops. Every backend without a set
 * of its own runs these (cpu, wasm, webgl, a browser), the native set falls back to them for shapes its
 * kernels do not cover, and the tests use them as the oracle. No tf.tidy unless stated: callers own the scope.
 */
import * as tf from '@tensorflow/tfjs';
import { customGrad } from './custom-grad.ts';
import type { BatchNormArgs, BatchNormStats, CombineArgs, Ops } from './types.ts';

/**
 * U·V·x on the last dimension, as two matmuls on an [N, D] view: ((x.reshape(N, D)·V)·U).reshape(x.shape).
 * When D ≤ 2r (narrow layers, e.g. a ResNet's first stages) it is computed as x·(V·U) instead: the same
 * product, associated differently, with fewer flops (N·D² ≤ 2N·r·D) and one pass over the N rows instead of
 * two, the D×D matrix V·U costing nothing next to them.
 */
function lowRank(x: tf.Tensor, V: tf.Tensor, U: tf.Tensor): tf.Tensor {
  const D = x.shape[x.rank - 1];
  const r = V.shape[V.rank - 1];
  const x2 = (x.rank === 2 ? x : tf.reshape(x, [-1, D])) as tf.Tensor2D;
  const y =
    D <= 2 * r
      ? tf.matMul(x2, tf.matMul(V as tf.Tensor2D, U as tf.Tensor2D))
      : tf.matMul(tf.matMul(x2, V as tf.Tensor2D), U as tf.Tensor2D);
  return x.rank === 2 ? y : tf.reshape(y, x.shape);
}

/** α·f + β·(x + extra), no op spent on a missing α, β or extra; then ReLU when asked. */
function combine(fx: tf.Tensor, x: tf.Tensor, { extra, alpha, beta, relu }: CombineArgs = {}): tf.Tensor {
  const a = alpha ? tf.mul(alpha, fx) : fx;
  let y: tf.Tensor;
  if (!beta) y = extra ? tf.addN([a, x, extra]) : tf.add(a, x);
  else y = tf.add(a, tf.mul(beta, extra ? tf.add(x, extra) : x));
  return relu ? tf.relu(y) : y;
}

const GELU_A = 2 * Math.sqrt(2 / Math.PI);

/**
 * gelu(x) = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) = x·σ(2√(2/π)·(x + 0.044715·x³)), computed in the σ form,
 * which needs fewer ops (Hendrycks & Gimpel; GPT-2).
 */
function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.mul(x, tf.sigmoid(tf.mul(x, tf.add(tf.mul(tf.square(x), GELU_A * 0.044715), GELU_A)))),
  );
}

/** Layer norm with its gradient written out (one backward pass instead of tfjs's chain of mean/sub/rsqrt grads). */
function layerNorm(
  x: tf.Tensor,
  gamma: tf.Tensor | undefined,
  beta: tf.Tensor | undefined,
  eps: number,
): tf.Tensor {
  const d = x.shape[x.rank - 1];
  const norm = customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const centered = tf.sub(xi, tf.mean(xi, -1, true));
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centered), -1, true), eps));
    const xHat = tf.mul(centered, rstd);
    save([xHat, rstd, g]);
    return {
      value: tf.mul(xHat, g),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, r, gs] = saved;
        const dxHat = tf.mul(dy, gs);
        const lead = xh.shape.slice(0, -1).map((_, i) => i);
        const dGamma = tf.sum(tf.mul(dy, xh), lead);
        // ∂L/∂x = rstd · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)), means over the last axis.
        const proj = tf.mul(xh, tf.div(tf.sum(tf.mul(dxHat, xh), -1, true), d));
        const dx = tf.mul(tf.sub(tf.sub(dxHat, tf.div(tf.sum(dxHat, -1, true), d)), proj), r);
        return [dx, dGamma];
      },
    };
  });
  return tf.tidy(() => {
    const y = norm(x, gamma ?? tf.ones([d]));
    return beta ? tf.add(y, beta) : y;
  });
}

/** softmax(scale·S + M), M[i, j] = −1e9 for keys j past the query's position N − T + i (exp gives exactly 0). */
function causalSoftmax(scores: tf.Tensor, scale: number): tf.Tensor {
  const [t, n] = scores.shape.slice(-2);
  const offset = n - t;
  if (!(offset >= 0)) throw new Error(`causalSoftmax: more queries (${t}) than keys (${n})`);
  return tf.tidy(() => {
    const scaled = tf.mul(scores, scale);
    if (t === 1) return tf.softmax(scaled); // one query at the last position sees every key
    const mask = new Float32Array(t * n);
    for (let i = 0; i < t; i++) mask.fill(-1e9, i * n + offset + i + 1, (i + 1) * n);
    return tf.softmax(tf.add(scaled, tf.tensor2d(mask, [t, n])));
  });
}

/**
 * Runs a tf.customGrad function whose forward also produces side outputs without gradient (batch statistics),
 * and returns those in the caller's scope: the forward runs in a scope that disposes what it does not return,
 * so `side` receives kept copies, re-homed here so that an enclosing tidy disposes them.
 */
export function withSideOutputs(run: (keep: (ts: tf.Tensor[]) => void) => tf.Tensor): {
  value: tf.Tensor;
  side: tf.Tensor[];
} {
  let kept: tf.Tensor[] = [];
  const value = run((ts) => {
    kept = ts.map((t) => tf.keep(tf.clone(t)));
  });
  const side = kept.map((t) => {
    const c = tf.clone(t);
    t.dispose();
    return c;
  });
  return { value, side };
}

/** Inference-mode batch norm with given statistics, (x − mean)·rsqrt(variance + eps)·γ + β; then ReLU when asked. */
function batchNorm(x: tf.Tensor, { mean, variance, gamma, beta, eps, relu }: BatchNormArgs): tf.Tensor {
  return tf.tidy(() => {
    const y = tf.batchNorm(x, mean, variance, beta, gamma, eps);
    return relu ? tf.relu(y) : y;
  });
}

/**
 * Training-mode batch norm: mean and biased variance over every axis but the last,
 * y = (x − mean)·rsqrt(var + eps)·γ + β, with its gradient written out; then ReLU when asked.
 */
function batchNormTrain(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps: number,
  relu: boolean,
): BatchNormStats {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const n = x.size / x.shape[x.rank - 1];
  const { value, side } = withSideOutputs((keep) =>
    customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const mean = tf.mean(xi, axes);
      const centered = tf.sub(xi, mean);
      const variance = tf.mean(tf.square(centered), axes);
      const rstd = tf.rsqrt(tf.add(variance, eps));
      const xHat = tf.mul(centered, rstd);
      keep([mean, variance]);
      save([xHat, tf.mul(rstd, g)]);
      return {
        value: tf.add(tf.mul(xHat, g), b),
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xh, scale] = saved;
          const dBeta = tf.sum(dy, axes);
          const dGamma = tf.sum(tf.mul(dy, xh), axes);
          const inner = tf.sub(tf.sub(dy, tf.div(dBeta, n)), tf.mul(xh, tf.div(dGamma, n)));
          return [tf.mul(inner, scale), dGamma, dBeta];
        },
      };
    })(x, gamma, beta),
  );
  const [mean, variance] = side;
  return { y: relu ? tf.relu(value) : value, mean, variance };
}

export const referenceOps: Ops = {
  name: 'reference',
  combine,
  lowRank,
  lowRankCombine: (fx, x, V, U, args = {}) => combine(fx, x, { ...args, extra: lowRank(x, V, U) }),
  gelu,
  layerNorm,
  batchNorm,
  batchNormTrain,
  causalSoftmax,
};
