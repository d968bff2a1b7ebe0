// The native backend's implementation of the ops interface (./ops): each op runs as one native kernel forward
// and one backward (customGrad over the `Laurel…` kernels, ./ops/custom-grad.ts, which runs the forward alone
// where no gradient tape records; inference-mode batch norm, whose backward is rare,
// has a gradient in tf ops registered for its kernel). The fused* functions return null where their
// kernel does not apply (another backend, non-float32, shapes it does not cover), and nativeOps then runs the
// reference formula: the formulas are written once, in ops/reference.ts. Also the fused optimizer steps.
import * as tf from '@tensorflow/tfjs';
import { NATIVE_BACKEND } from './backend.ts';
import { customGrad } from './ops/custom-grad.ts';
import { referenceOps, withSideOutputs } from './ops/reference.ts';
import type { BatchNormArgs, BatchNormStats, CombineArgs, Ops } from './ops/types.ts';
import type { AdamWStep, SgdStep } from './optim-steps.ts';

export type { AdamWStep, SgdStep } from './optim-steps.ts';

function usable(...ts: tf.Tensor[]): boolean {
  if (tf.getBackend() !== NATIVE_BACKEND) return false;
  if (ts[0].size === 0) return false; // the kernels take at least one element; the reference ops handle empties
  const shape = ts[0].shape.join(',');
  return ts.every((t) => t.dtype === 'float32' && t.shape.join(',') === shape);
}

/** A float32 vector of length n: the per-channel (last-dimension) parameter the norm kernels take. */
function channelVector(t: tf.Tensor, n: number): boolean {
  return t.dtype === 'float32' && t.rank === 1 && t.shape[0] === n;
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
  const f = customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
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
 * The combine relu?(α·f + β·(x + extra)) as one kernel each way, α and β scalars ([] or [1]) or per last
 * dimension ([D]); null where it does not apply.
 */
export function fusedCombine(fx: tf.Tensor, x: tf.Tensor, args: CombineArgs = {}): tf.Tensor | null {
  const { extra, alpha, beta, relu = false } = args;
  const d = fx.shape[fx.rank - 1] ?? 1;
  const ok =
    fx.rank >= 1 &&
    usable(...[fx, x, extra].filter((t): t is tf.Tensor => t !== undefined)) &&
    scalarOrLastDim(alpha, d) &&
    scalarOrLastDim(beta, d);
  if (!ok) return null;
  if (relu && !extra && !alpha && !beta) return addRelu(fx, x);
  if (relu && extra) {
    // The kernels' ReLU form takes no extra term: ReLU as its own op.
    const y = fusedCombine(fx, x, { extra, alpha, beta });
    return y && tf.relu(y);
  }
  // The kernel returns dfx, dx, then dα and dβ flat: extra's gradient is dx again, and α, β keep their shapes.
  return kernelWithGrad(
    'LaurelCombine',
    present({ fx, x, extra, alpha, beta }),
    { relu },
    ([dfx, dx, ...rest], s) => [
      dfx,
      dx,
      ...(extra ? [tf.clone(dx)] : []),
      ...(alpha ? [tf.reshape(rest.shift()!, s.alpha.shape)] : []),
      ...(beta ? [tf.reshape(rest.shift()!, s.beta.shape)] : []),
    ],
  );
}

/**
 * ReLU(a + b), a ResNet block's residual add and final activation: one kernel forward; the backward is one
 * pass, tfjs's ReLU gradient dy·step(y), whose result both inputs share.
 */
function addRelu(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const f = customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
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
 * The combine with its low-rank term, relu?(α·f + β·(x + (x·V)·U)) (V [D, r], U [r, D] on the last dimension),
 * as one kernel each way: no [.., D] temporaries for the low-rank term or its gradient, and x's gradient comes
 * out whole. Scalar α, β only; null where it does not apply.
 */
export function fusedLowRankCombine(
  fx: tf.Tensor,
  x: tf.Tensor,
  V: tf.Tensor,
  U: tf.Tensor,
  args: Omit<CombineArgs, 'extra'> = {},
): tf.Tensor | null {
  const { alpha, beta, relu = false } = args;
  const scalarParam = (t?: tf.Tensor) => t === undefined || (t.dtype === 'float32' && t.size === 1);
  const ok =
    x.rank >= 1 && usable(fx, x) && lowRankShapes(x, V, U) && scalarParam(alpha) && scalarParam(beta);
  if (!ok) return null;
  return kernelWithGrad('LaurelLowRankCombine', present({ fx, x, V, U, alpha, beta }), { relu });
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
  const f = customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
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

/** GELU (the reference formula's σ form) as one kernel each way; null where it does not apply. */
export function fusedGelu(x: tf.Tensor): tf.Tensor | null {
  if (!usable(x)) return null;
  const f = customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
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

/** Layer norm (γ, β of shape [D] or absent) as one kernel forward and one backward (dx, dγ, dβ); null elsewhere. */
export function fusedLayerNorm(
  x: tf.Tensor,
  gamma?: tf.Tensor,
  beta?: tf.Tensor,
  eps = 1e-5,
): tf.Tensor | null {
  const d = x.shape[x.rank - 1];
  const okParam = (t?: tf.Tensor) => t === undefined || channelVector(t, d);
  if (!usable(x) || x.rank < 1 || !okParam(gamma) || !okParam(beta)) return null;
  const names = ['x', ...(gamma ? ['gamma'] : []), ...(beta ? ['beta'] : [])];
  const ins = [x, gamma, beta].filter((t): t is tf.Tensor => t !== undefined);
  const f = customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const ts = args.slice(0, -1) as tf.Tensor[];
    const named = Object.fromEntries(names.map((n, i) => [n, ts[i]])) as Record<string, tf.Tensor>;
    const [y, mean, rstd] = tf.engine().runKernel('LaurelLayerNorm', named, { eps }) as tf.Tensor[];
    save([named.x, mean, rstd, ...(gamma ? [named.gamma] : [])]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, m, r, g] = saved;
        return tf
          .engine()
          .runKernel(
            'LaurelLayerNormGrad',
            { dy, x: xs, mean: m, rstd: r, ...(g ? { gamma: g } : {}) },
            { withGamma: gamma !== undefined, withBeta: beta !== undefined },
          ) as tf.Tensor[];
      },
    };
  });
  return f(...ins);
}

