/**
 * A model's weights as a safetensors file, in one of two layouts (docs/formats.md):
 *
 * - `tfjs`: our own names and layouts, as in checkpoints (`layer1.0.conv1.kernel` HWIO, `fc.kernel` [in, out],
 *   `bn1.gamma`, `bn1.runningMean`, `wte.table`).
 * - `torch`: the names and layouts of the PyTorch modules in python/laurel_torch.py (torchvision's for the
 *   ResNets), so that `model.load_state_dict(load_file(path), strict=True)` works there:
 *     conv `kernel` HWIO → `weight` OIHW;  linear `kernel` [in, out] → `weight` [out, in];  embedding
 *     `table` → `weight`;  norm `gamma`/`beta` → `weight`/`bias`;  BN `runningMean`/`runningVar` →
 *     `running_mean`/`running_var`, plus `num_batches_tracked` (int64, the training step);  LAUREL
 *     parameters (`w`, `V`, `U`, `gamma`, …) keep their names and shapes.
 *
 * Loading checks every name, shape and dtype before it assigns anything, so a bad file leaves the model as it was.
 * Bytes in, bytes out (browser-safe); safetensors-file.ts reads and writes files in Node.
 */
import * as tf from '@tensorflow/tfjs';
import type { Module, ParamKind } from '../nn/module.ts';
import {
  type SafetensorsContents,
  type TensorToWrite,
  decodeSafetensors,
  encodeSafetensors,
  toFloat32,
  toInt32,
} from '../util/safetensors.ts';
import { type Model, type ModelSpec, buildModel } from './index.ts';

export type WeightLayout = 'torch' | 'tfjs';
export const WEIGHT_LAYOUTS: readonly WeightLayout[] = ['torch', 'tfjs'];

/** Version of the names and layouts we write (metadata `laurel.export_version`). */
export const EXPORT_VERSION = '1';

/** A value reordering between our layout and the file's: [shape in the file, values in ↔ out]. */
interface Entry {
  /** Our dotted name. */
  name: string;
  /** Its name in the file. */
  fileName: string;
  variable: tf.Variable;
  /** Shape in the file. */
  fileShape: number[];
  /** A LAUREL parameter (kind 'laurel'). */
  laurel: boolean;
  /** Our values → the file's order. */
  toFile: (v: Float32Array) => Float32Array;
  /** The file's values → our order. */
  fromFile: (v: Float32Array) => Float32Array;
}

const same = (v: Float32Array) => v;

/** [A, I, B] → [B, I, A] (row-major): HWIO ↔ OIHW with A = H·W, B = O (or back), [in, out] ↔ [out, in] with I = 1. */
function swapOuter(v: Float32Array, A: number, I: number, B: number): Float32Array {
  const out = new Float32Array(v.length);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < I; i++)
      for (let a = 0, o = (b * I + i) * A; a < A; a++) out[o + a] = v[(a * I + i) * B + b];
  return out;
}

/** HWIO → OIHW (convolutions) and [in, out] → [out, in] (linear layers), and back. */
function reordered(shape: number[]): Pick<Entry, 'fileShape' | 'toFile' | 'fromFile'> {
  if (shape.length === 2) {
    const [n, m] = shape;
    return {
      fileShape: [m, n],
      toFile: (v) => swapOuter(v, n, 1, m),
      fromFile: (v) => swapOuter(v, m, 1, n),
    };
  }
  const [h, w, i, o] = shape;
  return {
    fileShape: [o, i, h, w],
    toFile: (v) => swapOuter(v, h * w, i, o),
    fromFile: (v) => swapOuter(v, o, i, h * w),
  };
}

/** Where a parameter or buffer goes in the torch layout (see the file comment). */
function torchEntry(name: string, kind: ParamKind | 'buffer', variable: tf.Variable): Entry {
  const dot = name.lastIndexOf('.');
  const owner = name.slice(0, dot + 1);
  const leaf = name.slice(dot + 1);
  const shape = variable.shape;
  const plain = { name, variable, fileShape: shape, toFile: same, fromFile: same, laurel: kind === 'laurel' };
  const renamed = (torchLeaf: string) => ({ ...plain, fileName: owner + torchLeaf });
  if (kind === 'laurel') return { ...plain, fileName: name };
  if (kind === 'weight' && leaf === 'kernel' && shape.length === 4)
    return { ...renamed('weight'), ...reordered(shape) }; // HWIO → OIHW
  if (kind === 'weight' && leaf === 'kernel' && shape.length === 2)
    return { ...renamed('weight'), ...reordered(shape) }; // [in, out] → [out, in]
  if (kind === 'embedding' && leaf === 'table') return renamed('weight');
  if (kind === 'bias' && leaf === 'bias') return renamed('bias');
  if (kind === 'norm' && leaf === 'gamma') return renamed('weight');
  if (kind === 'norm' && leaf === 'beta') return renamed('bias');
  if (kind === 'buffer' && leaf === 'runningMean') return renamed('running_mean');
  if (kind === 'buffer' && leaf === 'runningVar') return renamed('running_var');
  throw new Error(`safetensors: no torch name for ${kind} '${name}'`);
}

