import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeSchedule } from '../../src/train/schedule.ts';

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

test('warmup rises linearly to the peak, then cosine decays to minLr', () => {
  const lr = makeSchedule({ lr: 1, totalSteps: 14, warmupSteps: 4, minLr: 0.1 });
  close(lr(0), 0.25);
  close(lr(3), 1);
  close(lr(4), 1);
  close(lr(9), 0.1 + 0.45 * (1 + Math.cos(Math.PI / 2)));
  close(lr(14), 0.1);
  close(lr(100), 0.1);
  for (let s = 4; s < 14; s++) assert.ok(lr(s + 1) < lr(s), `monotone at ${s}`);
});

test('step schedule multiplies by gamma at each milestone', () => {
  const lr = makeSchedule({ lr: 0.5, totalSteps: 100, schedule: 'step', milestones: [10, 20], gamma: 0.1 });
  close(lr(9), 0.5);
  close(lr(10), 0.05);
  close(lr(25), 0.005);
  const d = makeSchedule({ lr: 1, totalSteps: 100, schedule: 'step' });
  close(d(49), 1);
  close(d(50), 0.1);
  close(d(75), 0.01);
});

test('constant schedule and bad options', () => {
  close(makeSchedule({ lr: 0.3, totalSteps: 5, schedule: 'constant' })(4), 0.3);
  assert.throws(() => makeSchedule({ lr: 0, totalSteps: 5 }), /lr must be > 0/);
  assert.throws(() => makeSchedule({ lr: 1, totalSteps: 0 }), /totalSteps/);
  // refused where they are given, not as an undefined or NaN rate at some later step
  const bad: [Partial<Parameters<typeof makeSchedule>[0]>, RegExp][] = [
    [{ schedule: 'linear' as 'cosine' }, /bad schedule 'linear'; allowed: cosine, step, constant/],
    [{ lr: Number.POSITIVE_INFINITY }, /lr must be > 0/],
    [{ totalSteps: 2.5 }, /totalSteps must be an integer/],
    [{ warmupSteps: Number.NaN }, /warmupSteps must be an integer >= 0, got NaN/],
    [{ minLr: -1 }, /minLr must be >= 0/],
    [{ schedule: 'step', gamma: Number.NaN }, /gamma must be > 0/],
    [{ schedule: 'step', milestones: [2, 0.5] }, /milestones must be integers/],
  ];
  for (const [o, re] of bad) assert.throws(() => makeSchedule({ lr: 1, totalSteps: 5, ...o }), re);
});
