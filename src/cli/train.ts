import { existsSync, mkdirSync } from 'node:fs';
import { initBackend, nativeKernelNames, setNumThreads } from '../engine/index.ts';
import { setConvFilterGradMode } from '../nn/conv2d.ts';
import { hasCheckpoint } from '../train/checkpoint.ts';
import { type TrainResult, train } from '../train/loop.ts';
import { Progress } from '../train/progress.ts';
import type { Model } from '../train/task.ts';
import { Rng } from '../util/rng.ts';
import { type FlagDef, UsageError, formatHelp, parseFlags } from './flags.ts';
import { MODEL_FLAGS, RUNTIME_FLAGS, TRAIN_FLAGS } from './options.ts';
import {
  type Flags,
  type Run,
  type RunConfig,
  configPath,
  readRunConfig,
  resolveDefaults,
  setupOptimizer,
  setupRun,
  writeJsonAtomic,
} from './setup.ts';
import { loadInitialWeights } from './weights.ts';

export const TRAIN_CMD_FLAGS: FlagDef[] = [...TRAIN_FLAGS, ...MODEL_FLAGS, ...RUNTIME_FLAGS];
const RUNTIME = new Set(RUNTIME_FLAGS.map((f) => f.name));

export const TRAIN_HELP = formatHelp(
  'train',
  '--task fashion-mnist|text --model M --residual V [...] --epochs E [--max-steps S] --batch-size B --seed N --out DIR [--resume] [--json]',
  'Trains a model and writes OUT/config.json, OUT/metrics.jsonl (one line per evaluation) and OUT/checkpoint/.\n' +
    'Ctrl-C writes a checkpoint; --resume continues it exactly. With --json the last stdout line is a JSON\n' +
    'summary: best_accuracy (fashion-mnist) or test_loss, perplexity, ood_loss, cloze_accuracy (text), plus\n' +
    'params, added_params, steps, mean_step_ms. Exit status: 0 done, 2 usage error, 3 diverged (NaN/Inf loss),\n' +
    '130 interrupted.',
  TRAIN_CMD_FLAGS,
);

/**
 * The flags of the run: from the command line, or on --resume from OUT/config.json, where any
 * result-changing flag given again must agree with the saved one.
 */
function runFlags(
  values: Flags,
  given: Set<string>,
  out: string,
  resume: boolean,
): { flags: Flags; fresh: boolean } {
  const strip = (v: Flags) => Object.fromEntries(Object.entries(v).filter(([k]) => !RUNTIME.has(k)));
  if (resume && existsSync(configPath(out))) {
    const saved = readRunConfig(out).flags;
    for (const name of given) {
      if (RUNTIME.has(name)) continue;
      if (saved[name] !== values[name]) {
        throw new UsageError(
          `laurel train: --${name} ${values[name]} differs from the run in ${out} (${saved[name] ?? 'not set'}); drop it or use another --out`,
        );
      }
    }
    return { flags: saved, fresh: false };
  }
  if (!resume && (hasCheckpoint(out) || existsSync(configPath(out)))) {
    throw new UsageError(
      `laurel train: ${out} already holds a run; add --resume to continue it, or pick another --out`,
    );
  }
  if (values.task === undefined)
    throw new UsageError('laurel train: --task is required (fashion-mnist or text)');
  return { flags: resolveDefaults(strip(values)), fresh: true };
}

/** The JSON summary of a run (the experiment runner reads it from the last stdout line). */
export function summarize(
  run: Run,
  r: TrainResult,
  backend: string,
  wallMs: number,
): Record<string, unknown> {
  const e = r.lastEval;
  const perItemMs = r.meanStepMs / run.batchSize;
  const common = {
    params: run.counts.params,
    baseline_params: run.counts.baseline_params,
    added_params: run.counts.added_params,
    added_percent: run.counts.added_percent,
    steps: r.step,
    epoch: r.epoch,
    mean_step_ms: r.meanStepMs,
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
    wall_s: wallMs / 1000,
    backend,
    status: r.status,
  };
  if (run.flags.task === 'text') {
    const tokensPerS = perItemMs > 0 ? 1000 / (perItemMs / (run.flags.context as number)) : 0;
    return {
      task: 'text',
      model: run.spec.model,
      residual: run.flags.residual,
      test_loss: e?.loss ?? null,
      perplexity: e?.perplexity ?? null,
      ood_loss: e?.extra?.ood_loss ?? null,
      ood_perplexity: e?.extra?.ood_perplexity ?? null,
      cloze_accuracy: e?.extra?.cloze_accuracy ?? null,
      best_test_loss: r.best?.value ?? null,
      unigram_loss: run.unigramLoss ?? null,
      tokens_per_s: tokensPerS,
      ...common,
    };
  }
  return {
    task: run.flags.task,
    model: run.spec.model,
    residual: run.flags.residual,
    best_accuracy: r.best?.value ?? null,
    best_step: r.best?.step ?? null,
    final_accuracy: e?.accuracy ?? null,
    final_loss: e?.loss ?? null,
    images_per_s: perItemMs > 0 ? 1000 / perItemMs : 0,
    ...common,
  };
}

