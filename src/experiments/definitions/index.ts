import { lm } from './lm.ts';
import { rank } from './rank.ts';
import type { ExperimentDef, ExperimentName } from './types.ts';
import { vision } from './vision.ts';

export type { Claim, ExperimentDef, ExperimentName, MetricDef, RowDef } from './types.ts';
export { seeds } from './types.ts';

export const EXPERIMENTS: Record<ExperimentName, ExperimentDef> = { vision, rank, lm };
export const EXPERIMENT_NAMES: readonly ExperimentName[] = ['vision', 'rank', 'lm'];

export function getExperiment(name: string): ExperimentDef {
  if ((EXPERIMENT_NAMES as readonly string[]).includes(name)) return EXPERIMENTS[name as ExperimentName];
  throw new Error(`unknown experiment '${name}'; allowed: ${EXPERIMENT_NAMES.join(', ')}`);
}
