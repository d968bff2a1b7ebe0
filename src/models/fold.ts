/**
 * Folding a trained model for serving: the same outputs (up to float32 rounding) with fewer operations.
 *
 * ResNets → FoldedResNet (see folded-resnet.ts for the folded block):
 *   - every batch norm into its convolution:  W' = W·g, b' = β − μ·g,  g = γ/√(σ² + ε)   (per output channel);
 *   - RW's α into the block's last convolution (after its BN):  W'·α, b'·α;
 *   - a projection shortcut s = BN(conv1×1(x)) with LAUREL's g(s) = β·(s + s·V·U) (baseline, rw, lr, rw+lr):
 *     one 1×1 convolution x·(W_d'·M) + b_d'·M,  M = (I + V·U)·diag(β)   (U, V absent: M = diag(β));
 *   - what remains (β on an identity shortcut, the low-rank term, PA's history) stays as the block's LAUREL
 *     Residual with α = 1, one fused kernel on the native backend.
 * GPT → a Gpt of the same layout (rwNorm 'none', so (α, β) are stored as numbers):
 *   - RW's α into the sublayer's output projection where LAUREL sits around one sublayer ('attention': attn.proj,
 *     'mlp': mlp.proj, 'both': each);
 *   - 'block' placement: α stays (its f = a + m, and a also feeds the MLP through h = x + a, so no single
 *     projection can absorb it); β, the low-rank term and PA's history always stay.
 * The arithmetic runs in float64 on the trained values, rounded to float32 once.
 */
import * as tf from '@tensorflow/tfjs';
import { type ResidualConfig, hasRw, residualConfig } from '../laurel/index.ts';
import type { Module } from '../nn/module.ts';
import { FoldedResNet, mergesProjection, remainderConfig } from './folded-resnet.ts';
import { Gpt, laurelSites } from './gpt.ts';
import { type Model, type ModelSpec, gptConfigOf, resnetConfigOf } from './index.ts';
import { type ResNet, type ResNetArch, blockResidual, resnetPlan } from './resnet.ts';

export type FoldedModel = FoldedResNet | Gpt;

/** Per variant, in words: what folding removes and what stays (for the CLI and the README). */
export interface FoldSummary {
  folded: string[];
  remains: string[];
}

type Values = Map<string, { data: Float64Array; shape: number[] }>;

function valuesOf(m: Module): Values {
  const out: Values = new Map();
  for (const p of [...m.namedParameters(), ...m.namedBuffers()])
    out.set(p.name, { data: Float64Array.from(p.variable.dataSync()), shape: p.variable.shape.slice() });
  return out;
}

function get(v: Values, name: string): Float64Array {
  const t = v.get(name);
  if (!t) throw new Error(`fold: the model has no '${name}'`);
  return t.data;
}

/** RW's (α, β) from its raw parameters, per output channel (length D; a scalar pair is repeated). */
function alphaBeta(
  config: ResidualConfig,
  v: Values,
  prefix: string,
  D: number,
): [Float64Array, Float64Array] {
  const a = new Float64Array(D).fill(1);
  const b = new Float64Array(D).fill(1);
  if (!hasRw(config.variant)) return [a, b];
  const norm = config.rwNorm ?? 'softmax';
  const raw = get(v, `${prefix}.${norm === 'sigmoid' ? 'p' : norm === 'none' ? 'alphaBeta' : 'w'}`);
  for (let d = 0; d < D; d++) {
    if (norm === 'sigmoid') {
      const p = raw[raw.length === 1 ? 0 : d];
      a[d] = 1 / (1 + Math.exp(-p));
      b[d] = 1 - a[d];
    } else {
      const [x, y] = raw.length === 2 ? [raw[0], raw[1]] : [raw[2 * d], raw[2 * d + 1]];
      if (norm === 'none') [a[d], b[d]] = [x, y];
      else {
        const m = Math.max(x, y);
        const ex = Math.exp(x - m);
        const ey = Math.exp(y - m);
        [a[d], b[d]] = [(2 * ex) / (ex + ey), (2 * ey) / (ex + ey)];
      }
    }
  }
  return [a, b];
}

