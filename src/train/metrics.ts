import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { InputError, isSystemError, systemReason } from '../util/errors.ts';
import { ensureDir, writeFileAtomic } from '../util/files.ts';

/** One line of `metrics.jsonl`, written at every evaluation. */
export interface MetricsRecord {
  step: number;
  /** Completed epochs (fractional for text, where training windows are sampled). */
  epoch: number;
  /** Evaluation loss (mean cross-entropy per image or per token). */
  loss: number;
  /** Mean training loss since the previous evaluation. */
  train_loss: number;
  accuracy?: number;
  perplexity?: number;
  lr: number;
  /** Mean wall time of one training step since the previous evaluation. */
  step_ms: number;
  images_per_s?: number;
  tokens_per_s?: number;
  /** Any further task metrics, e.g. `ood_loss`, `cloze_accuracy`. */
  [extra: string]: number | string | undefined;
}

/** Appends one JSON object per line to a file (created with its folder on the first line). */
export class MetricsWriter {
  constructor(readonly path: string) {}

  append(record: MetricsRecord): void {
    ensureDir(dirname(this.path));
    try {
      appendFileSync(this.path, `${JSON.stringify(record)}\n`);
    } catch (e) {
      if (!isSystemError(e)) throw e;
      throw new InputError(`cannot write ${this.path}: ${systemReason(e)}`, { cause: e });
    }
  }

  /**
   * On resume: drops the lines written after step `step` (an interrupted run may have logged evaluations past
   * its last checkpoint, or a run killed before its first checkpoint restarts from 0 and writes them again),
   * so the file stays one line per evaluation. Returns the number of lines dropped.
   */
  truncateAfter(step: number): number {
    if (!existsSync(this.path)) return 0;
    const all = readMetrics(this.path);
    const kept = all.filter((r) => r.step <= step);
    const torn = !readFileSync(this.path, 'utf8').endsWith('\n');
    if (kept.length === all.length && !torn) return 0;
    writeFileAtomic(this.path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return all.length - kept.length;
  }
}

/** Reads a metrics JSONL file; a torn last line (a run killed mid-write) is ignored. */
export function readMetrics(path: string): MetricsRecord[] {
  const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  const out: MetricsRecord[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      out.push(JSON.parse(line));
    } catch (e) {
      if (i !== lines.length - 1)
        throw new InputError(`${path}: line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
  }
  return out;
}
