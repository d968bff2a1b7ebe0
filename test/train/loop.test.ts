import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { ImageBatcher } from '../../src/data/image-batches.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { ClassificationTask } from '../../src/train/classification.ts';
import { type TrainOptions, type TrainResult, train } from '../../src/train/loop.ts';
import { readMetrics } from '../../src/train/metrics.ts';
import { AdamW } from '../../src/train/optim/index.ts';
import type { Progress } from '../../src/train/progress.ts';
import { makeSchedule } from '../../src/train/schedule.ts';
import type { Task } from '../../src/train/task.ts';
import { Rng } from '../../src/util/rng.ts';
import { TinyNet, syntheticImages } from './tiny.ts';

await tf.setBackend('cpu');

const trainSet = syntheticImages(96, 1);
const testSet = syntheticImages(48, 2);
const quiet = () => {};

interface Run {
  model: TinyNet;
  result: TrainResult;
}

/** Builds everything from scratch (as a new process would) and trains. */
async function run(opts: Partial<TrainOptions> & { seed?: number; initSeed?: number } = {}): Promise<Run> {
  const seed = opts.seed ?? 7;
  const model = new TinyNet(16, 3, opts.initSeed ?? seed);
  const batcher = new ImageBatcher(trainSet, {
    batchSize: 16,
    seed,
    augment: { cropPadding: 1, flip: true },
  });
  const task = new ClassificationTask({ batcher, evalSet: testSet });
  const optimizer = new AdamW(model.namedParameters(), { weightDecay: 0.05 });
  const totalSteps = opts.totalSteps ?? 14;
  const result = await train({
    model,
    task,
    optimizer,
    lr: makeSchedule({ lr: 0.05, totalSteps, warmupSteps: 3 }),
    totalSteps,
    evalEvery: 4,
    rng: new Rng(seed),
    log: quiet,
    ...opts,
  });
  optimizer.dispose();
  return { model, result };
}

const weights = (m: TinyNet) =>
  [...m.namedParameters(), ...m.namedBuffers()].map((p) => Array.from(p.variable.dataSync()));

test('same seed gives the same numbers; training lowers the loss and learns', async () => {
  const a = await run();
  const b = await run();
  assert.deepEqual(a.result.losses, b.result.losses);
  assert.deepEqual(weights(a.model), weights(b.model));
  const c = await run({ seed: 8 });
  assert.notDeepEqual(c.result.losses, a.result.losses);
  assert.equal(a.result.status, 'completed');
  assert.equal(a.result.step, 14);
  assert.equal(a.result.epoch, 2); // 6 steps per epoch
  const l = a.result.losses;
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(mean(l.slice(-3)) < 0.8 * mean(l.slice(0, 3)), `loss ${l}`);
  assert.ok((a.result.best?.value ?? 0) > 0.6, `best accuracy ${a.result.best?.value}`);
  [a, b, c].forEach((r) => r.model.dispose());
});

test('run 2N steps == run N, stop, resume N (weights, buffers, losses, best, metrics)', async () => {
  const fullDir = mkdtempSync(join(tmpdir(), 'laurel-full-'));
  const full = await run({ outDir: fullDir });
  const dir = mkdtempSync(join(tmpdir(), 'laurel-resume-'));
  const first = await run({ outDir: dir, stopAtStep: 7 });
  assert.equal(first.result.status, 'stopped');
  assert.equal(first.result.step, 7);
  assert.equal(loadCheckpoint(dir).step, 7);
  // a fresh model with a different init: everything must come from the checkpoint
  const second = await run({ outDir: dir, resume: true, initSeed: 1234 });
  assert.equal(second.result.status, 'completed');
  assert.equal(second.result.step, 14);
  assert.deepEqual([...first.result.losses, ...second.result.losses], full.result.losses);
  assert.deepEqual(weights(second.model), weights(full.model));
  assert.deepEqual(second.result.best, full.result.best);
  assert.deepEqual(second.result.lastEval, full.result.lastEval);
  const strip = (path: string) =>
    readMetrics(path).map(({ step, epoch, loss, accuracy, lr }) => ({ step, epoch, loss, accuracy, lr }));
  const m = strip(join(dir, 'metrics.jsonl'));
  assert.deepEqual(
    m.map((r) => r.step),
    [4, 8, 12, 14],
  );
  assert.deepEqual(m, strip(join(fullDir, 'metrics.jsonl')));
  // resuming a finished run trains nothing, re-evaluates, and logs no duplicate line
  const again = await run({ outDir: dir, resume: true, initSeed: 99 });
  assert.equal(again.result.status, 'completed');
  assert.deepEqual(again.result.losses, []);
  assert.deepEqual(again.result.lastEval, full.result.lastEval);
  assert.deepEqual(strip(join(dir, 'metrics.jsonl')), m);
  [full, first, second, again].forEach((r) => r.model.dispose());
});

