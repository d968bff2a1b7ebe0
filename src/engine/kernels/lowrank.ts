// LaurelLowRankCombine and its gradient: RW+LR (and LR) in one kernel each way,
//   out = α·fx + β·(x + (x·V)·U),   x, fx: [M, D],  V: [D, r],  U: [r, D],  α, β scalars (absent: 1).
// Two associations of the same product:
//   folded:  out = α·fx + x·B,  B = β·(I + V·U) [D, D]: one GEMM over the M rows each way, and no [M, D]
//            temporaries besides the outputs (the low-rank term, the β·x term and the identity ride in B);
//   split:   out = α·fx + β·x + (x·V)·(β·U): the [M, r] projection T = x·V, then one accumulating GEMM.
// Both compute the same formula with the same inputs and outputs; only speed and float rounding differ, so the
// choice is this kernel's own performance decision, not a model attribute the caller passes. Folding costs D²
// per row against 2·D·r, so it wins on FLOPs for D ≤ 2r (the same count that src/laurel/math.ts lowRank makes
// for its tf-op association, an independent choice); for D ≤ 64 on AVX-512 (D ≤ 32 on AVX2: the addon's
// rowsMaxD) the addon does the folded form in one pass over the rows each way (lowRankCombineRows / ...GradRows),
// which beats the split form's several passes for any r (memory, not FLOPs, bounds these rows).
// The tall GEMMs on the M rows run on the addon's skinny kernels (batchGemm routes them there).
import { BINARY, UNARY } from './elementwise.ts';
import {
  type Backend,
  type KernelArgs,
  type KernelFunc,
  type Kernels,
  type TensorInfo,
  addon,
  combineWeightGrads,
  combineWeights,
  f32,
  output,
} from './util.ts';

const ZERO = Int32Array.of(0);
const ONE = Int32Array.of(1);

/** C[m, n] = op(A)·op(B) through the addon's routing (own skinny kernels, else OpenBLAS). */
function mm(
  ta: boolean,
  tb: boolean,
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
) {
  addon().batchGemm(ta, tb, m, n, k, a, b, c, ZERO, ZERO);
}

/** The scalars α and β (1 when absent): combineWeights, which these kernels take only as scalars. */
function weights(be: Backend, inputs: KernelArgs['inputs']) {
  const { a, b } = combineWeights(be, inputs);
  return { a: a ? a[0] : 1, b: b ? b[0] : 1 };
}

/** W = I + V·U and the folded matrix B = β·W ([D, D], row-major), for the D ≤ 2r association. */
function foldLowRank(V: Float32Array, U: Float32Array, d: number, r: number, beta: number) {
  const W = new Float32Array(d * d);
  addon().smallGemm(false, false, d, d, r, 1, V, U, 0, W);
  for (let i = 0; i < d; i++) W[i * d + i] += 1;
  return { W, B: W.map((w) => beta * w) };
}

/** Whether the addon's one-pass row kernels take this width (x86-64 with AVX-512 or AVX2; its rowsMaxD). */
function rowKernels(d: number): boolean {
  return d <= (addon().rowsMaxD ?? 0) && addon().lowRankCombineRows !== undefined;
}

interface Dims {
  m: number;
  d: number;
  r: number;
}

/** Whether to use the folded form x·B (see the header). */
function folded({ d, r }: Dims): boolean {
  return d <= 2 * r || rowKernels(d);
}

function dims(x: TensorInfo, V: TensorInfo): Dims {
  const d = x.shape[x.shape.length - 1];
  return { m: x.shape.reduce((p, q) => p * q, 1) / d, d, r: V.shape[1] };
}

/** In place: v = ReLU(v), NaN passing (tf.relu). */
function reluInPlace(v: Float32Array): void {
  addon().unary(UNARY.Relu, v, v);
}

// With attrs.relu the forward ends in ReLU, and the gradient takes the forward's output as input y: dy·step(y)
// stands for dy (inside the row kernels; one masking pass on the other paths).
function lowRankCombine({ inputs, backend: be, attrs }: KernelArgs): TensorInfo {
  const { fx, x, V, U } = inputs;
  const relu = attrs?.relu === true;
  const dm = dims(x, V);
  const { m, d, r } = dm;
  const [xv, vv, uv] = [f32(be, x), f32(be, V), f32(be, U)];
  const { a, b } = weights(be, inputs);
  const out = be.alloc(m * d);
  if (folded(dm)) {
    const { B } = foldLowRank(vv, uv, d, r, b);
    if (rowKernels(d)) {
      addon().lowRankCombineRows!(f32(be, fx), xv, B, a, out, d, relu);
      return output(be, x.shape.slice(), out);
    }
    mm(false, false, m, d, d, xv, B, out);
    addon().combine(f32(be, fx), out, null, Float32Array.of(a), null, out, d); // out = α·fx + out, in place
  } else {
    addon().combine(f32(be, fx), xv, null, Float32Array.of(a), Float32Array.of(b), out, d);
    const T = be.alloc(m * r);
    mm(false, false, m, r, d, xv, vv, T);
    addon().gemm(false, false, m, d, r, b, T, uv, 1, out);
    be.free?.(T);
  }
  if (relu) reluInPlace(out);
  return output(be, x.shape.slice(), out);
}

