import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../util/errors.ts';
import type { Rng } from '../util/rng.ts';
import {
  type BestMetric,
  assignNamed,
  checkpointDir,
  hasCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from './checkpoint.ts';
import { MetricsWriter } from './metrics.ts';
import { clipGradNorm } from './optim/clip.ts';
import type { NamedTensors, Optimizer } from './optim/index.ts';
import type { Progress } from './progress.ts';
import type { EvalResult, Model, Task } from './task.ts';

export interface TrainOptions {
  model: Model;
  task: Task;
  optimizer: Optimizer;
  /** Learning rate of the update that makes step `step + 1`. */
  lr: (step: number) => number;
  /** Steps of the whole run (a resumed run counts from the checkpoint's step). */
  totalSteps: number;
  /** Evaluate (and checkpoint) every N steps, and at the end. */
  evalEvery: number;
  /** Run folder for `metrics.jsonl` and `checkpoint/`; without it nothing is written. */
  outDir?: string;
  /** The run's generator (for anything stochastic besides the data order); its state is checkpointed. */
  rng: Rng;
  /** JSON configuration stored in the checkpoint. */
  config?: unknown;
  /**
   * A digest of the data the run trains and evaluates on, stored in the checkpoint: --resume refuses a
   * checkpoint whose digest differs (the run would continue on other data). Called at most once per save.
   */
  dataFingerprint?: () => string;
  /** Continue from `outDir/checkpoint/` when there is one. */
  resume?: boolean;
  /** Stop after this step, writing a checkpoint, as if interrupted (for budgets and the resume test). */
  stopAtStep?: number;
  /** Global gradient-norm clipping (off when undefined). */
  gradClip?: number;
  /** Catch SIGINT/SIGTERM: write a checkpoint, then return with status 'interrupted'. */
  handleSignals?: boolean;
  progress?: Progress;
  /** Human-readable messages (eval lines, resume notice); default: through the progress bar or stderr. */
  log?: (message: string) => void;
  /** Called after each evaluation (experiment runners). */
  onEval?: (step: number, result: EvalResult) => void;
  /**
   * Called once the checkpoint (if any) is restored into the model, optimizer and data, before anything is
   * written: the CLI writes config.json here, so that a resume that fails leaves the run folder as it was.
   */
  onReady?: (step: number) => void;
}

export type TrainStatus = 'completed' | 'stopped' | 'interrupted' | 'diverged';

export interface TrainResult {
  status: TrainStatus;
  /** Steps done in total (including steps before a resume). */
  step: number;
  epoch: number;
  best: BestMetric | null;
  lastEval: EvalResult | null;
  /** Mean wall time of the training steps run by this call. */
  meanStepMs: number;
  /** Training loss of each step run by this call. */
  losses: number[];
  message?: string;
}

/** Runs `fn` with the model in inference mode, restoring training mode after. */
function inEvalMode<T>(model: Model, fn: () => T): T {
  model.setTraining(false);
  try {
    return fn();
  } finally {
    model.setTraining(true);
  }
}

/** The name of the first parameter holding a NaN or ±Inf, or null (a checkpoint must never keep one). */
function firstNonFinite(params: { name: string; variable: tf.Variable }[]): string | null {
  for (const p of params) {
    const v = p.variable.dataSync();
    for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return p.name;
  }
  return null;
}

function isBetter(task: Task, value: number, best: BestMetric | null): boolean {
  if (best === null || !Number.isFinite(best.value)) return true;
  return task.select.higherIsBetter ? value > best.value : value < best.value;
}

/**
 * The training loop: one optimizer step per batch, eval + checkpoint every `evalEvery` steps and at the end,
 * best-so-far tracking, NaN/Inf guard, SIGINT checkpoint, exact resume.
 *
 * Determinism: the data order comes from the task's seeded batcher, parameters from seeded initializers,
 * and everything stateful (params, buffers, optimizer slots, step, data position, rng) is checkpointed, so
 * "N steps, stop, resume N steps" equals "2N steps" bit for bit on the same backend.
 */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const { model, task, optimizer } = o;
  const log = o.log ?? ((m: string) => (o.progress ? o.progress.log(m) : process.stderr.write(`${m}\n`)));
  if (!(o.evalEvery >= 1)) throw new Error(`train: evalEvery must be >= 1, got ${o.evalEvery}`);
  const params = model.namedParameters();
  const byVarName = new Map(params.map((p) => [p.variable.name, p.name]));
  const varList = params.map((p) => p.variable);
  const metrics = o.outDir ? new MetricsWriter(join(o.outDir, 'metrics.jsonl')) : null;

  let step = 0;
  let best: BestMetric | null = null;
  if (o.resume && o.outDir && hasCheckpoint(o.outDir)) {
    const c = loadCheckpoint(o.outDir);
    try {
      assignNamed(params, c.params, 'parameter');
      assignNamed(model.namedBuffers(), c.buffers, 'buffer');
      optimizer.setState(c.optimizer);
      if (o.dataFingerprint && c.dataFingerprint != null && c.dataFingerprint !== o.dataFingerprint()) {
        throw new InputError(
          `the data differ from those the checkpoint in ${checkpointDir(o.outDir)} was trained on; resume with the same data (and --data), or train into another --out`,
        );
      }
      task.restoreData(c.data);
      o.rng.state = c.rng;
      step = c.step;
      best = c.best;
    } catch (e) {
      // a checkpoint that does not fit this run is the user's input, not a bug: one line, exit 2
      if (e instanceof InputError) throw e;
      throw new InputError(`bad checkpoint in ${checkpointDir(o.outDir)}: ${(e as Error).message}`);
    } finally {
      c.dispose();
    }
    o.onReady?.(step);
    metrics?.truncateAfter(step);
    log(`resumed from ${join(o.outDir, 'checkpoint')} at step ${step} (epoch ${task.epoch})`);
  } else {
    o.onReady?.(step);
    // --resume without a checkpoint (killed before the first one was committed): start over, and drop the
    // metrics lines of the lost attempt so that the file stays one line per evaluation
    const dropped = o.resume ? (metrics?.truncateAfter(0) ?? 0) : 0;
    // (a first run under --resume, as the experiment runner starts every trial, has nothing to restart)
    if (o.resume && o.outDir && (dropped > 0 || existsSync(checkpointDir(o.outDir)))) {
      const note = dropped > 0 ? ` (dropped ${dropped} metrics lines of the earlier attempt)` : '';
      log(`no checkpoint in ${join(o.outDir, 'checkpoint')}: restarting from step 0${note}`);
    }
  }

  /** Writes a checkpoint; returns the name of a non-finite parameter instead of writing one. */
  const checkpoint = (): string | null => {
    if (!o.outDir) return null;
    const bad = firstNonFinite(params);
    if (bad !== null) return bad;
    const named = (xs: { name: string; variable: tf.Variable }[]): NamedTensors =>
      Object.fromEntries(xs.map((x) => [x.name, x.variable]));
    saveCheckpoint(o.outDir, {
      params: named(params),
      buffers: named(model.namedBuffers()),
      optimizer: optimizer.getState(),
      step,
      epoch: task.epoch,
      data: task.dataState(),
      rng: o.rng.state,
      config: o.config ?? null,
      dataFingerprint: o.dataFingerprint?.() ?? null,
      best,
    });
    return null;
  };

  let interrupted: string | null = null;
  const onSigint = () => {
    interrupted = 'SIGINT';
  };
  const onSigterm = () => {
    interrupted = 'SIGTERM';
  };
  if (o.handleSignals) {
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
  }

  const losses: number[] = [];
  let stepMsTotal = 0;
  let windowLoss = 0;
  let windowMs = 0;
  let windowUnits = 0;
  let windowSteps = 0;
  let lastEval: EvalResult | null = null;
  let evaluatedAt = -1;

  /**
   * Evaluates; `record` appends the metrics line (not for a resumed run that was already complete). Returns
   * false when the evaluation loss is not finite (the run has diverged).
   */
  const evaluate = (record = true): boolean => {
    const t0 = performance.now();
    const r = inEvalMode(model, () => task.evaluate(model));
    const evalMs = performance.now() - t0;
    lastEval = r;
    evaluatedAt = step;
    const finite = Number.isFinite(r.loss);
    const selected = task.select.metric === 'accuracy' ? (r.accuracy ?? Number.NaN) : r.loss;
    if (finite && isBetter(task, selected, best))
      best = { metric: task.select.metric, value: selected, step };
    const stepMs = windowSteps > 0 ? windowMs / windowSteps : 0;
    const rate = windowMs > 0 ? (windowUnits * 1000) / windowMs : 0;
    if (record)
      metrics?.append({
        step,
        epoch: task.epoch,
        loss: r.loss,
        train_loss: windowSteps > 0 ? windowLoss / windowSteps : Number.NaN,
        ...(r.accuracy !== undefined ? { accuracy: r.accuracy } : {}),
        ...(r.perplexity !== undefined ? { perplexity: r.perplexity } : {}),
        lr: o.lr(Math.max(0, step - 1)),
        step_ms: stepMs,
        [task.unit === 'images' ? 'images_per_s' : 'tokens_per_s']: rate,
        eval_ms: evalMs,
        ...(r.extra ?? {}),
      });
    const main =
      r.accuracy !== undefined
        ? `accuracy ${(100 * r.accuracy).toFixed(2)}%`
        : `perplexity ${r.perplexity?.toFixed(2)}`;
    const extra = Object.entries(r.extra ?? {})
      .map(([k, v]) => `${k} ${v.toFixed(4)}`)
      .join(' ');
    log(
      `eval step ${step} epoch ${task.epoch}: loss ${r.loss.toFixed(4)} ${main}${extra ? ` ${extra}` : ''} ` +
        `(best ${best?.metric} ${best?.value.toFixed(4)} at step ${best?.step}; ${stepMs.toFixed(1)} ms/step)`,
    );
    windowLoss = windowMs = windowUnits = windowSteps = 0;
    o.onEval?.(step, r);
    return finite;
  };

  const kept = (): string =>
    o.outDir && hasCheckpoint(o.outDir) ? 'the last good checkpoint is kept' : 'no checkpoint was written';
  const diverged = (what: string): TrainResult =>
    finish('diverged', `${what}: stopping (try a lower --lr); ${kept()}`);

  const finish = (status: TrainStatus, message?: string): TrainResult => {
    if (o.handleSignals) {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
    }
    o.progress?.done();
    if (message) log(message);
    return {
      status,
      step,
      epoch: task.epoch,
      best,
      lastEval,
      meanStepMs: losses.length > 0 ? stepMsTotal / losses.length : 0,
      losses,
      message,
    };
  };

  model.setTraining(true);
  while (step < o.totalSteps) {
    // Let signal handlers run between steps.
    await new Promise((r) => setImmediate(r));
    if (interrupted !== null) {
      const bad = checkpoint();
      if (bad !== null) return diverged(`parameter '${bad}' is not finite at step ${step}`);
      return finish(
        'interrupted',
        `${interrupted}: checkpoint written at step ${step}; continue with --resume`,
      );
    }
    const t0 = performance.now();
    const lr = o.lr(step);
    const batch = task.nextBatch();
    const { value, grads } = tf.variableGrads(() => task.loss(model, batch), varList);
    const loss = value.dataSync()[0];
    value.dispose();
    tf.dispose([batch.inputs, batch.targets]);
    if (!Number.isFinite(loss)) {
      tf.dispose(grads);
      return diverged(`training loss is ${loss} at step ${step + 1}`);
    }
    let named: NamedTensors = {};
    for (const [vname, g] of Object.entries(grads)) {
      const pname = byVarName.get(vname);
      if (pname !== undefined && g) named[pname] = g;
    }
    if (o.gradClip !== undefined) {
      const clipped = clipGradNorm(named, o.gradClip).grads;
      tf.dispose(grads);
      named = clipped;
    }
    optimizer.step(named, lr);
    tf.dispose(named);
    tf.dispose(grads);
    step++;
    const ms = performance.now() - t0;
    losses.push(loss);
    stepMsTotal += ms;
    windowLoss += loss;
    windowMs += ms;
    windowUnits += batch.units;
    windowSteps++;
    o.progress?.update(step, loss, batch.units, lr);

    if (step % o.evalEvery === 0 || step === o.totalSteps) {
      if (!evaluate())
        return diverged(`evaluation loss is ${(lastEval as EvalResult | null)?.loss} at step ${step}`);
      const bad = checkpoint();
      if (bad !== null) return diverged(`parameter '${bad}' is not finite at step ${step}`);
    }
    if (o.stopAtStep !== undefined && step >= o.stopAtStep && step < o.totalSteps) {
      const bad = evaluatedAt !== step ? checkpoint() : null;
      if (bad !== null) return diverged(`parameter '${bad}' is not finite at step ${step}`);
      return finish('stopped', `stopped at step ${step} (--stop-at); continue with --resume`);
    }
  }
  if (evaluatedAt !== step && lastEval === null) {
    // A resumed run that was already complete: evaluate once so the caller has numbers (its metrics line exists).
    evaluate(false);
  }
  return finish('completed');
}
