/**
 * LAUREL's math, as pure functions of tensors (no state, no tf.tidy: callers own the scope).
 *
 * Eq. 2 of the paper:  x_{i+1} = α·f(x_i) + g(x_i, x_{i-1}, …, x_0).
 * Every variant below is a configuration of it. Notation:
 *   - fx = f(x_i), x = x_i; both have shape [..., D] (any rank ≥ 2; NHWC feature maps have D = C).
 *   - Matrices act on the last dimension only (a 1×1 convolution for NHWC).
 *   - Storage is row-vector style (like a tfjs Dense kernel, [in, out]): V is stored [D, r] (down, D→r),
 *     U is stored [r, D] (up, r→D), so the paper's column-vector U·V·x is computed as (x·V)·U.
 *   - xs = [x_i, x_{i-1}, …, x_{i-m+1}] (newest first, m ≤ k); gamma = γ, one scalar per j.
 */
import * as tf from '@tensorflow/tfjs';
import { ops } from '../engine/ops/index.ts';
import type { RwNorm } from './options.ts';

/** Eq. 1, the plain residual (the `baseline` variant):  x_{i+1} = f(x_i) + x_i. */
export function plainResidual(fx: tf.Tensor, x: tf.Tensor): tf.Tensor {
  return tf.add(fx, x);
}

/**
 * The low-rank product U·V·x on the last dimension (V: [D, r], U: [r, D]): ((x·V)·U), or x·(V·U) where that
 * costs fewer flops (the ops interface's lowRank).
 */
export function lowRank(x: tf.Tensor, V: tf.Tensor, U: tf.Tensor): tf.Tensor {
  return ops().lowRank(x, V, U);
}

/**
 * RW's normalized weights (α, β) from its raw parameters. The last axis of `w` holds the pair:
 *   softmax:  (α, β) = 2·softmax(w),  w: [2] or per-dimension [D, 2]  (w = 0 gives α = β = 1)
 *   none:     (α, β) = (w[0], w[1]),  w: [2] or [D, 2]                (init 1, 1)
 *   sigmoid:  α = σ(p), β = 1 − σ(p), p = w: [1] or [D]               (init p = 0 gives α = β = 0.5)
 * The factor 2 of softmax follows hyper-connection-factory, so that a fresh RW is a plain residual.
 * Per-dimension α and β have shape [D] and broadcast over the last dimension.
 */
export function rwAlphaBeta(norm: RwNorm, w: tf.Tensor): { alpha: tf.Tensor; beta: tf.Tensor } {
  if (norm === 'sigmoid') {
    const alpha = tf.sigmoid(w);
    return { alpha, beta: tf.sub(1, alpha) };
  }
  const pair = norm === 'softmax' ? tf.mul(tf.softmax(w), 2) : w;
  const [alpha, beta] = tf.unstack(pair, pair.rank - 1);
  return { alpha, beta };
}

/**
 * Eq. 2 with g(x_i, …) = β·(x_i + extra):
 *   x_{i+1} = α·f(x_i) + β·(x_i + extra)
 * where a missing α or β means 1 and a missing extra means 0 (no op is spent on them); `relu` returns
 * ReLU(x_{i+1}) (a ResNet block's end). The ops interface's combine: one fused kernel each way on native.
 */
export function combine(
  fx: tf.Tensor,
  x: tf.Tensor,
  extra?: tf.Tensor,
  alpha?: tf.Tensor,
  beta?: tf.Tensor,
  relu = false,
): tf.Tensor {
  return ops().combine(fx, x, { extra, alpha, beta, relu });
}

/** RW (section 2.1):  x_{i+1} = α·f(x_i) + β·x_i. */
export function rw(fx: tf.Tensor, x: tf.Tensor, alpha: tf.Tensor, beta: tf.Tensor): tf.Tensor {
  return combine(fx, x, undefined, alpha, beta);
}

/**
 * combine() with extra = U·V·x:  x_{i+1} = α·f(x_i) + β·(x_i + U·V·x_i) (then ReLU when `relu`). The ops
 * interface's lowRankCombine: on native one kernel each way that never materialises U·V·x or its gradient.
 */
export function lowRankCombine(
  fx: tf.Tensor,
  x: tf.Tensor,
  V: tf.Tensor,
  U: tf.Tensor,
  alpha?: tf.Tensor,
  beta?: tf.Tensor,
  relu = false,
): tf.Tensor {
  return ops().lowRankCombine(fx, x, V, U, { alpha, beta, relu });
}

/** LR (eq. 3):  x_{i+1} = f(x_i) + x_i + U·V·x_i. */
export function lr(fx: tf.Tensor, x: tf.Tensor, V: tf.Tensor, U: tf.Tensor): tf.Tensor {
  return lowRankCombine(fx, x, V, U);
}

