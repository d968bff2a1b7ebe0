/**
 * Training progress: a one-line bar redrawn in place on a TTY (step, %, loss, throughput, ETA), or plain
 * lines every `everySeconds` when the stream is piped or a file.
 */

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  total: number;
  /** 'images' or 'tokens' (throughput unit). */
  unit: string;
  stream?: ProgressStream;
  /** Force TTY mode on or off (default: `stream.isTTY`). */
  tty?: boolean;
  /** Interval between plain lines when not a TTY (default 10 s). */
  everySeconds?: number;
  /** Clock in ms (for tests). */
  now?: () => number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function formatRate(x: number): string {
  return x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(x >= 100 ? 0 : 1);
}

export class Progress {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly every: number;
  private readonly now: () => number;
  private startStep: number | undefined;
  private startTime: number;
  private lastDraw = Number.NEGATIVE_INFINITY;
  private lastLine = '';
  private units = 0;

  /** `startStep`: the step the run starts from (default: one before the first update, e.g. after a resume). */
  constructor(
    private readonly o: ProgressOptions,
    startStep?: number,
  ) {
    this.stream = o.stream ?? process.stderr;
    this.tty = o.tty ?? this.stream.isTTY === true;
    this.every = (o.everySeconds ?? 10) * 1000;
    this.now = o.now ?? (() => performance.now());
    this.startStep = startStep;
    this.startTime = this.now();
    if (!this.tty) this.lastDraw = this.startTime;
  }

  /** Reports that step `step` (1-based count of steps done) finished, having processed `units` items. */
  update(step: number, loss: number, units: number, lr: number): void {
    if (this.startStep === undefined) {
      // first update of a run that started (or resumed) at step - 1: measure from its start
      this.startStep = step - 1;
    }
    this.units += units;
    const t = this.now();
    const final = step >= this.o.total;
    if (!final && t - this.lastDraw < (this.tty ? 100 : this.every)) return;
    this.lastDraw = t;
    const elapsed = (t - this.startTime) / 1000;
    const done = step - this.startStep;
    const perStep = done > 0 ? elapsed / done : Number.NaN;
    const eta = perStep * (this.o.total - step);
    const rate = elapsed > 0 ? this.units / elapsed : 0;
    const pct = Math.floor((100 * step) / this.o.total);
    const info = `${step}/${this.o.total} ${pct}% loss ${loss.toFixed(4)} lr ${lr.toPrecision(3)} ${formatRate(rate)} ${this.o.unit}/s ETA ${formatDuration(eta)}`;
    if (this.tty) {
      const width = Math.max(10, Math.min(30, (this.stream.columns ?? 100) - info.length - 4));
      const fill = Math.round((width * step) / this.o.total);
      this.lastLine = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${info}`;
      this.stream.write(`\r\x1b[2K${this.lastLine}`);
    } else {
      this.stream.write(`step ${info}\n`);
    }
  }

  /** Prints a message line without breaking the bar (the bar is redrawn on the next update). */
  log(message: string): void {
    if (this.tty) this.stream.write(`\r\x1b[2K${message}\n${this.lastLine}`);
    else this.stream.write(`${message}\n`);
  }

  /** Ends the bar's line. */
  done(): void {
    if (this.tty && this.lastLine) this.stream.write('\n');
    this.lastLine = '';
  }
}
