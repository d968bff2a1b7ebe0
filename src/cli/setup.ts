/**
 * Turns a run's resolved flags into the objects the training loop needs: data, task, model, optimizer,
 * schedule. Shared by `train`, `eval` and `demo`.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildClozeItems, clozeItemCount } from '../data/cloze.ts';
import { loadMixedCorpus } from '../data/corpus.ts';
import { loadFashionMnist } from '../data/fashion-mnist.ts';
import { ImageBatcher } from '../data/image-batches.ts';
import { TextWindowSampler, unigramCrossEntropy } from '../data/text-batches.ts';
import { joinDocs, loadTextCorpus } from '../data/text.ts';
import { ByteTokenizer } from '../data/tokenizer.ts';
import {
  type Model as BuiltModel,
  type ModelSpec,
  type ParamCounts,
  type ResNetBuildOptions,
  buildModel,
  countParams,
} from '../models/index.ts';
import { ClassificationTask } from '../train/classification.ts';
import type { ClozeItem } from '../train/cloze.ts';
import { LanguageTask } from '../train/language.ts';
import { type OptimizerName, createOptimizer } from '../train/optim/index.ts';
import type { Optimizer } from '../train/optim/index.ts';
import { type ScheduleName, makeSchedule } from '../train/schedule.ts';
import type { Model, Task } from '../train/task.ts';
import { isJsonObject } from '../util/json.ts';
import { type FlagValue, UsageError } from './flags.ts';
import { type TaskName, modelSpecFromFlags } from './options.ts';

export type Flags = Record<string, FlagValue | undefined>;

/** Fills the defaults that depend on the task and optimizer (so config.json records the values used). */
export function resolveDefaults(f: Flags): Flags {
  const task = f.task as TaskName;
  const text = task === 'text';
  const out: Flags = { ...f };
  out.model ??= text ? 'gpt' : 'resnet20';
  if (text && out.model !== 'gpt')
    throw new UsageError(`--task text needs --model gpt, got --model ${out.model}`);
  if (!text && out.model === 'gpt') throw new UsageError('--model gpt needs --task text');
  out['batch-size'] ??= text ? 32 : 128;
  out.optimizer ??= text ? 'adamw' : 'sgd';
  const adam = out.optimizer === 'adamw';
  out.lr ??= adam ? 0.003 : 0.1;
  out['weight-decay'] ??= adam ? 0.1 : 5e-4;
  if (text) out['grad-clip'] ??= 1;
  if (text) out.context ??= 128;
  return out;
}

/** Reads a JSON file, with an error naming it. */
export function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

export interface RunConfig {
  format: 'laurel-run';
  version: 1;
  /** The resolved training flags (runtime flags such as --backend excluded). */
  flags: Flags;
  spec: ModelSpec;
  created: string;
}

export function configPath(out: string): string {
  return join(out, 'config.json');
}

export function readRunConfig(out: string): RunConfig {
  const path = configPath(out);
  if (!existsSync(path)) throw new UsageError(`no run in ${out}: ${path} is missing`);
  const c = readJson(path) as RunConfig;
  if (c?.format !== 'laurel-run' || !isJsonObject(c.flags))
    throw new UsageError(`${path} is not a laurel run config`);
  return c;
}

export interface Run {
  flags: Flags;
  spec: ModelSpec;
  model: BuiltModel;
  task: Task;
  counts: ParamCounts;
  stepsPerEpoch: number;
  totalSteps: number;
  evalEvery: number;
  batchSize: number;
  /** One line describing the data. */
  dataInfo: string;
  /** A digest of the training and evaluation data (computed on first call): a resume must see the same. */
  dataFingerprint: () => string;
  /** text: loss of a unigram model fit on the training tokens, on the test split (nats per token). */
  unigramLoss?: number;
}

function dataError(e: unknown): never {
  throw new UsageError((e as Error).message);
}

/** Runs a data-pipeline constructor; its errors (a set too small for the flags) become usage errors. */
function built<T>(what: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    throw new UsageError(`${what}: ${(e as Error).message}`);
  }
}

