/**
 * `laurel`, the browser-safe core: the LAUREL configuration and math, `Residual` and `ActivationHistory` for
 * models written against tf ops, the Layers API layer `laurelResidual`, parameter accounting, and the paper's
 * models for inference: build one (ResNets, the GPT), load its weights from safetensors bytes, fold it for
 * serving, generate text. It imports tfjs and nothing from Node (no `node:` module, no `process`), so it
 * bundles for a web page; the Node engine (native backend, files, data, training) is `laurel/node`.
 */
export * from './laurel/index.ts';
export { Module, type NamedParam, type ParamKind } from './nn/module.ts';
export {
  type BatchNormStats,
  type CombineArgs,
  type Ops,
  ops,
  referenceOps,
  registerOps,
} from './engine/ops/index.ts';
export { Rng } from './util/rng.ts';
export * from './models/index.ts';
export { type FoldedModel, type FoldSummary, describeFold, foldModel, scaledMaxDiff } from './models/fold.ts';
export { FoldedResNet } from './models/folded-resnet.ts';
export {
  type Generation,
  type SampleOptions,
  generate,
  lastLogits,
  sampleToken,
} from './models/generate.ts';
export {
  type ExportOptions,
  type ImportOptions,
  type ImportResult,
  WEIGHT_LAYOUTS,
  type WeightLayout,
  assignSafetensors,
  encodeModel,
  exportLayout,
  modelFromSafetensors,
} from './models/safetensors.ts';
export { decodeSafetensors, encodeSafetensors } from './util/safetensors.ts';
