// Fused training helpers that run as one native kernel on the `native` backend. Each returns false (doing
// nothing) on any other backend or for non-float32 tensors, so callers keep their tf-ops path as the fallback.
import * as tf from '@tensorflow/tfjs';
import { NATIVE_BACKEND } from './backend.ts';

function usable(...ts: tf.Tensor[]): boolean {
  if (tf.getBackend() !== NATIVE_BACKEND) return false;
  const shape = ts[0].shape.join(',');
  return ts.every((t) => t.dtype === 'float32' && t.shape.join(',') === shape);
}

export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled decay for this parameter (0 for excluded kinds). */
  weightDecay: number;
  /** 1-based step count t (bias corrections 1 − β^t). */
  step: number;
}

/**
 * torch.optim.AdamW for one parameter, in one pass: p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g;
 * v ← β2·v + (1−β2)·g²; p ← p − (lr/(1−β1^t))·m / (√v/√(1−β2^t) + ε). Assigns p, m and v.
 */
export function nativeAdamW(
  p: tf.Variable,
  g: tf.Tensor,
  m: tf.Variable,
  v: tf.Variable,
  o: AdamWStep,
): boolean {
  if (!usable(p, g, m, v)) return false;
  const out = tf
    .engine()
    .runKernel('LaurelAdamW', { p, g, m, v }, { ...o } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  p.assign(out[0]);
  m.assign(out[1]);
  v.assign(out[2]);
  tf.dispose(out);
  return true;
}

export interface SgdStep {
  lr: number;
  momentum: number;
  /** L2 decay added to the gradient (torch SGD weight_decay). */
  weightDecay: number;
  nesterov: boolean;
}

/** torch.optim.SGD with momentum buffer `buf` (zeros before the first step). Assigns p and buf. */
export function nativeSgd(p: tf.Variable, g: tf.Tensor, buf: tf.Variable, o: SgdStep): boolean {
  if (!usable(p, g, buf)) return false;
  const out = tf
    .engine()
    .runKernel('LaurelSgd', { p, g, buf }, { ...o } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  p.assign(out[0]);
  buf.assign(out[1]);
  tf.dispose(out);
  return true;
}

function scalarOrLastDim(t: tf.Tensor | undefined, d: number): boolean {
  return (
    t === undefined ||
    (t.dtype === 'float32' && (t.size === 1 ? t.rank <= 1 : t.rank === 1 && t.shape[0] === d))
  );
}

/**
 * A native kernel and its `${kernel}Grad` as one tf.customGrad over named inputs: the forward runs `kernel` on
 * them, the backward runs the gradient kernel on { dy, ...inputs } (plus y, the forward's output, when
 * attrs.relu) and returns one gradient per input, in order (`fix` adjusts the kernel's outputs where they
 * differ).
 */
function kernelWithGrad(
  kernel: string,
  inputs: Record<string, tf.Tensor>,
  attrs: tf.NamedAttrMap = {},
  fix?: (grads: tf.Tensor[], saved: Record<string, tf.Tensor>) => tf.Tensor[],
): tf.Tensor {
  const names = Object.keys(inputs);
  const named = (ts: tf.Tensor[]) => Object.fromEntries(names.map((n, i) => [n, ts[i]]));
  const withY = attrs.relu === true;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const ts = args.slice(0, -1) as tf.Tensor[];
    const value = tf.engine().runKernel(kernel, named(ts), attrs) as tf.Tensor;
    save(withY ? [...ts, value] : ts);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const s = named(saved);
        const ins: tf.NamedTensorMap = { dy, ...s };
        if (withY) ins.y = saved[names.length];
        const grads = tf.engine().runKernel(`${kernel}Grad`, ins, attrs) as tf.Tensor[];
        return fix ? fix(grads, s) : grads;
      },
    };
  });
  return f(...names.map((n) => inputs[n]));
}

/** Drops the absent entries of a name → tensor map. */
function present(m: Record<string, tf.Tensor | undefined>): Record<string, tf.Tensor> {
  return Object.fromEntries(Object.entries(m).filter(([, t]) => t !== undefined)) as Record<
    string,
    tf.Tensor
  >;
}

