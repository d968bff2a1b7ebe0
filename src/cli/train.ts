import { existsSync } from 'node:fs';
import { convFilterGradMode, initBackend, setNumThreads } from '../engine/index.ts';
import { hasCheckpoint, readCheckpointInfo } from '../train/checkpoint.ts';
import { type RunLock, acquireRunLock } from '../train/lock.ts';
import { type TrainResult, train } from '../train/loop.ts';
import { Progress } from '../train/progress.ts';
import type { Model } from '../train/task.ts';
import { checkDirCreatable, ensureDir, removeEmptyDirs, writeJsonAtomic } from '../util/files.ts';
import { Rng } from '../util/rng.ts';
import { type FlagDef, UsageError, checkStoredFlags, formatHelp, parseFlags, requiredFlag } from './flags.ts';
import { MODEL_FLAGS, RUNTIME_FLAGS, TRAIN_FLAGS, refuseUnreadVariantFlags } from './options.ts';
import {
  type Flags,
  type Run,
  type RunConfig,
  configPath,
  readRunConfig,
  resolveDefaults,
  setupOptimizer,
  setupRun,
} from './setup.ts';
import { loadInitialWeights } from './weights.ts';

export const TRAIN_CMD_FLAGS: FlagDef[] = [...TRAIN_FLAGS, ...MODEL_FLAGS, ...RUNTIME_FLAGS];
const RUNTIME = new Set(RUNTIME_FLAGS.map((f) => f.name));
const STORED_FLAGS = [...TRAIN_FLAGS, ...MODEL_FLAGS];

export const TRAIN_HELP = formatHelp(
  'train',
  '--task fashion-mnist|text --model M --residual V [...] --epochs E [--max-steps S] --batch-size B --seed N --out DIR [--resume] [--json]',
  'Trains a model and writes OUT/config.json, OUT/metrics.jsonl (one line per evaluation) and OUT/checkpoint/.\n' +
    "Ctrl-C writes a checkpoint; --resume continues it exactly. --resume takes the run's flags from the\n" +
    'checkpoint (or OUT/config.json before the first one), checked like typed ones; a result-changing flag\n' +
    'given again must equal the stored value, and a config.json that disagrees with the checkpoint, or data\n' +
    'that differ from those the checkpoint was trained on, are refused: nothing is written then.\n' +
    "One trainer per OUT: a second one is refused naming the first's PID (OUT/lock; a lock left by a killed\n" +
    'process is taken over). A NaN/Inf training or evaluation loss stops the run, keeping the last finite\n' +
    'checkpoint. With --json stdout holds one JSON summary (other lines go to stderr): best_accuracy\n' +
    '(fashion-mnist) or test_loss, perplexity, ood_loss, cloze_accuracy (text), plus params, added_params,\n' +
    'steps, mean_step_ms. Exit status: 0 done, 2 bad input (flags, data, run folder, checkpoint, full disk: one\n' +
    'line; LAUREL_DEBUG=1 adds the stack), 3 diverged, 130 interrupted.',
  TRAIN_CMD_FLAGS,
);

const strip = (v: Flags) => Object.fromEntries(Object.entries(v).filter(([k]) => !RUNTIME.has(k)));

/** The first result-changing flag whose value differs between two flag sets (JSON drops undefined). */
function firstDifference(a: Flags, b: Flags): string | undefined {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => !RUNTIME.has(k));
  return keys.find((k) => (a[k] ?? null) !== (b[k] ?? null));
}

/** The flags stored with the checkpoint (null for a checkpoint written without them), checked. */
function checkpointFlags(out: string): Flags | null {
  const c = readCheckpointInfo(out).config;
  if (c === null || c === undefined) return null;
  return checkStoredFlags(c, STORED_FLAGS, 'train', `the checkpoint in ${out}`);
}

/**
 * The flags of the run: from the command line, or on --resume those stored with the checkpoint (else in
 * OUT/config.json), where any result-changing flag given again must agree with the stored one. Reads only.
 */
function runFlags(values: Flags, given: Set<string>, out: string, resume: boolean): Flags {
  const hasConfig = existsSync(configPath(out));
  if (resume && (hasConfig || hasCheckpoint(out))) {
    // stored flags are checked like typed ones: a hand-edited or damaged file must not train something else
    const fromConfig = hasConfig
      ? checkStoredFlags(readRunConfig(out).flags, STORED_FLAGS, 'train', configPath(out))
      : null;
    const fromCheckpoint = hasCheckpoint(out) ? checkpointFlags(out) : null;
    if (fromConfig && fromCheckpoint) {
      const k = firstDifference(fromConfig, fromCheckpoint);
      if (k !== undefined) {
        throw new UsageError(
          `laurel train: ${configPath(out)} says --${k} ${fromConfig[k] ?? 'not set'} but the checkpoint was trained with ` +
            `${fromCheckpoint[k] ?? 'not set'}; restore config.json (or delete it: the checkpoint's flags are used)`,
        );
      }
    }
    const saved = fromCheckpoint ?? fromConfig;
    if (saved === null) {
      throw new UsageError(
        `laurel train: the checkpoint in ${out} stores no run flags and ${configPath(out)} is missing; cannot resume`,
      );
    }
    for (const name of given) {
      if (RUNTIME.has(name)) continue;
      if (saved[name] !== values[name]) {
        throw new UsageError(
          `laurel train: --${name} ${values[name]} differs from the run in ${out} (${saved[name] ?? 'not set'}); drop it or use another --out`,
        );
      }
    }
    return resolveRunFlags(saved);
  }
  if (!resume && (hasCheckpoint(out) || hasConfig)) {
    throw new UsageError(
      `laurel train: ${out} already holds a run; add --resume to continue it, or pick another --out`,
    );
  }
  return resolveRunFlags(values);
}

