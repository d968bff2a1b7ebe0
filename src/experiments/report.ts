/**
 * `laurel report <experiment>`: regenerates `results/<id>/report.md` and its SVG plots from the stored
 * results (`runs/<id>/results.jsonl`), without retraining.
 *
 * Per row: mean ± sample std of the metric over the trials whose latest record succeeded with the row's
 * current config, params added relative to the baseline row (or the trainer's `added_params` when the
 * experiment has no baseline row), mean step time, peak memory, and Welch's two-sided t-test against the
 * reference row (p < 0.05 marked `*`). Also recorded: the preset, the git commit(s), the backend and the date,
 * and the paper's numbers next to ours.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { CLOZE_CHOICES, clozeItemCount } from '../data/cloze.ts';
import { InputError } from '../util/errors.ts';
import { ensureDir, writeFileAtomic } from '../util/files.ts';
import { type Budget, DEFAULT_BUDGET, PRESETS } from './budget.ts';
import { claimsSection } from './claims.ts';
import type { ExperimentDef, RowDef } from './definitions/index.ts';
import { gitCommit } from './git.ts';
import { pairedSection } from './paired-table.ts';
import { pairedComparisons } from './paired.ts';
import { experimentId, experimentResultsDir, experimentRunsDir } from './plan.ts';
import { type BarDatum, type PointDatum, barChartSpec, renderSvg, sweepPlotSpec } from './plot.ts';
import {
  type WelchResult,
  binomialUpperTail,
  formatP,
  holmAdjust,
  mean,
  sampleStd,
  welchTTest,
} from './stats.ts';
import { ResultStore, type TrialRecord } from './store.ts';
import { type TrialSummary, buildTrialArgs, trialFingerprint } from './trial.ts';

/** Significance level of the marks in the tables. */
export const ALPHA = 0.05;

export interface Stat {
  values: number[];
  mean: number | null;
  /** Sample std; null for fewer than 2 values. */
  std: number | null;
}

export interface RowSummary {
  row: RowDef;
  /** Trials whose latest record succeeded with the current config. */
  n: number;
  failed: number;
  /** Trials stopped by an interrupt, to be resumed. */
  interrupted: number;
  /** Expected trials with no record yet (budget's trials/row minus ok, failed and interrupted). */
  missing: number;
  /** Records of this row made with another config (e.g. an older preset), ignored. */
  stale: number;
  metric: Stat;
  testLoss: Stat;
  oodLoss: Stat;
  cloze: Stat;
  /** Spam-probe accuracy of the frozen features (lm `smoke`, `full`). */
  probe: Stat;
  params: number | null;
  /** Params added relative to the baseline model, in percent. */
  addedPct: number | null;
  stepMs: number | null;
  peakMb: number | null;
  /** Against the reference row (null for the reference itself). */
  welch: WelchResult | null;
  significant: boolean;
  errors: { key: string; error: string }[];
  /** Sum of wall time over all segments of the row's trials. */
  wallMs: number;
  /** Successful latest records (the ones in the statistics). */
  records: TrialRecord[];
  /** All records of the row's current trials, including interrupted and failed segments. */
  segments: TrialRecord[];
}

function stat(values: number[]): Stat {
  return {
    values,
    mean: values.length ? mean(values) : null,
    std: values.length >= 2 ? sampleStd(values) : null,
  };
}

function field(records: TrialRecord[], f: keyof Omit<TrialSummary, 'raw' | 'backend'>): number[] {
  return records
    .map((r) => r.summary?.[f])
    .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}

function meanOrNull(xs: number[]): number | null {
  return xs.length ? mean(xs) : null;
}

