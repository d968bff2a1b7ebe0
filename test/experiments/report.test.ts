import assert from 'node:assert/strict';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Budget } from '../../src/experiments/budget.ts';
import { getExperiment } from '../../src/experiments/definitions/index.ts';
import { reportExperiment } from '../../src/experiments/index.ts';
import { planTrials } from '../../src/experiments/plan.ts';
import { summarizeRows, writeReport } from '../../src/experiments/report.ts';
import type { TrialRecord } from '../../src/experiments/store.ts';
import { buildTrialArgs, normalizeSummary, trialFingerprint, trialKey } from '../../src/experiments/trial.ts';

const tmp = mkdtempSync(join(tmpdir(), 'laurel-report-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes a synthetic results.jsonl for an experiment, with summaries from `summary(row, seed)`. */
function synth(
  name: string,
  budget: Budget,
  runs: string,
  summary: (row: string, seed: number) => Record<string, unknown> | null,
): TrialRecord[] {
  const def = getExperiment(name);
  const records = planTrials(def, budget, runs, 3).map((t, i): TrialRecord => {
    const s = summary(t.row, t.seed);
    return {
      experiment: t.experiment,
      row: t.row,
      seed: t.seed,
      key: trialKey(t),
      fingerprint: trialFingerprint(t),
      status: s ? 'ok' : 'failed',
      train: t.train,
      args: buildTrialArgs(t, { threads: 1 }),
      threads: 1,
      out: t.out,
      summary: s ? normalizeSummary(s) : null,
      error: s ? null : 'exit 1: NaN loss at step 3',
      wall_ms: 60_000,
      started_at: new Date(Date.UTC(2026, 0, 1, 10, i)).toISOString(),
      finished_at: new Date(Date.UTC(2026, 0, 1, 10, i + 1)).toISOString(),
      commit: 'deadbeefcafe0123',
      budget,
    };
  });
  const dir = join(runs, budget === 'standard' ? name : `${name}-${budget}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.jsonl'), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
  return records;
}

const ACC: Record<string, number> = {
  baseline: 0.88,
  'extra-block': 0.884,
  rw: 0.8805,
  'rw-lr-r16': 0.89,
  'rw-lr-pa-r16-k3': 0.891,
};
const PARAMS: Record<string, number> = {
  baseline: 272474,
  'extra-block': 309466,
  rw: 272492,
  'rw-lr-r16': 277000,
  'rw-lr-pa-r16-k3': 284000,
};

test('vision report: table rows, Welch p vs baseline with marks, paper numbers, a bar chart with error bars', async () => {
  const runs = join(tmp, 'runs1');
  const results = join(tmp, 'results1');
  synth('vision', 'standard', runs, (row, seed) =>
    row === 'rw' && seed === 3
      ? null
      : {
          best_accuracy: ACC[row]! + [0, 0.001, -0.001][seed - 1]!,
          params: PARAMS[row],
          mean_step_ms: 600 + seed,
          peak_rss_mb: 900,
          backend: 'native',
        },
  );
  const w = await reportExperiment('vision', {
    budget: 'standard',
    runsDir: runs,
    resultsDir: results,
    date: '2026-01-01T12:00:00.000Z',
    commit: '0123456789abcdef',
  });
  assert.equal(w.reportPath, join(results, 'vision', 'report.md'));
  const md = readFileSync(w.reportPath, 'utf8');
  assert.match(md, /^# vision: Table 1 analog/);
  for (const label of [
    'baseline',
    'baseline + 1 block (naive scaling)',
    'RW',
    'RW+LR (r=16)',
    'RW+LR+PA (r=16, k=3)',
  ]) {
    assert.ok(md.includes(`| ${label}`), `row ${label}`);
  }
  const line = (label: string) => md.split('\n').find((l) => l.startsWith(`| ${label} `))!;
  assert.match(line('baseline'), /\| 88\.00 ± 0\.10 \|/);
  assert.match(line('baseline'), /\(reference\)/);
  // RW+LR: +1.00 points with std 0.1 over 3 trials: significant; RW (+0.05, n = 2) is not
  assert.match(line('RW+LR (r=16) *'), /\+1\.00 \|.*\| \+1\.66 % \|.*\*\*<0\.001\*\* \* \| 3 \|/);
  assert.match(line('RW'), /\| 2 \| 75\.10 ± 0\.10 \(\+0\.003 %\) \|$/);
  assert.ok(!line('RW').includes('**'));
  assert.match(line('baseline + 1 block (naive scaling) *'), /\+13\.58 %/);
  assert.match(md, /commit `0123456789abcdef`; trials ran at `deadbeefcafe`/);
  assert.match(md, /Backend: native; threads per trial: 1/);
  assert.match(md, /Generated: 2026-01-01T12:00:00\.000Z/);
  assert.match(md, /14 ok, 1 failed, 10 not run yet/);
  assert.match(md, /## Failed trials\n\n- `rw\/seed3`: exit 1: NaN loss at step 3/);
  assert.match(md, /## The paper, for context/);
  assert.match(md, /"trainLimit": 16000/);
  assert.match(md, /node bin\/laurel\.mjs train --task fashion-mnist --model resnet20 --residual baseline/);
  assert.match(md, /!\[vision\]\(vision\.svg\)/);
  const svg = readFileSync(join(results, 'vision', 'vision.svg'), 'utf8');
  assert.ok(svg.startsWith('<svg'));
  assert.ok(svg.includes('errorbars_marks') && svg.includes('mark-rule'), 'error bars');
  assert.ok(svg.includes('bars_marks'));
  assert.equal((svg.match(/<path/g) ?? []).length > 5, true);
});

test('summarizeRows ignores stale records and counts missing trials', () => {
  const def = getExperiment('vision');
  const recs = synth('vision', 'standard', join(tmp, 'runs2'), (row) => ({
    best_accuracy: ACC[row],
    params: 1,
  }));
  const stale = { ...recs[0]!, key: 'baseline/seed9', seed: 9, fingerprint: 'old' };
  const rows = summarizeRows(def, 'standard', [...recs.slice(1), stale]);
  const base = rows.find((r) => r.row.id === 'baseline')!;
  assert.equal(base.n, 2);
  assert.equal(base.stale, 1);
  assert.equal(base.missing, 3); // 5 trials per row in the standard preset

  // an interrupted segment before the successful resume: its time counts, the trial counts once
  const seg = { ...recs[0]!, status: 'interrupted' as const, summary: null, wall_ms: 30_000 };
  const rw = { ...recs[2]!, key: 'rw/seed2', seed: 2, status: 'interrupted' as const, summary: null };
  rw.fingerprint = trialFingerprint({ seed: 2, train: rw.train });
  const rows2 = summarizeRows(def, 'standard', [seg, ...recs, rw]);
  const base2 = rows2.find((r) => r.row.id === 'baseline')!;
  assert.equal(base2.n, 3);
  assert.equal(base2.wallMs, 3 * 60_000 + 30_000);
  const rw2 = rows2.find((r) => r.row.id === 'rw')!;
  assert.equal(rw2.interrupted, 1);
  assert.equal(rw2.failed, 0);
  assert.equal(rw2.missing, 2);
});

test('rank report: accuracy against r on a log2 axis with error bars and the RW-only reference line', async () => {
  const runs = join(tmp, 'runs3');
  const results = join(tmp, 'results3');
  synth('rank', 'smoke', runs, (row, seed) => {
    const r = row === 'rw' ? 0 : Number(row.replace('rw-lr-r', ''));
    const acc = row === 'rw' ? 0.88 : 0.875 + 0.01 * Math.exp(-((Math.log2(r) - 4.5) ** 2));
    return { best_accuracy: acc + seed * 1e-3, added_params: r * 100, params: 272474 + r * 100 };
  });
  const w = await reportExperiment('rank', {
    budget: 'smoke',
    runsDir: runs,
    resultsDir: results,
    commit: null,
  });
  const md = readFileSync(w.reportPath, 'utf8');
  assert.match(md, /^# rank: Figure 3 analog/);
  assert.match(md, /per-stage ranks 15\/31\/63 for widths 16\/32\/64/);
  assert.match(md, /\| RW only \(reference\) \|/);
  assert.match(md, /p vs rw \(Welch\)/);
  assert.match(md, /\| RW\+LR r=64 /);
  assert.match(md, /commit `unknown`/);
  assert.match(md, /Backend: not reported by the trainer/);
  // no baseline row here: params added come from the trainer's added_params
  assert.match(md.split('\n').find((l) => l.startsWith('| RW+LR r=4 '))!, /\+0\.147 %/);
  const svg = readFileSync(join(results, 'rank-smoke', 'rank.svg'), 'utf8');
  assert.ok(svg.startsWith('<svg'));
  assert.ok(svg.includes('errorbars_marks'), 'error bars');
  assert.ok(svg.includes('reference_marks'), 'RW reference line');
  assert.ok(svg.includes('RW only'));
  for (const r of ['4', '8', '16', '32', '64']) assert.ok(svg.includes(`>${r}</text>`), `x tick ${r}`);
});

test('lm report: params, SOTU and Moby Dick losses, cloze accuracy, memory and step time', async () => {
  const runs = join(tmp, 'runs4');
  const results = join(tmp, 'results4');
  synth('lm', 'standard', runs, (row, seed) => ({
    test_loss: (row === 'baseline' ? 1.9 : 1.85) + seed * 0.001,
    ood_loss: 2.4,
    cloze_accuracy: row === 'rw' ? 0.27 : 0.41,
    perplexity: 6.5,
    unigram_loss: 3.1,
    params: row === 'baseline-extra' ? 1_000_000 : 800_000,
    peak_rss_mb: 700,
    mean_step_ms: 450,
  }));
  const w = await reportExperiment('lm', {
    budget: 'standard',
    runsDir: runs,
    resultsDir: results,
    commit: 'x',
  });
  const md = readFileSync(w.reportPath, 'utf8');
  assert.match(md, /^# lm: Table 5 analog/);
  // the header names the data of this budget: SOTU at standard (full trains on SOTU + Brown)
  assert.match(
    md,
    /^- Data: State of the Union addresses .*held-out addresses, out-of-domain loss on Moby Dick\.$/m,
  );
  assert.match(
    getExperiment('lm').data?.('full') ?? '',
    /the mixed corpus \(State of the Union addresses \+ the Brown corpus/,
  );
  assert.match(
    md,
    /test loss \(held-out documents\), mean ± std \| Δ vs baseline \| OOD loss \(Moby Dick\) \| cloze acc\. \(%\)/,
  );
  const line = (label: string) => md.split('\n').find((l) => l.startsWith(`| ${label}`))!;
  assert.match(
    line('baseline, 4 layers'),
    /\| 800,000 \| \+0 % \| 1\.9020 ± 0\.0010 \| — \| 2\.4000 ± 0\.0000 \| 41\.0 ± 0\.0 \| 700 MB \| 450 ms \|/,
  );
  assert.match(line('baseline, 5 layers (naive scaling)'), /\+25\.00 %/);
  assert.match(line('RW+LR+PA (r=32, k=3) *'), /−0\.0500/);
  assert.match(line('PA (k=3, identity h)'), /157\.22M, loss 2\.9512/);
  assert.match(
    md,
    /Unigram baseline \(test loss of a unigram model fit to the training tokens, .*\): 3\.1000\./,
  );
  // 100 items per trial, 3 seeds: 123 of 300 right is far above 1/4 (p < 0.001); 81 of 300 is not (p ≈ 0.230)
  assert.match(md, /Cloze against chance \(25 %, 4 choices;/);
  // Holm over the 7 rows: RW's is the largest p, so its multiplier is 1 and it keeps 0.230
  assert.match(
    md,
    /baseline, 4 layers 123 of 300 \(p = <0\.001, adjusted <0\.001\); .*; RW 81 of 300 \(p = 0\.230, adjusted 0\.230\); /,
  );
  const above = md.split('Above chance at adjusted p < 0.05: ')[1].split('\n')[0];
  assert.match(above, /^baseline, 4 layers, baseline, 5 layers/);
  assert.doesNotMatch(above, /\bRW,|\bRW\.$/, 'RW at 81 of 300 is not above chance');
  assert.doesNotMatch(md, /spam probe acc\./, 'standard has no probe: no column');
  const svg = readFileSync(join(results, 'lm', 'lm.svg'), 'utf8');
  assert.ok(svg.startsWith('<svg') && svg.includes('errorbars_marks'));
});

test('no results: an error naming --runs-dir, and nothing written', async () => {
  const results = join(tmp, 'results5');
  await assert.rejects(
    reportExperiment('lm', {
      budget: 'smoke',
      runsDir: join(tmp, 'empty'),
      resultsDir: results,
      commit: null,
    }),
    /no results to report: .*empty\/lm-smoke\/results\.jsonl does not exist; .*--runs-dir DIR where DIR\/lm-smoke\/results\.jsonl exists/,
  );
  assert.equal(existsSync(results), false);
  // a results.jsonl of garbage: the same error, counting the skipped lines
  const runs = join(tmp, 'garbage');
  mkdirSync(join(runs, 'lm-smoke'), { recursive: true });
  writeFileSync(join(runs, 'lm-smoke', 'results.jsonl'), 'not json\n{"key": 3}\n[1, 2]\n{"torn": \n');
  await assert.rejects(
    reportExperiment('lm', { budget: 'smoke', runsDir: runs, resultsDir: results, commit: null }),
    /holds no trial record \(4 lines skipped: not JSON or not trial records\)/,
  );
  assert.equal(existsSync(results), false);
});

test('garbage lines among records are counted; a report is never replaced by an emptier one', async () => {
  const runs = join(tmp, 'runs6');
  const results = join(tmp, 'results6');
  const records = synth('vision', 'smoke', runs, (row) => ({ best_accuracy: ACC[row], params: PARAMS[row] }));
  const file = join(runs, 'vision-smoke', 'results.jsonl');
  // records whose fields have other types (a commit that is a number, an error that is not text) are
  // skipped like garbage, rather than failing inside the report
  const odd = [
    { ...records[0], commit: 123 },
    { ...records[0], status: 'failed', error: 5 },
  ];
  appendFileSync(file, `garbage\n{"key": "x"}\n${odd.map((r) => JSON.stringify(r)).join('\n')}\n`);
  const opts = { budget: 'smoke' as Budget, runsDir: runs, resultsDir: results, commit: null };
  const first = await writeReport(getExperiment('vision'), opts);
  assert.equal(first.skipped, 4);
  const full = readFileSync(first.reportPath, 'utf8');
  assert.match(full, new RegExp(`- Trials: ${records.length} ok`));

  // fewer ok trials now (the first record only): refused, the report and its plot untouched
  writeFileSync(file, `${JSON.stringify(records[0])}\n`);
  await assert.rejects(
    writeReport(getExperiment('vision'), opts),
    new RegExp(
      `not replacing .*report\\.md \\(${records.length} ok trials\\) with a report of 1 ok trials .*--force`,
    ),
  );
  assert.equal(readFileSync(first.reportPath, 'utf8'), full);
  const forced = await writeReport(getExperiment('vision'), { ...opts, force: true });
  assert.match(readFileSync(forced.reportPath, 'utf8'), /- Trials: 1 ok/);
  assert.ok(readFileSync(forced.plotPaths[0]!, 'utf8').startsWith('<svg'));
  // no temp file is left next to what was written
  assert.deepEqual(
    readdirSync(join(results, 'vision-smoke')).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test('a rebuilt report that differs only in its date and commit leaves the file as it was', async () => {
  const runs = join(tmp, 'runs7');
  const results = join(tmp, 'results7');
  synth('vision', 'smoke', runs, (row) => ({ best_accuracy: ACC[row], params: PARAMS[row] }));
  const opts = { budget: 'smoke' as Budget, runsDir: runs, resultsDir: results };
  const first = await writeReport(getExperiment('vision'), { ...opts, date: '2026-01-01', commit: 'aaa' });
  const before = readFileSync(first.reportPath, 'utf8');
  await writeReport(getExperiment('vision'), { ...opts, date: '2026-02-02', commit: 'bbb' });
  assert.equal(readFileSync(first.reportPath, 'utf8'), before, 'only the stamp differs: not rewritten');
  // a real change (other accuracies, as many trials) is written, with its new stamp
  synth('vision', 'smoke', runs, (row) => ({ best_accuracy: ACC[row] - 0.01, params: PARAMS[row] }));
  await writeReport(getExperiment('vision'), { ...opts, date: '2026-03-03', commit: 'ccc' });
  const after = readFileSync(first.reportPath, 'utf8');
  assert.notEqual(after, before);
  assert.match(after, /- Generated: 2026-03-03 .*\n- Code: commit `ccc`/);
});

test('the hint to force a report names --budget unless it is the default (full)', async () => {
  const runs = join(tmp, 'runs8');
  const results = join(tmp, 'results8');
  const records = synth('vision', 'standard', runs, (row) => ({
    best_accuracy: ACC[row],
    params: PARAMS[row],
  }));
  const opts = { budget: 'standard' as Budget, runsDir: runs, resultsDir: results, commit: null };
  await writeReport(getExperiment('vision'), opts);
  writeFileSync(join(runs, 'vision', 'results.jsonl'), `${JSON.stringify(records[0])}\n`);
  await assert.rejects(
    writeReport(getExperiment('vision'), opts),
    /'laurel report vision --budget standard --runs-dir /,
  );
});