/** The run's flags with their defaults, after the checks between flags (the same for new and stored flags). */
function resolveRunFlags(values: Flags): Flags {
  if (values.task === undefined)
    throw new UsageError('laurel train: --task is required (fashion-mnist or text)');
  refuseUnreadVariantFlags(values);
  return resolveDefaults(strip(values));
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

/**
 * Runs one training with resolved flags into `out` (used by `train` and `demo`). Everything is checked (data,
 * model, the checkpoint to resume) before the first write; the run folder is locked from then on (`rt.lock`:
 * a lock the caller already holds).
 */
export async function runTraining(
  flags: Flags,
  out: string,
  rt: {
    resume: boolean;
    stopAt?: number;
    quiet: boolean;
    backend: string;
    label?: string;
    /** The lock of `out`, when the caller holds it (else it is taken before the first write). */
    lock?: RunLock | null;
    /** Called before the first write into `out`. */
    onStart?: () => void;
  },
): Promise<TrainSession> {
  const t0 = performance.now();
  // the conv filter-gradient path that is fastest on this backend (same numbers either way)
  const run = setupRun(flags, { convFilterGrad: convFilterGradMode(rt.backend) });
  // --init-from: the starting weights (when resuming from a checkpoint, the checkpoint's replace them anyway)
  if (flags['init-from'] !== undefined && !(rt.resume && hasCheckpoint(out)))
    loadInitialWeights(run.model, flags['init-from'] as string);
  let ownLock: RunLock | null = null;
  const prepareFolder = (): void => {
    rt.onStart?.();
    ensureDir(out);
    if (!rt.lock) {
      ownLock = acquireRunLock(out);
      // another trainer may have filled the folder since it was checked
      if (!rt.resume && (hasCheckpoint(out) || existsSync(configPath(out)))) {
        throw new UsageError(`laurel train: ${out} already holds a run; add --resume to continue it`);
      }
    }
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
  };
  const { optimizer, lr } = setupOptimizer(run);
  const progress = rt.quiet ? undefined : new Progress({ total: run.totalSteps, unit: run.task.unit });
  const log = (m: string) => {
    if (!rt.quiet) progress ? progress.log(m) : process.stderr.write(`${m}\n`);
  };
  log(`${rt.label ? `[${rt.label}] ` : ''}${run.dataInfo}`);
  const lock = rt.lock ?? null;
  if (lock?.tookOverFrom != null)
    log(`took over the lock of ${out} from PID ${lock.tookOverFrom}, which no longer runs`);
  log(
    `${run.spec.model} ${flags.residual}: ${run.counts.params.toLocaleString('en-US')} params ` +
      `(+${run.counts.added_params} vs baseline); ${run.totalSteps} steps (${run.stepsPerEpoch}/epoch), ` +
      `eval every ${run.evalEvery}; ${flags.optimizer} lr ${flags.lr}; backend ${rt.backend}; out ${out}`,
  );
  let result: TrainResult;
  try {
    result = await train({
      model: run.model as Model,
      task: run.task,
      optimizer,
      lr,
      totalSteps: run.totalSteps,
      evalEvery: run.evalEvery,
      outDir: out,
      rng: new Rng(flags.seed as number),
      config: flags,
      dataFingerprint: run.dataFingerprint,
      resume: rt.resume,
      stopAtStep: rt.stopAt,
      gradClip: flags['grad-clip'] as number | undefined,
      handleSignals: true,
      progress,
      log,
      onReady: prepareFolder,
    });
  } finally {
    (ownLock as RunLock | null)?.release();
  }
  // why a run stopped (diverged, interrupted) is not progress: said even with --quiet
  if (rt.quiet && result.message) process.stderr.write(`${result.message}\n`);
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

/** Selects the backend and its thread count; returns its name. */
export async function startBackend(values: Flags): Promise<string> {
  const backend = await initBackend(values.backend as 'native' | 'cpu' | 'wasm' | undefined);
  if (values.threads !== undefined) setNumThreads(values.threads as number);
  return backend;
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values, given } = parseFlags(argv, TRAIN_CMD_FLAGS, 'train');
  const out = requiredFlag(values, 'out', 'train', 'DIR');
  checkDirCreatable(out);
  const resume = values.resume as boolean;
  // The folder is locked before it is read, so that its run cannot change under the checks. A folder made
  // for this is removed again if a check fails: nothing is left behind.
  const created = ensureDir(out);
  let lock: RunLock;
  try {
    lock = acquireRunLock(out);
  } catch (e) {
    removeEmptyDirs(created);
    throw e;
  }
  let started = false;
  try {
    const flags = runFlags(values, given, out, resume);
    const stopAt = values['stop-at'] as number | undefined;
    if (stopAt !== undefined && resume && hasCheckpoint(out)) {
      const at = readCheckpointInfo(out).step;
      if (stopAt <= at)
        throw new UsageError(`laurel train: --stop-at ${stopAt} is not after the checkpoint's step ${at}`);
    }
    const backend = await startBackend(values);
    const { summary, result } = await runTraining(flags, out, {
      resume,
      stopAt,
      quiet: values.quiet as boolean,
      backend,
      lock,
      onStart: () => {
        started = true;
      },
    });
    // with --json, stdout holds the JSON document alone
    (values.json ? process.stderr : process.stdout).write(describeSummary(summary));
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    return EXIT[result.status];
  } finally {
    lock.release();
    if (!started) removeEmptyDirs(created);
  }
}
