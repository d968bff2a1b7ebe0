// The models and batches of the PyTorch interop fixtures: shared by the tests and by write-cases.ts, which
// test/fixtures/make_torch_export_fixtures.py runs to get the exported files it feeds PyTorch.
import * as tf from '@tensorflow/tfjs';
import { type Model, type ModelSpec, buildModel } from '../../src/models/index.ts';
import { encodeModel } from '../../src/models/safetensors.ts';
import { Rng } from '../../src/util/rng.ts';
import { encodeSafetensors } from '../../src/util/safetensors.ts';

export interface InteropCase {
  name: string;
  spec: ModelSpec;
  /** NHWC images [N, H, W, C] or int32 tokens [B, T]. */
  input: number[];
  /** Standard deviation of the random LAUREL parameters. Default 0.3 (wide, deep nets need less). */
  laurelScale?: number;
}

const gpt = (residual: ModelSpec['residual'], extra: Partial<ModelSpec> = {}): ModelSpec => ({
  model: 'gpt',
  residual,
  layers: 2,
  dim: 32,
  heads: 4,
  context: 16,
  vocab: 32,
  seed: 5,
  ...extra,
});

export const CASES: InteropCase[] = [
  {
    name: 'resnet20-rw+lr',
    spec: { model: 'resnet20', residual: { variant: 'rw+lr', rank: 16 }, seed: 3 },
    input: [4, 28, 28, 1],
  },
  {
    name: 'resnet20-rw+lr+pa',
    spec: { model: 'resnet20', residual: { variant: 'rw+lr+pa', rank: 4, k: 3 }, seed: 4 },
    input: [2, 12, 12, 1],
  },
  { name: 'gpt-rw+lr', spec: gpt({ variant: 'rw+lr', rank: 4 }), input: [2, 8] },
  { name: 'gpt-rw+lr+pa', spec: gpt({ variant: 'rw+lr+pa', rank: 4, k: 3 }), input: [2, 8] },
  {
    // Rotary positions, untied head, no biases, LAUREL around both sub-blocks, per-dimension sigmoid RW with PA.
    name: 'gpt-rw+pa-rotary-both',
    spec: gpt(
      { variant: 'rw+pa', rank: 4, k: 2, rwNorm: 'sigmoid', rwPerDim: true },
      { positions: 'rotary', tieEmbeddings: false, bias: false, placement: 'both' },
    ),
    input: [2, 8],
  },
  { name: 'gpt-gemma3n', spec: gpt({ variant: 'gemma3n', rank: 8 }, { positions: 'rotary' }), input: [2, 8] },
];

/**
 * The ImageNet family's stem (7×7/2 conv, max-pool) and Bottleneck blocks, at their smallest useful size: a
 * ResNet-50 (23.5M parameters, about 15 s to build, run and export) on one 32×32 image. Only the PyTorch
 * comparison uses it.
 */
export const IMAGENET_CASES: InteropCase[] = [
  {
    name: 'resnet50-rw+lr+pa',
    spec: {
      model: 'resnet50',
      residual: { variant: 'rw+lr+pa', rank: 8, k: 2 },
      numClasses: 10,
      inChannels: 1,
      seed: 2,
    },
    input: [1, 32, 32, 1],
    laurelScale: 0.02,
  },
];

/** Values of `n` normal samples. */
function normals(rng: Rng, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

/**
 * The case's model with weights that exercise everything: LAUREL parameters moved off their init (U = 0 would
 * hide the low-rank path), BatchNorm γ, β and running statistics made non-trivial (eval mode uses them).
 */
export function buildCaseModel(c: InteropCase): Model {
  const model = buildModel(c.spec);
  const rng = new Rng(11);
  const set = (v: tf.Variable, values: Float32Array) => {
    const t = tf.tensor(values, v.shape);
    v.assign(t);
    t.dispose();
  };
  for (const p of model.namedParameters()) {
    const n = p.variable.size;
    if (p.kind === 'laurel') set(p.variable, normals(rng, n, c.laurelScale ?? 0.3));
    else if (p.kind === 'norm' && p.name.endsWith('gamma'))
      set(
        p.variable,
        normals(rng, n, 0.1).map((x) => 1 + x),
      );
    else if (p.kind === 'norm') set(p.variable, normals(rng, n, 0.1));
  }
  for (const b of model.namedBuffers()) {
    const n = b.variable.size;
    if (b.name.endsWith('runningMean')) set(b.variable, normals(rng, n, 0.2));
    else
      set(
        b.variable,
        Float32Array.from({ length: n }, () => 0.5 + rng.next()),
      );
  }
  return model.setTraining(false);
}

/** The case's fixed input batch. */
export function caseInput(c: InteropCase): tf.Tensor {
  const rng = new Rng(17);
  const n = c.input.reduce((a, b) => a * b, 1);
  if (c.spec.model === 'gpt') {
    return tf.tensor(
      Int32Array.from({ length: n }, () => rng.int(c.spec.vocab ?? 256)),
      c.input,
      'int32',
    );
  }
  return tf.tensor(normals(rng, n, 1), c.input);
}

/** The case's weights as `laurel export --layout torch` writes them (the spec in the metadata). */
export function caseWeights(c: InteropCase, model: Model): Uint8Array {
  return encodeModel(model, {
    layout: 'torch',
    step: 7,
    metadata: { 'laurel.spec': JSON.stringify(c.spec) },
  });
}

/** The input batch as a safetensors file with one tensor, `input`. */
export function caseInputFile(input: tf.Tensor): Uint8Array {
  const data =
    input.dtype === 'int32' ? (input.dataSync() as Int32Array) : (input.dataSync() as Float32Array);
  return encodeSafetensors({ input: { shape: input.shape, data } });
}

/** Model specs whose torch state-dict names and shapes the fixture records (every variant, both ResNet families). */
export const NAME_SPECS: Record<string, ModelSpec> = {
  'resnet18-baseline': { model: 'resnet18' },
  'resnet50-rw+lr+pa': { model: 'resnet50', residual: { variant: 'rw+lr+pa', rank: 16, k: 3 } },
  'resnet20-gemma3n': { model: 'resnet20', residual: { variant: 'gemma3n', rank: 8 } },
  'resnet32-pa-identity': { model: 'resnet32', residual: { variant: 'pa', paH: 'identity', k: 2 } },
  'gpt-lr+pa-both': gpt({ variant: 'lr+pa', rank: 4, k: 2 }, { placement: 'both', extraBlocks: 1 }),
  'gpt-rw-none-perdim-mlp': gpt({ variant: 'rw', rwNorm: 'none', rwPerDim: true }, { placement: 'mlp' }),
  'gpt-baseline-untied-rotary': gpt('baseline', { tieEmbeddings: false, positions: 'rotary', bias: false }),
  'gpt-lr-attention': gpt({ variant: 'lr', rank: 2, vInit: 'column-orthogonal' }, { placement: 'attention' }),
};
