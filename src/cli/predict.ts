import { existsSync, readFileSync, statSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { FASHION_MNIST_CLASSES, type RawImages, toImageSet } from '../data/fashion-mnist.ts';
import { IDX_IMAGES_MAGIC, parseIdx } from '../data/idx.ts';
import { isPng, pngToGray } from '../data/png-image.ts';
import { FoldedResNet } from '../models/folded-resnet.ts';
import { ResNet } from '../models/resnet.ts';
import { type FlagDef, UsageError, formatHelp, parseFlags, requiredFlag } from './flags.ts';
import { RUNTIME_FLAGS } from './options.ts';
import { loadRunModel } from './run-model.ts';
import { startBackend } from './train.ts';

/** Side of the images a PNG is resized to: Fashion-MNIST's 28 × 28. */
const SIDE = 28;
const TOP = 5;
const BATCH = 256;

const I = 'Input';
export const PREDICT_FLAGS: FlagDef[] = [
  ...RUNTIME_FLAGS.filter((d) => ['out', 'backend', 'threads'].includes(d.name)).map((d) =>
    d.name === 'out'
      ? { ...d, help: 'Run folder of a trained ResNet (laurel train --task fashion-mnist)' }
      : d,
  ),
  { name: 'json', type: 'bool', default: false, help: 'Print one JSON document instead of the table' },
  {
    name: 'index',
    type: 'int',
    min: 0,
    help: 'Which image of an IDX file IMAGE',
    group: I,
    defaultText: '0',
  },
  { name: 'idx', type: 'path', help: 'An IDX images file: classify its first --first images', group: I },
  { name: 'first', type: 'int', min: 1, help: 'With --idx: how many images', group: I, defaultText: '1' },
  {
    name: 'invert',
    type: 'bool',
    default: false,
    help: 'Invert a PNG (Fashion-MNIST shows light objects on black; photos are often dark on light)',
    group: I,
  },
];

export const PREDICT_HELP = formatHelp(
  'predict',
  '--out RUN IMAGE | --out RUN --idx FILE [--first N] [--json]',
  'Classifies images with a trained ResNet and prints the top-5 classes with their probabilities.\n' +
    'IMAGE: a PNG (28×28 grayscale; any other PNG is converted to grayscale and resized to 28×28, with a note\n' +
    'on stderr) or an IDX images file (--index picks the image). Pixels are scaled to [0, 1] as in training.\n' +
    'JSON: {"run", "step", "predictions": [{"source", "index", "top": [{"label", "class", "probability"}]}]}.',
  PREDICT_FLAGS,
);

/** Splits argv into flags (for parseFlags) and positional arguments, using the flag table for arities. */
function splitPositional(argv: string[], defs: FlagDef[]): { flags: string[]; positional: string[] } {
  const bools = new Set(defs.filter((d) => d.type === 'bool').map((d) => d.name));
  const flags: string[] = [];
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || a === '--') positional.push(a);
    else {
      flags.push(a);
      const name = a.slice(2);
      const takesValue = !a.includes('=') && !bools.has(name) && !name.startsWith('no-');
      if (takesValue && i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags.push(argv[++i]);
    }
  }
  return { flags, positional };
}

interface Images {
  raw: RawImages;
  /** Where each image came from (file, and index in an IDX file). */
  sources: { source: string; index: number | null }[];
}

function readFile(path: string): Uint8Array {
  if (!existsSync(path)) throw new UsageError(`laurel predict: ${path} does not exist`);
  if (statSync(path).isDirectory()) throw new UsageError(`laurel predict: ${path} is a folder, not an image`);
  return readFileSync(path);
}

/** Images [first, first + count) of an IDX images file. */
function fromIdx(path: string, bytes: Uint8Array, first: number, count: number, orPng = false): Images {
  let idx: ReturnType<typeof parseIdx>;
  try {
    idx = parseIdx(bytes, path, { magic: IDX_IMAGES_MAGIC });
  } catch (e) {
    const what = orPng ? 'neither a PNG nor an IDX images file' : 'not an IDX images file';
    throw new UsageError(`laurel predict: ${path} is ${what} (${(e as Error).message})`);
  }
  const [n, height, width] = idx.dims;
  if (!(height >= 1 && width >= 1)) {
    throw new UsageError(`laurel predict: ${path} holds ${height}×${width} images, with no pixels`);
  }
  if (first + count > n) {
    const want = count === 1 ? `image ${first}` : `${count} images`;
    throw new UsageError(`laurel predict: ${path} holds ${n} images, cannot take ${want}`);
  }
  const hw = height * width;
  const raw = {
    images: idx.data.subarray(first * hw, (first + count) * hw),
    labels: new Uint8Array(count),
    n: count,
    height,
    width,
  };
  return { raw, sources: Array.from({ length: count }, (_, i) => ({ source: path, index: first + i })) };
}

