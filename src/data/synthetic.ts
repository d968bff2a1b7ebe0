/**
 * Small seeded synthetic tasks for fast tests of models and training loops:
 * - `syntheticImageTask`: image classification with learnable structure (shifted noisy class prototypes).
 * - `CopyTask`: token rows whose second half repeats the first (solvable only by attending back).
 * - `markovTokenStream`: a token stream from a sparse first-order Markov chain with known entropy rate.
 */
import { Rng } from '../util/rng.ts';
import type { ImageSet, TokenBatch } from './types.ts';

export interface SyntheticImageOptions {
  seed: number;
  nTrain: number;
  nTest: number;
  numClasses?: number;
  height?: number;
  width?: number;
  channels?: number;
  /** Std of the Gaussian pixel noise (default 0.3; prototypes lie in [0, 1]). */
  noise?: number;
  /** Random integer shift of the prototype in [-maxShift, maxShift] pixels per axis (default 2). */
  maxShift?: number;
}

/**
 * Each class has a prototype made of a few random Gaussian blobs; a sample is its class prototype, shifted
 * and with added noise. Train and test share the prototypes. Labels are balanced (i mod numClasses, then
 * shuffled). Shapes: x [n, H, W, C] float32, y [n] int32; defaults 28×28×1 and 10 classes.
 */
export function syntheticImageTask(opts: SyntheticImageOptions): { train: ImageSet; test: ImageSet } {
  const K = opts.numClasses ?? 10;
  const H = opts.height ?? 28;
  const W = opts.width ?? 28;
  const C = opts.channels ?? 1;
  const noise = opts.noise ?? 0.3;
  const maxShift = opts.maxShift ?? 2;
  const rng = new Rng(opts.seed);
  const size = H * W * C;
  const protos: Float32Array[] = [];
  for (let k = 0; k < K; k++) {
    const p = new Float32Array(size);
    for (let blob = 0; blob < 3; blob++) {
      const cy = rng.next() * H;
      const cx = rng.next() * W;
      const s = (0.08 + 0.12 * rng.next()) * Math.min(H, W);
      const ch = rng.int(C);
      for (let r = 0; r < H; r++) {
        for (let c = 0; c < W; c++) {
          const d2 = ((r - cy) ** 2 + (c - cx) ** 2) / (2 * s * s);
          const o = (r * W + c) * C + ch;
          p[o] = Math.min(1, p[o] + Math.exp(-d2));
        }
      }
    }
    protos.push(p);
  }
  const make = (n: number): ImageSet => {
    const x = new Float32Array(n * size);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) y[i] = i % K;
    rng.shuffle(y);
    for (let i = 0; i < n; i++) {
      const p = protos[y[i]];
      const dy = rng.int(2 * maxShift + 1) - maxShift;
      const dx = rng.int(2 * maxShift + 1) - maxShift;
      for (let r = 0; r < H; r++) {
        for (let c = 0; c < W; c++) {
          const sr = r - dy;
          const sc = c - dx;
          for (let ch = 0; ch < C; ch++) {
            const base = sr >= 0 && sr < H && sc >= 0 && sc < W ? p[(sr * W + sc) * C + ch] : 0;
            x[i * size + (r * W + c) * C + ch] = base + noise * rng.normal();
          }
        }
      }
    }
    return { x, y, n, height: H, width: W, channels: C, numClasses: K, fill: 0 };
  };
  return { train: make(opts.nTrain), test: make(opts.nTest) };
}

export interface CopyTaskOptions {
  batchSize: number;
  /** T; each row holds T + 1 tokens. */
  seqLen: number;
  /** Token ids are in [0, vocabSize); 0 is a separator, the copied tokens are in [1, vocabSize). */
  vocabSize: number;
  seed: number;
}

/**
 * Copy/repeat task. A row of T + 1 tokens is `[0, r_1..r_h, r_1..r_h]` (+ one trailing r_1 when T + 1 is
 * even) with h = floor(T / 2) random tokens. Targets at positions t >= `firstPredictable` (0-based, in
 * [0, T)) are determined by the earlier tokens; a model that copies reaches zero loss there, while the
 * random first half stays at log(vocabSize - 1).
 */
export class CopyTask {
  readonly batchSize: number;
  readonly seqLen: number;
  readonly vocabSize: number;
  readonly seed: number;
  readonly half: number;
  /** First target position (of the [B, T] targets) that is a copy. */
  readonly firstPredictable: number;
  private readonly rng: Rng;

  constructor(opts: CopyTaskOptions) {
    if (opts.seqLen < 2) throw new Error(`CopyTask: seqLen must be at least 2, got ${opts.seqLen}`);
    if (opts.vocabSize < 3) throw new Error(`CopyTask: vocabSize must be at least 3, got ${opts.vocabSize}`);
    this.batchSize = opts.batchSize;
    this.seqLen = opts.seqLen;
    this.vocabSize = opts.vocabSize;
    this.seed = opts.seed;
    this.half = Math.floor(opts.seqLen / 2);
    // Target t predicts token t + 1; tokens 1..h are random, token h + 1 onwards are copies.
    this.firstPredictable = this.half;
    this.rng = new Rng(opts.seed);
  }

  next(): TokenBatch {
    const { batchSize: B, seqLen: T, half: h } = this;
    const W = T + 1;
    const out = new Int32Array(B * W);
    for (let b = 0; b < B; b++) {
      const o = b * W;
      out[o] = 0;
      for (let i = 1; i <= h; i++) out[o + i] = 1 + this.rng.int(this.vocabSize - 1);
      for (let i = h + 1; i < W; i++) out[o + i] = out[o + 1 + ((i - h - 1) % h)];
    }
    return { tokens: out, batchSize: B, seqLen: T };
  }

  state(): { rng: number; seed: number } {
    return { rng: this.rng.state, seed: this.seed };
  }

  restore(s: { rng: number; seed: number }): void {
    if (s.seed !== this.seed)
      throw new Error(`CopyTask.restore: state has seed ${s.seed}, task has ${this.seed}`);
    this.rng.state = s.rng;
  }
}

/**
 * A stream of `n` tokens from a first-order Markov chain in which every token has `branching` equally likely
 * successors (chosen from the seed). Its entropy rate is log(branching) nats per token, well below the
 * unigram entropy (about log(vocabSize)), so a small LM should get clearly under the unigram baseline.
 */
export function markovTokenStream(opts: { n: number; vocabSize: number; seed: number; branching?: number }): {
  tokens: Int32Array;
  entropyRate: number;
} {
  const V = opts.vocabSize;
  const k = opts.branching ?? 2;
  if (k < 1 || k > V) throw new Error(`markovTokenStream: branching must be in [1, ${V}], got ${k}`);
  const rng = new Rng(opts.seed);
  const succ: Int32Array[] = [];
  for (let v = 0; v < V; v++) {
    const perm = Int32Array.from({ length: V }, (_, i) => i);
    rng.shuffle(perm);
    succ.push(perm.slice(0, k));
  }
  const tokens = new Int32Array(opts.n);
  let cur = rng.int(V);
  for (let i = 0; i < opts.n; i++) {
    tokens[i] = cur;
    cur = succ[cur][rng.int(k)];
  }
  return { tokens, entropyRate: Math.log(k) };
}