/** Kernel [.., Cout] and bias [Cout] of conv(x) → BN, times `scale` per output channel. */
function foldBn(v: Values, conv: string, bn: string, eps: number, scale?: Float64Array) {
  const W = get(v, `${conv}.kernel`);
  const gamma = get(v, `${bn}.gamma`);
  const beta = get(v, `${bn}.beta`);
  const mean = get(v, `${bn}.runningMean`);
  const variance = get(v, `${bn}.runningVar`);
  const C = gamma.length;
  const g = gamma.map((x, c) => (x / Math.sqrt(variance[c] + eps)) * (scale ? scale[c] : 1));
  const kernel = W.map((w, i) => w * g[i % C]);
  const bias = beta.map(
    (x, c) => (x - (mean[c] * gamma[c]) / Math.sqrt(variance[c] + eps)) * (scale ? scale[c] : 1),
  );
  return { kernel, bias };
}

/** kernel [Cin, D] · M [D, D] and bias [D] · M. */
function mergeMatrix(kernel: Float64Array, bias: Float64Array, M: Float64Array, D: number) {
  const cin = kernel.length / D;
  const k = new Float64Array(cin * D);
  for (let i = 0; i < cin; i++)
    for (let j = 0; j < D; j++) {
      let s = 0;
      for (let l = 0; l < D; l++) s += kernel[i * D + l] * M[l * D + j];
      k[i * D + j] = s;
    }
  const b = new Float64Array(D);
  for (let j = 0; j < D; j++) for (let l = 0; l < D; l++) b[j] += bias[l] * M[l * D + j];
  return { kernel: k, bias: b };
}

/** Assigns float64 values to the folded model's parameter `name` (rounded to float32 once). */
function setParam(m: Module, name: string, data: ArrayLike<number>): void {
  const p = m.namedParameters().find((q) => q.name === name);
  if (!p) throw new Error(`fold: the folded model has no '${name}'`);
  if (p.variable.size !== data.length)
    throw new Error(`fold: '${name}' has ${data.length} values, the folded model ${p.variable.size}`);
  const t = tf.tensor(Float32Array.from(data), p.variable.shape);
  p.variable.assign(t);
  t.dispose();
}

/** RW's raw weights: a remainder's RW becomes (α, β) numbers ('none'), set from the folded values. */
const RW_RAW = new Set(['w', 'alphaBeta', 'p']);

/** A remainder Residual's parameters: (α, β) = (1, β) for RW, the rest copied. */
function setRemainder(
  folded: Module,
  to: string,
  config: ResidualConfig,
  rest: ResidualConfig,
  v: Values,
  from: string,
  beta: Float64Array,
  alpha?: Float64Array,
): void {
  if (rest.variant === 'baseline') return;
  if (hasRw(rest.variant)) {
    const perDim = config.rwPerDim === true;
    const D = beta.length;
    const pair = perDim ? new Float64Array(2 * D) : Float64Array.of(alpha ? alpha[0] : 1, beta[0]);
    if (perDim) for (let d = 0; d < D; d++) [pair[2 * d], pair[2 * d + 1]] = [alpha ? alpha[d] : 1, beta[d]];
    setParam(folded, `${to}.alphaBeta`, pair);
  }
  // Every other parameter of the variant (U, V, γ, normScale, ReZero's α, LayerScale's λ) as it is.
  for (const q of folded.namedParameters()) {
    const name = q.name.slice(to.length + 1);
    if (q.name.startsWith(`${to}.`) && !RW_RAW.has(name) && v.has(`${from}.${name}`))
      setParam(folded, q.name, get(v, `${from}.${name}`));
  }
}