/** Groups the stored records by row, keeping the latest record per trial made with the row's current config. */
export function summarizeRows(def: ExperimentDef, budget: Budget, all: readonly TrialRecord[]): RowSummary[] {
  const latest = new Map<string, TrialRecord>();
  for (const r of all) latest.set(r.key, r);
  // every segment of a trial with its latest config (interrupted, failed, then resumed runs)
  const segments = all.filter((r) => r.fingerprint === latest.get(r.key)?.fingerprint);
  const expected = def.trials(budget);
  const summaries = def.rows(budget).map((row): RowSummary => {
    const mine = [...latest.values()].filter((r) => r.row === row.id);
    const current = mine.filter(
      (r) => r.fingerprint === trialFingerprint({ seed: r.seed, train: row.train }),
    );
    const ok = current.filter((r) => r.status === 'ok' && r.summary).sort((a, b) => a.seed - b.seed);
    const failed = current.filter((r) => r.status === 'failed' || (r.status === 'ok' && !r.summary));
    const interrupted = current.filter((r) => r.status === 'interrupted');
    const params = meanOrNull(field(ok, 'params'));
    return {
      row,
      n: ok.length,
      failed: failed.length,
      interrupted: interrupted.length,
      missing: Math.max(0, expected - ok.length - failed.length - interrupted.length),
      stale: mine.length - current.length,
      metric: stat(field(ok, def.metric.field)),
      testLoss: stat(field(ok, 'test_loss')),
      oodLoss: stat(field(ok, 'ood_loss')),
      cloze: stat(field(ok, 'cloze_accuracy')),
      probe: stat(field(ok, 'probe_accuracy')),
      params,
      addedPct: null,
      stepMs: meanOrNull(field(ok, 'mean_step_ms')),
      peakMb: meanOrNull(field(ok, 'peak_rss_mb')),
      welch: null,
      significant: false,
      errors: failed.map((r) => ({ key: r.key, error: r.error ?? 'no summary' })),
      segments: segments.filter((r) => current.some((c) => c.key === r.key)),
      wallMs: segments.filter((r) => current.some((c) => c.key === r.key)).reduce((s, r) => s + r.wall_ms, 0),
      records: ok,
    };
  });
  const base = summaries.find((s) => s.row.id === 'baseline');
  const ref = summaries.find((s) => s.row.id === def.referenceRow);
  for (const s of summaries) {
    if (base?.params && s.params !== null) {
      s.addedPct = ((s.params - base.params) / base.params) * 100;
    } else {
      const added = field(s.records, 'added_params');
      if (added.length && s.params !== null && s.params - mean(added) > 0) {
        s.addedPct = (mean(added) / (s.params - mean(added))) * 100;
      }
    }
    if (ref && s !== ref) {
      s.welch = welchTTest(s.metric.values, ref.metric.values);
      s.significant = Number.isFinite(s.welch.p) && s.welch.p < ALPHA;
    }
  }
  return summaries;
}

// ---------------------------------------------------------------------------------------------- formatting

const dash = '—';

function fmtNum(x: number | null, digits: number): string {
  return x === null || !Number.isFinite(x) ? dash : x.toFixed(digits);
}

function fmtStat(s: Stat, percent: boolean, digits: number): string {
  if (s.mean === null) return dash;
  const k = percent ? 100 : 1;
  const m = (s.mean * k).toFixed(digits);
  return s.std === null ? m : `${m} ± ${(s.std * k).toFixed(digits)}`;
}

function fmtDelta(s: Stat, ref: Stat | undefined, percent: boolean, digits: number): string {
  if (!ref || s.mean === null || ref.mean === null) return dash;
  const d = (s.mean - ref.mean) * (percent ? 100 : 1);
  return `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(digits)}`;
}

function fmtInt(x: number | null): string {
  return x === null ? dash : Math.round(x).toLocaleString('en-US');
}

function fmtPct(x: number | null): string {
  if (x === null) return dash;
  const a = Math.abs(x);
  const digits = a === 0 ? 0 : a < 0.01 ? 4 : a < 1 ? 3 : 2;
  return `${x >= 0 ? '+' : '−'}${a.toFixed(digits)} %`;
}

function fmtP(w: WelchResult | null, significant: boolean): string {
  if (!w) return '(reference)';
  if (!Number.isFinite(w.p)) return dash;
  const p = formatP(w.p);
  return significant ? `**${p}** *` : p;
}

function fmtMs(x: number | null): string {
  return x === null ? dash : `${x.toFixed(x < 100 ? 1 : 0)} ms`;
}

function fmtMb(x: number | null): string {
  return x === null ? dash : `${Math.round(x).toLocaleString('en-US')} MB`;
}

function fmtMinutes(ms: number): string {
  const min = ms / 60000;
  return min < 1
    ? `${(ms / 1000).toFixed(1)} s`
    : min < 120
      ? `${min.toFixed(1)} min`
      : `${(min / 60).toFixed(2)} h`;
}

