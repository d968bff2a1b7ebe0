/**
 * `laurel`, the browser-safe core: the LAUREL configuration and math, `Residual` and `ActivationHistory` for
 * models written against tf ops, the Layers API layer `laurelResidual`, and parameter accounting. It imports
 * tfjs and nothing from Node (no `node:` module, no `process`), so it bundles for a web page; the Node engine
 * (native backend, file:// IO, data, training) is `laurel/node`.
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
