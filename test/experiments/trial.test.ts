import assert from 'node:assert/strict';
import { test } from 'node:test';
import { refuseUnreadVariantFlags } from '../../src/cli/options.ts';
import { getExperiment } from '../../src/experiments/definitions/index.ts';
import {
  LAUREL_BIN,
  type TrialSpec,
  buildTrialArgs,
  parseSummary,
  trialCommand,
  trialFingerprint,
  trialKey,
} from '../../src/experiments/trial.ts';

const vision: TrialSpec = {
  experiment: 'vision',
  row: 'rw-lr-r16',
  seed: 3,
  out: 'runs/vision/rw-lr-r16/seed3',
  train: { task: 'fashion-mnist', model: 'resnet20', residual: 'rw+lr', rank: 16, epochs: 1, batchSize: 64 },
};

test('buildTrialArgs: the CLI contract of `laurel train`, in a fixed order', () => {
  assert.deepEqual(buildTrialArgs(vision, { threads: 1 }), [
    'train',
    '--task',
    'fashion-mnist',
    '--model',
    'resnet20',
    '--residual',
    'rw+lr',
    '--rank',
    '16',
    '--epochs',
    '1',
    '--batch-size',
    '64',
    '--seed',
    '3',
    '--out',
    'runs/vision/rw-lr-r16/seed3',
    '--resume',
    '--json',
    '--threads',
    '1',
  ]);
  // pure: same input, same output; no --threads when not given
  assert.deepEqual(buildTrialArgs(vision), buildTrialArgs(vision));
  assert.ok(!buildTrialArgs(vision).includes('--threads'));
});

test('buildTrialArgs: GPT flags, limits, PA options and pass-through args', () => {
  const args = buildTrialArgs({
    experiment: 'lm-smoke',
    row: 'pa',
    seed: 1,
    out: '/tmp/x',
    train: {
      task: 'text',
      model: 'gpt',
      residual: 'pa',
      k: 3,
      paH: 'identity',
      vInit: 'column-orthogonal',
      layers: 2,
      dim: 32,
      heads: 2,
      context: 16,
      maxSteps: 4,
      batchSize: 4,
      trainLimit: 100,
      evalLimit: 10,
      evalEvery: 2,
      extraArgs: ['--lr', '0.001'],
    },
  });
  const flag = (f: string) => args[args.indexOf(f) + 1];
  assert.equal(flag('--k'), '3');
  assert.equal(flag('--pa-h'), 'identity');
  assert.equal(flag('--v-init'), 'column-orthogonal');
  assert.equal(flag('--layers'), '2');
  assert.equal(flag('--context'), '16');
  assert.equal(flag('--max-steps'), '4');
  assert.equal(flag('--train-limit'), '100');
  assert.equal(flag('--eval-limit'), '10');
  assert.equal(flag('--eval-every'), '2');
  assert.deepEqual(args.slice(-2), ['--lr', '0.001']);
  assert.ok(!args.includes('--rank') && !args.includes('--epochs') && !args.includes('--extra-blocks'));
  const naive = buildTrialArgs({ ...vision, train: { ...vision.train, extraBlocks: 1, extraStage: 2 } });
  assert.deepEqual(naive.slice(naive.indexOf('--extra-blocks'), naive.indexOf('--extra-blocks') + 4), [
    '--extra-blocks',
    '1',
    '--extra-stage',
    '2',
  ]);
});

test('buildTrialArgs rejects bad numbers and thread counts', () => {
  assert.throws(
    () => buildTrialArgs({ ...vision, train: { ...vision.train, rank: Number.NaN } }),
    /rank is NaN/,
  );
  assert.throws(() => buildTrialArgs(vision, { threads: 0 }), /threads must be/);
});

test('trialCommand runs bin/laurel.mjs with the current node', () => {
  const c = trialCommand(vision, { threads: 2 });
  assert.equal(c.command, process.execPath);
  assert.equal(c.args[0], LAUREL_BIN);
  assert.match(LAUREL_BIN, /bin\/laurel\.mjs$/);
  assert.equal(c.args[1], 'train');
});

test('trialKey and trialFingerprint: stable, independent of out dir and key order', () => {
  assert.equal(trialKey(vision), 'rw-lr-r16/seed3');
  const a = trialFingerprint(vision);
  const reordered = {
    batchSize: 64,
    epochs: 1,
    rank: 16,
    residual: 'rw+lr',
    model: 'resnet20',
    task: 'fashion-mnist',
  };
  assert.equal(trialFingerprint({ seed: 3, train: reordered as TrialSpec['train'] }), a);
  const moved: TrialSpec = { ...vision, out: 'elsewhere' };
  assert.equal(trialFingerprint(moved), a);
  assert.notEqual(trialFingerprint({ ...vision, seed: 4 }), a);
  assert.notEqual(trialFingerprint({ ...vision, train: { ...vision.train, rank: 8 } }), a);
});

test('parseSummary: last JSON line, missing fields as null, percent accuracy scaled', () => {
  const out = [
    'epoch 1/1 step 10 loss 0.5',
    '{"not":"the last line"}',
    '{"best_accuracy":0.8912,"params":272474,"steps":500,"mean_step_ms":612.5,"backend":"native","extra":1}',
    '',
  ].join('\n');
  const s = parseSummary(out)!;
  assert.equal(s.best_accuracy, 0.8912);
  assert.equal(s.params, 272474);
  assert.equal(s.mean_step_ms, 612.5);
  assert.equal(s.backend, 'native');
  assert.equal(s.test_loss, null);
  assert.equal(s.peak_rss_mb, null);
  assert.equal(s.ood_loss, null);
  assert.equal(s.raw.extra, 1);
  assert.equal(parseSummary('{"best_accuracy":89.5,"cloze_accuracy":"x"}')!.best_accuracy, 0.895);
  assert.equal(parseSummary('{"best_accuracy":89.5,"cloze_accuracy":"x"}')!.cloze_accuracy, null);
  assert.equal(parseSummary('done\n'), null);
  assert.equal(parseSummary(''), null);
  assert.equal(parseSummary('[1,2]'), null);
});

test('buildTrialArgs: LayerScale init as --layer-scale-init; the neighbour rows run with flags the trainer takes', () => {
  const args = buildTrialArgs({
    ...vision,
    train: { ...vision.train, residual: 'layerscale', rank: undefined, layerScaleInit: 0.1 },
  });
  assert.equal(args[args.indexOf('--layer-scale-init') + 1], '0.1');
  for (const name of ['vision', 'lm'] as const) {
    for (const row of getExperiment(name).rows('full')) {
      // the same check `laurel train` makes: every variant flag of a row must be one its variant reads
      const a = buildTrialArgs({ ...vision, row: row.id, train: row.train });
      const flags = Object.fromEntries(
        ['rank', 'k', 'pa-h', 'v-init', 'layer-scale-init'].flatMap((f) => {
          const i = a.indexOf(`--${f}`);
          return i < 0 ? [] : [[f, f === 'pa-h' || f === 'v-init' ? a[i + 1] : Number(a[i + 1])]];
        }),
      );
      assert.doesNotThrow(
        () => refuseUnreadVariantFlags({ residual: row.train.residual, ...flags }),
        `${name} ${row.id}`,
      );
    }
  }
});
