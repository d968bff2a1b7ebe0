/** The flag tables shared by the commands, and their translation into a model spec. */
import { BACKEND_NAMES } from '../engine/backends.ts';
import { MAX_THREADS } from '../engine/threads.ts';
import { type ResidualConfig, VARIANTS, residualConfig } from '../laurel/index.ts';
import { MODEL_NAMES, type ModelName, type ModelSpec, PLACEMENTS } from '../models/index.ts';
import { OPTIMIZERS } from '../train/optim/index.ts';
import { SCHEDULES } from '../train/schedule.ts';
import { type FlagDef, type FlagValue, UsageError } from './flags.ts';

/** Residual names the CLI accepts (`general` needs a user function, so it is library-only). */
export const RESIDUAL_NAMES = VARIANTS.filter((v) => v !== 'general');
export const TASKS = ['fashion-mnist', 'text'] as const;
export type TaskName = (typeof TASKS)[number];

const M = 'Model';
/** Depth limit for --layers and --extra-blocks: far past anything trainable here, short of a hang in building. */
const MAX_DEPTH = 10_000;

export const MODEL_FLAGS: FlagDef[] = [
  {
    name: 'model',
    type: 'string',
    choices: MODEL_NAMES,
    help: 'Model',
    group: M,
    defaultText: 'resnet20 (fashion-mnist), gpt (text)',
  },
  {
    name: 'residual',
    type: 'string',
    choices: RESIDUAL_NAMES,
    default: 'baseline',
    help: 'Residual connection (LAUREL variant)',
    group: M,
  },
  {
    name: 'rank',
    type: 'int',
    min: 1,
    help: 'Rank r of LR / PA low-rank matrices',
    group: M,
    defaultText: '16, clamped below the width',
  },
  {
    name: 'k',
    type: 'int',
    min: 1,
    help: 'PA: number of activations combined (k)',
    group: M,
    defaultText: '3',
  },
  {
    name: 'pa-h',
    type: 'string',
    choices: ['lowrank', 'identity'],
    help: "PA's linear map h",
    group: M,
    defaultText: 'lowrank',
  },
  {
    name: 'v-init',
    type: 'string',
    choices: ['xavier', 'column-orthogonal'],
    help: 'Initialization of the low-rank V',
    group: M,
    defaultText: 'xavier',
  },
  {
    name: 'rw-norm',
    type: 'string',
    choices: ['softmax', 'sigmoid', 'none'],
    help: 'RW normalization of (alpha, beta)',
    group: M,
    defaultText: 'softmax',
  },
  {
    name: 'layer-scale-init',
    type: 'number',
    above: 0,
    help: "LayerScale's per-channel scale at init",
    group: M,
    defaultText: '1e-4',
  },
  {
    name: 'extra-blocks',
    type: 'int',
    min: 0,
    max: MAX_DEPTH,
    default: 0,
    help: 'Naive scaling: extra blocks (ResNet stage --extra-stage) or extra GPT layers',
    group: M,
  },
  {
    name: 'extra-stage',
    type: 'int',
    min: 1,
    help: 'ResNet stage (1-based) that gets the extra blocks',
    group: M,
    defaultText: '3',
  },
  { name: 'layers', type: 'int', min: 1, max: MAX_DEPTH, help: 'GPT layers', group: M, defaultText: '4' },
  { name: 'dim', type: 'int', min: 2, help: 'GPT width D', group: M, defaultText: '128' },
  { name: 'heads', type: 'int', min: 1, help: 'GPT attention heads', group: M, defaultText: '4' },
  {
    name: 'mlp-ratio',
    type: 'number',
    above: 0,
    help: 'GPT MLP hidden width / D',
    group: M,
    defaultText: '4',
  },
  {
    name: 'context',
    type: 'int',
    min: 2,
    help: 'GPT context length (training window)',
    group: M,
    defaultText: '128',
  },
  {
    name: 'vocab',
    type: 'int',
    min: 2,
    help: 'GPT vocabulary size (params only; training uses the tokenizer)',
    group: M,
    defaultText: '256',
  },
  {
    name: 'positions',
    type: 'string',
    choices: ['learned', 'rotary'],
    help: 'GPT position encoding',
    group: M,
    defaultText: 'learned',
  },
  {
    name: 'placement',
    type: 'string',
    choices: PLACEMENTS,
    help: 'GPT LAUREL placement',
    group: M,
    defaultText: 'block',
  },
];

