// The trial executor's interface, apart from runner.ts (which runs trials through one) so that executors such as
// probe-step.ts's need only the types, not the runner.
import type { TrialSpec, TrialSummary } from './trial.ts';

export interface TrialOutcome {
  /** The parsed `--json` summary; null on failure. */
  summary: TrialSummary | null;
  /** Why the trial failed; null on success. */
  error: string | null;
}

export interface ExecContext {
  threads: number;
  /** Aborted on Ctrl-C: the executor should stop the trial (the trainer checkpoints on SIGINT). */
  signal: AbortSignal;
  /** Where the executor may write the trial's stdout/stderr. */
  logPath: string;
  /** Stop the trial (SIGINT, then SIGKILL after a grace period) and fail it after this long; 0: no limit. */
  timeoutMs: number;
}

export type TrialExecutor = (trial: TrialSpec, ctx: ExecContext) => Promise<TrialOutcome>;