function foldResNet(model: ResNet): FoldedResNet {
  const config = model.config;
  const folded = new FoldedResNet(config);
  const v = valuesOf(model);
  const eps = model.bn1.eps;
  const stem = foldBn(v, 'conv1', 'bn1', eps);
  setParam(folded, 'conv1.kernel', stem.kernel);
  setParam(folded, 'conv1.bias', stem.bias);
  resnetPlan(config).stages.forEach((plans, s) =>
    plans.forEach((plan, i) => {
      const p = `layer${s + 1}.${i}`;
      const D = plan.outChannels;
      const own = blockResidual(config.residual, D);
      const [alpha, beta] = alphaBeta(own, v, `${p}.residual`, D);
      const n = folded.stages[s].blocks[i].convs.length;
      for (let c = 1; c <= n; c++) {
        const f = foldBn(v, `${p}.conv${c}`, `${p}.bn${c}`, eps, c === n ? alpha : undefined);
        setParam(folded, `${p}.conv${c}.kernel`, f.kernel);
        setParam(folded, `${p}.conv${c}.bias`, f.bias);
      }
      const merged = mergesProjection(plan, config.residual);
      if (plan.downsample) {
        let sc = foldBn(v, `${p}.downsample.0`, `${p}.downsample.1`, eps);
        if (merged) {
          // M = (I + V·U)·diag(β): g(s) = β ⊙ (s + s·V·U) in row-vector form
          const M = new Float64Array(D * D);
          const V = v.get(`${p}.residual.V`);
          const U = v.get(`${p}.residual.U`);
          const r = V ? V.shape[1] : 0;
          for (let a = 0; a < D; a++)
            for (let b = 0; b < D; b++) {
              let uv = a === b ? 1 : 0;
              if (V && U) for (let l = 0; l < r; l++) uv += V.data[a * r + l] * U.data[l * D + b];
              M[a * D + b] = uv * beta[b];
            }
          sc = mergeMatrix(sc.kernel, sc.bias, M, D);
        }
        setParam(folded, `${p}.shortcut.kernel`, sc.kernel);
        setParam(folded, `${p}.shortcut.bias`, sc.bias);
      }
      setRemainder(folded, `${p}.residual`, own, remainderConfig(own, merged), v, `${p}.residual`, beta);
    }),
  );
  setParam(folded, 'fc.kernel', get(v, 'fc.kernel'));
  setParam(folded, 'fc.bias', get(v, 'fc.bias'));
  return folded.setTraining(false);
}

/** The GPT spec of the folded form: RW stored as (α, β) numbers. */
function foldedGptResidual(r: ResidualConfig): ResidualConfig {
  if (!hasRw(r.variant)) return r;
  const { variant, ...rest } = r;
  return residualConfig(variant, { ...rest, rwNorm: 'none' });
}

function foldGpt(model: Gpt): Gpt {
  const config = model.config;
  const folded = new Gpt({ ...config, residual: foldedGptResidual(config.residual) });
  const v = valuesOf(model);
  const D = config.dim;
  const laurelNames = new Set<string>();
  model.layers.forEach((layer, i) => {
    const sites: [string, string | null][] = [
      ['residual', null],
      ['residualAttn', 'attn.proj'],
      ['residualMlp', 'mlp.proj'],
    ];
    for (const [site, proj] of sites) {
      if (!layer[site as 'residual' | 'residualAttn' | 'residualMlp']) continue;
      const from = `layers.${i}.${site}`;
      for (const q of folded.namedParameters()) if (q.name.startsWith(`${from}.`)) laurelNames.add(q.name);
      const [alpha, beta] = alphaBeta(config.residual, v, from, D);
      const rest = foldedGptResidual(config.residual);
      if (proj && hasRw(config.residual.variant)) {
        // α·(x·W + b) = x·(W·diag(α)) + b·α: column d of the projection scaled by α_d
        const W = get(v, `layers.${i}.${proj}.kernel`);
        laurelNames.add(`layers.${i}.${proj}.kernel`);
        setParam(
          folded,
          `layers.${i}.${proj}.kernel`,
          W.map((w, j) => w * alpha[j % D]),
        );
        if (v.has(`layers.${i}.${proj}.bias`)) {
          laurelNames.add(`layers.${i}.${proj}.bias`);
          setParam(
            folded,
            `layers.${i}.${proj}.bias`,
            get(v, `layers.${i}.${proj}.bias`).map((b, d) => b * alpha[d]),
          );
        }
        setRemainder(folded, from, config.residual, rest, v, from, beta);
      } else setRemainder(folded, from, config.residual, rest, v, from, beta, alpha);
    }
  });
  for (const p of folded.namedParameters())
    if (!laurelNames.has(p.name)) setParam(folded, p.name, get(v, p.name));
  return folded.setTraining(false);
}

