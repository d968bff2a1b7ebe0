import type { Budget } from '../budget.ts';
import type { TrainArgs } from '../trial.ts';

export type ExperimentName = 'vision' | 'rank' | 'lm';

/** One row of an experiment's table: a model/residual configuration run for several seeds. */
export interface RowDef {
  /** File-system safe id (the run directory name), stable across budgets. */
  id: string;
  /** Label in tables and plots. */
  label: string;
  /** The row's training arguments (the experiment's shared arguments already applied). */
  train: TrainArgs;
  /** The paper's number for the matching row, for context (free text). */
  paper?: string;
  /** Position on the x axis of a sweep (the rank r), if any. */
  x?: number;
  /** Free-text note shown under the table (e.g. effective ranks per stage). */
  note?: string;
}

export interface MetricDef {
  /** Summary field compared between rows. */
  field: 'best_accuracy' | 'test_loss' | 'ood_loss' | 'probe_accuracy';
  label: string;
  higherIsBetter: boolean;
  /** Show as percent (accuracy). */
  percent: boolean;
  /** Half-width the 95 % CI of a paired difference aims at, in the field's units (0.0015 = 0.15 points). */
  ciTarget?: number;
}

/**
 * A claim of the paper that an experiment can check: `row` is better than `against` on `metric` (the
 * experiment's main metric when absent), judged by the paired difference's 95 % CI (claims.ts).
 */
export interface Claim {
  /** The claim in a few words, e.g. 'RW+LR beats the baseline'. */
  text: string;
  row: string;
  against: string;
  metric?: MetricDef;
  /** The paper's numbers behind it (free text), or what the claim stands on when it is not the paper's. */
  paper: string;
}

export interface ExperimentDef {
  name: ExperimentName;
  title: string;
  /** What in the paper this reproduces. */
  paperRef: string;
  /** The data a budget trains and tests on, when it depends on the budget (a line of the report's header). */
  data?(budget: Budget): string;
  metric: MetricDef;
  /** Further metrics compared pair by pair in the report (e.g. the LM's OOD loss and probe accuracy). */
  pairedMetrics?: readonly MetricDef[];
  /** Row every other row is tested against (paired and Welch's t-tests). */
  referenceRow: string;
  rows(budget: Budget): RowDef[];
  trials(budget: Budget): number;
  /** Training steps of one trial (for the estimate). */
  steps(budget: Budget): number;
  /** Estimated wall time of one trial (seconds). */
  trialSeconds(budget: Budget): number;
  /** Estimated wall time with `workers` parallel trials (minutes). */
  estimateMinutes(budget: Budget, workers?: number): number;
  defaultWorkers(budget: Budget): number;
  /** The paper's claims (and LAUREL-vs-neighbour questions) the report gives a verdict on. */
  claims?: readonly Claim[];
  /** Paper context printed in the report (markdown). */
  paperContext: string;
}

/** Seeds of the trials: 1..n (seed 0 is avoided so that "unset" never reads as a seed). */
export function seeds(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}
