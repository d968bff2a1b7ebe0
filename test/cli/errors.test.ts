import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { modelSpecFromFlags, refuseUnreadVariantFlags } from '../../src/cli/options.ts';
import { TRAIN_CMD_FLAGS } from '../../src/cli/train.ts';
import type { ResidualConfig } from '../../src/laurel/index.ts';
import { lastJson, laurel, tmp } from './fixtures.ts';

test('laurel --help lists the commands; train --help documents every flag', () => {
  const top = laurel(['--help']);
  assert.equal(top.status, 0);
  for (const c of ['params', 'train', 'eval', 'inspect', 'demo', 'experiment', 'report', 'bench'])
    assert.match(top.stdout, new RegExp(`\\n  ${c} `));
  const h = laurel(['train', '--help']);
  assert.equal(h.status, 0);
  for (const f of TRAIN_CMD_FLAGS) assert.ok(h.stdout.includes(`--${f.name}`), `--${f.name} in help`);
  assert.match(h.stdout, /--residual baseline\|rw\|lr\|pa\|rw\+lr\|rw\+pa\|lr\+pa\|rw\+lr\+pa\|gemma3n/);
});

test('params --json prints the paper example (GPT 20×1000, RW+LR r=4 adds 160,040)', () => {
  const r = laurel([
    'params',
    '--model',
    'gpt',
    '--layers',
    '20',
    '--dim',
    '1000',
    '--heads',
    '8',
    '--residual',
    'rw+lr',
    '--rank',
    '4',
    '--json',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const j = lastJson(r.stdout);
  assert.equal(j.added_params, 160040);
  assert.equal(j.params, (j.baseline_params as number) + 160040);
});

const cases: [string, string[], RegExp][] = [
  ['unknown flag', ['train', '--task', 'text', '--out', 'x', '--bogus', '1'], /unknown flag --bogus/],
  [
    'bad rank',
    ['params', '--model', 'gpt', '--rank', 'abc'],
    /bad value 'abc' for --rank: expected an integer/,
  ],
  [
    'bad residual',
    ['train', '--task', 'text', '--residual', 'foo', '--out', 'x'],
    /bad value 'foo' for --residual: expected one of baseline, rw/,
  ],
  ['unknown command', ['trian'], /unknown command 'trian'/],
  [
    'a flag the variant does not read',
    ['params', '--model', 'resnet20', '--residual', 'rw', '--rank', '16'],
    /--rank does not apply to --residual rw/,
  ],
  [
    'bad layer-scale-init',
    ['params', '--residual', 'layerscale', '--layer-scale-init', '0'],
    /bad value '0' for --layer-scale-init: expected a value > 0/,
  ],
  ['missing value', ['params', '--model'], /--model needs a value/],
  [
    'unknown experiment',
    ['experiment', 'visio'],
    /unknown experiment 'visio'; experiments: vision, rank, lm/,
  ],
  [
    'a seed past the 32-bit Rng state (it would alias a smaller seed)',
    ['train', '--task', 'text', '--seed', '4294967296', '--out', 'x'],
    /bad value '4294967296' for --seed: expected a value <= 4294967295/,
  ],
  [
    'an integer past 2^53',
    ['params', '--model', 'gpt', '--dim', '99999999999999999999'],
    /bad value '99999999999999999999' for --dim: expected an integer \(at most 2\^53 - 1\)/,
  ],
  [
    'a depth that would hang in building the model',
    ['params', '--model', 'resnet20', '--extra-blocks', '99999999999'],
    /bad value '99999999999' for --extra-blocks: expected a value <= 10000/,
  ],
  [
    'a GPT MLP with no hidden unit',
    ['params', '--model', 'gpt', '--dim', '8', '--heads', '2', '--mlp-ratio', '0.01'],
    /gpt: bad mlpRatio 0.01; allowed: a number with round\(mlpRatio \* dim\) >= 1 \(dim 8\)/,
  ],
  [
    'a worker job lock under a second (it would expire while the trial runs, and the trial run again)',
    ['worker', '--queue', 'redis://127.0.0.1:1', '--lock-s', '0.001'],
    /bad value '0.001' for --lock-s: expected a value >= 1/,
  ],
  [
    'bad budget',
    ['report', 'lm', '--budget', 'huge'],
    /bad value 'huge' for --budget: expected one of smoke, standard, full/,
  ],
];

for (const [what, args, message] of cases) {
  test(`exits 2 naming the problem: ${what}`, () => {
    const r = laurel(args);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });
}

test('a missing dataset exits 2 naming the folder, and writes nothing', () => {
  const out = join(tmp('missing'), 'run');
  const r = laurel(['train', '--task', 'fashion-mnist', '--data', '/nonexistent/fmnist', '--out', out]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /Fashion-MNIST data not found: \/nonexistent\/fmnist does not exist/);
  assert.equal(existsSync(out), false);
  const t = laurel(['train', '--task', 'text', '--data', '/nonexistent/texts', '--out', out]);
  assert.equal(t.status, 2);
  assert.match(t.stderr, /\/nonexistent\/texts does not exist/);
});

test('LAUREL_DEBUG=1 adds the stack trace to a known error; without it the error is one line', () => {
  const args = ['eval', '--out', join(tmp('debug'), 'none')];
  const plain = laurel(args);
  assert.equal(plain.status, 2);
  assert.equal(plain.stderr.trim().split('\n').length, 1, plain.stderr);
  const debug = laurel(args, { env: { LAUREL_DEBUG: '1' } });
  assert.equal(debug.status, 2);
  assert.match(debug.stderr, /^laurel: no run in .*none.*\n\w*Error: .*\n\s+at /);
  assert.match(laurel(['--help']).stdout, /LAUREL_DEBUG=1 adds the stack/);
});

test('variant flags reach the residual config: --layer-scale-init sets the LayerScale λ at init', () => {
  const spec = modelSpecFromFlags({ residual: 'layerscale', 'layer-scale-init': 0.1 });
  assert.equal((spec.residual as ResidualConfig).layerScaleInit, 0.1);
  const dwa = modelSpecFromFlags({ residual: 'dwa', k: 4 });
  assert.equal((dwa.residual as ResidualConfig).k, 4);
  assert.throws(
    () => refuseUnreadVariantFlags({ residual: 'baseline', k: 4 }),
    /--k does not apply to --residual baseline/,
  );
  // a stored run's flags are read as trained: the unread one is dropped, as it always was
  assert.equal((modelSpecFromFlags({ residual: 'baseline', k: 4 }).residual as ResidualConfig).k, undefined);
});
