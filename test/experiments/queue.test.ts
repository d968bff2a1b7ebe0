/**
 * Sweeps across machines: a private redis-server (loopback, random free port, temporary directory, append-only
 * file on), a smoke `lm` experiment enqueued by `laurel experiment --queue`, two `laurel worker` processes, one of
 * them killed (with its trainer: its process group, as when a machine is lost) in the middle of a trial. The
 * stalled trial goes back to the queue, the other worker finishes it, the coordinator records every trial once,
 * and a restarted coordinator runs nothing again. Skipped, with the reason, where redis-server is not installed.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Job } from 'bullmq';
import { Queue } from 'bullmq';
import { getExperiment } from '../../src/experiments/definitions/index.ts';
import { runExperiment } from '../../src/experiments/index.ts';
import { planTrials } from '../../src/experiments/plan.ts';
import {
  QUEUE_NAME,
  type QueuedResult,
  type QueuedTrial,
  connectRedis,
  jobId,
  parseQueueUrl,
  recordOf,
  runQueueWorker,
  runTrialsOnQueue,
} from '../../src/experiments/queue.ts';
import { ResultStore } from '../../src/experiments/store.ts';
import { LAUREL_BIN, REPO_ROOT, type TrialSpec, normalizeSummary } from '../../src/experiments/trial.ts';

const REDIS = '/usr/bin/redis-server';
const skip = existsSync(REDIS) ? false : `${REDIS} is not installed (apt-get install redis-server)`;
const tmp = mkdtempSync(join(tmpdir(), 'laurel-queue-'));
const servers: ChildProcess[] = [];
let url = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A private redis-server on a free loopback port (its files in dir); resolves to its URL once it answers. */
async function startRedis(dir: string, args: string[] = [], password = ''): Promise<string> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  servers.push(
    spawn(
      REDIS,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--save',
        '',
        ...args,
      ],
      { stdio: 'ignore' },
    ),
  );
  const at = `redis://${password ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      (await connectRedis(at, 1000)).disconnect();
      return at;
    } catch (e) {
      if (i > 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

before(async () => {
  if (!skip) url = await startRedis(tmp);
});

after(() => {
  // a failed assertion leaves workers running: they would keep this file (and npm test) alive
  for (const p of spawned) {
    try {
      if (p.exitCode === null && p.signalCode === null) process.kill(-p.pid!, 'SIGKILL');
    } catch {} // its group is gone already
  }
  for (const server of servers) server.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

interface Proc {
  child: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
}

const spawned: ChildProcess[] = [];

/** `node bin/laurel.mjs ARGS` in its own process group, its stdout and stderr collected. */
function laurel(args: string[]): Proc {
  const child = spawn(process.execPath, [LAUREL_BIN, ...args], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned.push(child);
  let text = '';
  child.stdout!.on('data', (d) => {
    text += d;
  });
  child.stderr!.on('data', (d) => {
    text += d;
  });
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out: () => text, exit };
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('parseQueueUrl: redis[s]://[[USER]:PASSWORD@]HOST:PORT[/DB], anything else is one clear error without the password', () => {
  assert.deepEqual(parseQueueUrl('redis://10.0.0.2:6380'), { host: '10.0.0.2', port: 6380, db: 0 });
  assert.deepEqual(parseQueueUrl('redis://box/2'), { host: 'box', port: 6379, db: 2 });
  assert.deepEqual(parseQueueUrl('redis://:s%40cr%3At@box:7000'), {
    host: 'box',
    port: 7000,
    db: 0,
    password: 's@cr:t',
  });
  assert.deepEqual(parseQueueUrl('rediss://ops:pw@[::1]:6380/1'), {
    host: '::1',
    port: 6380,
    db: 1,
    username: 'ops',
    password: 'pw',
    tls: { servername: '::1' },
  });
  for (const bad of [
    'localhost:6379',
    'http://h:1',
    'redis://',
    'redis://h:1/x',
    'redis://h:1?db=2',
    'redis://:%zz@h',
  ])
    assert.throws(
      () => parseQueueUrl(bad),
      /^InputError: bad --queue '.*'; expected redis:\/\/\[:PASSWORD@\]HOST:PORT\[\/DB\]$/,
    );
  assert.throws(
    () => parseQueueUrl('redis://:hunter2@h:1/x'),
    (e: Error) => {
      assert.match(e.message, /'redis:\/\/:\*\*\*@h:1\/x'/);
      return !e.message.includes('hunter2');
    },
  );
  const id = jobId({
    experiment: 'lm-smoke',
    row: 'rw-lr',
    seed: 2,
    train: { task: 'text', model: 'gpt', residual: 'rw+lr', batchSize: 4 },
  });
  assert.match(id, /^lm-smoke\.rw-lr\.seed2\.[0-9a-f]{16}$/);
});

test('a job that failed without a result (attempts spent on stalls) is recorded as failed, with the reason', () => {
  const trial: TrialSpec = {
    experiment: 'lm-smoke',
    row: 'rw',
    seed: 1,
    train: { task: 'text', model: 'gpt', residual: 'rw', batchSize: 4 },
    out: '/tmp/x',
  };
  const job = {
    id: 'j1',
    returnvalue: null,
    failedReason: 'job stalled more than allowable limit',
    attemptsMade: 3,
    processedOn: 1000,
    finishedOn: 5000,
    timestamp: 500,
  } as unknown as Job<QueuedTrial, QueuedResult>;
  const r = recordOf(trial, job, 'failed', 'smoke');
  assert.equal(r.status, 'failed');
  assert.equal(r.error, 'queue: job stalled more than allowable limit (after 3 attempts)');
  assert.equal(r.wall_ms, 4000);
  assert.equal(r.job, 'j1@5000');
});

test('an unreachable queue is one line and exit 2, not a hang', { skip }, async () => {
  const port = await freePort();
  const p = laurel(['worker', '--queue', `redis://127.0.0.1:${port}`]);
  assert.equal(await p.exit, 2);
  assert.match(
    p.out().trim(),
    new RegExp(`^laurel: cannot use Redis at redis://127\\.0\\.0\\.1:${port}: .+$`),
  );
});