/** The training data must fill one batch: said in terms of the flags that set both sides. */
function checkFillsBatch(have: number, need: number, unit: string, f: Flags): void {
  if (have >= need) return;
  const limit = f['train-limit'] !== undefined ? ` (--train-limit ${f['train-limit']})` : '';
  throw new UsageError(
    `--batch-size ${f['batch-size']} needs ${need} training ${unit}, the data has ${have}${limit}; lower --batch-size or use more data`,
  );
}

/** Builds data, task and model for resolved flags (`build`: how the model runs, see buildModel). */
export function setupRun(f: Flags, build: ResNetBuildOptions = {}): Run {
  const seed = f.seed as number;
  const batchSize = f['batch-size'] as number;
  const evalLimit = f['eval-limit'] as number | undefined;
  const trainLimit = f['train-limit'] as number | undefined;
  const dataDir = f.data as string | undefined;
  let task: Task;
  let spec: ModelSpec;
  let dataInfo: string;
  let dataArrays: ArrayBufferView[];
  let unigramLoss: number | undefined;
  if (f.task === 'fashion-mnist') {
    const val = f['eval-split'] === 'val';
    let data: ReturnType<typeof loadFashionMnist>;
    try {
      data = loadFashionMnist({ dir: dataDir, valSize: val ? 5000 : 0, seed });
    } catch (e) {
      dataError(e);
    }
    checkFillsBatch(Math.min(trainLimit ?? data.train.n, data.train.n), batchSize, 'images', f);
    const batcher = built(
      'fashion-mnist',
      () =>
        new ImageBatcher(data.train, {
          batchSize,
          seed,
          limit: trainLimit,
          augment: { cropPadding: f['crop-padding'] as number, flip: f.flip as boolean },
        }),
    );
    const evalSet = val ? data.val : data.test;
    if (evalSet.n === 0)
      throw new UsageError(`${data.dir}: the ${val ? 'validation' : 'test'} split is empty`);
    task = built('fashion-mnist', () => new ClassificationTask({ batcher, evalSet, evalLimit }));
    spec = modelSpecFromFlags(f, {
      numClasses: data.train.numClasses,
      inChannels: data.train.channels,
      seed,
    });
    dataArrays = [data.train.x, data.train.y, evalSet.x, evalSet.y];
    dataInfo =
      `Fashion-MNIST from ${data.dir}: ${batcher.n} training images, ` +
      `${Math.min(evalLimit ?? evalSet.n, evalSet.n)} ${val ? 'validation' : 'test'} images`;
  } else {
    let corpus: ReturnType<typeof loadTextCorpus>;
    if (dataDir !== undefined && f.corpus !== undefined)
      throw new UsageError('--corpus picks a built-in corpus; drop it when --data DIR gives the text');
    try {
      corpus = f.corpus === 'mixed' ? loadMixedCorpus() : loadTextCorpus({ dir: dataDir, seed });
    } catch (e) {
      dataError(e);
    }
    const tok = new ByteTokenizer();
    const context = f.context as number;
    let trainTokens = tok.encode(joinDocs(corpus.train));
    if (trainLimit !== undefined) trainTokens = trainTokens.slice(0, trainLimit * context + 1);
    const evalSets = [{ name: 'test', tokens: tok.encode(joinDocs(corpus.test)) }];
    if (corpus.ood.length > 0) evalSets.push({ name: 'ood', tokens: tok.encode(joinDocs(corpus.ood)) });
    let cloze: ClozeItem[] = [];
    try {
      cloze = buildClozeItems(corpus.test, { numItems: clozeItemCount(evalLimit), seed }).map((it) => ({
        context: tok.encode(it.context),
        choices: it.choices.map((c) => tok.encode(c)),
        answer: it.answer,
      }));
    } catch {
      // a small user corpus may yield no cloze item; the metric is then left out
    }
    // every stream must hold one window of context + 1 tokens (a short corpus, or a large --context)
    const window = context + 1;
    if (trainTokens.length < window) {
      const limit = trainLimit !== undefined ? ` (--train-limit ${trainLimit})` : '';
      throw new UsageError(
        `the training text has ${trainTokens.length} tokens${limit}, fewer than one window of --context ${context} + 1; use a longer corpus or a smaller --context`,
      );
    }
    for (const s of evalSets) {
      if (s.tokens.length < window) {
        throw new UsageError(
          `the ${s.name} text has ${s.tokens.length} tokens, fewer than one window of --context ${context} + 1; use a longer corpus (more documents) or a smaller --context`,
        );
      }
    }
    unigramLoss = unigramCrossEntropy(trainTokens, evalSets[0].tokens, tok.vocabSize);
    const sampler = built(
      'text',
      () => new TextWindowSampler(trainTokens, { batchSize, seqLen: context, seed }),
    );
    task = built(
      'text',
      () =>
        new LanguageTask({
          sampler,
          trainTokens: trainTokens.length,
          seqLen: context,
          batchSize,
          evalSets,
          evalMaxWindows: evalLimit ?? 200,
          cloze,
        }),
    );
    spec = modelSpecFromFlags(f, { vocab: tok.vocabSize, seed });
    dataArrays = [trainTokens, ...evalSets.map((s) => s.tokens)];
    dataInfo =
      `${corpus.source === 'sotu' ? 'SOTU' : corpus.source} byte-level: ${trainTokens.length} training tokens, ` +
      `${evalSets.map((s) => `${s.name} ${s.tokens.length} tokens`).join(', ')}, ${cloze.length} cloze items; ` +
      `unigram baseline test loss ${unigramLoss.toFixed(4)}`;
  }
  let counts: ParamCounts;
  let model: BuiltModel;
  try {
    counts = countParams(spec);
    model = buildModel(spec, build);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const stepsPerEpoch = task.stepsPerEpoch;
  const byEpochs = Math.max(1, Math.ceil((f.epochs as number) * stepsPerEpoch));
  const maxSteps = f['max-steps'] as number | undefined;
  const totalSteps = maxSteps !== undefined ? Math.min(maxSteps, byEpochs) : byEpochs;
  if (!Number.isSafeInteger(totalSteps))
    throw new UsageError(
      `--epochs ${f.epochs} makes ${byEpochs} steps; allowed: at most 2^53 - 1 (or give --max-steps)`,
    );
  const evalEvery =
    (f['eval-every'] as number | undefined) ??
    (f.task === 'text'
      ? Math.max(1, Math.ceil(totalSteps / 10))
      : Math.min(stepsPerEpoch, Math.ceil(totalSteps / 5)));
  return {
    flags: f,
    spec,
    model,
    task,
    counts,
    stepsPerEpoch,
    totalSteps,
    evalEvery,
    batchSize,
    dataInfo,
    dataFingerprint: memo(() => digest(dataArrays)),
    unigramLoss,
  };
}

/** SHA-256 of the arrays' bytes, each preceded by its length (16 hex digits are plenty to tell data apart). */
function digest(arrays: ArrayBufferView[]): string {
  const h = createHash('sha256');
  for (const a of arrays) {
    h.update(`${a.byteLength}:`);
    h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return h.digest('hex').slice(0, 16);
}

function memo<T>(f: () => T): () => T {
  let v: { value: T } | null = null;
  return () => {
    v ??= { value: f() };
    return v.value;
  };
}

/** The optimizer and LR schedule the flags ask for. */
export function setupOptimizer(run: Run): { optimizer: Optimizer; lr: (step: number) => number } {
  const f = run.flags;
  const optimizer = createOptimizer(f.optimizer as OptimizerName, (run.model as Model).namedParameters(), {
    momentum: f.momentum as number,
    nesterov: (f.nesterov as boolean) && (f.momentum as number) > 0,
    weightDecay: f['weight-decay'] as number,
    decayLaurel: f['decay-laurel'] as boolean,
  });
  const lr = makeSchedule({
    lr: f.lr as number,
    totalSteps: run.totalSteps,
    schedule: f.schedule as ScheduleName,
    warmupSteps: (f['warmup-steps'] as number | undefined) ?? Math.round(0.03 * run.totalSteps),
  });
  return { optimizer, lr };
}
