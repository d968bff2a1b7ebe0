/**
 * Paired comparisons for reports: each row against the experiment's reference row, trial by trial over the
 * seeds both rows finished. Trials of one seed share the data order and every shared initial weight (common
 * random numbers: LAUREL's parameters and naive-scaling blocks draw from streams of their own), so the
 * difference of a pair cancels the seed's own luck and the paired t-test sees only what the row changes.
 *
 * Which pairs are paired by construction: every trial the runner records carries `crn` (CRN_VERSION). Older
 * records (the committed standard runs) predate it; for them LAUREL rows were already paired (LAUREL's own
 * stream and the seed-only data order date from the first models commit), and so was the GPT's extra layer
 * (drawn after every shared weight, with a tied head), but a ResNet's extra block in stage 2 shifted the initial
 * weights of stage 3 and the classifier: such pairs are matched by seed only, and the report says so.
 */
import type { ExperimentDef, MetricDef, RowDef } from './definitions/index.ts';
import { type PairedResult, type WelchResult, pairedTTest, pairsForHalfWidth, welchTTest } from './stats.ts';
import type { TrialRecord } from './store.ts';

/** Version of the seeding scheme recorded with each trial: 1 = naive-scaling blocks draw from their own stream. */
export const CRN_VERSION = 1;

export interface PairedRow {
  row: RowDef;
  metric: MetricDef;
  paired: PairedResult;
  welch: WelchResult;
  /** Seeds in both rows. */
  seeds: number[];
  /** Whether every pair shared data order and initial weights by construction (else: matched by seed only). */
  byConstruction: boolean;
  /** Pairs the observed sd needs for the metric's CI target; null when unknown or past 1000. */
  pairsForTarget: number | null;
}

/** Whether trials of `row` pair with the reference's by construction (see the header). */
export function pairedByConstruction(row: RowDef, records: readonly TrialRecord[]): boolean {
  if (records.every((r) => (r.crn ?? 0) >= CRN_VERSION)) return true;
  return !row.train.extraBlocks || row.train.model === 'gpt';
}

function metricValue(r: TrialRecord, field: MetricDef['field']): number | null {
  const v = r.summary?.[field] ?? r.summary?.raw?.[field];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The paired comparison of one row with the reference on one metric; null without a shared seed. */
export function compareRows(
  row: RowDef,
  mine: readonly TrialRecord[],
  reference: readonly TrialRecord[],
  metric: MetricDef,
): PairedRow | null {
  const ref = new Map<number, number>();
  for (const r of reference) {
    const v = metricValue(r, metric.field);
    if (v !== null) ref.set(r.seed, v);
  }
  const a: number[] = [];
  const b: number[] = [];
  const seeds: number[] = [];
  const used: TrialRecord[] = [];
  for (const r of [...mine].sort((x, y) => x.seed - y.seed)) {
    const v = metricValue(r, metric.field);
    const w = ref.get(r.seed);
    if (v === null || w === undefined) continue;
    a.push(v);
    b.push(w);
    seeds.push(r.seed);
    used.push(r, ...reference.filter((x) => x.seed === r.seed));
  }
  if (a.length === 0) return null;
  const paired = pairedTTest(a, b);
  return {
    row,
    metric,
    paired,
    welch: welchTTest(a, b),
    seeds,
    byConstruction: pairedByConstruction(row, used),
    pairsForTarget: metric.ciTarget ? pairsForHalfWidth(paired.sd, metric.ciTarget) : null,
  };
}

/** Every non-reference row against the reference, for the main metric and the experiment's paired metrics. */
export function pairedComparisons(
  def: ExperimentDef,
  rows: readonly { row: RowDef; records: readonly TrialRecord[] }[],
): PairedRow[] {
  const ref = rows.find((s) => s.row.id === def.referenceRow);
  if (!ref) return [];
  const out: PairedRow[] = [];
  for (const metric of [def.metric, ...(def.pairedMetrics ?? [])]) {
    for (const s of rows) {
      if (s === ref) continue;
      const c = compareRows(s.row, s.records, ref.records, metric);
      if (c) out.push(c);
    }
  }
  return out;
}