/**
 * Training-mode batch norm (+ ReLU) as one kernel forward and one backward (dx, dγ, dβ; with relu the mask is
 * recomputed from x, so BN + ReLU cost the passes of BN alone); null where it does not apply.
 */
export function fusedBatchNormTrain(
  x: tf.Tensor,
  gamma: tf.Tensor,
  beta: tf.Tensor,
  eps = 1e-5,
  relu = false,
): BatchNormStats | null {
  const c = x.shape[x.rank - 1];
  if (!usable(x) || x.rank < 2 || !channelVector(gamma, c) || !channelVector(beta, c)) return null;
  const { value, side } = withSideOutputs((keep) =>
    customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      const [y, mean, variance] = tf
        .engine()
        .runKernel('LaurelBatchNormTrain', { x: xi, gamma: g, beta: b }, { eps, relu }) as tf.Tensor[];
      save([xi, mean, variance, g, b]);
      keep([mean, variance]);
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
    })(x, gamma, beta),
  );
  return { y: value, mean: side[0], variance: side[1] };
}

/**
 * Inference-mode batch norm (+ ReLU) as one kernel, LaurelBatchNorm (tfjs's op is FusedBatchNorm, a Reshape, and
 * Relu when asked); null where it does not apply. Its gradient is registered with the backend (backend.ts).
 */
export function fusedBatchNorm(x: tf.Tensor, args: BatchNormArgs): tf.Tensor | null {
  const { mean, variance, gamma, beta, eps, relu } = args;
  const c = x.shape[x.rank - 1];
  const params = [mean, variance, gamma, beta];
  if (!usable(x) || x.rank < 1 || x.size === 0 || !params.every((t) => channelVector(t, c))) return null;
  const inputs = { x, mean, variance, offset: beta, scale: gamma };
  return tf.engine().runKernel('LaurelBatchNorm', inputs, { varianceEpsilon: eps, relu }) as tf.Tensor;
}

/** The native backend's ops: the fused kernels where they apply, the reference formulas elsewhere. */
export const nativeOps: Ops = {
  name: 'native',
  combine: (fx, x, args) => fusedCombine(fx, x, args) ?? referenceOps.combine(fx, x, args),
  lowRank: referenceOps.lowRank,
  lowRankCombine: (fx, x, V, U, args = {}) =>
    fusedLowRankCombine(fx, x, V, U, args) ??
    nativeOps.combine(fx, x, { ...args, extra: referenceOps.lowRank(x, V, U) }),
  gelu: (x) => fusedGelu(x) ?? referenceOps.gelu(x),
  layerNorm: (x, gamma, beta, eps) =>
    fusedLayerNorm(x, gamma, beta, eps) ?? referenceOps.layerNorm(x, gamma, beta, eps),
  batchNorm: (x, args) => fusedBatchNorm(x, args) ?? referenceOps.batchNorm(x, args),
  batchNormTrain: (x, gamma, beta, eps, relu) =>
    fusedBatchNormTrain(x, gamma, beta, eps, relu) ?? referenceOps.batchNormTrain(x, gamma, beta, eps, relu),
  causalSoftmax: (scores, scale) =>
    fusedCausalSoftmax(scores, scale) ?? referenceOps.causalSoftmax(scores, scale),
};
