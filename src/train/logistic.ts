/**
 * L2-regularized binary logistic regression by Newton's method (iteratively reweighted least squares), in
 * double precision: minimizes mean log-loss + λ/2·‖w‖² (bias not penalized) over features standardized with
 * the training set's mean and std. Deterministic, and converged to the unique optimum in ~10 steps for the
 * few hundred features of a probe (each step solves one (D+1)² system by Cholesky).
 */

export interface LogisticModel {
  mean: Float64Array;
  std: Float64Array;
  /** Weights on the standardized features; `bias` last. */
  w: Float64Array;
  bias: number;
  iterations: number;
}

/** Solves A·x = b for a symmetric positive definite A (row-major n×n), in place of neither. */
function choleskySolve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j]!;
      for (let k = 0; k < j; k++) s -= L[i * n + k]! * L[j * n + k]!;
      if (i === j) {
        if (!(s > 0)) throw new Error('logistic: the Hessian is not positive definite');
        L[i * n + i] = Math.sqrt(s);
      } else L[i * n + j] = s / L[j * n + j]!;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * n + k]! * y[k]!;
    y[i] = s / L[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k * n + i]! * x[k]!;
    x[i] = s / L[i * n + i]!;
  }
  return x;
}

function standardizer(X: readonly Float32Array[], d: number): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (const x of X) for (let j = 0; j < d; j++) mean[j]! += x[j]! / X.length;
  for (const x of X) for (let j = 0; j < d; j++) std[j]! += (x[j]! - mean[j]!) ** 2 / X.length;
  for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j]!) || 1;
  return { mean, std };
}

/** Fits the model to rows `X` (all of one length) and labels `y` ∈ {0, 1}. */
export function fitLogistic(
  X: readonly Float32Array[],
  y: readonly number[],
  opts: { lambda?: number; maxIterations?: number } = {},
): LogisticModel {
  const n = X.length;
  if (n === 0 || n !== y.length) throw new Error(`logistic: ${n} rows against ${y.length} labels`);
  const d = X[0]!.length;
  const lambda = opts.lambda ?? 1e-2;
  const { mean, std } = standardizer(X, d);
  const p = d + 1; // the bias is the last coordinate
  const Z = X.map((x) => {
    const z = new Float64Array(p);
    for (let j = 0; j < d; j++) z[j] = (x[j]! - mean[j]!) / std[j]!;
    z[d] = 1;
    return z;
  });
  const beta = new Float64Array(p);
  let it = 0;
  for (; it < (opts.maxIterations ?? 25); it++) {
    const H = new Float64Array(p * p);
    const g = new Float64Array(p);
    for (let i = 0; i < n; i++) {
      const z = Z[i]!;
      let s = 0;
      for (let j = 0; j < p; j++) s += z[j]! * beta[j]!;
      const q = 1 / (1 + Math.exp(-s));
      const r = (q - y[i]!) / n;
      const wgt = (q * (1 - q)) / n;
      for (let j = 0; j < p; j++) {
        g[j]! += r * z[j]!;
        const wz = wgt * z[j]!;
        for (let k = 0; k <= j; k++) H[j * p + k]! += wz * z[k]!;
      }
    }
    for (let j = 0; j < p; j++) {
      for (let k = 0; k < j; k++) H[k * p + j] = H[j * p + k]!;
      if (j < d) {
        H[j * p + j]! += lambda;
        g[j]! += lambda * beta[j]!;
      } else H[j * p + j]! += 1e-9; // keeps the system definite when one class is separable by the bias alone
    }
    const step = choleskySolve(H, g, p);
    let size = 0;
    for (let j = 0; j < p; j++) {
      beta[j]! -= step[j];
      size = Math.max(size, Math.abs(step[j]!));
    }
    if (size < 1e-8) {
      it++;
      break;
    }
  }
  return { mean, std, w: beta.slice(0, d), bias: beta[d]!, iterations: it };
}

/** P(y = 1 | x). */
export function predictLogistic(m: LogisticModel, x: Float32Array): number {
  let s = m.bias;
  for (let j = 0; j < m.w.length; j++) s += (m.w[j]! * (x[j]! - m.mean[j]!)) / m.std[j]!;
  return 1 / (1 + Math.exp(-s));
}
