// laurel export and laurel train --init-from on a committed run folder written by an earlier laurel (checkpoint
// format version 1, test/fixtures/run-v1: a 1-layer GPT with RW+LR+PA trained 4 steps on SOTU): the old
// checkpoint still loads and evaluates to the loss it recorded; export → import gives bit-identical weights and
// identical evaluation metrics; errors are one line with exit 2.
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setupRun } from '../../src/cli/setup.ts';
import { buildModel } from '../../src/models/index.ts';
import { loadSafetensors, saveSafetensors } from '../../src/models/safetensors-file.ts';
import { assignNamed, loadCheckpoint } from '../../src/train/checkpoint.ts';
import type { Model } from '../../src/train/task.ts';
import { laurel, tmp } from '../cli/fixtures.ts';

const FIXTURE = join('test', 'fixtures', 'run-v1');

/** A scratch copy of the fixture run (commands write into run folders). */
function runCopy(): string {
  const dir = join(tmp('v1'), 'run');
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

const recorded = () => {
  const lines = readFileSync(join(FIXTURE, 'metrics.jsonl'), 'utf8').trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as { step: number; loss: number };
};

test('checkpoint format version 1 stays readable: laurel eval gives the loss the run recorded', () => {
  const manifest = JSON.parse(readFileSync(join(FIXTURE, 'checkpoint', 'manifest.json'), 'utf8'));
  assert.equal(manifest.version, 1);
  const r = laurel(['eval', '--out', runCopy(), '--json']);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.step, recorded().step);
  assert.ok(Math.abs(out.test_loss - recorded().loss) <= 1e-5 * recorded().loss, `${out.test_loss}`);
});

test('export → import: bit-identical parameters and identical evaluation metrics, both layouts', () => {
  const run = runCopy();
  const r = laurel(['export', '--out', run, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const summary = JSON.parse(r.stdout); // stdout holds the JSON document alone
  assert.equal(summary.file, join(run, 'model.safetensors'));
  assert.equal(summary.layout, 'torch');
  assert.equal(summary.step, 4);
  assert.match(r.stderr, /wrote .*model\.safetensors: \d+ tensors of gpt at step 4, torch layout/);
  const tfjsFile = join(run, 'w.safetensors');
  const t = laurel(['export', '--out', run, '--layout', 'tfjs', '--to', tfjsFile]);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /tfjs layout/);

  const flags = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).flags;
  const fromCheckpoint = setupRun(flags);
  const c = loadCheckpoint(run);
  assignNamed(fromCheckpoint.model.namedParameters(), c.params, 'parameter');
  c.dispose();
  const expected = fromCheckpoint.task.evaluate(fromCheckpoint.model as Model);
  for (const [file, layout] of [
    [summary.file, 'torch'],
    [tfjsFile, 'tfjs'],
  ]) {
    const imported = setupRun(flags); // fresh weights: the same init as the run's, not its trained ones
    assert.equal(loadSafetensors(imported.model, file).layout, layout);
    const theirs = new Map(imported.model.namedParameters().map((p) => [p.name, p.variable]));
    for (const p of fromCheckpoint.model.namedParameters()) {
      const a = Buffer.from(p.variable.dataSync().buffer);
      assert.ok(a.equals(Buffer.from(theirs.get(p.name)!.dataSync().buffer)), `${layout}: ${p.name}`);
    }
    assert.deepEqual(imported.task.evaluate(imported.model as Model), expected, `${layout}: metrics`);
    imported.model.dispose();
  }
  fromCheckpoint.model.dispose();
});

test('laurel train --init-from starts from the exported weights (first evaluation = the old run’s)', () => {
  const run = runCopy();
  assert.equal(laurel(['export', '--out', run]).status, 0);
  const out = join(tmp('init'), 'run');
  const args = ['train', '--out', out, '--quiet', '--json', '--init-from', join(run, 'model.safetensors')];
  const r = laurel([...args, ...flagArgs({ 'max-steps': 1, 'eval-every': 1, lr: 1e-30 })]);
  assert.equal(r.status, 0, r.stderr);
  // An lr of 1e-30 leaves every weight as imported, so the first evaluation is the old run's.
  const first = JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n')[0]);
  assert.ok(Math.abs(first.loss - recorded().loss) <= 1e-5 * recorded().loss, `${first.loss}`);
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).flags['init-from'], args[6]);
});

/** The fixture run's flags as command-line arguments, with `over` replacing some (undefined: dropping them). */
function flagArgs(over: Record<string, unknown>): string[] {
  const flags = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8')).flags as Record<
    string,
    unknown
  >;
  const args: string[] = [];
  for (const [k, v] of Object.entries({ ...flags, ...over })) {
    if (v === undefined) continue;
    if (typeof v === 'boolean') args.push(v ? `--${k}` : `--no-${k}`);
    else args.push(`--${k}`, String(v));
  }
  return args;
}

test('--init-from a plain network starts a LAUREL one (LAUREL at init, said on stderr); the reverse is refused', () => {
  const spec = JSON.parse(readFileSync(join(FIXTURE, 'config.json'), 'utf8')).spec;
  const plain = buildModel({ ...spec, residual: 'baseline' });
  const file = join(tmp('plain'), 'plain.safetensors');
  saveSafetensors(plain, file, { layout: 'torch' });
  plain.dispose();
  const out = join(tmp('from-plain'), 'run');
  const r = laurel(['train', '--out', out, '--quiet', '--init-from', file, ...flagArgs({ 'max-steps': 1 })]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stderr,
    /--init-from .*plain\.safetensors holds no LAUREL parameters; the model's 4 start from their initial values/,
  );
  const run = runCopy();
  assert.equal(laurel(['export', '--out', run]).status, 0);
  const back = laurel([
    'train',
    '--out',
    join(out, 'x'),
    '--init-from',
    join(run, 'model.safetensors'),
    ...flagArgs({ residual: 'baseline', rank: undefined, k: undefined }),
  ]);
  assert.equal(back.status, 2);
  assert.match(
    back.stderr,
    /^laurel: train: --init-from .*: has tensor 'layers\.0\.residual\.w' that this model lacks \(torch layout\)\n$/,
  );
});

test('bad input: one line, exit 2, nothing written', () => {
  const garbage = join(tmp('bad'), 'x.safetensors');
  cpSync(join(FIXTURE, 'config.json'), garbage);
  const out = join(tmp('bad-out'), 'run');
  const cases: [string[], RegExp][] = [
    [
      ['train', '--task', 'text', '--out', out, '--init-from', garbage],
      /^laurel: train: --init-from .*x\.safetensors: header length \d+ exceeds the limit of 100000000 bytes\n$/,
    ],
    [
      ['train', '--task', 'text', '--out', out, '--init-from', join(FIXTURE, 'nope.safetensors')],
      /^laurel: train: --init-from .*nope\.safetensors: cannot read .*: ENOENT\n$/,
    ],
    [['export', '--out', tmp('empty')], /^laurel: .*config\.json.*\n$/],
    [
      ['export', '--out', runCopy(), '--to', join(out, 'deep', 'x.safetensors')],
      /^laurel: export: .*ENOENT.*\n$/,
    ],
    [['export', '--out', FIXTURE, '--layout', 'onnx'], /^laurel: export: bad value 'onnx' for --layout/],
  ];
  for (const [args, pattern] of cases) {
    const r = laurel(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
  assert.ok(!existsSync(out), 'no run folder was created');
});
