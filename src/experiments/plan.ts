/** From an experiment definition and a budget to the concrete trial list and the directories it uses. */
import { join } from 'node:path';
import type { Budget } from './budget.ts';
import type { ExperimentDef } from './definitions/index.ts';
import { seeds } from './definitions/index.ts';
import type { TrialSpec } from './trial.ts';

/**
 * Store id of an experiment at a budget: the name itself for `standard` (what the README reports), and
 * `<name>-<budget>` otherwise, so that smoke or full runs never mix with (or resume) standard ones.
 */
export function experimentId(name: string, budget: Budget): string {
  return budget === 'standard' ? name : `${name}-${budget}`;
}

/** `<runsDir>/<id>`: holds results.jsonl and one run directory per trial (`<row>/seed<S>`). */
export function experimentRunsDir(runsDir: string, name: string, budget: Budget): string {
  return join(runsDir, experimentId(name, budget));
}

/** `<resultsDir>/<id>`: report.md and the SVG plots. */
export function experimentResultsDir(resultsDir: string, name: string, budget: Budget): string {
  return join(resultsDir, experimentId(name, budget));
}

/**
 * Every trial of the experiment: rows × seeds, seed-major (every row's seed 1 first), so that a partial or
 * interrupted run already has every row.
 */
export function planTrials(
  def: ExperimentDef,
  budget: Budget,
  runsDir: string,
  trials?: number,
): TrialSpec[] {
  const id = experimentId(def.name, budget);
  const dir = experimentRunsDir(runsDir, def.name, budget);
  const n = trials ?? def.trials(budget);
  if (!(Number.isInteger(n) && n >= 1))
    throw new Error(`bad number of trials ${n}; allowed: an integer >= 1`);
  const rows = def.rows(budget);
  return seeds(n).flatMap((seed) =>
    rows.map((row) => ({
      experiment: id,
      row: row.id,
      seed,
      out: join(dir, row.id, `seed${seed}`),
      train: row.train,
    })),
  );
}
