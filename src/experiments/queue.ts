/**
 * Sweeps across machines on BullMQ (Redis): `laurel experiment NAME --queue redis://HOST:PORT` enqueues the
 * trials that are not done and records their outcomes; `laurel worker --queue redis://…` (on any number of
 * machines) runs them with the same executor as the local runner and returns each trial's outcome as the job's
 * return value.
 *
 * - One queue (`laurel-trials`) for every experiment; a job's id names its trial and config
 *   (`<experiment>.<row>.seed<S>.<fingerprint>`), so enqueuing again (a coordinator restart) adds nothing twice.
 * - Run directories live under each worker's own `--runs-dir`, at the same relative path as a local run
 *   (`<experiment>/<row>/seed<S>`): a trial given back resumes from its checkpoint when the next worker shares
 *   that directory (same machine or shared disk), and restarts from scratch otherwise.
 * - A worker that dies mid-trial (its process group killed, a machine lost) stops renewing the job's lock; BullMQ's
 *   stalled-job check moves the job back to waiting and another worker takes it. A worker stopped with Ctrl-C
 *   interrupts its trial (the trainer checkpoints) and fails the attempt, so the job is retried elsewhere.
 * - The coordinator polls the jobs it waits for, appends one results.jsonl record per finished job and removes
 *   the job after recording it. A record names its job and finish time (`job`), so a coordinator restarted
 *   between recording and removing does not record the job again. Trials whose latest record succeeded are
 *   skipped, exactly as in a local run; failed ones are enqueued again.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type * as BullMQ from 'bullmq';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { InputError } from '../util/errors.ts';
import { requireOptional } from '../util/optional.ts';
import type { TrialExecutor, TrialOutcome } from './executor.ts';
import { gitCommit } from './git.ts';
import {
  type RunTrialsResult,
  describeOutcome,
  executeTrial,
  makeRecord,
  spawnExecutor,
  startRun,
} from './runner.ts';
import type { ResultStore, TrialRecord } from './store.ts';
import { type TrialSpec, trialFingerprint, trialKey } from './trial.ts';

export const QUEUE_NAME = 'laurel-trials';

/** What a job carries: the trial without its machine-specific run directory. */
export interface QueuedTrial {
  trial: Omit<TrialSpec, 'out'>;
  /** `<experiment>/<row>/seed<S>`, under the worker's runs directory. */
  runPath: string;
  budget: string;
  /** Per-trial time limit in ms (0: none). */
  timeoutMs: number;
}

/** A job's return value: the outcome and where and how the trial ran. */
export interface QueuedResult {
  outcome: TrialOutcome;
  threads: number;
  out: string;
  startedAt: string;
  finishedAt: string;
  commit: string | null;
  host: string;
}

/** Where a queue lives: ioredis's connection options. */
export interface QueueTarget {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** rediss://: TLS, the server's name checked against its certificate. */
  tls?: { servername: string };
}

/** The URL with its password replaced by ***, for messages and logs. */
export function redactQueueUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}

/**
 * `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` (rediss:// for TLS; the user and password percent-encoded) →
 * connection options; throws one line naming the bad value, its password hidden.
 */
