import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExecContext, TrialExecutor } from '../../src/experiments/executor.ts';
import { probeCommand, withProbe } from '../../src/experiments/probe-step.ts';
import { LAUREL_BIN, type TrialSpec, normalizeSummary } from '../../src/experiments/trial.ts';

const trial = (probe?: { limit?: number }): TrialSpec => ({
  experiment: 'lm-smoke',
  row: 'rw',
  seed: 1,
  out: '/tmp/x/rw/seed1',
  train: { task: 'text', model: 'gpt', residual: 'rw', batchSize: 4, probe },
});
const ctx: ExecContext = {
  threads: 1,
  signal: new AbortController().signal,
  logPath: '/dev/null',
  timeoutMs: 0,
};
const ok: TrialExecutor = async () => ({
  summary: normalizeSummary({ test_loss: 1.5, params: 10 }),
  error: null,
});

test('withProbe: the probe runs after a successful trial that asks for it, and its fields join the summary', async () => {
  const calls: string[] = [];
  const probe: TrialExecutor = async (t) => {
    calls.push(t.row);
    return {
      summary: normalizeSummary({ probe_accuracy: 0.9, probe_majority: 0.7, step: 4, backend: 'native' }),
      error: null,
    };
  };
  const r = await withProbe(ok, probe)(trial({ limit: 40 }), ctx);
  assert.deepEqual(calls, ['rw']);
  assert.equal(r.error, null);
  assert.equal(r.summary!.test_loss, 1.5);
  assert.equal(r.summary!.probe_accuracy, 0.9);
  assert.equal(r.summary!.raw.probe_majority, 0.7);
  assert.equal(r.summary!.raw.step, undefined, 'only probe_* fields join');
  // no probe asked, or a failed trial: the probe does not run
  await withProbe(ok, probe)(trial(), ctx);
  await withProbe(async () => ({ summary: null, error: 'exit 3' }), probe)(trial({}), ctx);
  assert.deepEqual(calls, ['rw']);
  // a failed probe fails the trial
  const bad = await withProbe(ok, async () => ({ summary: null, error: 'exit 2: no checkpoint' }))(
    trial({}),
    ctx,
  );
  assert.deepEqual(bad, { summary: null, error: 'probe: exit 2: no checkpoint' });
});

test('probeCommand: laurel probe on the trial run folder, with its threads and message limit', () => {
  assert.deepEqual(probeCommand(trial({ limit: 40 }), 2).args, [
    LAUREL_BIN,
    'probe',
    '--out',
    '/tmp/x/rw/seed1',
    '--json',
    '--threads',
    '2',
    '--limit',
    '40',
  ]);
  assert.deepEqual(probeCommand(trial({}), 1).args.slice(-2), ['--threads', '1']);
});