function table(header: string[], rows: string[][]): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function label(s: RowSummary): string {
  return s.significant ? `${s.row.label} *` : s.row.label;
}

function visionTable(def: ExperimentDef, rows: RowSummary[]): string {
  const ref = rows.find((s) => s.row.id === def.referenceRow);
  const hasNotes = rows.some((s) => s.row.note);
  const header = [
    'row',
    `${def.metric.label}${def.metric.percent ? ' (%)' : ''}, mean ± std`,
    `Δ vs ${ref?.row.label ?? def.referenceRow}`,
    'params',
    'params added',
    'mean step',
    'peak memory',
    `p vs ${def.referenceRow} (Welch)`,
    'n',
    ...(hasNotes ? ['notes'] : []),
    'paper',
  ];
  const body = rows.map((s) => [
    label(s),
    fmtStat(s.metric, def.metric.percent, 2),
    s === ref ? dash : fmtDelta(s.metric, ref?.metric, def.metric.percent, 2),
    fmtInt(s.params),
    fmtPct(s.addedPct),
    fmtMs(s.stepMs),
    fmtMb(s.peakMb),
    fmtP(s.welch, s.significant),
    String(s.n),
    ...(hasNotes ? [s.row.note ?? ''] : []),
    s.row.paper ?? '',
  ]);
  return table(header, body);
}

function lmTable(def: ExperimentDef, rows: RowSummary[]): string {
  const ref = rows.find((s) => s.row.id === def.referenceRow);
  const hasProbe = rows.some((s) => s.probe.values.length > 0);
  const header = [
    'row',
    'params',
    'params added',
    `${def.metric.label}, mean ± std`,
    `Δ vs ${def.referenceRow}`,
    def.pairedMetrics?.find((m) => m.field === 'ood_loss')?.label ?? 'OOD loss',
    'cloze acc. (%)',
    ...(hasProbe ? ['spam probe acc. (%)'] : []),
    'peak memory',
    'mean step',
    `p vs ${def.referenceRow} (Welch, test loss)`,
    'n',
    'paper (Table 5)',
  ];
  const body = rows.map((s) => [
    label(s),
    fmtInt(s.params),
    fmtPct(s.addedPct),
    fmtStat(s.testLoss, false, 4),
    s === ref ? dash : fmtDelta(s.testLoss, ref?.testLoss, false, 4),
    fmtStat(s.oodLoss, false, 4),
    fmtStat(s.cloze, true, 1),
    ...(hasProbe ? [fmtStat(s.probe, true, 2)] : []),
    fmtMb(s.peakMb),
    fmtMs(s.stepMs),
    fmtP(s.welch, s.significant),
    String(s.n),
    s.row.paper ?? '',
  ]);
  return table(header, body);
}

/**
 * Whether the cloze task leaves chance: per row, the right answers pooled over its trials (each trial draws its
 * own items, seeded, from the held-out sentences) against 1 / CLOZE_CHOICES, one-sided exact binomial test.
 */
function clozeAgainstChance(rows: RowSummary[]): string | null {
  const tested = rows.filter((s) => s.cloze.values.length > 0);
  if (!tested.length) return null;
  const chance = 1 / CLOZE_CHOICES;
  const results = tested.map((s) => {
    const items = clozeItemCount(s.row.train.evalLimit);
    const right = Math.round(s.cloze.values.reduce((sum, acc) => sum + acc * items, 0));
    const asked = items * s.cloze.values.length;
    return { s, right, asked, p: binomialUpperTail(right, asked, chance) };
  });
  // one test per row: a row of ten reaches p < 0.05 by chance alone about every other time, so the verdict
  // uses Holm's adjustment for the number of rows
  const adjusted = holmAdjust(results.map((r) => r.p));
  const above = results.filter((_, i) => adjusted[i] < ALPHA).map((r) => r.s.row.label);
  return [
    `Cloze against chance (${(chance * 100).toFixed(0)} %, ${CLOZE_CHOICES} choices; right answers pooled over each`,
    `row's trials, one-sided exact binomial test, p and p adjusted for the ${results.length} rows by Holm's method):`,
    `${results.map((r, i) => `${r.s.row.label} ${r.right} of ${r.asked} (p = ${formatP(r.p)}, adjusted ${formatP(adjusted[i])})`).join('; ')}.`,
    `Above chance at adjusted p < ${ALPHA}: ${above.length ? above.join(', ') : 'no row'}.`,
  ].join(' ');
}

