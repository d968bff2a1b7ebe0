/**
 * Fashion-MNIST (or any MNIST-format IDX data set) as float32 NHWC image sets with a seeded validation split.
 *
 * Files looked up in `dir` (default: Debian's `dataset-fashion-mnist`, /usr/share/datasets/fashion-mnist):
 * `train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]`, and for the test split
 * `t10k-images-idx3-ubyte[.gz]` / `t10k-labels-idx1-ubyte[.gz]` (or `test-…`).
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../util/rng.ts';
import { readIdxImages, readIdxLabels } from './idx.ts';
import type { ImageSet } from './types.ts';

export const DEFAULT_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The 10 Fashion-MNIST class names, indexed by label. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

export interface FashionMnistOptions {
  /** Folder with the IDX files (`--data PATH`); default /usr/share/datasets/fashion-mnist. */
  dir?: string;
  /** Number of training images held out for validation (default 5000; 0 for none). */
  valSize?: number;
  /** `last`: the last `valSize` images of the train file; `random`: a seeded random subset (default). */
  valSplit?: 'last' | 'random';
  /** Seed of the random validation split (default 0). */
  seed?: number;
  /** Normalize by the train split's mean and std after scaling to [0, 1] (default false). */
  normalize?: boolean;
  /** Load only the first `limit` training images (before the split), for quick runs. */
  limit?: number;
}

export interface FashionMnist {
  /** [n, 28, 28, 1] */
  train: ImageSet;
  /** [valSize, 28, 28, 1]; empty (n = 0) when valSize is 0. */
  val: ImageSet;
  /** [10000, 28, 28, 1] for Fashion-MNIST. */
  test: ImageSet;
  classNames: string[];
  /** Mean and std of the train split's pixels in [0, 1] (applied to x only when `normalized`). */
  mean: number;
  std: number;
  normalized: boolean;
  dir: string;
}

const MISSING_HINT =
  'install it with `sudo apt-get install dataset-fashion-mnist`, or pass --data PATH to a folder holding ' +
  'train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz] and ' +
  't10k-labels-idx1-ubyte[.gz]';

/** Finds `<prefix>-<kind>` or `<prefix>-<kind>.gz` in `dir` for one of the prefixes; throws a clear error. */
export function findIdxFile(dir: string, prefixes: string[], kind: string): string {
  const tried: string[] = [];
  for (const p of prefixes) {
    for (const ext of ['.gz', '']) {
      const f = join(dir, `${p}-${kind}${ext}`);
      tried.push(`${p}-${kind}${ext}`);
      if (existsSync(f)) return f;
    }
  }
  throw new Error(`Fashion-MNIST data not found: no ${tried.join(' / ')} in ${dir}; ${MISSING_HINT}`);
}

/** Checks that `dir` exists and is a folder, with an actionable message otherwise. */
function checkDir(dir: string): void {
  if (!existsSync(dir))
    throw new Error(`Fashion-MNIST data not found: ${dir} does not exist; ${MISSING_HINT}`);
  if (!statSync(dir).isDirectory()) {
    throw new Error(`Fashion-MNIST data: ${dir} is not a folder; ${MISSING_HINT}`);
  }
}

/** Raw uint8 images [n, h, w] and labels [n] of one split, checked for agreeing counts. */
export interface RawImages {
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
  height: number;
  width: number;
  /** The label file (for error messages). */
  labelPath?: string;
}

/** Reads one split ('train' or 'test') of an MNIST-format folder without scaling. */
export function readMnistSplit(dir: string, split: 'train' | 'test'): RawImages {
  checkDir(dir);
  const prefixes = split === 'train' ? ['train'] : ['t10k', 'test'];
  const imgPath = findIdxFile(dir, prefixes, 'images-idx3-ubyte');
  const lblPath = findIdxFile(dir, prefixes, 'labels-idx1-ubyte');
  const img = readIdxImages(imgPath);
  const lbl = readIdxLabels(lblPath);
  const [n, height, width] = img.dims;
  if (lbl.dims[0] !== n) {
    throw new Error(`${lblPath}: holds ${lbl.dims[0]} labels but ${imgPath} holds ${n} images`);
  }
  return { images: img.data, labels: lbl.data, n, height, width, labelPath: lblPath };
}

/** Mean and std of uint8 pixels scaled to [0, 1], over the images with the given indices. */
function pixelStats(raw: RawImages, indices: Int32Array): { mean: number; std: number } {
  const hw = raw.height * raw.width;
  let s = 0;
  let s2 = 0;
  for (const i of indices) {
    const off = i * hw;
    for (let j = 0; j < hw; j++) {
      const v = raw.images[off + j];
      s += v;
      s2 += v * v;
    }
  }
  const count = indices.length * hw;
  const mean = s / count / 255;
  const variance = s2 / count / (255 * 255) - mean * mean;
  return { mean, std: Math.sqrt(Math.max(variance, 1e-12)) };
}

