export { CausalSelfAttention, type CausalSelfAttentionOptions } from './attention.ts';
export { BatchNorm, type BatchNormOptions } from './batchnorm.ts';
export {
  Conv2d,
  type Conv2dOptions,
  type ConvFilterGradMode,
  type Padding,
} from './conv2d.ts';
export { Embedding, type EmbeddingOptions } from './embedding.ts';
export { type InitOptions, type KernelInit, initBias, initKernel, normal, rngOf, uniform } from './init.ts';
export { LayerNorm, type LayerNormOptions } from './layernorm.ts';
export { Linear, type LinearOptions } from './linear.ts';
export { crossEntropy } from './loss.ts';
export { Mlp, type MlpOptions, gelu } from './mlp.ts';
export { Module, type NamedParam, type ParamKind } from './module.ts';
export { RMSNorm, type RMSNormOptions } from './rmsnorm.ts';
