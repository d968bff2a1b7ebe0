/**
 * `vision`: the Table 1 analog. A CIFAR-style ResNet-20 on Fashion-MNIST (28×28×1); rows: baseline, naive
 * scaling (one extra block), RW, RW+LR (r = 16), RW+LR+PA (r = 16, k = 3), and the neighbours ReZero, LayerScale
 * and DenseFormer's DWA (k = 3; neighbours.ts). Metric: best test top-1 accuracy,
 * averaged over seeded trials with identical schedules (the paper: 1 epoch of ImageNet, 5 trials).
 *
 * ResNet-20's stages are 16, 32 and 64 channels wide; the LAUREL core requires r < D, so the models clamp the
 * rank per stage to min(r, D − 1) (r = 16 is 15 in the first stage) — see rank.ts.
 *
 * Naive scaling: one extra basic block in stage 2 (32 channels), +18,560 params = +6.8 %. The paper's extra
 * ResNet-50 block adds +4.37 %, between ResNet-20's stage-1 (+1.7 %) and stage-2 (+6.8 %) blocks; a stage-3
 * block would add +27 %, six times the paper's share, and no longer be the "comparable cost" competitor the
 * paper's claim is about. Stage 2 keeps the paper's ordering (naive scaling costs more params than RW+LR r=16,
 * +3.9 %) at a similar ratio.
 */
import {
  type Budget,
  PRESETS,
  type VisionPreset,
  estimateMinutes,
  trialSeconds,
  visionSteps,
} from '../budget.ts';
import type { TrainArgs } from '../trial.ts';
import { neighbourClaims, neighbourRows } from './neighbours.ts';
import type { ExperimentDef, MetricDef, RowDef } from './types.ts';

export function visionTrainArgs(p: VisionPreset, residual: string): TrainArgs {
  return {
    task: 'fashion-mnist',
    model: p.model,
    residual,
    epochs: p.epochs,
    batchSize: p.batchSize,
    trainLimit: p.trainLimit,
    evalLimit: p.evalLimit,
    evalEvery: p.evalEvery,
  };
}

/** Best test top-1, the metric of `vision` and `rank`; the paired CI aims at ±0.15 points. */
export const ACCURACY_METRIC: MetricDef = {
  field: 'best_accuracy',
  label: 'best test accuracy',
  higherIsBetter: true,
  percent: true,
  ciTarget: 0.0015,
};

/** Stage (1-based) of ResNet-20 that gets the naive-scaling block: 32 channels, +6.8 % params. */
export const NAIVE_SCALING_STAGE = 2;

export const VISION_PAPER = {
  baseline: '74.95 ± 0.01 (+0 %)',
  'extra-block': '75.20 ± 0.12 (+4.37 %)',
  rw: '75.10 ± 0.10 (+0.003 %)',
  'rw-lr-r16': '75.20 ± 0.07 (+1.68 %)',
  'rw-lr-pa-r16-k3': '75.25 ± 0.09 (+2.40 %)',
} as const;

function rows(budget: Budget): RowDef[] {
  const p = PRESETS.vision[budget];
  const a = (residual: string, more: Partial<TrainArgs> = {}): TrainArgs => ({
    ...visionTrainArgs(p, residual),
    ...more,
  });
  return [
    { id: 'baseline', label: 'baseline', train: a('baseline'), paper: VISION_PAPER.baseline },
    {
      id: 'extra-block',
      label: 'baseline + 1 block (naive scaling)',
      train: a('baseline', { extraBlocks: 1, extraStage: NAIVE_SCALING_STAGE }),
      paper: VISION_PAPER['extra-block'],
    },
    { id: 'rw', label: 'RW', train: a('rw'), paper: VISION_PAPER.rw },
    {
      id: 'rw-lr-r16',
      label: 'RW+LR (r=16)',
      train: a('rw+lr', { rank: 16 }),
      paper: VISION_PAPER['rw-lr-r16'],
    },
    {
      id: 'rw-lr-pa-r16-k3',
      label: 'RW+LR+PA (r=16, k=3)',
      train: a('rw+lr+pa', { rank: 16, k: 3 }),
      paper: VISION_PAPER['rw-lr-pa-r16-k3'],
    },
    ...(budget === 'full' ? neighbourRows(a, 3) : []),
  ];
}

export const vision: ExperimentDef = {
  name: 'vision',
  title: 'Table 1 analog: LAUREL on a CIFAR-style ResNet-20, Fashion-MNIST',
  paperRef: 'Table 1 (ResNet-50 on ImageNet-1K, 1 epoch, best top-1 averaged over 5 trials)',
  metric: ACCURACY_METRIC,
  referenceRow: 'baseline',
  rows,
  trials: (b) => PRESETS.vision[b].trials,
  steps: (b) => visionSteps(PRESETS.vision[b]),
  trialSeconds: (b) => {
    const p = PRESETS.vision[b];
    return trialSeconds(visionSteps(p), p.evalEvery, p);
  },
  estimateMinutes: (b, workers) => {
    const p = PRESETS.vision[b];
    return estimateMinutes(rows(b).length * p.trials, visionSteps(p), p.evalEvery, p, workers);
  },
  defaultWorkers: (b) => PRESETS.vision[b].workers,
  claims: [
    { text: 'RW beats the baseline', row: 'rw', against: 'baseline', paper: '75.10 vs 74.95 (+0.15)' },
    {
      text: 'RW+LR (r=16) beats the baseline',
      row: 'rw-lr-r16',
      against: 'baseline',
      paper: '75.20 vs 74.95 (+0.25)',
    },
    {
      text: 'RW+LR+PA beats the baseline',
      row: 'rw-lr-pa-r16-k3',
      against: 'baseline',
      paper: '75.25 vs 74.95 (+0.30)',
    },
    {
      text: 'naive scaling (+1 block) beats the baseline',
      row: 'extra-block',
      against: 'baseline',
      paper: '75.20 vs 74.95 (+0.25)',
    },
    {
      text: 'RW+LR+PA beats naive scaling with fewer added params',
      row: 'rw-lr-pa-r16-k3',
      against: 'extra-block',
      paper: '75.25 (+2.40 % params) vs 75.20 (+4.37 %)',
    },
    ...neighbourClaims('rw-lr-r16', 'RW+LR', 3),
  ],
  paperContext: [
    'Paper, Table 1 (ResNet-50, ImageNet-1K, 1 epoch, 5 trials, best top-1 %, params added):',
    '',
    '| row | paper |',
    '|---|---|',
    ...Object.entries(VISION_PAPER).map(([k, v]) => `| ${k} | ${v} |`),
    '',
    'The paper\'s "+1 layer" is one bottleneck block in the 1024-channel stage of ResNet-50 (+4.37 %). Here it is',
    'one basic block in stage 2 (32 channels) of ResNet-20, +6.8 %: the closest share of parameters (a stage-1 block',
    'adds +1.7 %, a stage-3 block +27 %).',
  ].join('\n'),
};
