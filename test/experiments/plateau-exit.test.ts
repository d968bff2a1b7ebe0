import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { plateauExit } from '../../scripts/plateau-exit.ts';

const tmp = mkdtempSync(join(tmpdir(), 'laurel-plateau-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A trainer log with the given (step, loss) progress lines between other lines. */
const log = (points: [number, number][]) =>
  [
    '# 2026-11-30 laurel train …',
    'gpt baseline: 3,257,856 params',
    ...points.map(
      ([s, l]) =>
        `step ${s}/750 ${Math.round((100 * s) / 750)}% loss ${l.toFixed(4)} lr 0.003 2.0k tokens/s ETA 9m`,
    ),
    'eval step 375 epoch 0.1: loss 1.8',
  ].join('\n');

test('plateauExit: the first of three logged losses in a row below 2.3; one low batch is not an exit', () => {
  const pts: [number, number][] = [
    [10, 3.1],
    [20, 2.45],
    [30, 2.28], // a fluke: the next one is back on the plateau
    [40, 2.47],
    [50, 2.29],
    [60, 2.2],
    [70, 2.1],
  ];
  assert.equal(plateauExit(log(pts)), 50);
  assert.equal(plateauExit(log(pts.slice(0, 6))), null, 'two in a row are not enough');
  assert.equal(plateauExit('no progress lines at all'), null);
});

test('the script: a table of exit steps and test losses per row and seed, and the correlations', () => {
  const dir = join(tmp, 'lm-full');
  const trials = [
    // test loss = 1.3 + 0.002 × exit step for the trials that leave the plateau
    ['baseline', 1, 100, 1.5],
    ['rw', 1, 150, 1.6],
    ['lr', 1, 130, 1.56],
    ['baseline', 2, 200, 1.7],
    ['rw', 2, 120, 1.54],
    ['lr', 2, 260, 1.82],
    ['rezero', 1, null, 2.4],
  ] as const;
  const records = trials.map(([row, seed, , loss]) =>
    JSON.stringify({
      row,
      seed,
      key: `${row}/seed${seed}`,
      fingerprint: 'f',
      status: 'ok',
      summary: { test_loss: loss },
      // the rest of a trial record, which the store checks
      train: {},
      error: null,
      commit: null,
      wall_ms: 1,
      threads: 1,
      budget: 'full',
      started_at: '2026-01-01T00:00:00Z',
      finished_at: '2026-01-01T00:00:01Z',
    }),
  );
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'results.jsonl'), `${records.join('\n')}\n`);
  for (const [row, seed, exit] of trials) {
    const d = join(dir, row, `seed${seed}`);
    mkdirSync(d, { recursive: true });
    const pts: [number, number][] = [[10, 2.45]];
    if (exit !== null) pts.push([exit, 2.2], [exit + 10, 2.1], [exit + 20, 2.0]);
    writeFileSync(join(d, 'runner.log'), log(pts));
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/plateau-exit.ts', dir], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\| baseline \| 100, 1\.500 \| 200, 1\.700 \|$/m);
  assert.match(r.stdout, /^\| rezero \| never, 2\.400 \| {2}\|$/m);
  // a perfect line, and so are the differences from each seed's baseline (rezero has no exit: no pair)
  assert.match(r.stdout, /over the 6 trials that left the plateau: 1\.00$/m);
  assert.match(r.stdout, /same seed's baseline \(4 pairs\): 1\.00$/m);
  const missing = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/plateau-exit.ts', join(tmp, 'none')],
    {
      encoding: 'utf8',
    },
  );
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /results\.jsonl does not exist/);
});
