/**
 * Budget presets: every size, step count and trial count of the three experiments, in one table.
 *
 * | experiment | budget   | trials/row | model                         | training per trial                   | batch | evaluation |
 * |------------|----------|-----------:|-------------------------------|--------------------------------------|------:|------------|
 * | vision     | smoke    | 1          | resnet20                      | 16 images (2 steps)                  | 8     | 16 test images, once |
 * | vision     | standard | 5          | resnet20                      | 1 epoch of 16,000 images (250 steps) | 64    | every 125 steps (2×), full 10k test |
 * | vision     | full     | 5          | resnet20                      | 2 epochs of 60,000 (1,876 steps)     | 64    | every 938 steps (each epoch), full test |
 * | rank       | smoke    | 1          | resnet20, r ∈ {4..64}         | as vision smoke                      | 8     | as vision smoke |
 * | rank       | standard | 4          | resnet20, r ∈ {4,8,16,32,64}  | as vision standard                   | 64    | as vision standard |
 * | rank       | full     | 5          | resnet20                      | as vision full                       | 64    | as vision full |
 * | lm         | smoke    | 1          | GPT L=1 D=32 H=2 T=32, r=8    | 4 steps                              | 4     | 16 windows, once |
 * | lm         | standard | 2          | GPT L=4 D=128 H=4 T=128, r=32 | 750 steps (1.5M tokens)              | 16    | every 250 steps (3×), 256 windows |
 * | lm         | full     | 5          | GPT L=4 D=256 H=4 T=128, r=32 | 750 steps of 32 (3.07M tokens)       | 32    | every 375 steps, 512 windows |
 *
 * Naive scaling adds 1 block (`--extra-blocks 1`; ResNet-20: in stage 2, see vision.ts; GPT: 1 layer).
 * Wall time is estimated as `ceil(rows × trials / workers) × (startS + steps·stepMs/1000 + evals·evalS)` with
 * the per-step and per-evaluation times below (`stepMs` and `evalS` are for ONE worker using
 * `floor(cores / workers)` threads on this 2-core machine). `standard` was sized to fit ~90 minutes per
 * experiment with the first calibration; the committed runs took 50 (vision), 39 (rank) and 61 (lm) minutes, and
 * the step and evaluation costs below are now those runs' measurements. `smoke` runs all three together under
 * 5 minutes. `full` is sized for paired CI targets: ~3.7 h (vision), ~2.7 h (rank), ~11 h (lm; ~5.6 h on two
 * machines with `--queue`) on 2 cores, as measured; see its presets.
 */

export type Budget = 'smoke' | 'standard' | 'full';
export const BUDGETS: readonly Budget[] = ['smoke', 'standard', 'full'];
/** The budget when none is named: the one sized to tell rows apart (issue 13). */
export const DEFAULT_BUDGET: Budget = 'full';

export function parseBudget(s: string): Budget {
  if ((BUDGETS as readonly string[]).includes(s)) return s as Budget;
  throw new Error(`bad --budget '${s}'; allowed: ${BUDGETS.join(', ')}`);
}

/** Cost model of one trial, for the wall-time estimate. */
export interface Timing {
  /** Process start, imports, data loading (s). */
  startS: number;
  /** One training step (ms), with floor(cores / workers) threads. */
  stepMs: number;
  /** One evaluation pass (s). */
  evalS: number;
  /** Parallel trial processes the preset is sized for (the default of `--workers`). */
  workers: number;
}

export interface VisionPreset extends Timing {
  trials: number;
  model: string;
  batchSize: number;
  epochs: number;
  /** Training images used (`--train-limit`); all 60,000 when absent. */
  trainLimit?: number;
  /** Test images per evaluation (`--eval-limit`); all 10,000 when absent. */
  evalLimit?: number;
  evalEvery?: number;
}

export interface RankPreset extends VisionPreset {
  /** The swept ranks r of RW+LR. */
  ranks: readonly number[];
}

