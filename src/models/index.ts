import { type ResidualConfig, type Variant, residualConfig } from '../laurel/index.ts';
import { Gpt, type GptConfig, type Placement, gptConfig, gptParamCount } from './gpt.ts';
import {
  RESNET_ARCHS,
  ResNet,
  type ResNetArch,
  type ResNetBuildOptions,
  isResNetArch,
  resnetConfig,
  resnetParamCount,
} from './resnet.ts';

export * from './gpt.ts';
export * from './resnet.ts';

/** Every model name `buildModel` accepts. */
export type ModelName = ResNetArch | 'gpt';
export const MODEL_NAMES: readonly ModelName[] = [...RESNET_ARCHS, 'gpt'];

/**
 * Everything needed to build a model: a plain object (it goes into config.json as is, apart from a
 * `general` residual's function). Fields that do not apply to the model are ignored.
 */
export interface ModelSpec {
  /** Model name, see `MODEL_NAMES`. */
  model: ModelName;
  /** The residual connection: a config from `residualConfig`, or just a variant name. Default 'baseline'. */
  residual?: ResidualConfig | Variant;
  /** Naive scaling: extra blocks (ResNets, in stage `extraStage`) or extra layers (GPT). Default 0. */
  extraBlocks?: number;
  /** ResNets: 1-based stage that gets the extra blocks. Default 3 (ResNet-50's 1024-channel layer3). */
  extraStage?: number;
  /** ResNets: classifier outputs. Default 1000 (ImageNet nets) or 10 (CIFAR nets). */
  numClasses?: number;
  /** ResNets: input image channels. Default 3 (ImageNet nets) or 1 (CIFAR nets, for Fashion-MNIST). */
  inChannels?: number;
  /** GPT: layers N. Default 4. */
  layers?: number;
  /** GPT: width D. Default 128. */
  dim?: number;
  /** GPT: attention heads. Default 4. */
  heads?: number;
  /** GPT: MLP hidden width / D. Default 4. */
  mlpRatio?: number;
  /** GPT: context length. Default 128. */
  context?: number;
  /** GPT: vocabulary size. Default 256 (bytes). */
  vocab?: number;
  /** GPT: 'learned' or 'rotary' positions. Default 'learned'. */
  positions?: 'learned' | 'rotary';
  /** GPT: LAUREL placement, see gpt.ts. Default 'block'. */
  placement?: Placement;
  /** GPT: tie the output head to the token embedding. Default true. */
  tieEmbeddings?: boolean;
  /** GPT: biases in linears and LayerNorms. Default true. */
  bias?: boolean;
  /** Seed of the initial weights. Default 0. */
  seed?: number;
}

/** A built model: a classifier (`forward(x NHWC) → [N, classes]`) or an LM (`forward(tokens) → [B, T, V]`). */
export type Model = ResNet | Gpt;

export interface ParamCounts {
  /** Trainable parameters of the model the spec describes. */
  params: number;
  /** The same model with a plain residual and no extra blocks. */
  baseline_params: number;
  /** params − baseline_params. */
  added_params: number;
  /** 100 · added_params / baseline_params. */
  added_percent: number;
}

/** The ResidualConfig a spec names (a variant name, a config, or nothing: baseline). */
export function resolveResidual(r: ModelSpec['residual']): ResidualConfig {
  if (r === undefined) return residualConfig('baseline');
  // an object is checked as residualConfig checks its options (a hand-written { rank: 0 } would be capped to 1)
  return typeof r === 'string' ? residualConfig(r) : residualConfig(r.variant, r);
}

function checkModel(name: string): asserts name is ModelName {
  if (!(MODEL_NAMES as readonly string[]).includes(name)) {
    throw new Error(`bad model '${name}'; allowed: ${MODEL_NAMES.join(', ')}`);
  }
}

/** The full GptConfig a spec describes (defaults filled in, checked). */
export function gptConfigOf(spec: ModelSpec): GptConfig {
  return gptConfig({
    layers: spec.layers,
    dim: spec.dim,
    heads: spec.heads,
    mlpRatio: spec.mlpRatio,
    context: spec.context,
    vocab: spec.vocab,
    positions: spec.positions,
    tieEmbeddings: spec.tieEmbeddings,
    bias: spec.bias,
    residual: resolveResidual(spec.residual),
    placement: spec.placement,
    extraLayers: spec.extraBlocks,
    seed: spec.seed,
  });
}

/** The full ResNetConfig a spec describes (defaults filled in, checked). */
export function resnetConfigOf(spec: ModelSpec & { model: ResNetArch }) {
  return resnetConfig({
    arch: spec.model,
    numClasses: spec.numClasses,
    inChannels: spec.inChannels,
    residual: resolveResidual(spec.residual),
    extraBlocks: spec.extraBlocks,
    extraStage: spec.extraStage,
    seed: spec.seed,
  });
}

/**
 * Builds (allocates and initializes) the model a spec describes; `build`: how it runs, not stored in the spec
 * (ResNets: the conv filter-gradient path for the backend; GPT has no such choice).
 */
export function buildModel(spec: ModelSpec, build: ResNetBuildOptions = {}): Model {
  checkModel(spec.model);
  if (spec.model === 'gpt') return new Gpt(gptConfigOf(spec));
  return new ResNet(resnetConfigOf(spec as ModelSpec & { model: ResNetArch }), build);
}

/** Trainable parameters of `spec`'s model, computed from shapes only (no weights are allocated). */
function paramCount(spec: ModelSpec): number {
  checkModel(spec.model);
  if (spec.model === 'gpt') return gptParamCount(gptConfigOf(spec));
  if (isResNetArch(spec.model))
    return resnetParamCount(resnetConfigOf(spec as ModelSpec & { model: ResNetArch }));
  throw new Error(`bad model '${spec.model}'`);
}

/**
 * Parameter counts of `spec`'s model and of its baseline (plain residual, no extra blocks), without
 * allocating any weights: `laurel params` answers instantly even for large models.
 */
export function countParams(spec: ModelSpec): ParamCounts {
  const params = paramCount(spec);
  const baseline = paramCount({ ...spec, residual: 'baseline', extraBlocks: 0 });
  const added = params - baseline;
  return { params, baseline_params: baseline, added_params: added, added_percent: (100 * added) / baseline };
}
