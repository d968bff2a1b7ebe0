export {
  DEFAULT_GEMMA3N_RANK,
  DEFAULT_K,
  DEFAULT_RANK,
  type GeneralG,
  type PaH,
  type ResidualConfig,
  type RwNorm,
  VARIANTS,
  type VInit,
  type Variant,
  addedParamCount,
  effectiveK,
  effectiveRank,
  hasLowRank,
  hasPa,
  hasPerJLowRank,
  hasRw,
  historyUse,
  residualConfig,
  resolveRank,
  rwParamCount,
  sizesOf,
  variantSpec,
} from './config.ts';
export type { LaurelParams, ResidualOptions } from './options.ts';
export type { ForwardInputs, Sizes, VariantSpec } from './variants/index.ts';
export { ActivationHistory } from './history.ts';
export * as laurelMath from './math.ts';
export { columnOrthogonal, xavierUniform } from './init.ts';
export {
  type LearnedParam,
  LEARNED_VALUES,
  Residual,
  type ResidualContext,
  initialParams,
  residualForward,
} from './residual.ts';
export { type LaurelLayerArgs, LaurelResidualLayer, laurelResidual } from './layers/index.ts';
