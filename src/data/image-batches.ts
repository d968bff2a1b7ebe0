/**
 * Seeded epoch shuffling and minibatches of images, with optional light augmentation, and an exactly
 * resumable position (for checkpoints: a resumed run sees the same batches as an uninterrupted one).
 */
import { Rng } from '../util/rng.ts';
import type { ImageBatch, ImageSet } from './types.ts';

export interface AugmentOptions {
  /** Random crop after zero-padding each side by this many pixels (0 = off; 2–4 is typical). */
  cropPadding?: number;
  /** Random horizontal flip with probability 0.5 (default false: off). */
  flip?: boolean;
}

export interface ImageBatcherOptions {
  batchSize: number;
  seed: number;
  /** Shuffle every epoch (default true). Without it batches follow the set's order. */
  shuffle?: boolean;
  /** Drop the last incomplete batch of each epoch (default true), so every batch has `batchSize` images. */
  dropLast?: boolean;
  augment?: AugmentOptions;
  /** Use only the first `limit` images of the set (quick runs). */
  limit?: number;
}

/** A JSON-serializable position of an ImageBatcher. */
export interface ImageBatcherState {
  epoch: number;
  /** Index of the next batch within the epoch. */
  index: number;
  /** State of the augmentation Rng. */
  augRng: number;
  seed: number;
}

/** Seed of the permutation of epoch `epoch`: a pure function of (seed, epoch), so no state is needed. */
function epochSeed(seed: number, epoch: number): number {
  let h = (seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  return (h ^ (h >>> 13)) >>> 0;
}

/**
 * Infinite iterator of training minibatches over epochs. `next()` returns `x` of shape
 * [batchSize, H, W, C] (NHWC float32) and `y` of shape [batchSize] (int32).
 *
 * The order of epoch e is a permutation seeded by (seed, e); augmentation draws from one Rng stream whose
 * state is part of `state()`. `restore(state())` on a fresh batcher over the same data continues
 * identically.
 */
export class ImageBatcher implements Iterator<ImageBatch> {
  readonly data: ImageSet;
  readonly batchSize: number;
  readonly n: number;
  readonly stepsPerEpoch: number;
  private readonly opts: ImageBatcherOptions;
  private readonly augRng: Rng;
  private perm: Int32Array;
  private _epoch = 0;
  private _index = 0;

  constructor(data: ImageSet, opts: ImageBatcherOptions) {
    if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
      throw new Error(`batchSize must be a positive integer, got ${opts.batchSize}`);
    }
    const pad = opts.augment?.cropPadding ?? 0;
    if (!Number.isInteger(pad) || pad < 0 || pad >= Math.min(data.height, data.width)) {
      throw new Error(`augment.cropPadding must be an integer in [0, ${data.height}), got ${pad}`);
    }
    this.data = data;
    this.opts = opts;
    this.batchSize = opts.batchSize;
    this.n = opts.limit !== undefined ? Math.max(0, Math.min(opts.limit, data.n)) : data.n;
    const dropLast = opts.dropLast ?? true;
    this.stepsPerEpoch = dropLast ? Math.floor(this.n / this.batchSize) : Math.ceil(this.n / this.batchSize);
    if (this.stepsPerEpoch === 0) {
      throw new Error(`ImageBatcher: ${this.n} images is fewer than one batch of ${this.batchSize}`);
    }
    this.augRng = new Rng(epochSeed(opts.seed, -2));
    this.perm = this.permutation(0);
  }

  private permutation(epoch: number): Int32Array {
    const p = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) p[i] = i;
    if (this.opts.shuffle ?? true) new Rng(epochSeed(this.opts.seed, epoch)).shuffle(p);
    return p;
  }

  /** Zero-based epoch of the next batch. */
  get epoch(): number {
    return this._index >= this.stepsPerEpoch ? this._epoch + 1 : this._epoch;
  }

  /** Index of the next batch within its epoch. */
  get index(): number {
    return this._index >= this.stepsPerEpoch ? 0 : this._index;
  }

  /** Total number of batches returned so far. */
  get step(): number {
    return this.epoch * this.stepsPerEpoch + this.index;
  }

  next(): IteratorResult<ImageBatch> & { value: ImageBatch; done: false } {
    if (this._index >= this.stepsPerEpoch) {
      this._epoch++;
      this._index = 0;
      this.perm = this.permutation(this._epoch);
    }
    const start = this._index * this.batchSize;
    const idx = this.perm.subarray(start, Math.min(start + this.batchSize, this.n));
    this._index++;
    return { value: gatherImages(this.data, idx, this.opts.augment, this.augRng), done: false };
  }

  [Symbol.iterator](): this {
    return this;
  }

  state(): ImageBatcherState {
    // An exhausted epoch reads as the start of the next, so equal positions have equal states.
    return { epoch: this.epoch, index: this.index, augRng: this.augRng.state, seed: this.opts.seed };
  }

  restore(s: ImageBatcherState): void {
    if (s.seed !== this.opts.seed) {
      throw new Error(
        `ImageBatcher.restore: state was saved with seed ${s.seed}, this batcher has ${this.opts.seed}`,
      );
    }
    if (s.index < 0 || s.index > this.stepsPerEpoch) {
      throw new Error(`ImageBatcher.restore: index ${s.index} out of range [0, ${this.stepsPerEpoch}]`);
    }
    this._epoch = s.epoch;
    this._index = s.index;
    this.augRng.state = s.augRng;
    this.perm = this.permutation(s.epoch);
  }
}