/** RW+LR (eq. 5):  x_{i+1} = α·f(x_i) + β·(x_i + U·V·x_i). */
export function rwLr(
  fx: tf.Tensor,
  x: tf.Tensor,
  alpha: tf.Tensor,
  beta: tf.Tensor,
  V: tf.Tensor,
  U: tf.Tensor,
): tf.Tensor {
  return lowRankCombine(fx, x, V, U, alpha, beta);
}

/**
 * RW (eq. 4), or RW+LR (eq. 5) when V and U are given, from RW's raw parameters:
 *   (α, β) = rwAlphaBeta(norm, w);  x_{i+1} = rw(fx, x, α, β)  or  rwLr(fx, x, α, β, V, U)  (then ReLU when `relu`).
 */
export function rwFromRaw(
  norm: RwNorm,
  w: tf.Tensor,
  fx: tf.Tensor,
  x: tf.Tensor,
  V?: tf.Tensor,
  U?: tf.Tensor,
  relu = false,
): tf.Tensor {
  const { alpha, beta } = rwAlphaBeta(norm, w);
  return V && U
    ? lowRankCombine(fx, x, V, U, alpha, beta, relu)
    : combine(fx, x, undefined, alpha, beta, relu);
}

/** Σ_{j<m} γ_j·xs[j]  (gamma: [m]). */
export function weightedSum(xs: readonly tf.Tensor[], gamma: tf.Tensor): tf.Tensor {
  if (xs.length === 1) return tf.mul(xs[0], tf.reshape(gamma, []));
  const g = tf.unstack(gamma);
  return tf.addN(xs.map((xj, j) => tf.mul(xj, g[j])));
}

/**
 * PA's aggregate  Σ_{j=0..m-1} γ_j·h(x_{i-j})  with one shared linear h: identity, or U·V.
 * h is linear, so it is applied once to the γ-weighted sum:  Σ_j γ_j·U·V·x_{i-j} = U·V·(Σ_j γ_j·x_{i-j}).
 */
export function paAggregate(
  xs: readonly tf.Tensor[],
  gamma: tf.Tensor,
  V?: tf.Tensor,
  U?: tf.Tensor,
): tf.Tensor {
  const s = weightedSum(xs, gamma);
  return V && U ? lowRank(s, V, U) : s;
}

/**
 * PA (long version):  x_{i+1} = f(x_i) + x_i + Σ_{j=0..m-1} γ_j·h(x_{i-j}),   h = U·V (shared) or identity.
 * RW+PA (our choice): x_{i+1} = α·f(x_i) + β·(x_i + Σ_j γ_j·h(x_{i-j}))  (pass alpha and beta).
 * xs = [x_i, x_{i-1}, …]; m = xs.length ≤ k, gamma: [m].
 *
 * Ambiguities and choices:
 *   - The short paper folds the identity into h (W = AB + I); the long version writes the explicit + x_i.
 *     We follow the long version: the explicit x_i keeps the plain residual path, so with U = 0 (or γ = 0
 *     for identity h) PA is exactly f + x at init.
 *   - NOTES writes RW+PA as α·f + β·Σ_j γ_j·h(x_{i-j}) without x_i; we keep x_i inside β(…), the same shape
 *     as eq. 5 (RW+LR), for the same reason (without it a zero-init U would drop the residual path).
 *   - One h shared by all j (2rD + k parameters, as the paper counts PA). Since h is linear it is applied
 *     once to the γ-weighted sum (2 matmuls instead of 2m).
 *   - The sum runs over the m ≤ k activations that exist: the first blocks of a model use fewer.
 */
export function pa(
  fx: tf.Tensor,
  xs: readonly tf.Tensor[],
  gamma: tf.Tensor,
  V?: tf.Tensor,
  U?: tf.Tensor,
  alpha?: tf.Tensor,
  beta?: tf.Tensor,
): tf.Tensor {
  return combine(fx, xs[0], paAggregate(xs, gamma, V, U), alpha, beta);
}

/**
 * Σ_{j=0..m-1} γ_j·U_j·V_j·x_{i-j}, one low-rank product per earlier activation, batched:
 *   S = stack_j(x_{i-j}) [m, N, D];  Z = (S·V) ⊙ γ [m, N, r];  Σ_j (Z·U)_j [N, D].
 * V: [m, D, r], U: [m, r, D], gamma: [m] (already cut to the m available activations).
 */
export function perJLowRankSum(
  xs: readonly tf.Tensor[],
  gamma: tf.Tensor,
  V: tf.Tensor,
  U: tf.Tensor,
): tf.Tensor {
  const shape = xs[0].shape;
  const D = shape[shape.length - 1];
  const m = xs.length;
  const S = tf.reshape(tf.stack(xs as tf.Tensor[]), [m, -1, D]) as tf.Tensor3D;
  const Z = tf.mul(tf.matMul(S, V as tf.Tensor3D), tf.reshape(gamma, [m, 1, 1])) as tf.Tensor3D;
  return tf.reshape(tf.sum(tf.matMul(Z, U as tf.Tensor3D), 0), shape);
}

