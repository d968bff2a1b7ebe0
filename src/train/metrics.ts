import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

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

/** Appends one JSON object per line to a file (created with its folder if needed). */
export class MetricsWriter {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  append(record: MetricsRecord): void {
    appendFileSync(this.path, `${JSON.stringify(record)}\n`);
  }

  /**
   * On resume: drops the lines written after step `step` (an interrupted run may have logged evaluations past
   * its last checkpoint; the resumed run writes them again), so the file stays one line per evaluation.
   */
  truncateAfter(step: number): void {
    if (!existsSync(this.path)) return;
    const kept = readMetrics(this.path).filter((r) => r.step <= step);
    writeFileSync(this.path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
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
        throw new Error(`${path}: line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
  }
  return out;
}