/**
 * The LAUREL combine x_{i+1} = α·f + β·(x + extra) (missing α/β mean 1, missing extra means 0), with α and β
 * scalars ([] or [1]) or per-dimension ([D], the last dimension). On the native backend it is one kernel
 * forward and one backward (tf.customGrad); elsewhere, and for other shapes, the same formula with tf ops.
 */
export function fusedCombine(
  fx: tf.Tensor,
  x: tf.Tensor,
  extra?: tf.Tensor,
  alpha?: tf.Tensor,
  beta?: tf.Tensor,
): tf.Tensor {
  const d = fx.shape[fx.rank - 1] ?? 1;
  const fast =
    tf.getBackend() === NATIVE_BACKEND &&
    fx.rank >= 1 &&
    usable(...[fx, x, extra].filter((t): t is tf.Tensor => t !== undefined)) &&
    scalarOrLastDim(alpha, d) &&
    scalarOrLastDim(beta, d);
  if (!fast) {
    const a = alpha ? tf.mul(alpha, fx) : fx;
    if (!beta) return extra ? tf.addN([a, x, extra]) : tf.add(a, x);
    return tf.add(a, tf.mul(beta, extra ? tf.add(x, extra) : x));
  }
  // The kernel returns dfx, dx, then dα and dβ flat: extra's gradient is dx again, and α, β keep their shapes.
  return kernelWithGrad(
    'LaurelCombine',
    present({ fx, x, extra, alpha, beta }),
    {},
    ([dfx, dx, ...rest], s) => [
      dfx,
      dx,
      ...(extra ? [tf.clone(dx)] : []),
      ...(alpha ? [tf.reshape(rest.shift()!, s.alpha.shape)] : []),
      ...(beta ? [tf.reshape(rest.shift()!, s.beta.shape)] : []),
    ],
  );
}

/** V [D, r] and U [r, D] of a low-rank term on x's last dimension. */
function lowRankShapes(x: tf.Tensor, V: tf.Tensor, U: tf.Tensor): boolean {
  const d = x.shape[x.rank - 1] ?? 1;
  return (
    V.dtype === 'float32' &&
    U.dtype === 'float32' &&
    V.rank === 2 &&
    U.rank === 2 &&
    V.shape[0] === d &&
    U.shape[1] === d &&
    U.shape[0] === V.shape[1]
  );
}

/**
 * RW+LR's combine with its low-rank term, x_{i+1} = α·f + β·(x + (x·V)·U) (missing α/β mean 1; V [D, r],
 * U [r, D] on the last dimension), as one native kernel forward and one backward: no [.., D] temporaries for
 * the low-rank term or its gradient, and x's gradient comes out whole; `relu` applies ReLU to the result in the
 * same kernels (as fusedRw). Returns null where it does not apply (another backend, non-float32, per-dimension
 * α/β), so the caller keeps the formula with tf ops.
 */
export function fusedLowRankCombine(
  fx: tf.Tensor,
  x: tf.Tensor,
  V: tf.Tensor,
  U: tf.Tensor,
  alpha?: tf.Tensor,
  beta?: tf.Tensor,
  relu = false,
): tf.Tensor | null {
  const scalarParam = (t?: tf.Tensor) => t === undefined || (t.dtype === 'float32' && t.size === 1);
  const ok =
    x.rank >= 1 && usable(fx, x) && lowRankShapes(x, V, U) && scalarParam(alpha) && scalarParam(beta);
  if (!ok) return null;
  return kernelWithGrad('LaurelLowRankCombine', present({ fx, x, V, U, alpha, beta }), { relu });
}

/** RW's raw scalar pair: (α, β) = 2·softmax(w) for 'softmax', (w[0], w[1]) for 'none' (w: [2]). */
export interface RwPair {
  w: tf.Tensor;
  norm: 'softmax' | 'none';
}

