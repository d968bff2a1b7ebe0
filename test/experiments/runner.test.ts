import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { getExperiment } from '../../src/experiments/definitions/index.ts';
import type { TrialExecutor } from '../../src/experiments/executor.ts';
import { runExperiment } from '../../src/experiments/index.ts';
import { planTrials } from '../../src/experiments/plan.ts';
import { runTrials, threadsPerWorker } from '../../src/experiments/runner.ts';
import { ResultStore } from '../../src/experiments/store.ts';
import { type TrialSpec, normalizeSummary } from '../../src/experiments/trial.ts';

const tmp = mkdtempSync(join(tmpdir(), 'laurel-exp-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let dirCount = 0;
const freshDir = () => join(tmp, `case${dirCount++}`);

/** A fake trainer: a deterministic summary per trial; records calls and concurrency. */
function fakeExecutor(opts: { fail?: (t: TrialSpec) => boolean; delayMs?: number } = {}) {
  const calls: { key: string; threads: number }[] = [];
  let active = 0;
  let maxActive = 0;
  const exec: TrialExecutor = async (t, ctx) => {
    calls.push({ key: `${t.row}/seed${t.seed}`, threads: ctx.threads });
    active++;
    maxActive = Math.max(maxActive, active);
    await new Promise((r) => setTimeout(r, opts.delayMs ?? 1));
    active--;
    if (opts.fail?.(t)) return { summary: null, error: 'exit 1: boom' };
    return {
      summary: normalizeSummary({
        best_accuracy: 0.85 + t.seed / 1000,
        params: 1000,
        steps: 4,
        mean_step_ms: 10,
      }),
      error: null,
    };
  };
  return { exec, calls, maxActive: () => maxActive };
}

function trials(runs: string): TrialSpec[] {
  return planTrials(getExperiment('vision'), 'smoke', runs, 2);
}

test('threadsPerWorker = max(1, floor(cores / workers))', () => {
  assert.equal(threadsPerWorker(2, 1), 2);
  assert.equal(threadsPerWorker(2, 2), 1);
  assert.equal(threadsPerWorker(2, 3), 1);
  assert.equal(threadsPerWorker(16, 3), 5);
});

test('runs every trial once, in parallel, and a re-run skips finished ones', async () => {
  const runs = freshDir();
  const store = new ResultStore(join(runs, 'vision-smoke'));
  const f = fakeExecutor({ delayMs: 5 });
  const list = trials(runs);
  const r1 = await runTrials(list, {
    store,
    budget: 'smoke',
    workers: 2,
    cores: 2,
    executor: f.exec,
    commit: 'abc',
  });
  assert.equal(r1.ran, list.length);
  assert.equal(r1.failed, 0);
  assert.equal(r1.skipped, 0);
  assert.equal(f.maxActive(), 2);
  assert.ok(f.calls.every((c) => c.threads === 1));
  const recs = store.readAll();
  assert.equal(recs.length, list.length);
  const rec = recs[0]!;
  assert.equal(rec.status, 'ok');
  assert.equal(rec.commit, 'abc');
  assert.equal(rec.budget, 'smoke');
  assert.ok(rec.args.includes('--resume') && rec.args.includes('--threads'));
  assert.equal(rec.summary!.best_accuracy, 0.851);
  assert.ok(rec.wall_ms >= 0 && rec.started_at <= rec.finished_at);
  // each run directory has the marker of its config
  assert.ok(existsSync(join(list[0]!.out, 'trial.json')));

  const g = fakeExecutor();
  const r2 = await runTrials(list, {
    store,
    budget: 'smoke',
    workers: 2,
    cores: 2,
    executor: g.exec,
    commit: 'abc',
  });
  assert.equal(r2.skipped, list.length);
  assert.equal(r2.ran, 0);
  assert.equal(g.calls.length, 0);
  assert.equal(store.readAll().length, list.length);
});

test('failures are recorded with their error and retried on the next run; one worker gets all cores', async () => {
  const runs = freshDir();
  const store = new ResultStore(join(runs, 'vision-smoke'));
  const list = trials(runs);
  const bad = (t: TrialSpec) => t.row === 'rw' && t.seed === 2;
  const f = fakeExecutor({ fail: bad });
  const r1 = await runTrials(list, {
    store,
    budget: 'smoke',
    workers: 1,
    cores: 2,
    executor: f.exec,
    commit: null,
  });
  assert.equal(r1.failed, 1);
  assert.equal(r1.threads, 2);
  const failed = store.readAll().filter((r) => r.status === 'failed');
  assert.equal(failed.length, 1);
  assert.equal(failed[0]!.key, 'rw/seed2');
  assert.equal(failed[0]!.error, 'exit 1: boom');
  assert.equal(failed[0]!.summary, null);

  // an executor that throws is a failure too, not a crash
  const thrower: TrialExecutor = async () => {
    throw new Error('spawn ENOENT');
  };
  const r2 = await runTrials(list, {
    store,
    budget: 'smoke',
    workers: 2,
    cores: 2,
    executor: thrower,
    commit: null,
  });
  assert.equal(r2.ran, 1);
  assert.match(store.latest().get('rw/seed2')!.error!, /spawn ENOENT/);

  // the next run retries only the failed trial (the lone worker then gets both cores)
  const g = fakeExecutor();
  const r3 = await runTrials(list, {
    store,
    budget: 'smoke',
    workers: 2,
    cores: 2,
    executor: g.exec,
    commit: null,
  });
  assert.deepEqual(
    g.calls.map((c) => c.key),
    ['rw/seed2'],
  );
  assert.equal(g.calls[0]!.threads, 2);
  assert.equal(r3.skipped, list.length - 1);
  assert.equal(store.latest().get('rw/seed2')!.status, 'ok');
});

test('an interrupted trial is recorded as interrupted, not done; the next run resumes it in the same --out', async () => {
  const runs = freshDir();
  const store = new ResultStore(join(runs, 'vision-smoke'));
  const list = trials(runs).slice(0, 3);
  const controller = new AbortController();
  const outs: string[] = [];
  const exec: TrialExecutor = async (t, ctx) => {
    outs.push(t.out);
    if (t.row === 'extra-block') {
      // simulate the trainer: a checkpoint appears, then Ctrl-C arrives
      writeFileSync(join(t.out, 'checkpoint.partial'), 'step 2');
      controller.abort();
      await new Promise((r) => setTimeout(r, 1));
      return { summary: null, error: 'exit null (signal SIGINT)' };
    }
    assert.ok(!ctx.signal.aborted);
    return { summary: normalizeSummary({ best_accuracy: 0.8 }), error: null };
  };
  const r1 = await runTrials(list, {
    store,
    budget: 'smoke',
    workers: 1,
    cores: 2,
    executor: exec,
    signal: controller.signal,
    commit: null,
  });
  assert.equal(r1.interrupted, true);
  assert.deepEqual(
    store.readAll().map((r) => [r.key, r.status]),
    [
      ['baseline/seed1', 'ok'],
      ['extra-block/seed1', 'interrupted'],
    ],
  );
  const resumed: string[] = [];
  const exec2: TrialExecutor = async (t) => {
    resumed.push(t.out);
    // same run directory, the partial checkpoint is still there for --resume
    if (t.row === 'extra-block') assert.ok(existsSync(join(t.out, 'checkpoint.partial')));
    return { summary: normalizeSummary({ best_accuracy: 0.8 }), error: null };
  };
  await runTrials(list, { store, budget: 'smoke', workers: 1, cores: 2, executor: exec2, commit: null });
  assert.deepEqual(resumed, [list[1]!.out, list[2]!.out]);
  assert.equal(outs[1], resumed[0]);
});

test('a changed config reruns the trial and moves the old run directory aside', async () => {
  const runs = freshDir();
  const store = new ResultStore(join(runs, 'vision-smoke'));
  const list = trials(runs).slice(0, 1);
  const f = fakeExecutor();
  await runTrials(list, { store, budget: 'smoke', workers: 1, cores: 2, executor: f.exec, commit: null });
  const changed = list.map((t) => ({ ...t, train: { ...t.train, batchSize: t.train.batchSize * 2 } }));
  const g = fakeExecutor();
  await runTrials(changed, { store, budget: 'smoke', workers: 1, cores: 2, executor: g.exec, commit: null });
  assert.equal(g.calls.length, 1);
  const rowDir = join(runs, 'vision-smoke', 'baseline');
  assert.ok(readdirSync(rowDir).some((n) => n.startsWith('seed1.stale-')));
  const marker = JSON.parse(readFileSync(join(list[0]!.out, 'trial.json'), 'utf8'));
  assert.equal(marker.train.batchSize, list[0]!.train.batchSize * 2);
});

test('the store skips a torn last line and keeps appending on a fresh line', () => {
  const dir = freshDir();
  const store = new ResultStore(dir);
  const rec = {
    experiment: 'x',
    row: 'a',
    seed: 1,
    key: 'a/seed1',
    fingerprint: 'f',
    status: 'ok' as const,
    train: { task: 'text' as const, model: 'gpt', residual: 'rw', batchSize: 1 },
    args: [],
    threads: 1,
    out: 'o',
    summary: null,
    error: null,
    wall_ms: 1,
    started_at: '',
    finished_at: '',
    commit: null,
    budget: 'smoke',
  };
  store.append(rec);
  writeFileSync(store.path, `${readFileSync(store.path, 'utf8')}{"key":"b/seed1","sta`);
  assert.equal(store.readAll().length, 1);
  store.append({ ...rec, key: 'c/seed1' });
  assert.deepEqual(
    store.readAll().map((r) => r.key),
    ['a/seed1', 'c/seed1'],
  );
  assert.ok(store.isDone('a/seed1', 'f'));
  assert.ok(!store.isDone('a/seed1', 'other'));
});

test('runExperiment: runs all rows at a budget and writes the report (fake trainer)', async () => {
  const runs = freshDir();
  const results = freshDir();
  const f = fakeExecutor();
  const lines: string[] = [];
  const r = await runExperiment('rank', {
    budget: 'smoke',
    workers: 2,
    cores: 2,
    runsDir: runs,
    resultsDir: results,
    trials: 2,
    executor: f.exec,
    log: (l) => lines.push(l),
    handleSigint: false,
  });
  assert.equal(r.id, 'rank-smoke');
  assert.equal(r.ran, 12);
  assert.equal(r.failed, 0);
  assert.ok(r.report && existsSync(r.report.reportPath) && r.report.plotPaths.length === 1);
  assert.ok(existsSync(join(runs, 'rank-smoke', 'results.jsonl')));
  assert.ok(lines.some((l) => l.includes('estimated')));
  // Fewer trials from a fresh runs folder into the same results: recorded and a success, but the fuller
  // report stays, with one warning naming it and the command that would replace it.
  const fewer = await runExperiment('rank', {
    budget: 'smoke',
    workers: 2,
    cores: 2,
    runsDir: freshDir(),
    resultsDir: results,
    trials: 1,
    executor: f.exec,
    log: (l) => lines.push(l),
    handleSigint: false,
  });
  assert.equal(fewer.ran, 6);
  assert.equal(fewer.failed, 0);
  assert.equal(fewer.report, null);
  assert.match(readFileSync(r.report!.reportPath, 'utf8'), /- Trials: 12 ok/);
  const warnings = lines.filter((l) => l.startsWith('warning: '));
  assert.equal(warnings.length, 1, lines.join('\n'));
  assert.match(
    warnings[0]!,
    /^warning: not replacing .*rank-smoke\/report\.md \(12 ok trials\) with a report of 6 ok trials .*'laurel report rank --budget smoke --runs-dir \S+ --results-dir \S+ --force'/,
  );
  await assert.rejects(runExperiment('nope', { executor: f.exec }), /unknown experiment 'nope'/);
  await assert.rejects(runExperiment('lm', { budget: 'x', executor: f.exec }), /bad --budget 'x'/);
  await assert.rejects(runExperiment('lm', { workers: 0, executor: f.exec }), /bad --workers 0/);
});
