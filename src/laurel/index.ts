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
  effectiveRank,
  hasLowRank,
  hasPa,
  hasPerJLowRank,
  hasRw,
  residualConfig,
  resolveRank,
  rwParamCount,
} from './config.ts';
export { ActivationHistory } from './history.ts';
export * as laurelMath from './math.ts';
export {
  type LaurelParams,
  Residual,
  type ResidualContext,
  columnOrthogonal,
  effectiveK,
  initialParams,
  residualForward,
  xavierUniform,
} from './residual.ts';
export { type LaurelLayerArgs, LaurelResidualLayer, laurelResidual } from './layers/index.ts';
