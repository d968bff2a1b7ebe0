/**
 * The downstream probe as part of a trial: after `laurel train` succeeds for a text trial whose args ask for
 * it (`train.probe`), `laurel probe --out DIR --json` runs on the trained checkpoint and its `probe_*` fields
 * join the trial's summary (so `probe_accuracy` is compared pair by pair in the report like any metric). A
 * failed probe fails the trial (it is retried, and resumes its finished training, on the next run).
 */
import type { TrialExecutor } from './executor.ts';
import { LAUREL_BIN, type TrialSpec, normalizeSummary } from './trial.ts';

/** `node bin/laurel.mjs probe --out DIR --json --threads T [--limit N]`. */
export function probeCommand(trial: TrialSpec, threads: number): { command: string; args: string[] } {
  const limit = trial.train.probe?.limit;
  return {
    command: process.execPath,
    args: [
      LAUREL_BIN,
      'probe',
      '--out',
      trial.out,
      '--json',
      '--threads',
      String(threads),
      ...(limit === undefined ? [] : ['--limit', String(limit)]),
    ],
  };
}

/** `train` followed, where the trial asks for it, by `probe` (run by `runProbe`, the same kind of executor). */
export function withProbe(train: TrialExecutor, runProbe: TrialExecutor): TrialExecutor {
  return async (trial, ctx) => {
    const o = await train(trial, ctx);
    if (!trial.train.probe || o.error !== null || o.summary === null || ctx.signal.aborted) return o;
    const p = await runProbe(trial, ctx);
    if (p.error !== null || p.summary === null)
      return { summary: null, error: `probe: ${p.error ?? 'no summary'}` };
    const probe = Object.fromEntries(Object.entries(p.summary.raw).filter(([k]) => k.startsWith('probe_')));
    return { summary: normalizeSummary({ ...o.summary.raw, ...probe }), error: null };
  };
}