export interface LmPreset extends Timing {
  trials: number;
  layers: number;
  /** Layers added for the naive-scaling row (`--extra-blocks`; the paper: 24 → 28, +14 % params). */
  extraLayers: number;
  dim: number;
  heads: number;
  context: number;
  /** r of the LR variants (Table 5: r = 32; capped at D/4 for small widths). */
  rank: number;
  /** k of the PA variants (Table 5: k = 3). */
  k: number;
  batchSize: number;
  maxSteps: number;
  /** Text windows per evaluation set (test documents, Moby Dick) and cloze items (`--eval-limit`). */
  evalLimit?: number;
  evalEvery?: number;
  /** Training windows (`--train-limit`), for smoke runs. */
  trainLimit?: number;
  /** Built-in corpus (`--corpus`): `mixed` = SOTU + Brown; the trainer's default (SOTU) when absent. */
  corpus?: 'mixed';
  /** The downstream probe after training (spam vs ham; `limit` messages, all when absent). */
  probe?: { limit?: number };
}

/** Fashion-MNIST training images without a limit (the trainer evaluates on the test set, so no validation split). */
export const FASHION_MNIST_TRAIN = 60_000;
export const RANKS = [4, 8, 16, 32, 64] as const;

const visionSmoke: VisionPreset = {
  trials: 1,
  model: 'resnet20',
  batchSize: 8,
  epochs: 1,
  trainLimit: 16,
  evalLimit: 16,
  evalEvery: 2,
  // measured 11:51 (tfjs cpu convolutions, load average ~6 on 2 cores): 4.0 s/step, 14.5 s per trial
  startS: 8,
  stepMs: 4000,
  evalS: 3,
  workers: 2,
};

const visionStandard: VisionPreset = {
  trials: 5,
  model: 'resnet20',
  batchSize: 64,
  epochs: 1,
  trainLimit: 16_000,
  evalEvery: 125,
  // Measured from the committed standard runs (results/vision and results/rank, 2 workers × 1 thread): mean
  // step 560–690 ms and 190–240 s per trial, so ~600 ms per step and ~26 s per full-test evaluation
  startS: 8,
  stepMs: 600,
  evalS: 26,
  workers: 2,
};

/**
 * `full`: sized so that the rows can be told apart (issue 13): the whole 60k training set for 2 epochs, 5 paired
 * seeds, 8 rows (the paper's 5 and 3 neighbours), aiming at a 95 % CI of ±0.15 points per paired difference.
 * Sized at 295 ms a step (one trial's first steps on the idle 2-core machine, 2 trials at once with 1 thread each)
 * for ≈ 3.2 h; the committed run's trials on the quiet machine took 280–340 ms a step (RW+LR+PA ~500), 330 on
 * average over the 8 rows, which is the figure below: 8 rows × 5 seeds × ~11 min / 2 workers ≈ 3.7 h (rank: 6
 * rows, ≈ 2.7 h), over the "about 3 hours"; the run itself took 4.3 h with other work beside it. Traded:
 * 2 epochs instead of 3, so that the neighbours fit (3 epochs of the paper's 5 rows alone would take as long).
 */
const visionFull: VisionPreset = {
  trials: 5,
  model: 'resnet20',
  batchSize: 64,
  epochs: 2,
  evalEvery: 938,
  startS: 8,
  stepMs: 330,
  evalS: 15,
  workers: 2,
};