/** Every parameter and buffer of `model` with its name, shape and value order in `layout`. */
function entries(model: Module, layout: WeightLayout): Entry[] {
  const all: [string, ParamKind | 'buffer', tf.Variable][] = [
    ...model.namedParameters().map((p): [string, ParamKind, tf.Variable] => [p.name, p.kind, p.variable]),
    ...model.namedBuffers().map((b): [string, 'buffer', tf.Variable] => [b.name, 'buffer', b.variable]),
  ];
  return all.map(([name, kind, variable]) =>
    layout === 'tfjs'
      ? {
          name,
          fileName: name,
          variable,
          fileShape: variable.shape,
          toFile: same,
          fromFile: same,
          laurel: kind === 'laurel',
        }
      : torchEntry(name, kind, variable),
  );
}

/** BatchNorm owners (prefixes) in the torch layout: where `num_batches_tracked` goes. */
function batchNormOwners(list: Entry[]): string[] {
  return list
    .filter((e) => e.fileName.endsWith('.running_mean'))
    .map((e) => e.fileName.slice(0, -'.running_mean'.length));
}

export interface ExportOptions {
  layout: WeightLayout;
  /** Stored as `num_batches_tracked` of every BatchNorm (torch layout). Default 0. */
  step?: number;
  /** Extra `__metadata__` entries (string → string). */
  metadata?: Record<string, string>;
  /** The model's spec, stored as `laurel.spec`: `modelFromSafetensors` then builds the model from the file alone. */
  spec?: ModelSpec;
}

/** The named tensors `model` exports in `layout` (names and values as the file holds them). */
export function exportTensors(model: Module, opts: ExportOptions): Record<string, TensorToWrite> {
  const list = entries(model, opts.layout);
  const out: Record<string, TensorToWrite> = {};
  for (const e of list) {
    if (e.variable.dtype !== 'float32')
      throw new Error(`safetensors: '${e.name}' has dtype ${e.variable.dtype}; only float32 is exported`);
    out[e.fileName] = { shape: e.fileShape, data: e.toFile(e.variable.dataSync() as Float32Array) };
  }
  if (opts.layout === 'torch') {
    for (const owner of batchNormOwners(list))
      out[`${owner}.num_batches_tracked`] = { shape: [], data: new BigInt64Array([BigInt(opts.step ?? 0)]) };
  }
  return out;
}

/** The names, shapes and dtypes `exportTensors` would write, without touching any values. */
export function exportLayout(
  model: Module,
  layout: WeightLayout,
): { name: string; shape: number[]; dtype: 'F32' | 'I64' }[] {
  const list = entries(model, layout);
  const out = list.map((e) => ({ name: e.fileName, shape: e.fileShape, dtype: 'F32' as 'F32' | 'I64' }));
  if (layout === 'torch') {
    for (const owner of batchNormOwners(list))
      out.push({ name: `${owner}.num_batches_tracked`, shape: [], dtype: 'I64' });
  }
  return out;
}

/** `model`'s weights as safetensors bytes (metadata: the layout and export version, plus `opts.metadata`). */
export function encodeModel(model: Module, opts: ExportOptions): Uint8Array {
  const metadata: Record<string, string> = {
    ...(opts.layout === 'torch' ? { format: 'pt' } : {}),
    ...opts.metadata,
    ...(opts.spec ? { 'laurel.spec': JSON.stringify(opts.spec) } : {}),
    'laurel.layout': opts.layout,
    'laurel.export_version': EXPORT_VERSION,
  };
  return encodeSafetensors(exportTensors(model, opts), metadata);
}

/** The layout a file was written in: its `laurel.layout` metadata, else the one whose names it matches best. */
function detectLayout(model: Module, contents: SafetensorsContents): WeightLayout {
  const stated = contents.metadata['laurel.layout'];
  if (stated === 'torch' || stated === 'tfjs') return stated;
  const hits = (layout: WeightLayout) =>
    entries(model, layout).filter((e) => contents.tensors.has(e.fileName)).length;
  return hits('tfjs') > hits('torch') ? 'tfjs' : 'torch';
}