const T = 'Training';
export const TRAIN_FLAGS: FlagDef[] = [
  {
    name: 'task',
    type: 'string',
    choices: TASKS,
    help: 'Task (required unless --resume finds a config)',
    group: T,
  },
  { name: 'epochs', type: 'number', above: 0, default: 1, help: 'Epochs over the training set', group: T },
  { name: 'max-steps', type: 'int', min: 1, help: 'Stop after this many steps (caps --epochs)', group: T },
  {
    name: 'batch-size',
    type: 'int',
    min: 1,
    help: 'Batch size',
    group: T,
    defaultText: '128 (fashion-mnist), 32 (text)',
  },
  {
    name: 'optimizer',
    type: 'string',
    choices: OPTIMIZERS,
    help: 'Optimizer',
    group: T,
    defaultText: 'sgd (fashion-mnist), adamw (text)',
  },
  {
    name: 'lr',
    type: 'number',
    above: 0,
    help: 'Peak learning rate',
    group: T,
    defaultText: '0.1 (sgd), 0.003 (adamw)',
  },
  { name: 'momentum', type: 'number', min: 0, default: 0.9, help: 'SGD momentum', group: T },
  {
    name: 'nesterov',
    type: 'bool',
    default: true,
    help: 'SGD nesterov momentum (--no-nesterov to disable)',
    group: T,
  },
  {
    name: 'weight-decay',
    type: 'number',
    min: 0,
    help: 'Weight decay (of weights and embeddings)',
    group: T,
    defaultText: '5e-4 (sgd), 0.1 (adamw)',
  },
  {
    name: 'decay-laurel',
    type: 'bool',
    default: false,
    help: 'Also weight-decay the LAUREL parameters',
    group: T,
  },
  {
    name: 'schedule',
    type: 'string',
    choices: SCHEDULES,
    default: 'cosine',
    help: 'LR schedule after warmup',
    group: T,
  },
  {
    name: 'warmup-steps',
    type: 'int',
    min: 0,
    help: 'Linear LR warmup steps',
    group: T,
    defaultText: '3% of the steps',
  },
  {
    name: 'grad-clip',
    type: 'number',
    above: 0,
    help: 'Clip the global gradient norm',
    group: T,
    defaultText: 'off (fashion-mnist), 1 (text)',
  },
  {
    name: 'seed',
    type: 'int',
    min: 0,
    max: 0xffffffff, // the Rng's state is 32 bits: a larger seed would alias a smaller one
    default: 0,
    help: 'Seed of the weights, data order and augmentation',
    group: T,
  },
  {
    name: 'eval-every',
    type: 'int',
    min: 1,
    help: 'Evaluate and checkpoint every N steps',
    group: T,
    defaultText: '10 evals per run (text); 5 per run, at least one per epoch (fashion-mnist)',
  },
  {
    name: 'eval-split',
    type: 'string',
    choices: ['test', 'val'],
    default: 'test',
    help: 'fashion-mnist: evaluate on the test set (as the paper) or a 5000-image validation split',
    group: T,
  },
  {
    name: 'train-limit',
    type: 'int',
    min: 1,
    help: 'Use only the first N training images (fashion-mnist) or N*context tokens (text)',
    group: T,
  },
  {
    name: 'eval-limit',
    type: 'int',
    min: 1,
    help: 'Evaluate on at most N images, or N windows per text set (and N cloze items)',
    group: T,
    defaultText: 'all images; 200 windows, 100 cloze items',
  },
  {
    name: 'crop-padding',
    type: 'int',
    min: 0,
    default: 0,
    help: 'fashion-mnist augmentation: random crop after padding by N pixels',
    group: T,
  },
  {
    name: 'flip',
    type: 'bool',
    default: false,
    help: 'fashion-mnist augmentation: random horizontal flip',
    group: T,
  },
  {
    name: 'data',
    type: 'path',
    help: 'Your own data: a folder of IDX files (fashion-mnist) or of .txt files (text)',
    group: T,
    defaultText: 'the Debian Fashion-MNIST / SOTU corpus',
  },
  {
    name: 'corpus',
    type: 'string',
    choices: ['sotu', 'mixed'],
    help: "Built-in text: 'sotu', or 'mixed' (SOTU + Brown, deduplicated, src/data/corpus.ts); Moby Dick is OOD",
    group: T,
    defaultText: 'sotu',
  },
  {
    name: 'init-from',
    type: 'path',
    help: 'Start from the weights in a .safetensors file (laurel export, torch or tfjs layout)',
    group: T,
  },
];