/** A progress stand-in that records something at every step. */
function probe(onStep: (step: number) => void): Progress {
  return { update: (step: number) => onStep(step), log: quiet, done: quiet } as unknown as Progress;
}

test('tf.memory().numTensors stays flat across steps (and across evals)', async () => {
  const counts: number[] = [];
  const { model } = await run({ totalSteps: 10, progress: probe(() => counts.push(tf.memory().numTensors)) });
  // step 1 creates the optimizer slots; from then on nothing may accumulate
  assert.equal(counts.length, 10);
  assert.deepEqual(new Set(counts.slice(1)).size, 1, `tensor counts ${counts}`);
  model.dispose();
});

test('a NaN loss stops the run with a message and keeps the last good checkpoint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'laurel-nan-'));
  let calls = 0;
  const messages: string[] = [];
  const poison = (task: Task): Task =>
    new Proxy(task, {
      get(t, k, r) {
        if (k === 'loss') {
          return (...args: Parameters<Task['loss']>) => {
            const l = t.loss(...args);
            return ++calls === 6 ? tf.tidy(() => tf.mul(l, Number.NaN)) : l;
          };
        }
        const v = Reflect.get(t, k, r);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
  const model = new TinyNet(16, 3, 7);
  const batcher = new ImageBatcher(trainSet, { batchSize: 16, seed: 7 });
  const opt = new AdamW(model.namedParameters());
  const r = await train({
    model,
    task: poison(new ClassificationTask({ batcher, evalSet: testSet })),
    optimizer: opt,
    lr: () => 0.01,
    totalSteps: 20,
    evalEvery: 4,
    outDir: dir,
    rng: new Rng(1),
    log: (m) => messages.push(m),
  });
  assert.equal(r.status, 'diverged');
  assert.equal(r.step, 5);
  assert.match(r.message ?? '', /loss is NaN at step 6: stopping .*last good checkpoint is kept/);
  assert.ok(messages.some((m) => /loss is NaN/.test(m)));
  assert.equal(loadCheckpoint(dir).step, 4);
  model.dispose();
});

/** `target` with method `key` replaced by `impl` (which may call the original, passed first). */
function overriding<T extends object, K extends keyof T>(
  target: T,
  key: K,
  impl: (original: T[K], ...args: never[]) => unknown,
): T {
  return new Proxy(target, {
    get(t, k, r) {
      const v = Reflect.get(t, k, r);
      const bound = typeof v === 'function' ? v.bind(t) : v;
      return k === key ? (...args: never[]) => impl(bound, ...args) : bound;
    },
  });
}

/** Trains a fresh TinyNet (20 steps, eval and checkpoint every 4) into a new folder, with a fault injected. */
async function faultyRun(fault: {
  task?: (t: Task) => Task;
  optimizer?: (o: AdamW, m: TinyNet) => AdamW;
  stopAtStep?: number;
}): Promise<{ r: TrainResult; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'laurel-fault-'));
  const model = new TinyNet(16, 3, 7);
  const batcher = new ImageBatcher(trainSet, { batchSize: 16, seed: 7 });
  const opt = new AdamW(model.namedParameters());
  const task = new ClassificationTask({ batcher, evalSet: testSet });
  const r = await train({
    model,
    task: fault.task?.(task) ?? task,
    optimizer: fault.optimizer?.(opt, model) ?? opt,
    lr: () => 0.01,
    totalSteps: 20,
    evalEvery: 4,
    stopAtStep: fault.stopAtStep,
    outDir: dir,
    rng: new Rng(1),
    log: quiet,
  });
  model.dispose();
  opt.dispose();
  return { r, dir };
}