export interface ImportOptions {
  /** The file's layout; default: detected (see detectLayout). */
  layout?: WeightLayout;
  /** Names the file in error messages. */
  source?: string;
  /**
   * When the file holds none of the model's LAUREL parameters (a plain network's weights, e.g. to start a LAUREL
   * model from a trained baseline), keep their current values instead of failing. A file with some of them
   * must still have all. Default false.
   */
  keepLaurel?: boolean;
}

export interface ImportResult {
  layout: WeightLayout;
  /** Our names of the LAUREL parameters that kept their values (keepLaurel). */
  kept: string[];
}

/**
 * Copies decoded safetensors contents into `model`: every parameter and buffer must be present with the right
 * shape (F32, or F16 / BF16 / F64, converted), and the file may hold nothing else (torch's
 * `num_batches_tracked` excepted), LAUREL parameters aside with `keepLaurel`. Nothing is assigned unless
 * everything checks.
 */
export function assignSafetensors(
  model: Module,
  contents: SafetensorsContents,
  opts: ImportOptions = {},
): ImportResult {
  const source = opts.source ?? 'input';
  const fail = (why: string): never => {
    throw new Error(`safetensors: ${source}: ${why}`);
  };
  const layout = opts.layout ?? detectLayout(model, contents);
  const all = entries(model, layout);
  const plainFile =
    opts.keepLaurel === true && !all.some((e) => e.laurel && contents.tensors.has(e.fileName));
  const list = plainFile ? all.filter((e) => !e.laurel) : all;
  const known = new Set(list.map((e) => e.fileName));
  const counters = new Set(batchNormOwners(list).map((o) => `${o}.num_batches_tracked`));
  for (const [name, t] of contents.tensors) {
    if (counters.has(name) && layout === 'torch') {
      if (t.shape.length !== 0) fail(`'${name}' has shape [${t.shape}]; expected a scalar`);
      converted(() => toInt32(t, name), fail);
      continue;
    }
    if (!known.has(name)) fail(`has tensor '${name}' that this model lacks (${layout} layout)`);
  }
  const values = list.map((e) => {
    const t = contents.tensors.get(e.fileName);
    if (!t) return fail(`lacks tensor '${e.fileName}' (${layout} layout)`);
    if (!tf.util.arraysEqual(t.shape, e.fileShape))
      fail(
        `tensor '${e.fileName}' has shape [${t.shape}], the model needs [${e.fileShape}] (${layout} layout)`,
      );
    return e.fromFile(converted(() => toFloat32(t, e.fileName), fail));
  });
  list.forEach((e, i) => {
    const t = tf.tensor(values[i], e.variable.shape, 'float32');
    e.variable.assign(t);
    t.dispose();
  });
  return { layout, kept: plainFile ? all.filter((e) => e.laurel).map((e) => e.name) : [] };
}

/** A conversion's result, its error re-raised with the file named. */
function converted<T>(convert: () => T, fail: (why: string) => never): T {
  try {
    return convert();
  } catch (err) {
    return fail((err as Error).message.replace(/^safetensors: /, ''));
  }
}

/**
 * A model built from safetensors bytes alone: its spec from the `laurel.spec` metadata (which `laurel export`
 * writes), then every weight assigned. How a page or a PyTorch-free tool gets a trained model from one file.
 * The model is in inference mode, ready to serve (batch norm uses the loaded running statistics and leaves them
 * as they are, as PyTorch's `from_safetensors` calls `eval()`); `setTraining(true)` to fine-tune it.
 */
export function modelFromSafetensors(bytes: Uint8Array, source = 'input'): Model {
  const contents = decodeSafetensors(bytes, source);
  const text = contents.metadata['laurel.spec'];
  if (text === undefined)
    throw new Error(
      `safetensors: ${source}: no 'laurel.spec' metadata to build the model from (laurel export writes it)`,
    );
  let spec: ModelSpec;
  try {
    spec = JSON.parse(text) as ModelSpec;
  } catch {
    throw new Error(`safetensors: ${source}: 'laurel.spec' metadata is not JSON`);
  }
  let model: Model;
  try {
    model = buildModel(spec);
  } catch (e) {
    throw new Error(`safetensors: ${source}: 'laurel.spec' metadata: ${(e as Error).message}`);
  }
  try {
    assignSafetensors(model, contents, { source });
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model.setTraining(false);
}