// ------------------------------------------------------------------------------------------------- plots

function toBar(s: RowSummary, k: number): BarDatum | null {
  if (s.metric.mean === null) return null;
  const m = s.metric.mean * k;
  const sd = (s.metric.std ?? 0) * k;
  return { label: s.row.label, mean: m, lo: m - sd, hi: m + sd, n: s.n };
}

/** The plots of an experiment as Vega-Lite specs, keyed by file name. */
export function plotSpecs(
  def: ExperimentDef,
  rows: RowSummary[],
): Record<string, ReturnType<typeof barChartSpec>> {
  const k = def.metric.percent ? 100 : 1;
  const yTitle = `${def.metric.label}${def.metric.percent ? ' (%)' : ''}, mean ± std`;
  if (def.name === 'rank') {
    const ref = rows.find((s) => s.row.id === def.referenceRow);
    const refBar = ref ? toBar(ref, k) : null;
    const points: PointDatum[] = rows
      .filter((s) => s.row.x !== undefined && s.metric.mean !== null)
      .map((s) => {
        const b = toBar(s, k)!;
        return { x: s.row.x!, mean: b.mean, lo: b.lo, hi: b.hi, n: b.n };
      });
    return {
      'rank.svg': sweepPlotSpec(points, refBar ? { ...refBar, label: 'RW only' } : null, {
        title: 'RW+LR: accuracy against rank r (dashed: RW only, band ±1 std)',
        xTitle: 'rank r (log2 scale; clamped per stage to D − 1)',
        yTitle,
      }),
    };
  }
  const bars = rows.map((s) => toBar(s, k)).filter((b): b is BarDatum => b !== null);
  return { [`${def.name}.svg`]: barChartSpec(bars, { title: def.title, yTitle }) };
}

// ------------------------------------------------------------------------------------------------ report

export interface ReportMeta {
  /** ISO date of the report. */
  date: string;
  /** `git rev-parse HEAD` now. */
  commit: string | null;
  /** Path of the results file, as shown in the report. */
  source: string;
}

export interface Report {
  markdown: string;
  /** SVG text per file name. */
  svgs: Record<string, string>;
  rows: RowSummary[];
}

function presetOf(def: ExperimentDef, budget: Budget): unknown {
  return PRESETS[def.name][budget];
}

/** Trials that succeeded with their row's current config, over all rows. */
function okTrials(rows: RowSummary[]): number {
  return rows.reduce((a, s) => a + s.n, 0);
}

