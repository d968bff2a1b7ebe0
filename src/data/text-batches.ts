/**
 * Batches of contiguous token windows for language modelling, as [B, T + 1] int32 arrays
 * (inputs = columns 0..T-1, targets = columns 1..T), and the unigram baseline loss.
 * - Training: `TextWindowSampler`, random window starts from a seeded Rng, resumable via state()/restore().
 * - Evaluation: `sequentialWindows`, a deterministic sweep of non-overlapping windows (stride T).
 */
import { Rng } from '../util/rng.ts';
import type { TokenBatch } from './types.ts';

export interface WindowOptions {
  batchSize: number;
  /** T: tokens per input row; each window holds T + 1 tokens. */
  seqLen: number;
}

function checkWindow(n: number, { batchSize, seqLen }: WindowOptions): void {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(seqLen) || seqLen < 1)
    throw new Error(`seqLen must be a positive integer, got ${seqLen}`);
  if (n < seqLen + 1) {
    throw new Error(
      `token stream of ${n} tokens is shorter than one window of seqLen + 1 = ${seqLen + 1} tokens`,
    );
  }
}

/** A JSON-serializable position of a TextWindowSampler. */
export interface TextSamplerState {
  rng: number;
  step: number;
  seed: number;
}

/**
 * Infinite sampler of training batches: every row is `tokens[s .. s + T]` for a uniformly random
 * s in [0, n - T - 1]. Shape of `next().tokens`: [batchSize, seqLen + 1].
 */
export class TextWindowSampler {
  readonly tokens: Int32Array;
  readonly batchSize: number;
  readonly seqLen: number;
  readonly seed: number;
  private readonly rng: Rng;
  private _step = 0;

  constructor(tokens: Int32Array, opts: WindowOptions & { seed: number }) {
    checkWindow(tokens.length, opts);
    this.tokens = tokens;
    this.batchSize = opts.batchSize;
    this.seqLen = opts.seqLen;
    this.seed = opts.seed;
    this.rng = new Rng(opts.seed);
  }

  /** Number of batches returned so far. */
  get step(): number {
    return this._step;
  }

  /** Approximate epochs seen: step * B * T / n. */
  get epoch(): number {
    return (this._step * this.batchSize * this.seqLen) / this.tokens.length;
  }

  next(): TokenBatch {
    const { batchSize: B, seqLen: T } = this;
    const W = T + 1;
    const out = new Int32Array(B * W);
    const maxStart = this.tokens.length - W; // inclusive
    for (let b = 0; b < B; b++) {
      const s = this.rng.int(maxStart + 1);
      out.set(this.tokens.subarray(s, s + W), b * W);
    }
    this._step++;
    return { tokens: out, batchSize: B, seqLen: T };
  }

  state(): TextSamplerState {
    return { rng: this.rng.state, step: this._step, seed: this.seed };
  }

  restore(s: TextSamplerState): void {
    if (s.seed !== this.seed) {
      throw new Error(
        `TextWindowSampler.restore: state was saved with seed ${s.seed}, this sampler has ${this.seed}`,
      );
    }
    this.rng.state = s.rng;
    this._step = s.step;
  }
}

/** Number of windows `sequentialWindows` yields: floor((n - 1) / T). */
export function countSequentialWindows(n: number, seqLen: number): number {
  return Math.max(0, Math.floor((n - 1) / seqLen));
}

/**
 * Deterministic evaluation sweep: windows start at 0, T, 2T, … (each target token is predicted exactly once,
 * the final < T tokens are left out), grouped into batches of `batchSize` rows; the last batch may be smaller.
 * `maxWindows` caps the sweep (taken evenly spaced over the stream, so a capped sweep still covers it).
 */
export function* sequentialWindows(
  tokens: Int32Array,
  opts: WindowOptions & { maxWindows?: number },
): Generator<TokenBatch> {
  checkWindow(tokens.length, opts);
  const { batchSize: B, seqLen: T } = opts;
  const W = T + 1;
  const total = countSequentialWindows(tokens.length, T);
  const count = opts.maxWindows !== undefined ? Math.min(total, opts.maxWindows) : total;
  const startOf = (i: number) => (count === total ? i : Math.floor((i * total) / count)) * T;
  for (let first = 0; first < count; first += B) {
    const rows = Math.min(B, count - first);
    const out = new Int32Array(rows * W);
    for (let r = 0; r < rows; r++) {
      const s = startOf(first + r);
      out.set(tokens.subarray(s, s + W), r * W);
    }
    yield { tokens: out, batchSize: rows, seqLen: T };
  }
}

/** Splits a [B, T + 1] batch into inputs [B, T] and targets [B, T] (targets shifted by one). */
export function splitInputsTargets(batch: TokenBatch): { inputs: Int32Array; targets: Int32Array } {
  const { batchSize: B, seqLen: T, tokens } = batch;
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    inputs.set(tokens.subarray(b * (T + 1), b * (T + 1) + T), b * T);
    targets.set(tokens.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
  }
  return { inputs, targets };
}

/**
 * Unigram baseline: the cross-entropy in nats per token of a unigram model fit on `train` (add-`alpha`
 * smoothing over `vocabSize` ids, default alpha 1) and evaluated on `test`. A language model that learned
 * anything beyond token frequencies has a test loss well below this.
 */
export function unigramCrossEntropy(
  train: Int32Array,
  test: Int32Array,
  vocabSize: number,
  alpha = 1,
): number {
  if (test.length === 0) throw new Error('unigramCrossEntropy: empty test stream');
  const counts = new Float64Array(vocabSize);
  for (const t of train) {
    if (t < 0 || t >= vocabSize)
      throw new Error(`unigramCrossEntropy: train id ${t} not in [0, ${vocabSize})`);
    counts[t]++;
  }
  const logZ = Math.log(train.length + alpha * vocabSize);
  const logp = new Float64Array(vocabSize);
  for (let v = 0; v < vocabSize; v++) logp[v] = Math.log(counts[v] + alpha) - logZ;
  let nll = 0;
  for (const t of test) {
    if (t < 0 || t >= vocabSize)
      throw new Error(`unigramCrossEntropy: test id ${t} not in [0, ${vocabSize})`);
    nll -= logp[t];
  }
  return nll / test.length;
}
