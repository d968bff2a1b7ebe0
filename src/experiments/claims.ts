/**
 * The report's "Paper claims" section: for each claim an experiment checks (`row` better than `against`), the
 * paired difference with its 95 % CI and a verdict at the power the seeds give:
 *
 * - agrees: the CI excludes 0 on the side the claim says;
 * - disagrees: the CI excludes 0 on the other side;
 * - cannot tell: the CI holds 0; the MDE says how large a true difference the pairs run would have found;
 * - one pair: no CI (a run in progress), or not run (the rows share no finished seed).
 */
import type { Claim, ExperimentDef, RowDef } from './definitions/index.ts';
import { type PairedRow, compareRows } from './paired.ts';
import type { TrialRecord } from './store.ts';

export type Verdict = 'agrees' | 'disagrees' | 'cannot tell' | 'one pair: no CI' | 'not run';

/** The verdict on "better" for a paired difference (row − against) whose metric is higher- or lower-is-better. */
export function verdict(c: PairedRow | null): Verdict {
  if (!c) return 'not run';
  if (c.paired.n < 2 || !Number.isFinite(c.paired.ci[0])) return 'one pair: no CI';
  const [lo, hi] = c.paired.ci;
  const better = c.metric.higherIsBetter ? lo > 0 : hi < 0;
  const worse = c.metric.higherIsBetter ? hi < 0 : lo > 0;
  return better ? 'agrees' : worse ? 'disagrees' : 'cannot tell';
}

/** Each claim's paired comparison (null where the rows share no seed). */
export function judgeClaims(
  def: ExperimentDef,
  rows: readonly { row: RowDef; records: readonly TrialRecord[] }[],
): { claim: Claim; comparison: PairedRow | null }[] {
  const byId = new Map(rows.map((s) => [s.row.id, s]));
  // a claim on rows this budget does not run (the neighbours below `full`) is left out
  const claims = (def.claims ?? []).filter((c) => byId.has(c.row) && byId.has(c.against));
  return claims.map((claim) => {
    const mine = byId.get(claim.row);
    const theirs = byId.get(claim.against);
    const comparison =
      mine && theirs ? compareRows(mine.row, mine.records, theirs.records, claim.metric ?? def.metric) : null;
    return { claim, comparison };
  });
}

function signed(x: number, digits: number): string {
  return `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;
}

/** Markdown lines of the section; empty when the experiment states no claims. */
export function claimsSection(
  def: ExperimentDef,
  rows: readonly { row: RowDef; records: readonly TrialRecord[] }[],
): string[] {
  const judged = judgeClaims(def, rows);
  if (judged.length === 0) return [];
  const lines = [
    '## Paper claims',
    '',
    [
      "Each claim as 'row is better than against', judged by the paired difference (row − against) over the seeds",
      'both finished: **agrees** when its 95 % CI excludes 0 on the side the claim says, **disagrees** when it',
      'excludes 0 on the other side, **cannot tell** when it holds 0 (then the MDE, the smallest true difference',
      'these pairs would find with 80 % power, bounds what a real effect could be).',
    ].join(' '),
    '',
    '| claim | paper | metric | pairs | Δ [95 % CI] | MDE | verdict |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const { claim, comparison: c } of judged) {
    const metric = claim.metric ?? def.metric;
    const k = metric.percent ? 100 : 1;
    const digits = metric.percent ? 2 : 4;
    const unit = metric.percent ? ' pt' : '';
    const v = verdict(c);
    const cells = c
      ? [
          String(c.paired.n),
          Number.isFinite(c.paired.ci[0])
            ? `${signed(c.paired.mean * k, digits)} [${signed(c.paired.ci[0] * k, digits)}, ${signed(c.paired.ci[1] * k, digits)}]${unit}`
            : `${signed(c.paired.mean * k, digits)}${unit}`,
          Number.isFinite(c.paired.mde) ? `${(c.paired.mde * k).toFixed(digits)}${unit}` : '—',
        ]
      : ['0', '—', '—'];
    lines.push(
      `| ${[claim.text, claim.paper, metric.label, ...cells, v === 'agrees' || v === 'disagrees' ? `**${v}**` : v].map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`,
    );
  }
  lines.push('');
  return lines;
}