/** Builds the report (markdown + SVGs) from records; pure apart from rendering. */
export async function buildReport(
  def: ExperimentDef,
  budget: Budget,
  records: readonly TrialRecord[],
  meta: ReportMeta,
): Promise<Report> {
  const rows = summarizeRows(def, budget, records);
  const specs = plotSpecs(def, rows);
  const svgs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(specs)) svgs[name] = await renderSvg(spec);

  const used = rows.flatMap((s) => s.records);
  const ok = okTrials(rows);
  const failed = rows.reduce((a, s) => a + s.failed, 0);
  const interrupted = rows.reduce((a, s) => a + s.interrupted, 0);
  const missing = rows.reduce((a, s) => a + s.missing, 0);
  const stale = rows.reduce((a, s) => a + s.stale, 0);
  const commits = [...new Set(used.map((r) => r.commit).filter((c): c is string => !!c))];
  const backends = [...new Set(used.map((r) => r.summary?.backend).filter((b): b is string => !!b))];
  const threads = [...new Set(used.map((r) => r.threads))];
  const trialMs = rows.reduce((a, s) => a + s.wallMs, 0);
  const segments = rows.flatMap((s) => s.segments);
  const starts = segments.map((r) => Date.parse(r.started_at)).filter(Number.isFinite);
  const ends = segments.map((r) => Date.parse(r.finished_at)).filter(Number.isFinite);
  const span = starts.length ? Math.max(...ends) - Math.min(...starts) : 0;
  const example = def.rows(budget)[0];

  const lines: string[] = [];
  lines.push(`# ${def.name}: ${def.title}`, '');
  lines.push(`Reproduces, at this machine's scale: ${def.paperRef}.`, '');
  if (def.data) lines.push(`- Data: ${def.data(budget)}.`);
  lines.push(
    `- Budget: \`${budget}\` (${plural(def.trials(budget), 'trial')} per row in the preset, ${def.steps(budget)} training steps per trial; preset below).`,
    `- Generated: ${meta.date} from \`${meta.source}\` (no retraining).`,
    `- Code: commit \`${meta.commit ?? 'unknown'}\`; trials ran at ${commits.length ? commits.map((c) => `\`${c.slice(0, 12)}\``).join(', ') : 'unknown commits'}.`,
    `- Backend: ${backends.length ? backends.join(', ') : 'not reported by the trainer'}; threads per trial: ${threads.length ? threads.join(', ') : dash}.`,
    `- Wall time: ${fmtMinutes(span)} from the first trial's start to the last one's end (including any pause between resumed runs); ${fmtMinutes(trialMs)} of trial time in total; the preset's estimate was ${fmtMinutes(def.estimateMinutes(budget) * 60000)} with ${def.defaultWorkers(budget)} workers.`,
    `- Trials: ${ok} ok, ${failed} failed, ${missing} not run yet${interrupted ? `, ${interrupted} interrupted (re-run to resume)` : ''}${stale ? `, ${stale} stale (older config, ignored)` : ''}.`,
    '',
  );
  lines.push('## Results', '');
  lines.push(def.metric.field === 'test_loss' ? lmTable(def, rows) : visionTable(def, rows), '');
  const unigram = field(used, 'unigram_loss');
  if (unigram.length) {
    lines.push(
      `Unigram baseline (test loss of a unigram model fit to the training tokens, on the same held-out documents, the floor to beat): ${mean(unigram).toFixed(4)}.`,
      '',
    );
  }
  const cloze = def.metric.field === 'test_loss' ? clozeAgainstChance(rows) : null;
  if (cloze) lines.push(cloze, '');
  lines.push(
    [
      `\`*\`: differs from \`${def.referenceRow}\` at p < ${ALPHA} (Welch's two-sided t-test on the per-trial`,
      `${def.metric.label}; needs ≥ 2 trials per row). Δ is the difference of means. Params added are relative to the`,
      'baseline model. Step time and peak memory (RSS) are means over trials.',
    ].join(' '),
    '',
  );
  lines.push(...claimsSection(def, rows));
  lines.push(...pairedSection(def, pairedComparisons(def, rows)));
  if (used.some((r) => r.crn === undefined)) {
    lines.push(
      'Some trials predate the recorded seeding scheme (`crn` in results.jsonl); they were paired by construction all the same, except where marked above.',
      '',
    );
  }
  for (const name of Object.keys(svgs)) lines.push(`![${def.name}](${name})`, '');
  lines.push('## The paper, for context', '', def.paperContext, '');
  lines.push('## Configuration', '', '```json', JSON.stringify(presetOf(def, budget), null, 2), '```', '');
  if (example) {
    lines.push(
      'Each trial runs (seed and row varying):',
      '',
      '```sh',
      `node bin/laurel.mjs ${buildTrialArgs({ experiment: experimentId(def.name, budget), row: example.id, seed: 1, out: `runs/${experimentId(def.name, budget)}/${example.id}/seed1`, train: example.train }).join(' ')}`,
      '```',
      '',
    );
  }
  const errors = rows.flatMap((s) => s.errors);
  if (errors.length) {
    lines.push('## Failed trials', '');
    for (const e of errors) lines.push(`- \`${e.key}\`: ${e.error.replace(/\s+/g, ' ').slice(0, 400)}`);
    lines.push('');
  }
  return { markdown: `${lines.join('\n').trimEnd()}\n`, svgs, rows };
}

export interface WriteReportOptions {
  budget: Budget;
  runsDir: string;
  resultsDir: string;
  /** For tests: fixed date and commit. */
  date?: string;
  commit?: string | null;
  /** Replace an existing report even when it counts more successful trials than the new one. */
  force?: boolean;
}

