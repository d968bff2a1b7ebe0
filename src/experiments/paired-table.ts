/**
 * The report's "Paired differences" section: per row against the reference, the mean paired difference with
 * its 95 % CI, the paired t-test's p with Welch's beside it, the minimum detectable effect at 80 % power for
 * the pairs run, and the half-width reached against the experiment's CI target.
 */
import type { ExperimentDef } from './definitions/index.ts';
import type { PairedRow } from './paired.ts';
import { ALPHA, POWER, formatP } from './stats.ts';

const dash = '—';

function signed(x: number, digits: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}` : dash;
}

function pValue(p: number): string {
  if (!Number.isFinite(p)) return dash;
  const s = formatP(p);
  return p < ALPHA ? `**${s}**` : s;
}

/** Markdown lines of the section; empty when no row shares a seed with the reference. */
export function pairedSection(def: ExperimentDef, comparisons: readonly PairedRow[]): string[] {
  if (comparisons.length === 0) return [];
  const rows = comparisons.map((c) => {
    const k = c.metric.percent ? 100 : 1;
    const digits = c.metric.percent ? 2 : 4;
    const unit = c.metric.percent ? ' pt' : '';
    const d = c.paired;
    const target = c.metric.ciTarget;
    return [
      c.metric.label,
      c.row.label,
      String(d.n),
      Number.isFinite(d.ci[0])
        ? `${signed(d.mean * k, digits)} [${signed(d.ci[0] * k, digits)}, ${signed(d.ci[1] * k, digits)}]${unit}`
        : `${signed(d.mean * k, digits)}${unit}`,
      pValue(d.p),
      pValue(c.welch.p),
      Number.isFinite(d.mde) ? `${(d.mde * k).toFixed(digits)}${unit}` : dash,
      Number.isFinite(d.halfWidth)
        ? `±${(d.halfWidth * k).toFixed(digits)}${target ? ` (target ±${(target * k).toFixed(digits)}${d.halfWidth <= target ? ', met' : ''})` : ''}`
        : dash,
      c.pairsForTarget === null ? dash : String(c.pairsForTarget),
      c.byConstruction ? 'paired' : 'seed-matched only',
    ];
  });
  const header = [
    'metric',
    'row',
    'pairs',
    'Δ mean [95 % CI]',
    'p (paired t)',
    'p (Welch)',
    `MDE (${POWER * 100} % power)`,
    'CI half-width',
    'pairs for target',
    'pairing',
  ];
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  const lines = [
    `## Paired differences against \`${def.referenceRow}\``,
    '',
    [
      'Δ = row − reference, trial by trial over the seeds both rows finished. Trials of one seed see the same',
      'batches in the same order and start from the same weights for the parts the rows share (LAUREL and',
      'naive-scaling blocks draw from random streams of their own), so the paired t-test removes the seed-to-seed',
      `spread that Welch's test (beside it) has to carry. Bold: p < ${ALPHA}. MDE: the smallest true difference the`,
      `paired test finds with ${POWER * 100} % power at α = ${ALPHA} for this many pairs and the observed spread of`,
      "the differences (central-t approximation). 'pairs for target': pairs that spread needs for the CI target.",
    ].join(' '),
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
    '',
  ];
  if (comparisons.some((c) => !c.byConstruction)) {
    lines.push(
      [
        "'seed-matched only': these trials ran before naive-scaling blocks drew from their own random stream; the",
        'pairs share the data order and most initial weights, but the extra block shifted the initial weights of the',
        'layers built after it, so their pairing is weaker than by construction (the test is still valid, only less',
        'sharp). Re-running those trials makes them paired.',
      ].join(' '),
      '',
    );
  }
  return lines;
}