/** Builds a float32 NHWC ImageSet from the images at `indices`: x = (v / 255 - mean) / std. */
export function toImageSet(
  raw: RawImages,
  indices: Int32Array,
  numClasses: number,
  mean = 0,
  std = 1,
): ImageSet {
  const hw = raw.height * raw.width;
  const n = indices.length;
  const x = new Float32Array(n * hw);
  const y = new Int32Array(n);
  const scale = 1 / (255 * std);
  const shift = mean / std;
  for (let k = 0; k < n; k++) {
    const i = indices[k];
    const src = i * hw;
    const dst = k * hw;
    for (let j = 0; j < hw; j++) x[dst + j] = raw.images[src + j] * scale - shift;
    y[k] = raw.labels[i];
  }
  return { x, y, n, height: raw.height, width: raw.width, channels: 1, numClasses, fill: -shift };
}

function range(start: number, end: number): Int32Array {
  const a = new Int32Array(Math.max(0, end - start));
  for (let i = 0; i < a.length; i++) a[i] = start + i;
  return a;
}

function outOfRange(raw: RawImages, i: number, why: string): Error {
  return new Error(
    `${raw.labelPath ?? 'labels'}: label ${raw.labels[i]} at index ${i} is out of range: ${why}`,
  );
}

/**
 * The number of classes of a labelled set: K when the training labels are exactly 0..K-1, every one present.
 * A label past a gap (e.g. a stray 250 among 0..9, which would silently add 241 empty classes to the head)
 * and a test label the training set never has are errors naming the file, the index and the value.
 */
export function countClasses(train: RawImages, test: RawImages): number {
  const seen = new Uint8Array(256);
  for (const v of train.labels) seen[v] = 1;
  let k = 0;
  while (k < 256 && seen[k]) k++;
  const firstPast = (raw: RawImages) => raw.labels.findIndex((v) => v >= k);
  const i = firstPast(train);
  if (i >= 0) {
    const why =
      k === 0
        ? 'no training image has label 0 (labels must be 0..K-1)'
        : `no training image has label ${k}, so the labels must be 0..${k - 1}`;
    throw outOfRange(train, i, why);
  }
  const j = firstPast(test);
  if (j >= 0) throw outOfRange(test, j, `the training labels are 0..${k - 1}`);
  return k;
}

/**
 * Loads train/val/test. Pixels become float32 in [0, 1] (or normalized with the train split's mean/std).
 * The validation split is taken from the train file (seeded when `valSplit` is 'random'), and is disjoint
 * from train. Train keeps the file order (shuffling is the batcher's job).
 */
export function loadFashionMnist(opts: FashionMnistOptions = {}): FashionMnist {
  const dir = opts.dir ?? DEFAULT_FASHION_MNIST_DIR;
  const valSize = opts.valSize ?? 5000;
  const trainRaw = readMnistSplit(dir, 'train');
  const testRaw = readMnistSplit(dir, 'test');
  if (trainRaw.height !== testRaw.height || trainRaw.width !== testRaw.width) {
    throw new Error(
      `${dir}: train images are ${trainRaw.height}x${trainRaw.width} but test images are ` +
        `${testRaw.height}x${testRaw.width}`,
    );
  }
  const nAll = opts.limit !== undefined ? Math.min(opts.limit, trainRaw.n) : trainRaw.n;
  if (!Number.isInteger(valSize) || valSize < 0 || valSize >= nAll) {
    throw new Error(`valSize must be an integer in [0, ${nAll}), got ${valSize}`);
  }
  let trainIdx: Int32Array;
  let valIdx: Int32Array;
  if ((opts.valSplit ?? 'random') === 'last') {
    trainIdx = range(0, nAll - valSize);
    valIdx = range(nAll - valSize, nAll);
  } else {
    const perm = new Rng(opts.seed ?? 0).shuffle(range(0, nAll)) as Int32Array;
    valIdx = perm.slice(0, valSize).sort();
    trainIdx = perm.slice(valSize).sort();
  }
  const numClasses = countClasses(trainRaw, testRaw);
  const { mean, std } = pixelStats(trainRaw, trainIdx);
  const normalized = opts.normalize ?? false;
  const [m, s] = normalized ? [mean, std] : [0, 1];
  const classNames =
    numClasses === 10
      ? [...FASHION_MNIST_CLASSES]
      : Array.from({ length: numClasses }, (_, i) => `class ${i}`);
  return {
    train: toImageSet(trainRaw, trainIdx, numClasses, m, s),
    val: toImageSet(trainRaw, valIdx, numClasses, m, s),
    test: toImageSet(testRaw, range(0, testRaw.n), numClasses, m, s),
    classNames,
    mean,
    std,
    normalized,
    dir,
  };
}
