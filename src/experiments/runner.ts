/**
 * Runs a list of trials with `workers` parallel processes, skipping finished ones and recording every
 * outcome (failures with their error) in the experiment's ResultStore.
 *
 * Cores are shared: each worker's trainer gets `--threads max(1, floor(cores / activeWorkers))` (and the same
 * OPENBLAS/OMP thread counts in its environment), where activeWorkers = min(workers, trials left to run).
 *
 * The executor is injectable: tests pass a fake; the default spawns `node bin/laurel.mjs train … --json`.
 * An aborted run (Ctrl-C) records the trials in flight as `interrupted` (not done, so a re-run resumes them
 * from their checkpoints: same `--out`, `--resume`); their wall time still counts in the report.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { writeJsonAtomic } from '../util/files.ts';
import type { ExecContext, TrialExecutor, TrialOutcome } from './executor.ts';
import { gitCommit } from './git.ts';
import { CRN_VERSION } from './paired.ts';
import { probeCommand, withProbe } from './probe-step.ts';
import type { ResultStore, TrialRecord } from './store.ts';
import {
  REPO_ROOT,
  type TrialSpec,
  type TrialSummary,
  buildTrialArgs,
  parseSummary,
  trialCommand,
  trialFingerprint,
  trialKey,
} from './trial.ts';

export interface RunTrialsOptions {
  store: ResultStore;
  /** Budget name, recorded with each trial. */
  budget: string;
  workers: number;
  /** Cores to share (default: os.availableParallelism()). */
  cores?: number;
  executor?: TrialExecutor;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Commit recorded with each trial (default: `git rev-parse HEAD`). */
  commit?: string | null;
  /** Per-trial time limit (default 0: none). A trial past it is stopped and recorded as failed. */
  trialTimeoutMs?: number;
}

export interface RunTrialsResult {
  total: number;
  skipped: number;
  ran: number;
  failed: number;
  interrupted: boolean;
  threads: number;
  /** Records appended by this run. */
  records: TrialRecord[];
}

/** Threads per worker: max(1, floor(cores / workers)). */
export function threadsPerWorker(cores: number, workers: number): number {
  return Math.max(1, Math.floor(cores / Math.max(1, workers)));
}

const MARKER = 'trial.json';

/**
 * Prepares the run directory: if it holds a different trial's checkpoint (another config fingerprint, e.g. the
 * preset table changed), moves it aside to `<out>.stale-<time>` so that `--resume` cannot continue the wrong run.
 */
export function prepareRunDir(trial: TrialSpec, fingerprint: string): void {
  const marker = join(trial.out, MARKER);
  if (existsSync(marker)) {
    let old: string | null = null;
    try {
      old = (JSON.parse(readFileSync(marker, 'utf8')) as { fingerprint?: string }).fingerprint ?? null;
    } catch {
      old = null;
    }
    if (old !== fingerprint) renameSync(trial.out, `${trial.out}.stale-${Date.now()}`);
  }
  mkdirSync(trial.out, { recursive: true });
  // atomic: a marker torn by a crash would not parse, and the next start would set the trial's checkpoint aside
  writeJsonAtomic(marker, { fingerprint, key: trialKey(trial), seed: trial.seed, train: trial.train });
}

/** How long a stopped trainer may take to write its checkpoint before it is killed. */
export const KILL_GRACE_MS = 30_000;

/** Keeps the last `max` characters of a growing string. */
function tail(s: string, max: number): string {
  return s.length > max ? s.slice(s.length - max) : s;
}

/**
 * An executor that runs `command(trial, threads)` as a subprocess (cwd: the repository root), logs its
 * output to `logPath`, and reads the summary from the last stdout line.
 */
export function makeSpawnExecutor(
  command: (trial: TrialSpec, threads: number) => { command: string; args: string[] } = (t, threads) =>
    trialCommand(t, { threads }),
): TrialExecutor {
  return (trial, ctx) => spawnTrial(command(trial, ctx.threads), ctx);
}

