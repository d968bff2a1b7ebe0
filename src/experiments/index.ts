/**
 * The experiments' public API, for the CLI:
 *   `laurel experiment <name> [--budget smoke|standard|full] [--workers N]` → `runExperiment(name, opts)`
 *   `laurel report <name> [--budget …]`                                   → `reportExperiment(name, opts)`
 * Both throw an Error naming the bad value for an unknown experiment or budget. See README.md here.
 */
import { resolve } from 'node:path';
import { acquireRunLock } from '../train/lock.ts';
import { ensureDir } from '../util/files.ts';
import { BUDGETS as BUDGET_LIST, type Budget, DEFAULT_BUDGET, parseBudget } from './budget.ts';
import { EXPERIMENT_NAMES, getExperiment } from './definitions/index.ts';
import type { TrialExecutor } from './executor.ts';
import { experimentId, experimentResultsDir, experimentRunsDir, planTrials } from './plan.ts';
import { runTrialsOnQueue } from './queue.ts';
import { ReportNotReplaced, type WrittenReport, writeReport } from './report.ts';
import { type RunTrialsResult, runTrials } from './runner.ts';
import { ResultStore } from './store.ts';

export { BUDGETS, DEFAULT_BUDGET, PRESETS, parseBudget, type Budget } from './budget.ts';
export { EXPERIMENT_NAMES, EXPERIMENTS, getExperiment, type ExperimentName } from './definitions/index.ts';
export { experimentId, planTrials } from './plan.ts';
export type { WrittenReport } from './report.ts';
export type { TrialExecutor, TrialOutcome } from './executor.ts';
export type { RunTrialsResult } from './runner.ts';
export { parseQueueUrl, runQueueWorker } from './queue.ts';
export type { TrialRecord } from './store.ts';
export type { TrialSpec, TrialSummary } from './trial.ts';

export interface RunExperimentOptions {
  /** Preset name (default `standard`). */
  budget?: Budget | string;
  /** Parallel trial processes (default: the preset's, 2 on this machine). */
  workers?: number;
  /** Where run directories and results.jsonl go (default `runs`). */
  runsDir?: string;
  /** Where report.md and the SVGs go (default `results`). */
  resultsDir?: string;
  /** Override the preset's trials per row. */
  trials?: number;
  /** Cores to share between workers (default: os.availableParallelism()). */
  cores?: number;
  /** Trial executor (default: spawn `node bin/laurel.mjs train`); tests inject a fake. */
  executor?: TrialExecutor;
  /** Progress lines (default: to stderr). */
  log?: (line: string) => void;
  /** Abort to stop: trials in flight get SIGINT (they checkpoint) and are not recorded. */
  signal?: AbortSignal;
  /** Turn Ctrl-C into a graceful stop while running (default true; a second Ctrl-C exits at once with 130). */
  handleSigint?: boolean;
  /** Write the report when done (default true). */
  report?: boolean;
  /**
   * Per-trial time limit in ms (default: max(10 min, 5 × the preset's per-trial estimate); 0: none). A trial past
   * it gets SIGINT (it checkpoints), is recorded as failed, and resumes on the next run.
   */
  trialTimeoutMs?: number;
  /** `redis://HOST:PORT`: enqueue the trials on BullMQ for `laurel worker`s instead of running them here. */
  queue?: string;
}

export interface RunExperimentResult extends RunTrialsResult {
  /** Store id (`vision`, `vision-smoke`, …). */
  id: string;
  budget: Budget;
  /** `<runsDir>/<id>`. */
  runsDir: string;
  /** The preset's wall-time estimate for this worker count (minutes). */
  estimateMinutes: number;
  /** Wall time of this call (ms). */
  wallMs: number;
  /** null with --no-report, or when an existing report with more ok trials was kept (a warning says so). */
  report: WrittenReport | null;
}

/**
 * Runs every trial of experiment `name` at a budget that is not already done, `workers` at a time, then
 * regenerates the report. Failed trials are recorded (and retried by the next call); check `result.failed`
 * and `result.interrupted` (the CLI should exit non-zero for either, 130 for an interrupt).
 */