function lowRankCombineGrad({ inputs, backend: be, attrs }: KernelArgs): TensorInfo[] {
  const { dy, fx, x, V, U, y } = inputs;
  const dm = dims(x, V);
  const { m, d, r } = dm;
  const [xv, vv, uv] = [f32(be, x), f32(be, V), f32(be, U)];
  const rows = y !== undefined && folded(dm) && rowKernels(d);
  let g = f32(be, dy);
  if (y && !rows) {
    const masked = be.alloc(m * d);
    addon().binary(BINARY.reluGrad, g, f32(be, y), masked, Int32Array.of(m * d), ONE, ONE);
    g = masked;
  }
  const { a, b } = weights(be, inputs);
  const dfx = be.alloc(m * d);
  const dx = be.alloc(m * d);
  const dV = be.alloc(d * r);
  const dU = be.alloc(r * d);
  const dAlpha = new Float32Array(1);
  const dBeta = new Float32Array(1);
  if (folded(dm)) {
    // dfx = α·dy and dα = Σ dy·fx in one pass; dx = dy·Bᵀ; dB = xᵀ·dy, from which dβ, dV and dU follow.
    const { W, B } = foldLowRank(vv, uv, d, r, b);
    const G = new Float32Array(d * d); // ∂L/∂B = xᵀ·dy
    if (rowKernels(d)) {
      addon().lowRankCombineGradRows!(g, f32(be, fx), xv, B, a, dfx, dx, G, dAlpha, d, y ? f32(be, y) : null);
    } else {
      addon().combineGrad(g, f32(be, fx), xv, null, Float32Array.of(a), null, dfx, null, dAlpha, null, d);
      mm(false, true, m, d, d, g, B, dx);
      mm(true, false, d, d, m, xv, g, G);
    }
    let s = 0;
    for (let i = 0; i < G.length; i++) s += G[i] * W[i];
    dBeta[0] = s;
    addon().smallGemm(false, true, d, r, d, b, G, uv, 0, dV); // ∂L/∂V = β·G·Uᵀ
    addon().smallGemm(true, false, r, d, d, b, vv, G, 0, dU); // ∂L/∂U = β·Vᵀ·G
  } else {
    // dfx, dx = β·dy, dα, and Σ dy·x (the x part of dβ) in one pass; then the low-rank path's terms.
    addon().combineGrad(
      g,
      f32(be, fx),
      xv,
      null,
      Float32Array.of(a),
      Float32Array.of(b),
      dfx,
      dx,
      dAlpha,
      dBeta,
      d,
    );
    const S = be.alloc(m * r);
    mm(false, true, m, r, d, g, uv, S); // S = dy·Uᵀ
    addon().gemm(false, true, m, d, r, b, S, vv, 1, dx); // dx += β·S·Vᵀ
    addon().gemm(true, false, d, r, m, b, xv, S, 0, dV); // ∂L/∂V = β·xᵀ·S
    const T = be.alloc(m * r);
    mm(false, false, m, r, d, xv, vv, T); // T = x·V, recomputed rather than kept from the forward
    const P = new Float32Array(r * d);
    mm(true, false, r, d, m, T, g, P); // P = Tᵀ·dy
    let s = 0;
    for (let i = 0; i < P.length; i++) {
      s += P[i] * uv[i];
      dU[i] = b * P[i]; // ∂L/∂U = β·P
    }
    dBeta[0] += s; // dβ = Σ dy·(x + T·U)
    be.free?.(S);
    be.free?.(T);
  }
  if (y && !rows) be.free?.(g);
  return [
    output(be, x.shape.slice(), dfx),
    output(be, x.shape.slice(), dx),
    output(be, V.shape.slice(), dV),
    output(be, U.shape.slice(), dU),
    ...combineWeightGrads(be, inputs, dAlpha, dBeta),
  ];
}

export function registerLowRank(k: Kernels): void {
  k.set('LaurelLowRankCombine', lowRankCombine as unknown as KernelFunc);
  k.set('LaurelLowRankCombineGrad', lowRankCombineGrad as unknown as KernelFunc);
}