function fromPng(path: string, bytes: Uint8Array, invert: boolean): Images {
  let img: ReturnType<typeof pngToGray>;
  try {
    img = pngToGray(bytes, path, SIDE, SIDE);
  } catch (e) {
    throw new UsageError(`laurel predict: ${(e as Error).message}`);
  }
  if (invert) for (let i = 0; i < img.pixels.length; i++) img.pixels[i] = 255 - img.pixels[i];
  for (const note of img.notes) process.stderr.write(`laurel predict: ${path}: ${note}\n`);
  const raw = { images: img.pixels, labels: new Uint8Array(1), n: 1, height: SIDE, width: SIDE };
  return { raw, sources: [{ source: path, index: null }] };
}

function loadImages(values: Record<string, unknown>, positional: string[]): Images {
  const idxFile = values.idx as string | undefined;
  if (positional.length > 1)
    throw new UsageError(
      `laurel predict: one IMAGE at a time, got ${positional.length}: ${positional.join(' ')}`,
    );
  const image = positional[0];
  if (idxFile !== undefined && image !== undefined)
    throw new UsageError('laurel predict: give either IMAGE or --idx FILE, not both');
  if (idxFile !== undefined) {
    if (values.index !== undefined)
      throw new UsageError('laurel predict: --index goes with IMAGE, not --idx');
    return fromIdx(idxFile, readFile(idxFile), 0, (values.first as number | undefined) ?? 1);
  }
  if (image === undefined)
    throw new UsageError('laurel predict: an IMAGE (PNG or IDX) or --idx FILE is required');
  if (values.first !== undefined) throw new UsageError('laurel predict: --first goes with --idx FILE');
  const bytes = readFile(image);
  if (isPng(bytes)) {
    if (values.index !== undefined)
      throw new UsageError('laurel predict: --index applies to IDX files, not PNG');
    return fromPng(image, bytes, values.invert as boolean);
  }
  return fromIdx(image, bytes, (values.index as number | undefined) ?? 0, 1, true);
}

export async function predictCommand(argv: string[]): Promise<number> {
  const { flags, positional } = splitPositional(argv, PREDICT_FLAGS);
  const { values } = parseFlags(flags, PREDICT_FLAGS, 'predict');
  const out = requiredFlag(values, 'out', 'predict', 'RUN');
  await startBackend(values);
  const { model, step } = loadRunModel(out, 'predict');
  try {
    if (!(model instanceof ResNet || model instanceof FoldedResNet))
      throw new UsageError(`laurel predict: ${out} holds a GPT, not a ResNet (use laurel generate)`);
    const images = loadImages(values, positional);
    const { numClasses, inChannels } = model.config;
    if (inChannels !== 1)
      throw new UsageError(
        `laurel predict: ${out}'s model takes ${inChannels} channels; images here are grayscale`,
      );
    const names = numClasses === FASHION_MNIST_CLASSES.length ? [...FASHION_MNIST_CLASSES] : null;
    // The same scaling as training (toImageSet: v / 255, no mean/std normalization in laurel train).
    const set = toImageSet(
      images.raw,
      Int32Array.from({ length: images.raw.n }, (_, i) => i),
      numClasses,
    );
    const hw = set.height * set.width;
    const predictions = [];
    for (let start = 0; start < set.n; start += BATCH) {
      const n = Math.min(BATCH, set.n - start);
      const probs = tf.tidy(() => {
        const x = tf.tensor4d(set.x.subarray(start * hw, (start + n) * hw), [n, set.height, set.width, 1]);
        return tf.softmax(model.forward(x));
      });
      const p = probs.arraySync() as number[][];
      probs.dispose();
      for (let i = 0; i < n; i++) {
        const top = p[i]
          .map((probability, label) => ({
            label,
            class: names ? names[label] : `class ${label}`,
            probability,
          }))
          .sort((a, b) => b.probability - a.probability)
          .slice(0, TOP);
        predictions.push({ ...images.sources[start + i], top });
      }
    }
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ run: out, step, predictions })}\n`);
      return 0;
    }
    for (const p of predictions) {
      process.stdout.write(`${p.source}${p.index === null ? '' : ` [${p.index}]`}\n`);
      for (const t of p.top)
        process.stdout.write(
          `  ${(100 * t.probability).toFixed(2).padStart(6)} %  ${t.class} (${t.label})\n`,
        );
    }
    return 0;
  } finally {
    model.dispose();
  }
}