export interface WrittenReport {
  reportPath: string;
  plotPaths: string[];
  report: Report;
  /** Lines of results.jsonl that were skipped (torn, not JSON, not trial records). */
  skipped: number;
}

/**
 * writeReport's refusal to replace a report that counts more successful trials: an InputError for `laurel
 * report`, a warning for `laurel experiment` (whose trials are recorded either way).
 */
export class ReportNotReplaced extends InputError {
  constructor(
    message: string,
    readonly reportPath: string,
  ) {
    super(message);
    this.name = 'ReportNotReplaced';
  }
}

/** The `laurel report` flags that name these folders, where they are not the defaults. */
function folderFlags(opts: WriteReportOptions): string {
  const flag = (name: string, dir: string, fallback: string) =>
    resolve(dir) === resolve(fallback) ? '' : ` --${name} ${dir}`;
  return flag('runs-dir', opts.runsDir, 'runs') + flag('results-dir', opts.resultsDir, 'results');
}

/** A report without its generation time and the commit that generated it. */
function withoutStamp(markdown: string): string {
  return markdown
    .replace(/^- Generated: \S+/m, '- Generated:')
    .replace(/^- Code: commit `[^`]*`/m, '- Code: commit');
}

/** The successful-trial count an existing report states ("- Trials: N ok, …"), or null when it has none. */
function reportedOk(markdown: string): number | null {
  const m = /^- Trials: (\d+) ok\b/m.exec(markdown);
  return m ? Number(m[1]) : null;
}

/**
 * Reads `<runsDir>/<id>/results.jsonl`, writes `<resultsDir>/<id>/report.md` and the SVGs. Refuses (an
 * InputError, nothing written) when there is no trial record at all, and when an existing report counts more
 * successful trials than the new one would (unless `force`; ReportNotReplaced): a report is never replaced by an
 * emptier one.
 */
export async function writeReport(def: ExperimentDef, opts: WriteReportOptions): Promise<WrittenReport> {
  const store = new ResultStore(experimentRunsDir(opts.runsDir, def.name, opts.budget));
  const outDir = experimentResultsDir(opts.resultsDir, def.name, opts.budget);
  const id = experimentId(def.name, opts.budget);
  const { records, skipped } = store.read();
  if (records.length === 0) {
    const why = existsSync(store.path)
      ? `${store.path} holds no trial record (${skipped} lines skipped: not JSON or not trial records)`
      : `${store.path} does not exist`;
    throw new InputError(
      `no results to report: ${why}; run 'laurel experiment ${def.name}' first, or pass --runs-dir DIR ` +
        `where DIR/${id}/results.jsonl exists (the results committed in this repository: --runs-dir results)`,
    );
  }
  const source = relative(process.cwd(), store.path);
  const report = await buildReport(def, opts.budget, records, {
    date: opts.date ?? new Date().toISOString(),
    commit: opts.commit === undefined ? gitCommit() : opts.commit,
    source: source.startsWith('..') ? store.path : source,
  });
  const reportPath = join(outDir, 'report.md');
  const existing = existsSync(reportPath) ? readFileSync(reportPath, 'utf8') : null;
  if (!opts.force && existing !== null) {
    const before = reportedOk(existing);
    if (before === null || before > okTrials(report.rows)) {
      const had = `${before ?? 'an unknown number of'} ok trials`;
      const budget = opts.budget === DEFAULT_BUDGET ? '' : ` --budget ${opts.budget}`;
      throw new ReportNotReplaced(
        `not replacing ${reportPath} (${had}) with a report of ${okTrials(report.rows)} ok trials from ${store.path}; ` +
          `'laurel report ${def.name}${budget}${folderFlags(opts)} --force' replaces it, --results-dir DIR writes elsewhere`,
        reportPath,
      );
    }
  }
  ensureDir(outDir);
  // the same report but for when and at which commit it was made: the file stays as it is (a committed report
  // rebuilt from its committed trials leaves the checkout clean)
  if (existing === null || withoutStamp(existing) !== withoutStamp(report.markdown))
    writeFileAtomic(reportPath, report.markdown);
  const plotPaths = Object.entries(report.svgs).map(([name, svg]) => {
    const p = join(outDir, name);
    writeFileAtomic(p, svg);
    return p;
  });
  return { reportPath, plotPaths, report, skipped };
}
