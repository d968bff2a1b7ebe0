/**
 * The `smoke` budget of all three experiments, through the real CLI (`node bin/laurel.mjs train` as
 * subprocesses). Asserts structure, not outcomes: every trial finished with a summary, results.jsonl holds one
 * line per trial, and each report has its rows and a plot. The vision and rank experiments skip when
 * Fashion-MNIST is not installed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DEFAULT_FASHION_MNIST_DIR, findIdxFile } from '../../src/data/fashion-mnist.ts';
import { getExperiment } from '../../src/experiments/definitions/index.ts';
import { runExperiment } from '../../src/experiments/index.ts';
import { ResultStore } from '../../src/experiments/store.ts';

const tmp = mkdtempSync(join(tmpdir(), 'laurel-smoke-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function fashionMnistMissing(): string | false {
  try {
    for (const k of ['images-idx3-ubyte', 'labels-idx1-ubyte']) {
      findIdxFile(DEFAULT_FASHION_MNIST_DIR, ['train'], k);
      findIdxFile(DEFAULT_FASHION_MNIST_DIR, ['t10k'], k);
    }
    return false;
  } catch (e) {
    return `Fashion-MNIST is not installed (${(e as Error).message.slice(0, 120)}…); skipping`;
  }
}

async function smoke(name: string, metric: 'best_accuracy' | 'test_loss'): Promise<void> {
  const runsDir = join(tmp, 'runs');
  const resultsDir = join(tmp, 'results');
  const lines: string[] = [];
  const r = await runExperiment(name, {
    budget: 'smoke',
    runsDir,
    resultsDir,
    handleSigint: false,
    trialTimeoutMs: 180_000,
    log: (l) => lines.push(l),
  });
  const def = getExperiment(name);
  const rows = def.rows('smoke');
  const records = new ResultStore(join(runsDir, `${name}-smoke`)).readAll();
  const failures = records.filter((x) => x.status !== 'ok').map((x) => `${x.key}: ${x.error?.slice(-300)}`);
  assert.deepEqual(failures, [], `failed trials:\n${failures.join('\n')}\nlog:\n${lines.join('\n')}`);
  assert.equal(r.ran, rows.length);
  assert.equal(r.interrupted, false);
  assert.equal(records.length, rows.length);
  for (const rec of records) {
    assert.equal(typeof rec.summary?.[metric], 'number', `${rec.key}: ${metric}`);
    assert.equal(typeof rec.summary?.params, 'number', `${rec.key}: params`);
    assert.equal(typeof rec.summary?.mean_step_ms, 'number', `${rec.key}: mean_step_ms`);
    if (name === 'lm')
      assert.equal(typeof rec.summary?.probe_accuracy, 'number', `${rec.key}: probe_accuracy`);
  }
  const md = readFileSync(r.report!.reportPath, 'utf8');
  for (const row of rows) assert.ok(md.includes(`| ${row.label}`), `report row ${row.label}`);
  assert.match(md, new RegExp(`${rows.length} ok, 0 failed, 0 not run yet`));
  const svg = readFileSync(r.report!.plotPaths[0]!, 'utf8');
  assert.ok(svg.startsWith('<svg') && svg.includes('errorbars_marks'));

  // a second run skips every finished trial
  const again = await runExperiment(name, {
    budget: 'smoke',
    runsDir,
    resultsDir,
    handleSigint: false,
    log: () => {},
  });
  assert.equal(again.skipped, rows.length);
  assert.equal(again.ran, 0);
}

test('smoke: lm (Table 5 analog) through the CLI', { timeout: 420_000 }, () => smoke('lm', 'test_loss'));

test(
  'smoke: vision (Table 1 analog) through the CLI',
  { timeout: 420_000, skip: fashionMnistMissing() },
  () => smoke('vision', 'best_accuracy'),
);

test('smoke: rank (Figure 3 analog) through the CLI', { timeout: 420_000, skip: fashionMnistMissing() }, () =>
  smoke('rank', 'best_accuracy'),
);