export function parseQueueUrl(url: string): QueueTarget {
  const bad = () =>
    new InputError(`bad --queue '${redactQueueUrl(url)}'; expected redis://[:PASSWORD@]HOST:PORT[/DB]`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw bad();
  }
  const port = u.port === '' ? 6379 : Number(u.port);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0;
  const tls = u.protocol === 'rediss:';
  if (
    (u.protocol !== 'redis:' && !tls) ||
    u.hostname === '' ||
    !Number.isInteger(db) ||
    db < 0 ||
    u.search ||
    u.hash
  )
    throw bad();
  let username: string;
  let password: string;
  try {
    username = decodeURIComponent(u.username);
    password = decodeURIComponent(u.password);
  } catch {
    throw bad(); // a stray % in the user or password
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return {
    host,
    port,
    db,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(tls ? { tls: { servername: host } } : {}),
  };
}

/** BullMQ's classes and its Redis client (ioredis comes with bullmq, so bullmq is the package to name). */
function bullmq(): Pick<typeof BullMQ, 'Queue' | 'Worker'> & { Redis: typeof Redis } {
  const { Queue, Worker } = requireOptional<typeof BullMQ>('bullmq', 'the job queue (--queue)');
  return {
    Queue,
    Worker,
    Redis: requireOptional<{ Redis: typeof Redis }>('ioredis', 'the job queue (--queue)').Redis,
  };
}

/**
 * A Redis connection that is ready and answers (a PING: a server that wants a password says so here, not in the
 * middle of a sweep), or one clear error: ioredis retries forever by default, so an unreachable server would
 * hang. BullMQ needs `maxRetriesPerRequest: null` for its blocking commands.
 */
export async function connectRedis(url: string, timeoutMs = 5000): Promise<Redis> {
  const opts = parseQueueUrl(url);
  const { Redis } = bullmq();
  const client = new Redis({
    ...opts,
    lazyConnect: true,
    maxRetriesPerRequest: null,
    retryStrategy: () => null,
  });
  // The server's own reason (NOAUTH, WRONGPASS, ECONNREFUSED) arrives here; connect() then only says that the
  // connection closed.
  let reason: Error | null = null;
  client.on('error', (e: Error) => {
    reason ??= e;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (e) {
    client.disconnect();
    throw new InputError(`cannot use Redis at ${redactQueueUrl(url)}: ${(reason ?? (e as Error)).message}`);
  } finally {
    clearTimeout(timer); // a pending timer would keep a finished command alive for timeoutMs
  }
  // from now on, reconnect after a dropped connection (a Redis restart), as BullMQ expects
  client.options.retryStrategy = (n: number) => Math.min(1000 * n, 5000);
  return client;
}

/** A warning line when the server does not keep an append-only file (queued trials would not survive its restart). */
export async function durabilityWarning(client: Redis): Promise<string | null> {
  try {
    const r = (await client.config('GET', 'appendonly')) as string[];
    return r[1] === 'yes'
      ? null
      : 'warning: this Redis runs without an append-only file (appendonly no): queued trials do not survive its restart';
  } catch {
    return null; // CONFIG may be disabled on a managed server
  }
}

/** The job id of a trial: experiment, row, seed and config fingerprint (BullMQ ids may not contain ':'). */
export function jobId(trial: Omit<TrialSpec, 'out'>): string {
  return `${trial.experiment}.${trial.row}.seed${trial.seed}.${trialFingerprint(trial)}`;
}

export interface QueueRunOptions {
  store: ResultStore;
  budget: string;
  /** `redis://HOST:PORT`. */
  url: string;
  /** Stop waiting (the jobs stay queued and the workers keep running them; a re-run collects them). */
  signal?: AbortSignal;
  log?: (line: string) => void;
  trialTimeoutMs?: number;
  /** How often the coordinator polls its jobs (default 1 s). */
  pollMs?: number;
}

/** The coordinator: enqueues the trials not done, records each finished job once, returns like `runTrials`. */
export async function runTrialsOnQueue(
  trials: readonly TrialSpec[],
  opts: QueueRunOptions,
): Promise<RunTrialsResult> {
  const { store } = opts;
  const log = opts.log ?? (() => {});
  const { todo, latest, result } = startRun(trials, store, log);
  if (todo.length === 0) return result;
  const connection = await connectRedis(opts.url);
  const queue = new (bullmq().Queue)<QueuedTrial, QueuedResult>(QUEUE_NAME, { connection });
  try {
    const warning = await durabilityWarning(connection);
    if (warning) log(warning);
    // A finished job the store already has (recorded, then the coordinator stopped before removing it) is
    // removed, for every trial: a done trial's job would otherwise stay, and be taken for a new result by
    // a coordinator with another store.
    for (const t of trials) {
      const old = await queue.getJob(jobId(t));
      const state = old ? await old.getState() : null;
      if (old && (state === 'completed' || state === 'failed') && recorded(latest.get(trialKey(t)), old)) {
        await old.remove();
      }
    }
    const enqueue = async (t: TrialSpec): Promise<void> => {
      const { out: _out, ...trial } = t;
      await queue.add(
        'trial',
        {
          trial,
          runPath: join(t.experiment, t.row, `seed${t.seed}`),
          budget: opts.budget,
          timeoutMs: opts.trialTimeoutMs ?? 0,
        },
        {
          jobId: jobId(t),
          attempts: 3,
          backoff: { type: 'fixed', delay: 1000 },
          removeOnComplete: false,
          removeOnFail: false,
        },
      );
    };
    const pending = new Map<string, TrialSpec>();
    for (const t of todo) {
      await enqueue(t);
      pending.set(jobId(t), t);
    }
    log(
      `queued ${pending.size} trials on ${redactQueueUrl(opts.url)} (queue ${QUEUE_NAME}); waiting for workers (laurel worker --queue ${redactQueueUrl(opts.url)})`,
    );
    const pollMs = opts.pollMs ?? 1000;
    let done = 0;
    while (pending.size > 0 && !opts.signal?.aborted) {
      for (const [id, t] of [...pending]) {
        const job = await queue.getJob(id);
        if (!job) {
          // gone from Redis (restarted without its append-only file, flushed, removed by hand): queue it again
          log(`job ${id} is no longer on the queue; queued again`);
          await enqueue(t);
          continue;
        }
        const state = await job.getState();
        if (state !== 'completed' && state !== 'failed') continue;
        const record = recordOf(t, job, state, opts.budget);
        store.append(record);
        await job.remove();
        pending.delete(id);
        result.records.push(record);
        result.ran++;
        if (record.status !== 'ok') result.failed++;
        result.threads = Math.max(result.threads, record.threads);
        log(
          `[${++done}/${todo.length}] ${describeOutcome(record)} (${job.returnvalue?.host ?? 'no worker'})`,
        );
      }
      if (pending.size > 0) await sleep(pollMs, opts.signal);
    }
    if (pending.size > 0) {
      result.interrupted = true;
      log(`stopped waiting: ${pending.size} trials stay queued; run the same command again to collect them`);
    }
    return result;
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** Whether `record` is the one made from this finished job. */
function recorded(record: TrialRecord | undefined, job: Job): boolean {
  return record?.job === `${job.id}@${job.finishedOn}`;
}

/**
 * The record of a finished job: the worker's outcome, or for a job that failed without one (its attempts spent on
 * stalls or crashes) a failed record with BullMQ's reason.
 */
export function recordOf(
  t: TrialSpec,
  job: Job<QueuedTrial, QueuedResult>,
  state: string,
  budget: string,
): TrialRecord {
  const r = state === 'completed' ? job.returnvalue : null;
  const outcome: TrialOutcome = r?.outcome ?? {
    summary: null,
    error: `queue: ${job.failedReason || 'the job failed'} (after ${job.attemptsMade} attempts)`,
  };
  return makeRecord({ ...t, out: r?.out ?? t.out }, outcome, {
    interrupted: false,
    // no worker reported a thread count for a failed job: its args say 1 (the command still reproduces the trial)
    threads: r?.threads ?? 1,
    startedAt: new Date(r?.startedAt ?? job.processedOn ?? job.timestamp),
    finishedAt: new Date(r?.finishedAt ?? job.finishedOn ?? Date.now()),
    commit: r?.commit ?? null,
    budget,
    job: `${job.id}@${job.finishedOn}`,
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface QueueWorkerOptions {
  url: string;
  /** Where run directories go (default `runs`). */
  runsDir: string;
  threads: number;
  /** Trials at once in this process (default 1). */
  concurrency?: number;
  /** BullMQ lock duration (default 30 s): a dead worker's trial goes back to the queue within about this long. */
  lockMs?: number;
  executor?: TrialExecutor;
  log?: (line: string) => void;
  /** Stop: trials in flight get SIGINT (they checkpoint) and their jobs are given back for a retry. */
  signal: AbortSignal;
}

/** A worker: runs queued trials until `signal` aborts. Resolves when it has closed. */
export async function runQueueWorker(opts: QueueWorkerOptions): Promise<{ ran: number }> {
  const log = opts.log ?? (() => {});
  const executor = opts.executor ?? spawnExecutor;
  const connection = await connectRedis(opts.url);
  const warning = await durabilityWarning(connection);
  if (warning) log(warning);
  const commit = gitCommit();
  let ran = 0;
  const lockMs = opts.lockMs ?? 30_000;
  const worker = new (bullmq().Worker)<QueuedTrial, QueuedResult>(
    QUEUE_NAME,
    async (job) => {
      const trial: TrialSpec = { ...job.data.trial, out: join(opts.runsDir, job.data.runPath) };
      const startedAt = new Date();
      log(`start ${trial.experiment} ${trialKey(trial)} (attempt ${job.attemptsMade + 1})`);
      const outcome = await executeTrial(trial, executor, {
        threads: opts.threads,
        signal: opts.signal,
        timeoutMs: job.data.timeoutMs,
      });
      // stopped by Ctrl-C: give the trial back (a failed attempt is retried by another worker)
      if (opts.signal.aborted) throw new Error(`worker on ${hostname()} stopped during the trial`);
      ran++;
      const r: QueuedResult = {
        outcome,
        threads: opts.threads,
        out: trial.out,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        commit,
        host: hostname(),
      };
      log(
        outcome.error === null
          ? `done ${trialKey(trial)} in ${((Date.now() - startedAt.getTime()) / 1000).toFixed(1)} s`
          : `FAILED ${trialKey(trial)}: ${outcome.error.split('\n').slice(-1)[0]}`,
      );
      return r;
    },
    {
      connection,
      concurrency: opts.concurrency ?? 1,
      lockDuration: lockMs,
      stalledInterval: Math.max(1000, Math.round(lockMs / 2)),
      maxStalledCount: 2,
    },
  );
  worker.on('error', (e) => log(`queue error: ${e.message}`));
  log(
    `worker on ${hostname()}: queue ${QUEUE_NAME} at ${redactQueueUrl(opts.url)}, ${opts.threads} thread(s) per trial, runs in ${opts.runsDir}`,
  );
  await new Promise<void>((resolve) => {
    if (opts.signal.aborted) resolve();
    else opts.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await worker.close();
  connection.disconnect();
  return { ran };
}