export function describeSummary(s: Record<string, unknown>): string {
  const n = (k: string, d = 4) => (typeof s[k] === 'number' ? (s[k] as number).toFixed(d) : 'n/a');
  const pct = (k: string) => (typeof s[k] === 'number' ? `${(100 * (s[k] as number)).toFixed(2)}%` : 'n/a');
  const main =
    s.task === 'text'
      ? `test loss ${n('test_loss')} (perplexity ${n('perplexity', 2)}; unigram baseline ${n('unigram_loss')}), ` +
        `Moby Dick loss ${n('ood_loss')}, cloze ${pct('cloze_accuracy')}`
      : `best top-1 ${pct('best_accuracy')} (step ${s.best_step}), final ${pct('final_accuracy')}`;
  return (
    `${s.status}: ${s.model} ${s.residual}, ${s.steps} steps; ${main}\n` +
    `params ${(s.params as number).toLocaleString('en-US')} (+${(s.added_params as number).toLocaleString('en-US')}, ` +
    `${n('added_percent', 3)} %), ${n('mean_step_ms', 1)} ms/step, wall ${n('wall_s', 1)} s, backend ${s.backend}\n`
  );
}

export interface TrainSession {
  run: Run;
  result: TrainResult;
  summary: Record<string, unknown>;
}

/** Runs one training with resolved flags into `out` (used by `train` and `demo`). */
export async function runTraining(
  flags: Flags,
  out: string,
  rt: { resume: boolean; stopAt?: number; quiet: boolean; backend: string; label?: string },
): Promise<TrainSession> {
  const t0 = performance.now();
  const run = setupRun(flags);
  // --init-from: the starting weights (when resuming from a checkpoint, the checkpoint's replace them anyway)
  if (flags['init-from'] !== undefined && !(rt.resume && hasCheckpoint(out)))
    loadInitialWeights(run.model, flags['init-from'] as string);
  mkdirSync(out, { recursive: true });
  if (!existsSync(configPath(out))) {
    const config: RunConfig = {
      format: 'laurel-run',
      version: 1,
      flags,
      spec: run.spec,
      created: new Date().toISOString(),
    };
    writeJsonAtomic(configPath(out), config);
  }
  const { optimizer, lr } = setupOptimizer(run);
  const progress = rt.quiet ? undefined : new Progress({ total: run.totalSteps, unit: run.task.unit });
  const log = (m: string) => {
    if (!rt.quiet) progress ? progress.log(m) : process.stderr.write(`${m}\n`);
  };
  log(`${rt.label ? `[${rt.label}] ` : ''}${run.dataInfo}`);
  log(
    `${run.spec.model} ${flags.residual}: ${run.counts.params.toLocaleString('en-US')} params ` +
      `(+${run.counts.added_params} vs baseline); ${run.totalSteps} steps (${run.stepsPerEpoch}/epoch), ` +
      `eval every ${run.evalEvery}; ${flags.optimizer} lr ${flags.lr}; backend ${rt.backend}; out ${out}`,
  );
  const result = await train({
    model: run.model as Model,
    task: run.task,
    optimizer,
    lr,
    totalSteps: run.totalSteps,
    evalEvery: run.evalEvery,
    outDir: out,
    rng: new Rng(flags.seed as number),
    config: flags,
    resume: rt.resume,
    stopAtStep: rt.stopAt,
    gradClip: flags['grad-clip'] as number | undefined,
    handleSignals: true,
    progress,
    log,
  });
  optimizer.dispose();
  const summary = summarize(run, result, rt.backend, performance.now() - t0);
  run.model.dispose();
  return { run, result, summary };
}

const EXIT: Record<TrainResult['status'], number> = {
  completed: 0,
  stopped: 0,
  diverged: 3,
  interrupted: 130,
};

/** Selects the backend (and the conv filter-gradient path that is fastest on it); returns its name. */
export async function startBackend(values: Flags): Promise<string> {
  const backend = await initBackend(values.backend as 'native' | 'cpu' | 'wasm' | undefined);
  if (values.threads !== undefined) setNumThreads(values.threads as number);
  const nativeFilterGrad = backend === 'native' && nativeKernelNames().includes('Conv2DBackpropFilter');
  setConvFilterGradMode(nativeFilterGrad ? 'tfjs' : 'conv');
  return backend;
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values, given } = parseFlags(argv, TRAIN_CMD_FLAGS, 'train');
  const out = values.out as string | undefined;
  if (out === undefined) throw new UsageError('laurel train: --out DIR is required');
  const resume = values.resume as boolean;
  const { flags } = runFlags(values, given, out, resume);
  const backend = await startBackend(values);
  const { summary, result } = await runTraining(flags, out, {
    resume,
    stopAt: values['stop-at'] as number | undefined,
    quiet: values.quiet as boolean,
    backend,
  });
  process.stdout.write(describeSummary(summary));
  if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  return EXIT[result.status];
}