/**
 * LR+PA:     x_{i+1} = f(x_i) + x_i + Σ_j γ_j·U_j·V_j·x_{i-j}                       (2rkD + k params)
 * RW+LR+PA (eq. 6): x_{i+1} = α·f(x_i) + β·(x_i + Σ_j γ_j·U_j·V_j·x_{i-j})     (2rkD + k + 2 params)
 * Choices: one (U_j, V_j) per j, as eq. 6 and its count 2rkD + k + 2 imply; LR+PA (which the paper does
 * not write out) is eq. 6 without RW. The explicit x_i is kept, as in PA (NOTES' eq. 6 omits it).
 */
export function lrPa(
  fx: tf.Tensor,
  xs: readonly tf.Tensor[],
  gamma: tf.Tensor,
  V: tf.Tensor,
  U: tf.Tensor,
  alpha?: tf.Tensor,
  beta?: tf.Tensor,
): tf.Tensor {
  return combine(fx, xs[0], perJLowRankSum(xs, gamma, V, U), alpha, beta);
}

/** RMSNorm over the last dimension with a learned scale (Gemma 3n's: y·rsqrt(mean(y²) + ε)·scale, ε = 1e-6). */
export function rmsNorm(y: tf.Tensor, scale: tf.Tensor, eps = 1e-6): tf.Tensor {
  const ms = tf.mean(tf.square(y), -1, true);
  return tf.mul(tf.mul(y, tf.rsqrt(tf.add(ms, eps))), scale);
}

/**
 * Gemma 3n's LAUREL block (around attention):
 *   laurel  = x̂ + RMSNorm(U·V·x̂)          (x̂: the pre-normed block input)
 *   x_{i+1} = (x_i + f(x_i) + laurel) / √2
 */
export function gemma3n(
  fx: tf.Tensor,
  x: tf.Tensor,
  xHat: tf.Tensor,
  V: tf.Tensor,
  U: tf.Tensor,
  scale: tf.Tensor,
  eps = 1e-6,
): tf.Tensor {
  return tf.mul(tf.addN([x, fx, xHat, rmsNorm(lowRank(xHat, V, U), scale, eps)]), Math.SQRT1_2);
}

/** General form (eq. 2) with a user-supplied g:  x_{i+1} = α·f(x_i) + g(x_i, x_{i-1}, …). */
export function general(fx: tf.Tensor, alpha: tf.Tensor, gx: tf.Tensor): tf.Tensor {
  return tf.add(tf.mul(alpha, fx), gx);
}

/**
 * ReZero (Bachlechner et al. 2020):  x_{i+1} = x_i + a·f(x_i),  a a learned scalar initialised at 0, so every
 * block starts as the identity (not the plain residual). Eq. 2 with α = a and g = identity.
 */
export function rezero(fx: tf.Tensor, x: tf.Tensor, a: tf.Tensor, relu = false): tf.Tensor {
  return combine(fx, x, undefined, a, undefined, relu);
}

/**
 * LayerScale (Touvron et al. 2021, CaiT):  x_{i+1} = x_i + diag(λ)·f(x_i),  λ [D] learned per channel, initialised
 * small (ε: 0.1 for shallow nets down to 1e-6 for deep ones in the paper), so a block starts near the identity.
 */
export function layerScale(fx: tf.Tensor, x: tf.Tensor, lambda: tf.Tensor, relu = false): tf.Tensor {
  return combine(fx, x, undefined, lambda, undefined, relu);
}

/**
 * DenseFormer's depth-weighted average (Pagliardini et al. 2024) in LAUREL's harness, the `dwa` variant:
 *   x_{i+1} = a_0·(x_i + f(x_i)) + Σ_{j=0..m-1} a_{j+1}·x_{i-j}
 * xs = [x_i, x_{i-1}, …] (m ≤ k block inputs), a: [m + 1], init (1, 0, …, 0): the plain residual.
 * DenseFormer averages the block outputs h_0 = x_0, h_j = x_{j-1} + f(x_{j-1}); the history holds block inputs
 * x_j instead (each itself an average of h_0 … h_j with weight a_0 on h_j), a reparameterization that spans the
 * same sums while the a_0 stay non-zero and equals DenseFormer exactly at init (x_j = h_j). k bounds the window
 * (DenseFormer's full form: k = depth; its dilated and periodic forms are other sparsity patterns).
 */
export function dwa(fx: tf.Tensor, xs: readonly tf.Tensor[], a: tf.Tensor): tf.Tensor {
  const [a0, rest] = tf.split(a, [1, xs.length]);
  return tf.add(tf.mul(tf.add(fx, xs[0]), tf.reshape(a0, [])), weightedSum(xs, rest));
}