test(
  'a server with a password: refused without it or with a wrong one (one line, password hidden), used with it; no timer left behind',
  { skip },
  async () => {
    const withPassword = await startRedis(join(tmp, 'auth'), ['--requirepass', 'p@ss word'], 'p@ss word');
    const bare = withPassword.replace(/\/\/:[^@]*@/, '//');
    await assert.rejects(
      connectRedis(bare, 2000),
      /^InputError: cannot use Redis at redis:\/\/127\.0\.0\.1:\d+: NOAUTH/,
    );
    const wrong = withPassword.replace(/\/\/:[^@]*@/, '//:wrong@');
    await assert.rejects(connectRedis(wrong, 2000), (e: Error) => {
      assert.match(
        e.message,
        /^cannot use Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: (WRONGPASS|ERR invalid password)/,
      );
      return !e.message.includes('wrong');
    });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const client = await connectRedis(withPassword, 2000);
    assert.equal(
      timers(),
      before,
      'connectRedis left its timer running (a finished command would wait for it)',
    );
    assert.equal(await client.set('laurel-test', '1'), 'OK');
    client.disconnect();
  },
);

test(
  'a job that vanishes from Redis (flushed, restarted without its file) is queued again, not awaited forever',
  { skip },
  async () => {
    const dir = join(tmp, 'vanish');
    const [trial] = planTrials(getExperiment('lm'), 'smoke', dir).slice(0, 1);
    const store = new ResultStore(join(dir, 'lm-smoke'));
    const lines: string[] = [];
    const coordinator = runTrialsOnQueue([trial!], {
      store,
      budget: 'smoke',
      url,
      pollMs: 50,
      log: (l) => lines.push(l),
    });
    await until('the job on the queue', () => lines.some((l) => l.startsWith('queued 1 trials')), 10_000);
    const connection = await connectRedis(url);
    const queue = new Queue(QUEUE_NAME, { connection });
    await (await queue.getJob(jobId(trial!)))!.remove();
    await until(
      'the job queued again',
      () => lines.some((l) => /no longer on the queue; queued again/.test(l)),
      10_000,
    );
    const stop = new AbortController();
    const worker = runQueueWorker({
      url,
      runsDir: join(tmp, 'vanish-worker'),
      threads: 1,
      signal: stop.signal,
      executor: async () => ({ summary: normalizeSummary({ test_loss: 2 }), error: null }),
    });
    const r = await coordinator;
    stop.abort();
    await worker;
    await queue.close();
    connection.disconnect();
    assert.equal(r.ran, 1);
    assert.equal(store.read().records.length, 1);
  },
);

