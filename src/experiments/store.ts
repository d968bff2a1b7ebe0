/**
 * Results of one experiment as JSONL: `<runsDir>/<experiment>/results.jsonl`, one line per finished trial
 * (success or failure) with its config, the trainer's summary and the wall time. Append-only: a re-run appends
 * new lines and the latest line per trial wins. A trial counts as done when its latest record succeeded with
 * the same config fingerprint; failed, interrupted or missing trials run again (and resume from their checkpoint, since the
 * runner passes `--resume` and the same `--out`).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isJsonObject } from '../util/json.ts';
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
  /** Seeding scheme the trial ran under (paired.ts CRN_VERSION); absent in records that predate it. */
  crn?: number;
  /** The queue job that ran the trial (`<job id>@<finishedOn>`); absent for local runs. */
  job?: string;
}

const STATUSES: readonly string[] = ['ok', 'failed', 'interrupted'];

const stringOrNull = (v: unknown) => v === null || typeof v === 'string';

/** The fields the report and the runner rely on, each of its type (a line that fails is skipped, counted). */
function isTrialRecord(r: unknown): r is TrialRecord {
  const x = r as Partial<TrialRecord> | null;
  return (
    isJsonObject(x) &&
    typeof x.key === 'string' &&
    typeof x.row === 'string' &&
    typeof x.seed === 'number' &&
    typeof x.fingerprint === 'string' &&
    STATUSES.includes(x.status as string) &&
    isJsonObject(x.train) &&
    (x.summary === null || isJsonObject(x.summary)) &&
    stringOrNull(x.error) &&
    stringOrNull(x.commit) &&
    typeof x.wall_ms === 'number' &&
    typeof x.threads === 'number' &&
    typeof x.budget === 'string' &&
    typeof x.started_at === 'string' &&
    typeof x.finished_at === 'string'
  );
}

export class ResultStore {
  readonly path: string;

  constructor(experimentDir: string) {
    this.path = join(experimentDir, 'results.jsonl');
  }

  /**
   * All records in file order, and how many non-empty lines were skipped: a torn last line (killed while
   * writing), or lines that are not JSON or not trial records.
   */
  read(): { records: TrialRecord[]; skipped: number } {
    if (!existsSync(this.path)) return { records: [], skipped: 0 };
    const records: TrialRecord[] = [];
    let skipped = 0;
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      let r: unknown;
      try {
        r = JSON.parse(line);
      } catch {
        r = null;
      }
      if (isTrialRecord(r)) records.push(r);
      else skipped++;
    }
    return { records, skipped };
  }

  /** All records in file order (skipped lines: see `read`). */
  readAll(): TrialRecord[] {
    return this.read().records;
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