/**
 * RW (eq. 4) or RW+LR (eq. 5, with V and U) straight from RW's raw pair: the kernels derive α and β from w and
 * return ∂L/∂w, so the softmax and the unstacking of the pair cost no kernel calls of their own (about ten per
 * block, forward and backward). `relu` applies ReLU to the result inside the same kernels (a ResNet block's
 * final activation; its gradient is folded into the backward kernel). Returns null where it does not apply;
 * the caller keeps the formula.
 */
export function fusedRw(
  fx: tf.Tensor,
  x: tf.Tensor,
  rw: RwPair,
  V?: tf.Tensor,
  U?: tf.Tensor,
  relu = false,
): tf.Tensor | null {
  const { w, norm } = rw;
  const ok =
    x.rank >= 1 &&
    usable(fx, x) &&
    w.dtype === 'float32' &&
    w.rank === 1 &&
    w.size === 2 &&
    (norm === 'softmax' || norm === 'none') &&
    (V === undefined || (U !== undefined && lowRankShapes(x, V, U)));
  if (!ok) return null;
  const attrs = { rwNorm: norm, relu };
  if (V && U) return kernelWithGrad('LaurelLowRankCombine', { fx, x, V, U, w }, attrs);
  return kernelWithGrad('LaurelCombine', { fx, x, w }, attrs);
}

/**
 * ReLU(a + b), a ResNet block's residual add and final activation, as one kernel forward; the backward is one
 * masking pass, dy·(y > 0), whose result both inputs share (as tf.relu(tf.add(a, b)), one kernel each way
 * instead of two). The tf ops elsewhere.
 */
export function fusedAddRelu(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (!usable(a, b) || a.rank < 1) return tf.relu(tf.add(a, b));
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [ai, bi, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const value = tf.engine().runKernel('LaurelCombine', { fx: ai, x: bi }, { relu: true }) as tf.Tensor;
    save([value]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const g = tf.engine().runKernel('LaurelReluGrad', { dy, x: saved[0] }) as tf.Tensor;
        return [g, tf.clone(g)];
      },
    };
  });
  return f(a, b);
}

/**
 * Attention's weights softmax(scale·S + M) over the last axis of S [..., T, T], M the causal mask (0 for
 * column ≤ row, −∞ past it), scale > 0. On the native backend one kernel each way that skips the masked
 * columns (no mask tensor, no separate scaling or addition, and the softmax gradient in one pass instead of
 * four tfjs ops); null elsewhere, where the caller keeps its tf ops.
 */
export function fusedCausalSoftmax(scores: tf.Tensor, scale: number): tf.Tensor | null {
  const t = scores.shape[scores.rank - 1];
  if (!usable(scores) || scores.rank < 2 || scores.shape[scores.rank - 2] !== t || !(scale > 0)) return null;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const y = tf.engine().runKernel('LaurelCausalSoftmax', { x }, { scale }) as tf.Tensor;
    save([y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel('LaurelCausalSoftmaxGrad', { dy, y: saved[0] }, { scale }) as tf.Tensor,
    };
  });
  return f(scores);
}

const GELU_A = 2 * Math.sqrt(2 / Math.PI);

/**
 * GELU, tanh approximation (as PyTorch's approximate='tanh'), in the σ form x·σ(2√(2/π)·(x + 0.044715·x³)):
 * one native kernel forward and one backward on the native backend, tf ops elsewhere.
 */
export function fusedGelu(x: tf.Tensor): tf.Tensor {
  if (!usable(x)) {
    return tf.tidy(() =>
      tf.mul(x, tf.sigmoid(tf.mul(x, tf.add(tf.mul(tf.square(x), GELU_A * 0.044715), GELU_A)))),
    );
  }
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([xi]);
    return {
      value: tf.engine().runKernel('LaurelGelu', { x: xi }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) =>
        tf.engine().runKernel('LaurelGeluGrad', { dy, x: saved[0] }) as tf.Tensor,
    };
  });
  return f(x);
}

/**
 * Layer norm over the last dimension: (x − mean)·rsqrt(var + eps)·γ + β (biased variance, as PyTorch), γ and β
 * of shape [D] or absent. On the native backend one kernel forward and one backward (dx, dγ, dβ).
 */