function spawnTrial(
  { command, args }: { command: string; args: string[] },
  ctx: ExecContext,
): Promise<TrialOutcome> {
  return new Promise((resolve) => {
    const log = createWriteStream(ctx.logPath, { flags: 'a' });
    log.write(`# ${new Date().toISOString()} ${command} ${args.join(' ')}\n`);
    const threads = String(ctx.threads);
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, OPENBLAS_NUM_THREADS: threads, OMP_NUM_THREADS: threads, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout = tail(stdout + d, 1 << 20);
      log.write(d);
    });
    child.stderr.on('data', (d: string) => {
      stderr = tail(stderr + d, 1 << 16);
      log.write(d);
    });
    let killer: NodeJS.Timeout | undefined;
    // SIGINT lets the trainer write a checkpoint; SIGKILL if it does not exit within the grace period.
    const stop = () => {
      child.kill('SIGINT');
      killer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    let timedOut = false;
    const timer =
      ctx.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            stop();
          }, ctx.timeoutMs)
        : undefined;
    ctx.signal.addEventListener('abort', stop, { once: true });
    const finish = (outcome: TrialOutcome) => {
      ctx.signal.removeEventListener('abort', stop);
      clearTimeout(timer);
      clearTimeout(killer);
      log.end(() => resolve(outcome));
    };
    child.on('error', (e) => finish({ summary: null, error: `could not start the trainer: ${e.message}` }));
    child.on('close', (code, sig) => {
      const summary = parseSummary(stdout);
      if (code === 0 && summary && !timedOut) return finish({ summary, error: null });
      const why = timedOut
        ? `timed out after ${(ctx.timeoutMs / 1000).toFixed(0)} s (exit ${code ?? 'null'}${sig ? `, signal ${sig}` : ''})`
        : code === 0
          ? 'exit 0 but the last stdout line is not a JSON summary'
          : `exit ${code ?? 'null'}${sig ? ` (signal ${sig})` : ''}`;
      const errTail = tail(stderr.trim(), 2000);
      finish({ summary: null, error: errTail ? `${why}: ${errTail}` : why });
    });
  });
}

/**
 * The default executor: `node bin/laurel.mjs train … --json` as a subprocess, output logged to `logPath`, then
 * `laurel probe` where the trial asks for the downstream probe (probe-step.ts).
 */
export const spawnExecutor: TrialExecutor = withProbe(makeSpawnExecutor(), makeSpawnExecutor(probeCommand));

/** Prepares the trial's run directory and runs it; an executor's exception becomes a failed outcome. */
export async function executeTrial(
  trial: TrialSpec,
  executor: TrialExecutor,
  ctx: Omit<ExecContext, 'logPath'>,
): Promise<TrialOutcome> {
  try {
    prepareRunDir(trial, trialFingerprint(trial));
    return await executor(trial, { ...ctx, logPath: join(trial.out, 'runner.log') });
  } catch (e) {
    return { summary: null, error: e instanceof Error ? e.message : String(e) };
  }
}

/** How and where a trial ran, besides its spec and outcome. */
export interface RunFacts {
  /** Stopped by an abort: recorded as `interrupted` (it resumes from its checkpoint). */
  interrupted: boolean;
  threads: number;
  startedAt: Date;
  finishedAt: Date;
  commit: string | null;
  budget: string;
  /** The queue job that ran it (`<id>@<finishedOn>`), for queued trials. */
  job?: string;
}

/** The results.jsonl record of one run of a trial (local runner and queue coordinator alike). */
export function makeRecord(trial: TrialSpec, outcome: TrialOutcome, f: RunFacts): TrialRecord {
  return {
    experiment: trial.experiment,
    row: trial.row,
    seed: trial.seed,
    key: trialKey(trial),
    fingerprint: trialFingerprint(trial),
    status: f.interrupted
      ? 'interrupted'
      : outcome.error === null && outcome.summary !== null
        ? 'ok'
        : 'failed',
    train: trial.train,
    args: buildTrialArgs(trial, { threads: f.threads }),
    threads: f.threads,
    out: trial.out,
    summary: outcome.summary,
    error: outcome.error ?? (outcome.summary === null ? 'no summary' : null),
    wall_ms: f.finishedAt.getTime() - f.startedAt.getTime(),
    started_at: f.startedAt.toISOString(),
    finished_at: f.finishedAt.toISOString(),
    commit: f.commit,
    budget: f.budget,
    crn: CRN_VERSION,
    ...(f.job ? { job: f.job } : {}),
  };
}

