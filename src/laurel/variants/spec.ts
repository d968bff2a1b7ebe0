/**
 * What a LAUREL variant is, as one record: config.ts (validation, parameter count), residual.ts (parameters,
 * forward, history), the tfjs layer and the models consult the registry (index.ts) instead of asking for
 * variant names, so that a new variant is one file here plus its tests.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../util/rng.ts';
import { DEFAULT_RANK, type LaurelParams, type ResidualOptions } from '../options.ts';

/** The tensors one forward pass sees besides the parameters. */
export interface ForwardInputs {
  /** f(x_i). */
  fx: tf.Tensor;
  /** x_i. */
  x: tf.Tensor;
  /** The earlier block inputs [x_{i-1}, x_{i-2}, …], newest first, as many as `history` asks for (or fewer). */
  prev: readonly tf.Tensor[];
  /** x̂, the pre-normed block input (variants with `xNormed`; x otherwise). */
  xHat: tf.Tensor;
  /** Return ReLU(x_{i+1}) (a ResNet block's end), fused into the combine kernel where the formula allows. */
  relu: boolean;
}

/** A residual's sizes, resolved once by config.ts: width D, rank r (0 without low-rank matrices), k (1 without PA). */
export interface Sizes {
  D: number;
  r: number;
  k: number;
}

export interface VariantSpec<N extends string = string> {
  readonly name: N;
  /** Owns RW's weights: the options rwNorm and rwPerDim apply. */
  readonly rw: boolean;
  /** Owns PA's γ over k activations: the options k and paH apply. */
  readonly pa: boolean;
  /** PA's h may be the identity (paH 'identity'); false where there is one low-rank product per j. */
  readonly paHIdentity: boolean;
  /** One (U_j, V_j) pair per earlier activation (LR+PA style), [k, D, r] and [k, r, D]. */
  readonly perJLowRank: boolean;
  /** Options of this variant alone that residualConfig keeps (validated there). */
  readonly options: readonly (keyof ResidualOptions)[];
  /** Whether the completed options own low-rank matrices U, V (the options rank and vInit then apply). */
  lowRank(opts: ResidualOptions): boolean;
  /** r when the options give none (clamped to D − 1). */
  readonly defaultRank: number;
  /** The earlier block inputs forward reads: none, the last k − 1, or all an ActivationHistory keeps. */
  readonly history: 'none' | 'k' | 'all';
  /** Reads x̂ (ResidualContext.xNormed; a layer's third input). */
  readonly xNormed: boolean;
  /** Needs the user's function g (required option; not serializable, so not offered as a tfjs layer). */
  readonly needsG: boolean;
  /**
   * Where a model puts it whatever placement is asked for: 'none' (the plain sum, no residual module),
   * 'attention' (around attention only), or undefined (where asked).
   */
  readonly fixedPlacement?: 'none' | 'attention';
  /**
   * The combine is α·f + β·(I + U·V)·x (or a special case): at a projection shortcut S, x_{i+1} = α·f + β·(I + U·V)·S·x
   * merges into one 1×1 convolution when a trained model is folded (models/fold.ts).
   */
  readonly foldsIntoShortcut: boolean;
  /** Parameters one residual adds over a plain one (the paper's formula). */
  paramCount(opts: ResidualOptions, sizes: Sizes): number;
  /** The initial value of every parameter, in registration order (random draws from `rng` in that order). */
  init(opts: ResidualOptions, sizes: Sizes, rng: Rng): [string, tf.Tensor][];
  /** x_{i+1} (no shape checks, no tidy: callers do both), through math.ts's formulas. */
  forward(opts: ResidualOptions, P: LaurelParams, inputs: ForwardInputs, sizes: Sizes): tf.Tensor;
}

type Defaults =
  | 'options'
  | 'rw'
  | 'pa'
  | 'paHIdentity'
  | 'perJLowRank'
  | 'lowRank'
  | 'defaultRank'
  | 'history'
  | 'xNormed'
  | 'needsG'
  | 'foldsIntoShortcut';

/** A variant record with the common defaults (no RW, no PA, no low-rank, no history, no extra input). */
export function defineVariant<const N extends string>(
  spec: Omit<VariantSpec<N>, Defaults> & Partial<Pick<VariantSpec<N>, Defaults>>,
): VariantSpec<N> {
  return {
    options: [],
    rw: false,
    pa: false,
    paHIdentity: false,
    perJLowRank: false,
    lowRank: () => false,
    defaultRank: DEFAULT_RANK,
    history: 'none',
    xNormed: false,
    needsG: false,
    foldsIntoShortcut: false,
    ...spec,
  };
}