export function fusedLayerNorm(x: tf.Tensor, gamma?: tf.Tensor, beta?: tf.Tensor, eps = 1e-5): tf.Tensor {
  const d = x.shape[x.rank - 1];
  const okParam = (t?: tf.Tensor) =>
    t === undefined || (t.dtype === 'float32' && t.rank === 1 && t.shape[0] === d);
  if (!usable(x) || x.rank < 1 || !okParam(gamma) || !okParam(beta)) {
    return tf.tidy(() => {
      const c = tf.sub(x, tf.mean(x, -1, true));
      let y = tf.mul(c, tf.rsqrt(tf.add(tf.mean(tf.square(c), -1, true), eps)));
      if (gamma) y = tf.mul(y, gamma);
      return beta ? tf.add(y, beta) : y;
    });
  }
  const names = ['x', ...(gamma ? ['gamma'] : []), ...(beta ? ['beta'] : [])];
  const ins = [x, gamma, beta].filter((t): t is tf.Tensor => t !== undefined);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const ts = args.slice(0, -1) as tf.Tensor[];
    const named = Object.fromEntries(names.map((n, i) => [n, ts[i]])) as Record<string, tf.Tensor>;
    const [y, mean, rstd] = tf.engine().runKernel('LaurelLayerNorm', named, { eps }) as tf.Tensor[];
    save([named.x, mean, rstd, ...(gamma ? [named.gamma] : [])]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, m, r, g] = saved;
        const outs = tf
          .engine()
          .runKernel(
            'LaurelLayerNormGrad',
            { dy, x: xs, mean: m, rstd: r, ...(g ? { gamma: g } : {}) },
            { withGamma: gamma !== undefined, withBeta: beta !== undefined },
          ) as tf.Tensor[];
        return outs;
      },
    };
  });
  return f(...ins);
}

/**
 * Training-mode batch norm over every axis but the last (NHWC channels, or [N, C]): batch mean and biased
 * variance, y = (x − mean)·rsqrt(var + eps)·γ + β, then ReLU(y) when `relu` is set. Returns y with the batch
 * statistics (for the caller's running averages; PyTorch's running_var uses the unbiased var·M/(M−1)). On the
 * native backend one kernel forward and one backward (dx, dγ, dβ; with relu the mask is recomputed from x, so
 * BN + ReLU cost the passes of BN alone); `mean` and `variance` carry no gradient.
 */
export function fusedBatchNormTrain(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps = 1e-5,
  relu = false,
): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  const c = x.shape[x.rank - 1];
  const ok = (t: tf.Tensor) => t.dtype === 'float32' && t.rank === 1 && t.shape[0] === c;
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  if (!usable(x) || x.rank < 2 || !ok(gamma) || !ok(beta)) {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, axes);
      const y = tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
      return { y: relu ? tf.relu(y) : y, mean, variance };
    });
  }
  let stats: tf.Tensor[] = [];
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const [y, mean, variance] = tf
      .engine()
      .runKernel('LaurelBatchNormTrain', { x: xi, gamma: g, beta: b }, { eps, relu }) as tf.Tensor[];
    save([xi, mean, variance, g, b]);
    // The forward runs in a scope that disposes what it does not return: keep copies for the caller.
    stats = [tf.keep(tf.clone(mean)), tf.keep(tf.clone(variance))];
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, m, v, gs, bs] = saved;
        return tf
          .engine()
          .runKernel(
            'LaurelBatchNormTrainGrad',
            { dy, x: xs, mean: m, variance: v, gamma: gs, ...(relu ? { beta: bs } : {}) },
            { eps, relu },
          ) as tf.Tensor[];
      },
    };
  });
  const y = f(x, gamma, beta);
  // Re-home the kept copies in the caller's scope, so that an enclosing tidy disposes them.
  const [mean, variance] = stats.map((t) => {
    const c = tf.clone(t);
    t.dispose();
    return c;
  });
  return { y, mean, variance };
}