test('a second coordinator of the same experiment is refused while the first runs', async () => {
  const runsDir = join(tmp, 'two-coordinators');
  let release = () => {};
  const held = new Promise<void>((r) => {
    release = r;
  });
  const opts = { budget: 'smoke', trials: 1, runsDir, report: false, handleSigint: false, log: () => {} };
  const first = runExperiment('lm', {
    ...opts,
    executor: async () => {
      await held;
      return { summary: normalizeSummary({ test_loss: 2 }), error: null };
    },
  });
  await until('the first coordinator', () => existsSync(join(runsDir, 'lm-smoke', 'lock')), 10_000);
  await assert.rejects(
    runExperiment('lm', opts),
    /lm-smoke is in use by another laurel experiment \(PID \d+/,
  );
  release();
  await first;
  assert.equal(existsSync(join(runsDir, 'lm-smoke', 'lock')), false, 'the lock is released');
});

test(
  'queue: two workers, one killed mid-trial, the coordinator killed and restarted; every trial recorded once',
  { skip, timeout: 900_000 },
  async () => {
    const runs = join(tmp, 'runs');
    const results = join(tmp, 'results');
    const workerRuns = join(tmp, 'worker-runs');
    const experiment = [
      'experiment',
      'lm',
      '--budget',
      'smoke',
      '--trials',
      '1',
      '--queue',
      url,
      '--runs-dir',
      runs,
      '--results-dir',
      results,
    ];
    const worker = () =>
      laurel(['worker', '--queue', url, '--runs-dir', workerRuns, '--threads', '1', '--lock-s', '2']);
    const coordinator = laurel(experiment);
    const a = worker();
    await until("worker A's first trial", () => /worker: start /.test(a.out()), 60_000);
    const b = worker();
    const killedKey = /worker: start lm-smoke (\S+)/.exec(a.out())![1]!;
    await new Promise((r) => setTimeout(r, 1500)); // the trainer is loading or training
    process.kill(-a.child.pid!, 'SIGKILL');
    assert.equal(await a.exit, null);
    // the coordinator dies too once it has recorded a trial; a new one collects the rest, re-running nothing
    const store = join(runs, 'lm-smoke', 'results.jsonl');
    const recorded = () => (existsSync(store) ? readFileSync(store, 'utf8').trim().split('\n').length : 0);
    await until('a first record', () => recorded() >= 1, 600_000);
    process.kill(-coordinator.child.pid!, 'SIGKILL');
    await coordinator.exit;
    const second = laurel(experiment);
    assert.equal(await second.exit, 0, second.out());
    assert.match(second.out(), /[1-6] of 7 trials already done/);
    assert.match(b.out(), new RegExp(`worker: start lm-smoke ${killedKey.replace('/', '\\/')} `));

    const lines = readFileSync(store, 'utf8').trim().split('\n');
    const records = lines.map((l) => JSON.parse(l));
    assert.equal(records.length, 7, 'one record per trial');
    assert.equal(new Set(records.map((r) => r.key)).size, 7);
    assert.ok(
      records.every(
        (r) =>
          r.status === 'ok' &&
          r.summary.test_loss > 0 &&
          r.summary.probe_accuracy >= 0 &&
          r.crn === 1 &&
          r.threads === 1,
      ),
    );
    assert.ok(records.every((r) => r.out.startsWith(workerRuns)));
    assert.ok(existsSync(join(results, 'lm-smoke', 'report.md')));

    // the coordinator again: everything is done, nothing is queued or recorded twice
    const again = laurel(experiment);
    assert.equal(await again.exit, 0, again.out());
    assert.match(again.out(), /7 of 7 trials already done/);
    assert.equal(
      readFileSync(join(runs, 'lm-smoke', 'results.jsonl'), 'utf8')
        .trim()
        .split('\n').length,
      7,
    );

    b.child.kill('SIGINT');
    assert.equal(await b.exit, 0, b.out());
  },
);
