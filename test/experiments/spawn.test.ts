import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeSpawnExecutor } from '../../src/experiments/runner.ts';
import type { TrialSpec } from '../../src/experiments/trial.ts';

const tmp = mkdtempSync(join(tmpdir(), 'laurel-spawn-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const trial: TrialSpec = {
  experiment: 'x',
  row: 'r',
  seed: 1,
  out: join(tmp, 'out'),
  train: { task: 'text', model: 'gpt', residual: 'rw', batchSize: 2 },
};
mkdirSync(trial.out, { recursive: true });

/** An executor whose "trainer" is `node -e script`, given the threads as argv[1]. */
const fake = (script: string) =>
  makeSpawnExecutor((_t, threads) => ({ command: process.execPath, args: ['-e', script, String(threads)] }));
const ctx = (over: Partial<Parameters<ReturnType<typeof fake>>[1]> = {}) => ({
  threads: 3,
  signal: new AbortController().signal,
  logPath: join(trial.out, 'runner.log'),
  timeoutMs: 0,
  ...over,
});

test('spawn executor: reads the JSON summary of the last stdout line, logs output, sets thread env', async () => {
  const r = await fake(
    `console.log('progress'); console.error('warn'); console.log(JSON.stringify({ best_accuracy: 0.5, ` +
      'params: Number(process.argv[1]), backend: process.env.OPENBLAS_NUM_THREADS }))',
  )(trial, ctx());
  assert.equal(r.error, null);
  assert.equal(r.summary!.best_accuracy, 0.5);
  assert.equal(r.summary!.params, 3);
  assert.equal(r.summary!.backend, '3');
  const log = readFileSync(join(trial.out, 'runner.log'), 'utf8');
  assert.match(log, /progress/);
  assert.match(log, /warn/);
});

test('spawn executor: a non-zero exit or a missing summary is a failure with the reason', async () => {
  const r1 = await fake(`console.error('laurel: Residual: bad rank 16'); process.exit(2)`)(trial, ctx());
  assert.equal(r1.summary, null);
  assert.equal(r1.error, 'exit 2: laurel: Residual: bad rank 16');
  const r2 = await fake(`console.log('done')`)(trial, ctx());
  assert.match(r2.error!, /exit 0 but the last stdout line is not a JSON summary/);
  const r3 = await makeSpawnExecutor(() => ({ command: join(tmp, 'no-such-binary'), args: [] }))(
    trial,
    ctx(),
  );
  assert.match(r3.error!, /could not start the trainer/);
});

test('spawn executor: a trial past its time limit is stopped with SIGINT and fails', async () => {
  const t0 = Date.now();
  const r = await fake(
    `process.on('SIGINT', () => { console.log('checkpoint written'); process.exit(130); }); setInterval(() => {}, 1000)`,
  )(trial, ctx({ timeoutMs: 2000 }));
  assert.ok(Date.now() - t0 < 20_000);
  // exit 130 after its handler ran; on a very loaded machine the signal may arrive before the handler exists
  assert.match(r.error!, /^timed out after 2 s \((exit 130|exit null, signal SIGINT)\)/);
  if (r.error!.includes('exit 130')) {
    assert.match(readFileSync(join(trial.out, 'runner.log'), 'utf8'), /checkpoint written/);
  }
});

test('spawn executor: abort sends SIGINT to the trainer', async () => {
  const c = new AbortController();
  const p = fake(
    `process.on('SIGINT', () => process.exit(130)); console.log('ready'); setInterval(() => {}, 1000)`,
  )(trial, ctx({ signal: c.signal }));
  setTimeout(() => c.abort(), 200);
  const r = await p;
  assert.match(r.error!, /exit 130|signal SIGINT/);
});
