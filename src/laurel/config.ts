import {
  DEFAULT_K,
  type GeneralG,
  type PaH,
  type ResidualOptions,
  type RwNorm,
  type VInit,
} from './options.ts';
import { type Sizes, VARIANTS, type Variant, type VariantSpec, variantSpec } from './variants/index.ts';
import { rwCount } from './variants/parts.ts';

export { variantSpec } from './variants/index.ts';

export { DEFAULT_GEMMA3N_RANK, DEFAULT_K, DEFAULT_RANK } from './options.ts';
export type { GeneralG, PaH, RwNorm, VInit } from './options.ts';
export { VARIANTS, type Variant } from './variants/index.ts';

/** A residual connection's configuration: the variant (variants/, one record each) and its options. */
export interface ResidualConfig extends ResidualOptions {
  variant: Variant;
}

const RW_NORMS: readonly RwNorm[] = ['softmax', 'sigmoid', 'none'];
const V_INITS: readonly VInit[] = ['xavier', 'column-orthogonal'];
const PA_HS: readonly PaH[] = ['lowrank', 'identity'];
const OPTION_KEYS = [
  'variant',
  'rank',
  'k',
  'rwNorm',
  'rwPerDim',
  'vInit',
  'paH',
  'layerScaleInit',
  'g',
] as const;

export const hasRw = (v: Variant): boolean => variantSpec(v).rw;
export const hasPa = (v: Variant): boolean => variantSpec(v).pa;
/** LR combined with PA: eq. 6 style, one low-rank product per earlier activation. */
export const hasPerJLowRank = (v: Variant): boolean => variantSpec(v).perJLowRank;
/** Whether the variant owns low-rank matrices U, V (which need a rank). */
export function hasLowRank(config: ResidualConfig): boolean {
  return variantSpec(config.variant).lowRank(config);
}
/** Which earlier block inputs the variant reads ('none': a model needs no ActivationHistory for it). */
export const historyUse = (v: Variant): VariantSpec['history'] => variantSpec(v).history;

function fail(field: string, got: unknown, allowed: string): never {
  const shown = typeof got === 'string' ? `'${got}'` : typeof got === 'function' ? 'a function' : String(got);
  throw new Error(`residualConfig: bad ${field} ${shown}; allowed: ${allowed}`);
}

function oneOf<T extends string>(field: string, got: unknown, allowed: readonly T[]): T {
  if (typeof got !== 'string' || !(allowed as readonly string[]).includes(got)) {
    fail(field, got, allowed.map((a) => `'${a}'`).join(', '));
  }
  return got as T;
}

/**
 * Validates and completes a configuration. Options that do not apply to the variant are dropped (so that a
 * sweep can pass one option set to every variant); options with a bad value throw an error that names the
 * field and the allowed values, whether they apply or not. Unknown option names throw too.
 * `rank < D` can only be checked once D is known: see `resolveRank`.
 */
export function residualConfig(variant: string, opts: Partial<ResidualConfig> = {}): ResidualConfig {
  const v = oneOf('variant', variant, VARIANTS);
  for (const key of Object.keys(opts)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) fail('option name', key, OPTION_KEYS.join(', '));
  }
  if (opts.variant !== undefined && opts.variant !== v) {
    fail('variant', opts.variant, `'${v}' (the first argument) or leave opts.variant out`);
  }
  if (opts.rank !== undefined && !(Number.isInteger(opts.rank) && opts.rank >= 1)) {
    fail('rank', opts.rank, 'an integer with 1 <= rank < D');
  }
  if (opts.k !== undefined && !(Number.isInteger(opts.k) && opts.k >= 1)) {
    fail('k', opts.k, 'an integer >= 1');
  }
  const rwNorm = oneOf('rwNorm', opts.rwNorm ?? 'softmax', RW_NORMS);
  if (opts.rwPerDim !== undefined && typeof opts.rwPerDim !== 'boolean')
    fail('rwPerDim', opts.rwPerDim, 'true, false');
  const vInit = oneOf('vInit', opts.vInit ?? 'xavier', V_INITS);
  const paH = oneOf('paH', opts.paH ?? 'lowrank', PA_HS);
  const spec = variantSpec(v);
  if (paH === 'identity' && spec.pa && !spec.paHIdentity) {
    fail('paH', paH, `'lowrank' for variant '${v}' ('identity' only with 'pa' and 'rw+pa')`);
  }
  const lsi = opts.layerScaleInit;
  if (lsi !== undefined && !(typeof lsi === 'number' && Number.isFinite(lsi) && lsi > 0))
    fail('layerScaleInit', lsi, 'a finite number > 0');
  if (opts.g !== undefined && typeof opts.g !== 'function')
    fail('g', opts.g, 'a function (x, history) => Tensor');
  if (spec.needsG && opts.g === undefined) {
    fail('g', opts.g, `a function (x, history) => Tensor (required by variant '${v}')`);
  }

  const config: ResidualConfig = { variant: v };
  if (spec.rw) {
    config.rwNorm = rwNorm;
    config.rwPerDim = opts.rwPerDim ?? false;
  }
  if (usesK(spec)) config.k = opts.k ?? DEFAULT_K;
  if (spec.pa) {
    config.paH = paH;
  }
  if (spec.lowRank({ paH })) {
    if (opts.rank !== undefined) config.rank = opts.rank;
    config.vInit = vInit;
  }
  for (const key of spec.options) if (opts[key] !== undefined) Object.assign(config, { [key]: opts[key] });
  if (spec.needsG) config.g = opts.g;
  return config;
}