const R = 'Run';
/** Flags that do not change a run's result: they may differ on --resume. */
export const RUNTIME_FLAGS: FlagDef[] = [
  { name: 'out', type: 'path', help: 'Run folder: config.json, metrics.jsonl, checkpoint/', group: R },
  {
    name: 'resume',
    type: 'bool',
    default: false,
    help: 'Continue from OUT/checkpoint (same data order and result as an uninterrupted run)',
    group: R,
  },
  {
    name: 'stop-at',
    type: 'int',
    min: 1,
    help: 'Stop after step N with a checkpoint, as if interrupted (resume later)',
    group: R,
  },
  {
    name: 'json',
    type: 'bool',
    default: false,
    help: 'Print a JSON summary on stdout, as its only content (other lines go to stderr)',
    group: R,
  },
  {
    name: 'backend',
    type: 'string',
    choices: BACKEND_NAMES,
    help: 'tfjs backend',
    group: R,
    defaultText: '$LAUREL_BACKEND or native',
  },
  {
    name: 'threads',
    type: 'int',
    min: 1,
    max: MAX_THREADS,
    help: `Threads for the native backend (at most ${MAX_THREADS})`,
    group: R,
  },
  { name: 'quiet', type: 'bool', default: false, help: 'No progress output', group: R },
];

/** The variant options' flags and the ResidualConfig field each one sets (modelSpecFromFlags reads them). */
const VARIANT_FLAGS = [
  ['rank', 'rank'],
  ['k', 'k'],
  ['pa-h', 'paH'],
  ['v-init', 'vInit'],
  ['rw-norm', 'rwNorm'],
  ['layer-scale-init', 'layerScaleInit'],
] as const;

/**
 * Refuses a variant flag the chosen --residual does not read (e.g. --rank with rw), which would otherwise be
 * dropped without a word. For flags a user just gave: a stored run's flags are read as they were trained.
 */
export function refuseUnreadVariantFlags(v: Record<string, FlagValue | undefined>): void {
  const residual = modelSpecFromFlags(v).residual as ResidualConfig;
  for (const [flag, key] of VARIANT_FLAGS) {
    if (v[flag] !== undefined && residual[key] === undefined)
      throw new UsageError(`--${flag} does not apply to --residual ${residual.variant}`);
  }
}

/** The model spec the model flags describe (validated by the laurel/models layers, errors become usage errors). */
export function modelSpecFromFlags(
  v: Record<string, FlagValue | undefined>,
  extra: Partial<ModelSpec> = {},
): ModelSpec {
  const str = (k: string) => v[k] as string | undefined;
  try {
    // the flag parser checked each value's type and choices; residualConfig checks them again
    const options = Object.fromEntries(
      VARIANT_FLAGS.filter(([flag]) => v[flag] !== undefined).map(([flag, key]) => [key, v[flag]]),
    ) as Partial<ResidualConfig>;
    const residual = residualConfig(str('residual') ?? 'baseline', options);
    const spec: ModelSpec = { model: (str('model') ?? 'resnet20') as ModelName, residual, ...extra };
    const set = <K extends keyof ModelSpec>(key: K, flag: string) => {
      if (v[flag] !== undefined) spec[key] = v[flag] as ModelSpec[K];
    };
    set('extraBlocks', 'extra-blocks');
    set('extraStage', 'extra-stage');
    set('layers', 'layers');
    set('dim', 'dim');
    set('heads', 'heads');
    set('mlpRatio', 'mlp-ratio');
    set('context', 'context');
    set('vocab', 'vocab');
    set('positions', 'positions');
    set('placement', 'placement');
    return spec;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