/**
 * Copies the images at `indices` into a new batch [indices.length, H, W, C], applying augmentation
 * (random crop with padding `cropPadding` filled with `data.fill`, then optional horizontal flip) with `rng`.
 */
export function gatherImages(
  data: ImageSet,
  indices: ArrayLike<number>,
  augment?: AugmentOptions,
  rng?: Rng,
): ImageBatch {
  const { height: H, width: W, channels: C } = data;
  const size = H * W * C;
  const B = indices.length;
  const x = new Float32Array(B * size);
  const y = new Int32Array(B);
  const pad = augment?.cropPadding ?? 0;
  const flip = augment?.flip ?? false;
  if ((pad > 0 || flip) && !rng) throw new Error('gatherImages: augmentation needs an Rng');
  for (let b = 0; b < B; b++) {
    const i = indices[b];
    y[b] = data.y[i];
    const src = i * size;
    const dst = b * size;
    if (pad === 0 && !flip) {
      x.set(data.x.subarray(src, src + size), dst);
      continue;
    }
    // Output pixel (r, c) reads source (r + dy, c + dx); dy, dx in [-pad, pad].
    const dy = pad > 0 ? rng!.int(2 * pad + 1) - pad : 0;
    const dx = pad > 0 ? rng!.int(2 * pad + 1) - pad : 0;
    const mirror = flip && rng!.next() < 0.5;
    for (let r = 0; r < H; r++) {
      const sr = r + dy;
      for (let c = 0; c < W; c++) {
        const sc = (mirror ? W - 1 - c : c) + dx;
        const o = dst + (r * W + c) * C;
        if (sr < 0 || sr >= H || sc < 0 || sc >= W) {
          for (let k = 0; k < C; k++) x[o + k] = data.fill;
        } else {
          const s = src + (sr * W + sc) * C;
          for (let k = 0; k < C; k++) x[o + k] = data.x[s + k];
        }
      }
    }
  }
  return { x, y, batchSize: B, shape: [B, H, W, C] };
}

/**
 * Deterministic sequential evaluation batches over a whole set, without augmentation; the last batch may
 * be smaller. Shapes as in `ImageBatch`.
 */
export function* evalImageBatches(data: ImageSet, batchSize: number, limit?: number): Generator<ImageBatch> {
  const n = limit !== undefined ? Math.min(limit, data.n) : data.n;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(start + batchSize, n);
    const idx = new Int32Array(end - start);
    for (let i = 0; i < idx.length; i++) idx[i] = start + i;
    yield gatherImages(data, idx);
  }
}