/**
 * How far apart two outputs of the same shape are, relative to the reference's scale: max |a − b| / max |b| (the
 * figure fold equivalence is stated in; a small output cannot pass trivially).
 */
export function scaledMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** The serving form of a trained model (a new model; the trained one is left as it is). */
export function foldModel(model: Model): FoldedModel {
  if (model instanceof Gpt) {
    if (model.config.residual.variant === 'general')
      throw new Error("fold: the 'general' residual (a user function) cannot be folded");
    return foldGpt(model);
  }
  return foldResNet(model);
}

/** An unfilled folded model of the spec's shape, for loading a folded checkpoint (`laurel fold --to`). */
export function foldedSkeleton(spec: ModelSpec): FoldedModel {
  if (spec.model === 'gpt') {
    const c = gptConfigOf(spec);
    return new Gpt({ ...c, residual: foldedGptResidual(c.residual) }).setTraining(false);
  }
  return new FoldedResNet(resnetConfigOf(spec as ModelSpec & { model: ResNetArch })).setTraining(false);
}

/** What folding does to a model of this spec, in words. */
export function describeFold(spec: ModelSpec): FoldSummary {
  const model = spec.model === 'gpt' ? null : resnetConfigOf(spec as ModelSpec & { model: ResNetArch });
  const r = spec.model === 'gpt' ? gptConfigOf(spec).residual : model!.residual;
  const v = r.variant;
  const rw = hasRw(v);
  const folded: string[] = [];
  const remains: string[] = [];
  if (model) {
    const plans = resnetPlan(model).stages.flat();
    const projections = plans.filter((p) => p.downsample).length;
    const merged = plans.filter((p) => mergesProjection(p, r)).length;
    const bns = plans.reduce((n, p) => n + (p.outChannels === p.planes ? 2 : 3), 1 + projections);
    folded.push(`${bns} batch norms into their convolutions`);
    if (rw) folded.push("RW's α into each block's last convolution");
    if (merged)
      folded.push(`${merged} projection shortcuts merged with β(I + V·U) into one 1×1 convolution each`);
    const identity = plans.length - merged;
    const rest = remainderConfig(r, false).variant;
    if (rest !== 'baseline' && identity)
      remains.push(`${identity} blocks keep a fused LAUREL kernel: ${remainderWords(r)}`);
  } else {
    const sites = laurelSites(gptConfigOf(spec));
    if (rw && (sites.attention || sites.mlp))
      folded.push(
        `RW's α into the ${[sites.attention && 'attention', sites.mlp && 'MLP'].filter(Boolean).join(' and ')} output projection`,
      );
    if (rw && sites.block) remains.push("RW's α ('block' placement: f = a + m, and a also feeds the MLP)");
    if (v !== 'baseline') remains.push(`a fused LAUREL kernel per site: ${remainderWords(r)}`);
  }
  if (remains.length === 0) remains.push('nothing: the plain model');
  return { folded, remains };
}

function remainderWords(r: ResidualConfig): string {
  const v = r.variant;
  const terms: string[] = [];
  if (hasRw(v)) terms.push('β');
  if (v === 'lr' || v === 'rw+lr') terms.push('the low-rank U·V·x');
  if (v.includes('pa')) terms.push("PA's history Σ_j γ_j·h(x_{i−j})");
  if (v === 'gemma3n') terms.push('x̂ + RMSNorm(U·V·x̂), /√2');
  return terms.join(', ');
}