/** The progress line of a finished trial: its metric and wall time, or why it failed. */
export function describeOutcome(record: TrialRecord): string {
  const secs = (record.wall_ms / 1000).toFixed(1);
  if (record.status !== 'ok')
    return `FAILED ${record.key} after ${secs} s: ${record.error?.split('\n').slice(-3).join(' | ')}`;
  const s = record.summary!;
  const metric =
    s.best_accuracy !== null
      ? `acc ${(s.best_accuracy * 100).toFixed(2)} %`
      : s.test_loss !== null
        ? `test loss ${s.test_loss.toFixed(4)}`
        : 'no metric';
  return `done ${record.key}: ${metric} in ${secs} s`;
}

/**
 * The trials of a run that are not done yet (no successful latest record with their config), the store's latest
 * records, and an empty result counting the skipped ones (logged).
 */
export function startRun(
  trials: readonly TrialSpec[],
  store: ResultStore,
  log: (line: string) => void,
): { todo: TrialSpec[]; latest: Map<string, TrialRecord>; result: RunTrialsResult } {
  const latest = store.latest();
  const todo = trials.filter((t) => !store.isDone(trialKey(t), trialFingerprint(t), latest));
  const result: RunTrialsResult = {
    total: trials.length,
    skipped: trials.length - todo.length,
    ran: 0,
    failed: 0,
    interrupted: false,
    threads: 0,
    records: [],
  };
  if (result.skipped > 0) log(`${result.skipped} of ${trials.length} trials already done (${store.path})`);
  return { todo, latest, result };
}

/** Runs `trials` (skipping those already done), `workers` at a time. */
export async function runTrials(
  trials: readonly TrialSpec[],
  opts: RunTrialsOptions,
): Promise<RunTrialsResult> {
  const { store } = opts;
  const log = opts.log ?? (() => {});
  const executor = opts.executor ?? spawnExecutor;
  const signal = opts.signal ?? new AbortController().signal;
  const commit = opts.commit === undefined ? gitCommit() : opts.commit;
  const { todo, result } = startRun(trials, store, log);
  const workers = Math.max(1, Math.min(Math.floor(opts.workers) || 1, todo.length || 1));
  const threads = threadsPerWorker(opts.cores ?? availableParallelism(), workers);
  result.threads = threads;
  if (todo.length === 0) return result;
  log(`running ${todo.length} trials, ${workers} at a time, ${threads} thread(s) each`);

  let next = 0;
  let started = 0;
  const worker = async (): Promise<void> => {
    while (!signal.aborted && next < todo.length) {
      const trial = todo[next++]!;
      const n = ++started;
      const key = trialKey(trial);
      const startedAt = new Date();
      log(`[${n}/${todo.length}] start ${trial.experiment} ${key}`);
      const outcome = await executeTrial(trial, executor, {
        threads,
        signal,
        timeoutMs: opts.trialTimeoutMs ?? 0,
      });
      const finishedAt = new Date();
      const interrupted = signal.aborted;
      const record = makeRecord(trial, outcome, {
        interrupted,
        threads,
        startedAt,
        finishedAt,
        commit,
        budget: opts.budget,
      });
      store.append(record);
      result.records.push(record);
      if (interrupted) {
        // not done: the next run resumes it from its checkpoint (same --out, --resume)
        log(`[${n}/${todo.length}] interrupted ${key} (resumes from its checkpoint on the next run)`);
        continue;
      }
      result.ran++;
      if (record.status !== 'ok') result.failed++;
      log(`[${n}/${todo.length}] ${describeOutcome(record)}`);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  result.interrupted = signal.aborted;
  return result;
}