/**
 * The rank a low-rank layer of width `dim` uses when `requested` is asked for (undefined: the variant's default,
 * 16 or 64 for gemma3n): min(requested, dim − 1), at least 1. At r ≥ D the product U·V is no longer low-rank,
 * so a rank set for a whole model is capped per layer where widths vary (a ResNet's stages); the one rule that
 * models, the CLI, experiments and reports share.
 */
export function effectiveRank(variant: Variant, dim: number, requested?: number): number {
  const want = requested ?? variantSpec(variant).defaultRank;
  return Math.max(1, Math.min(want, dim - 1));
}

/**
 * The rank actually used for width `dim`: `config.rank` when given (it must be < dim), else the default
 * (16, or 64 for gemma3n) clamped to dim − 1. Throws for variants without low-rank matrices.
 */
export function resolveRank(config: ResidualConfig, dim: number): number {
  if (!hasLowRank(config))
    throw new Error(`resolveRank: variant '${config.variant}' has no low-rank matrices`);
  if (!(Number.isInteger(dim) && dim >= 2)) {
    throw new Error(`Residual: bad dim ${dim}; allowed: an integer >= 2 for variant '${config.variant}'`);
  }
  if (config.rank === undefined) return effectiveRank(config.variant, dim);
  if (!(Number.isInteger(config.rank) && config.rank >= 1 && config.rank < dim)) {
    throw new Error(`Residual: bad rank ${config.rank}; allowed: an integer with 1 <= rank < D = ${dim}`);
  }
  return config.rank;
}

/** Parameters of RW: 2 (softmax/none), 1 (sigmoid), or D times that with rwPerDim. */
export function rwParamCount(config: ResidualConfig, dim: number): number {
  return rwCount(config, dim);
}

/** k as used by a residual: config.k for PA variants, else 1. */
export const effectiveK = (config: ResidualConfig): number =>
  usesK(variantSpec(config.variant)) ? (config.k ?? DEFAULT_K) : 1;

/** Whether option k (activations read, x_i included) applies: PA, or a variant that lists it as its own. */
const usesK = (spec: VariantSpec): boolean => spec.pa || spec.options.includes('k');

/** The sizes a residual of width `dim` has: D, the rank (resolveRank; 0 without low-rank matrices), k. */
export function sizesOf(config: ResidualConfig, dim: number): Sizes {
  return { D: dim, r: hasLowRank(config) ? resolveRank(config, dim) : 0, k: effectiveK(config) };
}

/**
 * Parameters one LAUREL layer of width `dim` adds over a plain residual (the paper's formulas, one per variant
 * file): baseline 0; RW 2 (sigmoid 1, per-dim 2D); LR 2rD; PA 2rD + k (identity h: k); RW+LR 2rD + 2;
 * RW+PA 2rD + k + 2; LR+PA 2rkD + k; RW+LR+PA 2rkD + k + 2; gemma3n 2rD + D (the RMSNorm scale);
 * general 1 (α; g's own parameters are the caller's). RW terms follow rwParamCount.
 */
export function addedParamCount(config: ResidualConfig, dim: number): number {
  if (!(Number.isInteger(dim) && dim >= 1))
    throw new Error(`addedParamCount: bad dim ${dim}; allowed: an integer >= 1`);
  return variantSpec(config.variant).paramCount(config, sizesOf(config, dim));
}
