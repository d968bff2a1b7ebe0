import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { readMetrics } from '../../src/train/metrics.ts';
import { gptArgs, lastJson, laurel, laurelAsync, tinyIdx, tinyText, tmp } from './fixtures.ts';

const text = tinyText();

test('text: train, stop, resume == uninterrupted run; eval re-evaluates the checkpoint', () => {
  const full = join(tmp('full'), 'run');
  const a = laurel(gptArgs(text, full));
  assert.equal(a.status, 0, a.stderr);
  const sa = lastJson(a.stdout);
  assert.equal(sa.steps, 6);
  assert.equal(sa.status, 'completed');
  for (const k of ['test_loss', 'perplexity', 'params', 'added_params', 'mean_step_ms']) {
    assert.equal(typeof sa[k], 'number', k);
  }
  assert.ok((sa.test_loss as number) < Math.log(256), `test loss ${sa.test_loss} below uniform`);
  assert.ok((sa.unigram_loss as number) > 1 && (sa.unigram_loss as number) < Math.log(256));
  assert.equal(sa.perplexity, Math.exp(sa.test_loss as number));
  assert.equal(sa.added_params, 2 * 4 * 16 + 2);
  assert.deepEqual(
    readMetrics(join(full, 'metrics.jsonl')).map((m) => m.step),
    [2, 4, 6],
  );
  const config = JSON.parse(readFileSync(join(full, 'config.json'), 'utf8'));
  assert.equal(config.flags.rank, 4);
  assert.equal(config.flags.optimizer, 'adamw');

  const out = join(tmp('resume'), 'run');
  const b1 = laurel([...gptArgs(text, out), '--stop-at', '3']);
  assert.equal(b1.status, 0, b1.stderr);
  assert.equal(lastJson(b1.stdout).status, 'stopped');
  assert.equal(loadCheckpoint(out).step, 3);
  // a run folder is not overwritten by accident, and a resumed run keeps its config
  assert.match(laurel(gptArgs(text, out)).stderr, /already holds a run; add --resume/);
  const clash = laurel(['train', '--out', out, '--resume', '--rank', '2']);
  assert.equal(clash.status, 2);
  assert.match(clash.stderr, /--rank 2 differs from the run in .* \(4\)/);
  const b2 = laurel(['train', '--out', out, '--resume', '--json']);
  assert.equal(b2.status, 0, b2.stderr);
  const sb = lastJson(b2.stdout);
  assert.equal(sb.steps, 6);
  assert.equal(sb.test_loss, sa.test_loss);
  assert.equal(sb.ood_loss, sa.ood_loss);
  assert.deepEqual(
    readMetrics(join(out, 'metrics.jsonl')).map(({ step, loss }) => ({ step, loss })),
    readMetrics(join(full, 'metrics.jsonl')).map(({ step, loss }) => ({ step, loss })),
  );

  const e = laurel(['eval', '--out', out, '--json']);
  assert.equal(e.status, 0, e.stderr);
  const se = lastJson(e.stdout);
  assert.equal(se.step, 6);
  assert.equal(se.test_loss, sa.test_loss);
});

test('fashion-mnist format (tiny IDX via --data): resnet20 RW+LR trains, JSON summary, metrics, checkpoint', () => {
  const out = join(tmp('img'), 'run');
  const r = laurel([
    'train',
    '--task',
    'fashion-mnist',
    '--model',
    'resnet20',
    '--residual',
    'rw+lr',
    '--rank',
    '4',
    '--batch-size',
    '8',
    '--max-steps',
    '3',
    '--eval-every',
    '2',
    '--data',
    tinyIdx(),
    '--out',
    out,
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const s = lastJson(r.stdout);
  assert.equal(s.steps, 3);
  assert.equal(s.model, 'resnet20');
  assert.ok(typeof s.best_accuracy === 'number' && s.best_accuracy >= 0 && s.best_accuracy <= 1);
  assert.equal(s.params, (s.baseline_params as number) + (s.added_params as number));
  assert.ok((s.added_params as number) > 0);
  const m = readMetrics(join(out, 'metrics.jsonl'));
  assert.deepEqual(
    m.map((x) => x.step),
    [2, 3],
  );
  for (const k of ['step', 'epoch', 'loss', 'accuracy', 'lr', 'step_ms', 'images_per_s'])
    assert.ok(k in m[0], k);
  assert.ok(existsSync(join(out, 'checkpoint', 'manifest.json')));
  assert.equal(laurel(['eval', '--out', out, '--json']).status, 0);
});

test('demo (npm start) trains baseline and RW+LR and prints the comparison table', () => {
  const out = tmp('demo');
  const r = laurel([
    'demo',
    '--data',
    tinyIdx(),
    '--train-limit',
    '16',
    '--batch-size',
    '8',
    '--eval-limit',
    '8',
    '--out',
    out,
    '--quiet',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  // with --json the table goes to stderr and stdout holds the JSON alone
  assert.match(
    r.stderr,
    /\| model +\| residual +\| +params \| +added \| best test acc \| final test acc \| ms\/step \| wall s \|/,
  );
  assert.match(r.stderr, /\| resnet20 \| baseline \|.*\| +\+0 \(0\.00 %\) \|/);
  assert.match(r.stderr, /\| resnet20 \| rw\+lr +\|.*\| \+10,674 \(3\.\d\d %\) \|/);
  const j = lastJson(r.stdout) as { runs: Record<string, unknown>[] };
  assert.deepEqual(
    j.runs.map((x) => [x.residual, x.steps]),
    [
      ['baseline', 2],
      ['rw+lr', 2],
    ],
  );
});

test('Ctrl-C (SIGINT) writes a checkpoint and exits 130', async () => {
  const out = join(tmp('sigint'), 'run');
  const child = laurelAsync(gptArgs(text, out, 100000, 1));
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  // wait for the first evaluation (the handler is installed by then)
  while (!existsSync(join(out, 'metrics.jsonl'))) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  const code = await new Promise((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 130, stderr);
  assert.match(stderr, /SIGINT: checkpoint written at step \d+; continue with --resume/);
  assert.ok(loadCheckpoint(out).step >= 1);
});