export const PRESETS: {
  vision: Record<Budget, VisionPreset>;
  rank: Record<Budget, RankPreset>;
  lm: Record<Budget, LmPreset>;
} = {
  vision: {
    smoke: visionSmoke,
    standard: visionStandard,
    full: visionFull,
  },
  rank: {
    smoke: { ...visionSmoke, ranks: RANKS },
    standard: { ...visionStandard, trials: 4, ranks: RANKS },
    full: { ...visionFull, ranks: RANKS },
  },
  lm: {
    smoke: {
      trials: 1,
      layers: 1,
      extraLayers: 1,
      dim: 32,
      heads: 2,
      context: 32,
      rank: 8,
      k: 3,
      batchSize: 4,
      maxSteps: 4,
      trainLimit: 256,
      evalLimit: 16,
      evalEvery: 4,
      probe: { limit: 40 },
      // measured 11:51 (load average ~6): 51 ms/step, 2.9 s per trial; + ~5 s for the probe's process
      startS: 8,
      stepMs: 100,
      evalS: 1,
      workers: 2,
    },
    standard: {
      trials: 2,
      layers: 4,
      extraLayers: 1,
      dim: 128,
      heads: 4,
      context: 128,
      rank: 32,
      k: 3,
      batchSize: 16,
      maxSteps: 750,
      evalLimit: 256,
      evalEvery: 250,
      // Measured from the committed standard run (results/lm): mean step 605 ms, 518 s per trial, so one
      // evaluation (256 windows of SOTU and of Moby Dick, 100 cloze items) ≈ 18 s
      startS: 8,
      stepMs: 600,
      evalS: 18,
      workers: 2,
    },
    /**
     * `full`: a 3.3M-parameter GPT (4 layers, D = 256, 4 heads, context 128, batch 32) on 750 × 32 × 128 = 3.07M
     * training tokens per trial, 10 rows (the paper's 7 and 3 neighbours) × 5 paired seeds, aiming at a 95 % CI of
     * ±0.01 nats per paired difference (reached at a paired sd of ~0.008). Measured on the idle 2-core machine with
     * 2 trials at once, 1 thread each: 2,100 tokens/s per trial (1.93 s a step; the 3,500 tokens/s was one
     * trial alone on an AVX-512 machine), ~40 s per evaluation (512 windows of test and OOD text, 100 cloze items),
     * so ~27 min a trial with its probe and ~11 h for the 50 trials on one machine: over the 6-hour target, which
     * two machines meet with `--queue` (~5.6 h). Traded: time over seeds and rows (3 seeds of 10 rows would fit
     * 6 h but give a CI 2.5× wider; the run is seed-major, so a stopped run has every row at equal seeds).
     * Text: the mixed corpus (SOTU + Brown, 15.3M training characters; src/data/corpus.ts), Moby Dick as OOD.
     */
    full: {
      trials: 5,
      layers: 4,
      extraLayers: 1,
      dim: 256,
      heads: 4,
      context: 128,
      rank: 32,
      k: 3,
      batchSize: 32,
      maxSteps: 750,
      evalLimit: 512,
      evalEvery: 375,
      corpus: 'mixed',
      // 3,000 of the 5,929 messages: the probe's features cost ~1/3 of a training step per token
      probe: { limit: 3000 },
      // start ~10 s + the probe (~60 s: 384k tokens forward, then the logistic fit)
      startS: 70,
      stepMs: 1930,
      evalS: 40,
      workers: 2,
    },
  },
};

/** Training steps of one vision/rank trial. */
export function visionSteps(p: VisionPreset): number {
  return p.epochs * Math.ceil((p.trainLimit ?? FASHION_MNIST_TRAIN) / p.batchSize);
}

/** Evaluations of one trial: one every `evalEvery` steps, plus the final one. */
export function evalCount(steps: number, evalEvery?: number): number {
  return (evalEvery ? Math.floor(steps / evalEvery) : 0) + (evalEvery && steps % evalEvery === 0 ? 0 : 1);
}

/** Estimated wall time of one trial (seconds). */
export function trialSeconds(steps: number, evalEvery: number | undefined, t: Timing): number {
  return t.startS + (steps * t.stepMs) / 1000 + evalCount(steps, evalEvery) * t.evalS;
}

/** Estimated wall time of `trials` trials of `steps` steps each with the given timing (minutes). */
export function estimateMinutes(
  trials: number,
  steps: number,
  evalEvery: number | undefined,
  t: Timing,
  workers = t.workers,
): number {
  return (Math.ceil(trials / workers) * trialSeconds(steps, evalEvery, t)) / 60;
}
