// What one fuzz case is: its inputs (shape, dtype, how they are made, their values), the op it runs, the attributes
// it drew (for printing), and the tolerance family its outputs and gradients are compared under.
import type * as tf from '@tensorflow/tfjs';

/**
 * How an input tensor is made: a float32, int32 or bool tensor as is, or an int32 / bool tensor cast to float32
 * (tfjs's cpu Cast keeps such a tensor's integer storage under the float32 dtype, which native kernels must read
 * by value).
 */
export type InputKind = 'float32' | 'int32' | 'bool' | 'int32>float32' | 'bool>float32';

export interface InputSpec {
  name: string;
  shape: number[];
  kind: InputKind;
  values: Float32Array | Int32Array;
  /** Differentiate with respect to this input (default: when it is float32 after any cast). */
  grad?: boolean;
}

/**
 * Tolerance families: |native − cpu| ≤ atol + rtol·|cpu| per element (`scaled`: rtol·max|cpu| over the whole
 * output instead, for outputs that are sums of many terms, whose rounding scales with the terms, not the result;
 * times √(n/1024) for a case whose largest input has n > 1024 elements, as a float32 sum's rounding grows with
 * its length — cpu sums in double, native in float32). NaN must meet NaN and ±∞ the same ∞ in every family.
 */
export interface Tol {
  rtol: number;
  atol: number;
  scaled: boolean;
}

export const FAMILIES = {
  /** Copies (slice, pad, concat, stack, tile, gather, transpose): bit-exact. */
  copy: { rtol: 0, atol: 0, scaled: false },
  /** One float operation per element (add, mul, max, neg, abs ...): a few ulps. */
  arith: { rtol: 1e-6, atol: 1e-7, scaled: false },
  /** Polynomial approximations of exp, log, tanh, erf ... (about 1 ulp each, a few composed). */
  transcendental: { rtol: 1e-5, atol: 1e-6, scaled: false },
  /** Sums of many terms in another order (reductions, softmax, norms, segment sums, optimizers). */
  reduce: { rtol: 1e-5, atol: 1e-6, scaled: true },
  /** GEMM-based: float32 dot products of length up to ~10³, blocked and FMA'd differently from tfjs's loops. */
  gemm: { rtol: 1e-4, atol: 1e-5, scaled: true },
} as const satisfies Record<string, Tol>;

export type Family = keyof typeof FAMILIES;

/**
 * Gradients go through the op's gradient kernels and the loss's Mul and Sum: one family looser (the sum over a
 * broadcast or the backward of a copy adds terms; the backward of a GEMM is a GEMM).
 */
export const GRAD_FAMILY: Record<Family, Family> = {
  copy: 'reduce',
  arith: 'reduce',
  transcendental: 'reduce',
  reduce: 'reduce',
  gemm: 'gemm',
};

export interface Case {
  inputs: InputSpec[];
  /** The drawn attributes, for the failure line. */
  attrs: Record<string, unknown>;
  family: Family;
  /** The op under test, on the tensors made from `inputs` (by name). */
  run(xs: Record<string, tf.Tensor>): tf.Tensor | tf.Tensor[];
  /** Compare gradients too (default true): of Σ_i sum(W_i·out_i), W_i random, over `gradOutputs` (default all). */
  grads?: boolean;
  gradOutputs?: number[];
  /**
   * The least magnitude the scaled tolerances take for the values (default: the inputs' mean |x|, the size of a
   * sum's terms, where a result that cancels to ~0 would give none): e.g. a sum of n terms rounds like √n of them,
   * a probability like 1.
   */
  scale?: number;
  /** As `scale`, for the gradients (default 0: max |∂L/∂·| alone), e.g. √rows for a ∂β summed over the rows. */
  gradScale?: number;
}

/** Mean |x| over the finite values of some inputs. */
export function meanAbs(inputs: InputSpec[]): number {
  let sum = 0;
  let n = 0;
  for (const s of inputs)
    for (const v of s.values)
      if (Number.isFinite(v)) {
        sum += Math.abs(v);
        n++;
      }
  return n === 0 ? 0 : sum / n;
}

export type Generator = (d: import('./draw.ts').Draw) => Case;

/** The scaled tolerances' factor for sums as long as the case's largest input (see Tol). */
export function sumLengthFactor(inputs: InputSpec[]): number {
  const n = Math.max(0, ...inputs.map((s) => s.values.length));
  return Math.max(1, Math.sqrt(n / 1024));
}

/** `x: int32>float32[2,3]`, for the failure line. */
export function describeInputs(inputs: InputSpec[]): string {
  return inputs.map((s) => `${s.name}: ${s.kind}[${s.shape.join(',')}]`).join(' ');
}