test('a NaN evaluation loss stops the run too; the kept checkpoint is the last finite one', async () => {
  let evals = 0;
  const { r, dir } = await faultyRun({
    task: (t) =>
      overriding(t, 'evaluate', (evaluate, m) => {
        const e = (evaluate as Task['evaluate'])(m);
        return ++evals >= 2 ? { ...e, loss: Number.NaN } : e;
      }),
  });
  assert.equal(r.status, 'diverged');
  assert.equal(r.step, 8);
  assert.match(r.message ?? '', /evaluation loss is NaN at step 8: stopping .*last good checkpoint is kept/);
  const c = loadCheckpoint(dir);
  assert.equal(c.step, 4);
  assert.equal(c.best?.step, 4);
  c.dispose();
});

test('a non-finite parameter is never checkpointed (an update that overflowed, then --stop-at)', async () => {
  let steps = 0;
  const { r, dir } = await faultyRun({
    // the 6th update leaves an infinite weight; the loss computed before it was still finite
    optimizer: (o, model) =>
      overriding(o, 'step', (step, ...args) => {
        (step as (...a: unknown[]) => void)(...args);
        if (++steps === 6) model.w.assign(tf.fill(model.w.shape, Number.POSITIVE_INFINITY));
      }),
    stopAtStep: 6,
  });
  assert.equal(r.status, 'diverged');
  assert.match(
    r.message ?? '',
    /parameter '.*' is not finite at step 6: stopping .*last good checkpoint is kept/,
  );
  const c = loadCheckpoint(dir);
  assert.equal(c.step, 4);
  for (const t of Object.values(c.params)) assert.ok(t.dataSync().every(Number.isFinite));
  c.dispose();
});

test("--resume without a checkpoint restarts from 0, says so, and drops the lost attempt's metrics", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'laurel-restart-'));
  await run({ outDir: dir, totalSteps: 8, stopAtStep: 8 });
  rmSync(join(dir, 'checkpoint', 'manifest.json')); // as if killed before the first manifest rename
  const messages: string[] = [];
  const b = await run({ outDir: dir, totalSteps: 8, resume: true, log: (m) => messages.push(m) });
  assert.equal(b.result.status, 'completed');
  assert.ok(
    messages.some((m) =>
      /no checkpoint in .*checkpoint: restarting from step 0 \(dropped 2 metrics lines/.test(m),
    ),
    messages.join('\n'),
  );
  assert.deepEqual(
    readMetrics(join(dir, 'metrics.jsonl')).map((m) => m.step),
    [4, 8],
  );
});

test('SIGINT writes a checkpoint and returns; resume then completes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'laurel-sigint-'));
  const a = await run({
    outDir: dir,
    handleSignals: true,
    progress: probe((step) => {
      if (step === 3) process.emit('SIGINT');
    }),
  });
  assert.equal(a.result.status, 'interrupted');
  assert.equal(a.result.step, 3);
  assert.match(a.result.message ?? '', /SIGINT: checkpoint written at step 3/);
  assert.equal(loadCheckpoint(dir).step, 3);
  assert.equal(process.listenerCount('SIGINT'), 0);
  const b = await run({ outDir: dir, resume: true });
  assert.equal(b.result.step, 14);
  [a, b].forEach((r) => r.model.dispose());
});