export async function runExperiment(
  name: string,
  opts: RunExperimentOptions = {},
): Promise<RunExperimentResult> {
  const def = getExperiment(name);
  const budget = parseBudget(opts.budget ?? DEFAULT_BUDGET);
  // absolute, so that the trainer (run from the repository root) writes where the store looks
  const runsDir = resolve(opts.runsDir ?? 'runs');
  const resultsDir = resolve(opts.resultsDir ?? 'results');
  const workers = opts.workers ?? def.defaultWorkers(budget);
  if (!(Number.isInteger(workers) && workers >= 1))
    throw new Error(`bad --workers ${workers}; allowed: an integer >= 1`);
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const trials = planTrials(def, budget, runsDir, opts.trials);
  const estimate = def.estimateMinutes(budget, workers);
  log(
    `experiment ${experimentId(def.name, budget)}: ${trials.length} trials (${def.rows(budget).length} rows × ` +
      `${trials.length / def.rows(budget).length} seeds), estimated ${estimate.toFixed(0)} min with ${workers} worker(s)`,
  );

  // One coordinator per experiment folder: two would record every trial twice (and, on a queue, take each
  // other's finished jobs). A lock left by a killed coordinator is taken over.
  const dir = experimentRunsDir(runsDir, def.name, budget);
  ensureDir(dir);
  const lock = acquireRunLock(dir, 'laurel experiment');
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort();
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (opts.signal?.aborted) controller.abort();
  let sigints = 0;
  const onSigint = () => {
    sigints++;
    if (sigints > 1) process.exit(130);
    log(
      'interrupt: stopping; trials in flight write a checkpoint and resume on the next run (Ctrl-C again to exit now)',
    );
    controller.abort();
  };
  const handleSigint = opts.handleSigint ?? true;
  if (handleSigint) process.on('SIGINT', onSigint);

  const t0 = Date.now();
  let result: RunTrialsResult;
  const store = new ResultStore(dir);
  const trialTimeoutMs = opts.trialTimeoutMs ?? Math.max(600_000, 5 * def.trialSeconds(budget) * 1000);
  try {
    result = opts.queue
      ? await runTrialsOnQueue(trials, {
          store,
          budget,
          url: opts.queue,
          signal: controller.signal,
          log,
          trialTimeoutMs,
        })
      : await runTrials(trials, {
          store,
          budget,
          workers,
          cores: opts.cores,
          executor: opts.executor,
          signal: controller.signal,
          log,
          trialTimeoutMs,
        });
  } finally {
    if (handleSigint) process.off('SIGINT', onSigint);
    opts.signal?.removeEventListener('abort', onOuterAbort);
    lock.release();
  }
  const wallMs = Date.now() - t0;
  let report: WrittenReport | null = null;
  if (opts.report ?? true) {
    try {
      report = await writeReport(def, { budget, runsDir, resultsDir });
      log(`report: ${report.reportPath}`);
    } catch (e) {
      // The trials are recorded and trained fine: keeping the fuller report is not a failure of this run.
      if (!(e instanceof ReportNotReplaced)) throw e;
      log(`warning: ${e.message}`);
    }
  }
  log(
    `experiment ${experimentId(def.name, budget)}: ${result.ran} ran (${result.failed} failed), ${result.skipped} ` +
      `already done, ${(wallMs / 60000).toFixed(1)} min${result.interrupted ? ', interrupted' : ''}`,
  );
  return {
    ...result,
    id: experimentId(def.name, budget),
    budget,
    runsDir: experimentRunsDir(runsDir, def.name, budget),
    estimateMinutes: estimate,
    wallMs,
    report,
  };
}

export interface ReportExperimentOptions {
  budget?: Budget | string;
  runsDir?: string;
  resultsDir?: string;
  /** For reproducible output in tests. */
  date?: string;
  commit?: string | null;
}

/**
 * Regenerates `<resultsDir>/<id>/report.md` and its SVG plots from `<runsDir>/<id>/results.jsonl`
 * without retraining. Works with no results at all (the tables then show "not run yet").
 */
export async function reportExperiment(
  name: string,
  opts: ReportExperimentOptions = {},
): Promise<WrittenReport> {
  const def = getExperiment(name);
  const budget = parseBudget(opts.budget ?? DEFAULT_BUDGET);
  return writeReport(def, {
    budget,
    runsDir: opts.runsDir ?? 'runs',
    resultsDir: opts.resultsDir ?? 'results',
    date: opts.date,
    commit: opts.commit,
  });
}

/** Help text for `laurel experiment`: the experiments, their rows and each budget's size and estimated time. */
export function experimentsHelp(): string {
  const lines = [
    'Experiments (rows; per budget: trials per row, steps per trial, estimated wall time with its default workers):',
  ];
  for (const name of EXPERIMENT_NAMES) {
    const def = getExperiment(name);
    lines.push(`  ${name.padEnd(7)}${def.title}`);
    lines.push(
      `         rows: ${def
        .rows(DEFAULT_BUDGET)
        .map((r) => r.label)
        .join('; ')}`,
    );
    for (const b of BUDGET_LIST) {
      lines.push(
        `         ${b.padEnd(9)}${def.trials(b)} trials × ${def.steps(b)} steps, ~${Math.max(1, Math.round(def.estimateMinutes(b)))} min ` +
          `with ${def.defaultWorkers(b)} workers`,
      );
    }
  }
  lines.push(
    'Results: runs/<name>[-<budget>]/results.jsonl; reports: results/<name>[-<budget>]/report.md (+ SVG).',
  );
  return `${lines.join('\n')}\n`;
}

/** Where the report of an experiment lives. */
export function reportDir(
  name: string,
  opts: { budget?: Budget | string; resultsDir?: string } = {},
): string {
  return experimentResultsDir(
    opts.resultsDir ?? 'results',
    getExperiment(name).name,
    parseBudget(opts.budget ?? DEFAULT_BUDGET),
  );
}
