/** The report's paired section: Δ with its CI, paired and Welch p, MDE, CI target, and which pairs are valid. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getExperiment } from '../../src/experiments/definitions/index.ts';
import { CRN_VERSION, pairedComparisons } from '../../src/experiments/paired.ts';
import { planTrials } from '../../src/experiments/plan.ts';
import { buildReport } from '../../src/experiments/report.ts';
import { pairedTTest } from '../../src/experiments/stats.ts';
import type { TrialRecord } from '../../src/experiments/store.ts';
import { buildTrialArgs, normalizeSummary, trialFingerprint, trialKey } from '../../src/experiments/trial.ts';

/** Seed luck shared by every row (what pairing cancels) plus a small per-row effect and per-trial noise. */
const LUCK = [0, 0.004, -0.003, 0.006, -0.005];
const EFFECT: Record<string, number> = {
  baseline: 0,
  'extra-block': 0.002,
  rw: 0.001,
  'rw-lr-r16': 0.003,
  'rw-lr-pa-r16-k3': 0,
};
const NOISE = [0.0002, -0.0001, 0.0001, -0.0002, 0];

function records(crn: number | undefined): TrialRecord[] {
  const def = getExperiment('vision');
  return planTrials(def, 'standard', '/tmp/runs', 5).map((t) => ({
    experiment: t.experiment,
    row: t.row,
    seed: t.seed,
    key: trialKey(t),
    fingerprint: trialFingerprint(t),
    status: 'ok',
    train: t.train,
    args: buildTrialArgs(t),
    threads: 1,
    out: t.out,
    summary: normalizeSummary({
      best_accuracy: 0.9 + LUCK[t.seed - 1]! + EFFECT[t.row]! + NOISE[(t.seed + t.row.length) % 5]!,
    }),
    error: null,
    wall_ms: 1000,
    started_at: '2026-01-01T00:00:00.000Z',
    finished_at: '2026-01-01T00:00:01.000Z',
    commit: null,
    budget: 'standard',
    ...(crn === undefined ? {} : { crn }),
  }));
}

test('paired comparisons: per row against the reference, over shared seeds, sharper than Welch', async () => {
  const def = getExperiment('vision');
  const recs = records(CRN_VERSION);
  const rows = def.rows('standard').map((row) => ({ row, records: recs.filter((r) => r.row === row.id) }));
  const cmp = pairedComparisons(def, rows);
  assert.deepEqual(
    cmp.map((c) => c.row.id),
    ['extra-block', 'rw', 'rw-lr-r16', 'rw-lr-pa-r16-k3'],
  );
  const lr = cmp.find((c) => c.row.id === 'rw-lr-r16')!;
  const a = recs.filter((r) => r.row === 'rw-lr-r16').map((r) => r.summary!.best_accuracy!);
  const b = recs.filter((r) => r.row === 'baseline').map((r) => r.summary!.best_accuracy!);
  assert.deepEqual(lr.paired, pairedTTest(a, b));
  assert.deepEqual(lr.seeds, [1, 2, 3, 4, 5]);
  assert.ok(lr.paired.p < 0.001 && lr.welch.p > 0.05, `paired ${lr.paired.p}, Welch ${lr.welch.p}`);
  assert.ok(cmp.every((c) => c.byConstruction));
  assert.equal(typeof lr.pairsForTarget, 'number');
  // a seed missing from the reference drops that pair
  const fewer = pairedComparisons(
    def,
    rows.map((s) => (s.row.id === 'baseline' ? { ...s, records: s.records.slice(1) } : s)),
  );
  assert.deepEqual(fewer[0]!.seeds, [2, 3, 4, 5]);
});

test('report: the paired table, and records from before CRN mark the ResNet extra block as seed-matched only', async () => {
  const def = getExperiment('vision');
  const meta = { date: '2026-01-01', commit: null, source: 'results.jsonl' };
  const now = (await buildReport(def, 'standard', records(CRN_VERSION), meta)).markdown;
  const line = (md: string, label: string) =>
    md.split('\n').find((l) => l.startsWith(`| best test accuracy | ${label} |`))!;
  assert.match(now, /## Paired differences against `baseline`/);
  assert.match(
    line(now, 'RW+LR (r=16)'),
    /^\| best test accuracy \| RW\+LR \(r=16\) \| 5 \| \+0\.30 \[\+0\.\d\d, \+0\.\d\d\] pt \| \*\*<0\.001\*\* \| 0\.\d+ \| 0\.\d\d pt \| ±0\.\d\d \(target ±0\.15, met\) \| \d+ \| paired \|$/,
  );
  assert.doesNotMatch(now, /seed-matched only|predate/);
  const old = (await buildReport(def, 'standard', records(undefined), meta)).markdown;
  assert.match(line(old, 'baseline + 1 block (naive scaling)'), /\| seed-matched only \|$/);
  assert.match(line(old, 'RW'), /\| paired \|$/);
  assert.match(old, /Some trials predate the recorded seeding scheme/);
});
