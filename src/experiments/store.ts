/**
 * Results of one experiment as JSONL: `<runsDir>/<experiment>/results.jsonl`, one line per finished trial
 * (success or failure) with its config, the trainer's summary and the wall time. Append-only: a re-run appends
 * new lines and the latest line per trial wins. A trial counts as done when its latest record succeeded with
 * the same config fingerprint; failed, interrupted or missing trials run again (and resume from their checkpoint, since the
 * runner passes `--resume` and the same `--out`).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TrainArgs, TrialSummary } from './trial.ts';

export interface TrialRecord {
  experiment: string;
  row: string;
  seed: number;
  /** `row/seedS` */
  key: string;
  /** Hash of train args + seed (see `trialFingerprint`). */
  fingerprint: string;
  /** `interrupted`: stopped by Ctrl-C / abort; resumes on the next run. */
  status: 'ok' | 'failed' | 'interrupted';
  train: TrainArgs;
  /** The trainer's argv (after `bin/laurel.mjs`). */
  args: string[];
  threads: number;
  out: string;
  summary: TrialSummary | null;
  error: string | null;
  wall_ms: number;
  started_at: string;
  finished_at: string;
  /** `git rev-parse HEAD` when the trial ran. */
  commit: string | null;
  budget: string;
}

export class ResultStore {
  readonly path: string;

  constructor(experimentDir: string) {
    this.path = join(experimentDir, 'results.jsonl');
  }

  /** All records in file order. A torn last line (killed while writing) is skipped. */
  readAll(): TrialRecord[] {
    if (!existsSync(this.path)) return [];
    const out: TrialRecord[] = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        const r = JSON.parse(line) as TrialRecord;
        if (r && typeof r.key === 'string') out.push(r);
      } catch {
        // a partial line from an interrupted write
      }
    }
    return out;
  }

  /** The latest record per trial key. */
  latest(): Map<string, TrialRecord> {
    const m = new Map<string, TrialRecord>();
    for (const r of this.readAll()) m.set(r.key, r);
    return m;
  }

  /** Whether the trial with this key and fingerprint has a successful latest record. */
  isDone(key: string, fingerprint: string, latest = this.latest()): boolean {
    const r = latest.get(key);
    return r !== undefined && r.status === 'ok' && r.fingerprint === fingerprint;
  }

  /** Appends one record as a single line (one `write` call, so lines of parallel workers do not interleave). */
  append(record: TrialRecord): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const line = `${JSON.stringify(record)}\n`; // JSON.stringify escapes newlines: always one line
    // A torn line left by a kill would glue onto this one; start on a fresh line if the file does not end in \n.
    let prefix = '';
    if (existsSync(this.path)) {
      const text = readFileSync(this.path, 'utf8');
      if (text.length > 0 && !text.endsWith('\n')) prefix = '\n';
    }
    appendFileSync(this.path, prefix + line);
  }
}
