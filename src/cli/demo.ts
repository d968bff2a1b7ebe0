import { join } from 'node:path';
import { type FlagDef, formatHelp, parseFlags } from './flags.ts';
import { RUNTIME_FLAGS, TRAIN_FLAGS } from './options.ts';
import { resolveDefaults } from './setup.ts';
import { type TrainSession, runTraining, startBackend } from './train.ts';

const D = 'Demo';
export const DEMO_FLAGS: FlagDef[] = [
  { name: 'train-limit', type: 'int', min: 1, default: 4096, help: 'Training images per run', group: D },
  { name: 'epochs', type: 'number', above: 0, default: 1, help: 'Epochs per run', group: D },
  { name: 'max-steps', type: 'int', min: 1, help: 'Cap on steps per run', group: D },
  { name: 'batch-size', type: 'int', min: 1, default: 64, help: 'Batch size', group: D },
  { name: 'eval-limit', type: 'int', min: 1, default: 1000, help: 'Test images per evaluation', group: D },
  {
    name: 'eval-every',
    type: 'int',
    min: 1,
    help: 'Evaluate every N steps',
    group: D,
    defaultText: 'twice per run',
  },
  { name: 'lr', type: 'number', above: 0, default: 0.05, help: 'Peak SGD learning rate', group: D },
  {
    name: 'rank',
    type: 'int',
    min: 1,
    help: 'LAUREL rank r',
    group: D,
    defaultText: '16, clamped below each stage width',
  },
  { name: 'seed', type: 'int', min: 0, default: 0, help: 'Seed (both runs use the same one)', group: D },
  ...TRAIN_FLAGS.filter((d) => d.name === 'data').map((d) => ({ ...d, group: D })),
  {
    name: 'out',
    type: 'path',
    default: 'runs/demo',
    help: 'Folder for the two runs (a new subfolder per demo)',
    group: 'Run',
  },
  ...RUNTIME_FLAGS.filter((d) => ['json', 'backend', 'threads', 'quiet'].includes(d.name)),
];

export const DEMO_HELP = formatHelp(
  'demo',
  '[--train-limit N] [--epochs E] [--batch-size B] [--rank r] [--json]',
  'What `npm start` runs: trains a plain ResNet-20 and a LAUREL RW+LR ResNet-20 on (a subset of)\n' +
    'Fashion-MNIST with the same seed, data order and schedule, and prints a comparison table: test\n' +
    'accuracy, parameters added and step time. The defaults keep it short; scale it with the flags\n' +
    '(--train-limit 60000 --epochs 1 is a full epoch).',
  DEMO_FLAGS,
);

function table(rows: string[][]): string {
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const line = (r: string[]) =>
    `| ${r.map((c, j) => (j < 2 ? c.padEnd(w[j]) : c.padStart(w[j]))).join(' | ')} |`;
  return [
    line(rows[0]),
    `|${w.map((x, j) => (j < 2 ? '-'.repeat(x + 2) : `${'-'.repeat(x + 1)}:`)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, DEMO_FLAGS, 'demo');
  const backend = await startBackend(values);
  const root = join(values.out as string, new Date().toISOString().replace(/[:.]/g, '-'));
  const sessions: TrainSession[] = [];
  for (const residual of ['baseline', 'rw+lr']) {
    const flags = resolveDefaults({
      task: 'fashion-mnist',
      model: 'resnet20',
      residual,
      rank: values.rank,
      epochs: values.epochs,
      'max-steps': values['max-steps'],
      'batch-size': values['batch-size'],
      'train-limit': values['train-limit'],
      'eval-limit': values['eval-limit'],
      'eval-every': values['eval-every'],
      data: values.data,
      lr: values.lr,
      seed: values.seed,
      optimizer: 'sgd',
      momentum: 0.9,
      nesterov: true,
      'decay-laurel': false,
      schedule: 'cosine',
      'eval-split': 'test',
      'crop-padding': 0,
      flip: false,
      'extra-blocks': 0,
    });
    if (flags['eval-every'] === undefined) {
      const perEpoch = Math.floor((flags['train-limit'] as number) / (flags['batch-size'] as number));
      const total = Math.min(
        (flags['max-steps'] as number | undefined) ?? Number.POSITIVE_INFINITY,
        Math.ceil((flags.epochs as number) * perEpoch),
      );
      flags['eval-every'] = Math.max(1, Math.ceil(total / 2));
    }
    const label = `${sessions.length + 1}/2 ${residual}`;
    sessions.push(
      await runTraining(flags, join(root, residual.replace('+', '-')), {
        resume: false,
        quiet: values.quiet as boolean,
        backend,
        label,
      }),
    );
    const last = sessions[sessions.length - 1];
    if (last.result.status !== 'completed') {
      process.stderr.write(`laurel demo: run ${label} ${last.result.status}; stopping\n`);
      if (values.json)
        process.stdout.write(`${JSON.stringify({ runs: sessions.map((x) => x.summary), out: root })}\n`);
      return last.result.status === 'interrupted' ? 130 : 3;
    }
  }
  const pct = (x: unknown) => (typeof x === 'number' ? `${(100 * x).toFixed(2)} %` : 'n/a');
  const rows = [
    ['model', 'residual', 'params', 'added', 'best test acc', 'final test acc', 'ms/step', 'wall s'],
    ...sessions.map(({ summary: s }) => [
      String(s.model),
      String(s.residual),
      (s.params as number).toLocaleString('en-US'),
      `+${(s.added_params as number).toLocaleString('en-US')} (${(s.added_percent as number).toFixed(2)} %)`,
      pct(s.best_accuracy),
      pct(s.final_accuracy),
      (s.mean_step_ms as number).toFixed(1),
      (s.wall_s as number).toFixed(1),
    ]),
  ];
  const s0 = sessions[0].summary;
  // with --json, stdout holds the JSON document alone
  (values.json ? process.stderr : process.stdout).write(
    `\nResNet-20 on Fashion-MNIST: ${s0.steps} steps of ${values['batch-size']} images (${values['train-limit']} training images, ${values['eval-limit']} test images), seed ${values.seed}, backend ${backend}\n\n${table(rows)}\n\nRuns: ${root}\nA short run on a subset: differences of a few tenths of a percent are within seed noise. The experiment\n\`laurel experiment vision\` repeats trials over seeds for a real comparison.\n`,
  );
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ runs: sessions.map((s) => s.summary), out: root })}\n`);
  }
  return 0;
}
