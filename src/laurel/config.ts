import type * as tf from '@tensorflow/tfjs';

/**
 * The LAUREL variants (paper eq. 2 and its special cases; see math.ts for each formula).
 * `baseline` is the plain residual `f(x) + x` (eq. 1), so that a model can switch LAUREL off by configuration.
 */
export type Variant =
  | 'baseline'
  | 'rw'
  | 'lr'
  | 'pa'
  | 'rw+lr'
  | 'rw+pa'
  | 'lr+pa'
  | 'rw+lr+pa'
  | 'gemma3n'
  | 'general';

export const VARIANTS: readonly Variant[] = [
  'baseline',
  'rw',
  'lr',
  'pa',
  'rw+lr',
  'rw+pa',
  'lr+pa',
  'rw+lr+pa',
  'gemma3n',
  'general',
];

/** How RW turns its raw parameters into (α, β). */
export type RwNorm = 'softmax' | 'sigmoid' | 'none';
/** Initialization of the down-projection V (the up-projection U is always zero, except for gemma3n). */
export type VInit = 'xavier' | 'column-orthogonal';
/** The linear map h of PA: a low-rank product U·V, or the identity. */
export type PaH = 'lowrank' | 'identity';

/**
 * The user-supplied linear g of the `general` variant (eq. 2): `x_{i+1} = α·f(x_i) + g(x_i, x_{i-1}, …)`.
 * `history` holds the earlier block inputs kept by the ActivationHistory passed to `forward`, newest first
 * (empty without one). g's own parameters, if any, belong to the caller (they are not counted by
 * `addedParams()`). g should be linear for the model to be LAUREL, but this is not checked.
 */
export type GeneralG = (x: tf.Tensor, history: readonly tf.Tensor[]) => tf.Tensor;

export interface ResidualConfig {
  variant: Variant;
  /** r of the low-rank products. Default: 16 (64 for gemma3n), clamped to D−1 when not given. */
  rank?: number;
  /** Number of activations PA combines, x_i included (k − 1 earlier block inputs). Default 3. */
  k?: number;
  /** RW normalization. Default 'softmax'. */
  rwNorm?: RwNorm;
  /** RW with length-D α and β instead of scalars. Default false. */
  rwPerDim?: boolean;
  /** V initialization. Default 'xavier'. */
  vInit?: VInit;
  /** PA's h. Default 'lowrank'. Only `pa` and `rw+pa` accept 'identity'. */
  paH?: PaH;
  /** The `general` variant's g (required there). */
  g?: GeneralG;
}

export const DEFAULT_RANK = 16;
export const DEFAULT_GEMMA3N_RANK = 64;
export const DEFAULT_K = 3;

const RW_NORMS: readonly RwNorm[] = ['softmax', 'sigmoid', 'none'];
const V_INITS: readonly VInit[] = ['xavier', 'column-orthogonal'];
const PA_HS: readonly PaH[] = ['lowrank', 'identity'];
const OPTION_KEYS = ['variant', 'rank', 'k', 'rwNorm', 'rwPerDim', 'vInit', 'paH', 'g'] as const;

export const hasRw = (v: Variant): boolean => v === 'rw' || v.startsWith('rw+');
export const hasPa = (v: Variant): boolean => v.endsWith('pa');
/** LR combined with PA: eq. 6 style, one low-rank product per earlier activation. */
export const hasPerJLowRank = (v: Variant): boolean => v === 'lr+pa' || v === 'rw+lr+pa';
/** Whether the variant owns low-rank matrices U, V (which need a rank). */
export function hasLowRank(config: ResidualConfig): boolean {
  const v = config.variant;
  if (v === 'lr' || v === 'rw+lr' || v === 'gemma3n' || hasPerJLowRank(v)) return true;
  return (v === 'pa' || v === 'rw+pa') && config.paH !== 'identity';
}

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
  if (paH === 'identity' && hasPerJLowRank(v)) {
    fail('paH', paH, `'lowrank' for variant '${v}' ('identity' only with 'pa' and 'rw+pa')`);
  }
  if (opts.g !== undefined && typeof opts.g !== 'function')
    fail('g', opts.g, 'a function (x, history) => Tensor');
  if (v === 'general' && opts.g === undefined) {
    fail('g', opts.g, "a function (x, history) => Tensor (required by variant 'general')");
  }

  const config: ResidualConfig = { variant: v };
  if (hasRw(v)) {
    config.rwNorm = rwNorm;
    config.rwPerDim = opts.rwPerDim ?? false;
  }
  if (hasPa(v)) {
    config.k = opts.k ?? DEFAULT_K;
    config.paH = paH;
  }
  if (hasLowRank({ variant: v, paH })) {
    if (opts.rank !== undefined) config.rank = opts.rank;
    config.vInit = vInit;
  }
  if (v === 'general') config.g = opts.g;
  return config;
}

/**
 * The rank a low-rank layer of width `dim` uses when `requested` is asked for (undefined: the variant's default,
 * 16 or 64 for gemma3n): min(requested, dim − 1), at least 1. At r ≥ D the product U·V is no longer low-rank,
 * so a rank set for a whole model is capped per layer where widths vary (a ResNet's stages); the one rule that
 * models, the CLI, experiments and reports share.
 */
export function effectiveRank(variant: Variant, dim: number, requested?: number): number {
  const want = requested ?? (variant === 'gemma3n' ? DEFAULT_GEMMA3N_RANK : DEFAULT_RANK);
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
  const perScalar = config.rwNorm === 'sigmoid' ? 1 : 2;
  return config.rwPerDim ? perScalar * dim : perScalar;
}

/**
 * Parameters one LAUREL layer of width `dim` adds over a plain residual (the paper's formulas):
 * baseline 0; RW 2 (sigmoid 1, per-dim 2D); LR 2rD; PA 2rD + k (identity h: k); RW+LR 2rD + 2;
 * RW+PA 2rD + k + 2; LR+PA 2rkD + k; RW+LR+PA 2rkD + k + 2; gemma3n 2rD + D (the RMSNorm scale);
 * general 1 (α; g's own parameters are the caller's). RW terms follow rwParamCount.
 */
export function addedParamCount(config: ResidualConfig, dim: number): number {
  if (!(Number.isInteger(dim) && dim >= 1))
    throw new Error(`addedParamCount: bad dim ${dim}; allowed: an integer >= 1`);
  const v = config.variant;
  if (v === 'baseline') return 0;
  if (v === 'general') return 1;
  const rw = hasRw(v) ? rwParamCount(config, dim) : 0;
  if (v === 'rw') return rw;
  if (v === 'gemma3n') return 2 * resolveRank(config, dim) * dim + dim;
  const k = config.k ?? DEFAULT_K;
  const pa = hasPa(v) ? k : 0;
  if (!hasLowRank(config)) return rw + pa; // pa / rw+pa with identity h
  const r = resolveRank(config, dim);
  const copies = hasPerJLowRank(v) ? k : 1;
  return rw + pa + 2 * r * dim * copies;
}
