import type * as tf from '@tensorflow/tfjs';

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

/** A residual configuration's options, apart from the variant (config.ts's ResidualConfig adds it). */
export interface ResidualOptions {
  /** r of the low-rank products. Default: the variant's (16, 64 for gemma3n), clamped to D−1 when not given. */
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
  /** LayerScale's initial λ (every channel). Default 1e-4. */
  layerScaleInit?: number;
  /** The `general` variant's g (required there). */
  g?: GeneralG;
}

/** LAUREL parameters by name (each variant's file says which it owns, their shapes and init). */
export type LaurelParams = Partial<Record<string, tf.Tensor>>;

export const DEFAULT_RANK = 16;
export const DEFAULT_GEMMA3N_RANK = 64;
export const DEFAULT_K = 3;
