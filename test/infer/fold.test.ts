// Folding for serving: the folded model computes the trained model's function (1e-5) for every variant on
// ResNet-20 and the GPT, with trained-looking weights (LAUREL moved off its init, batch norms with non-trivial
// statistics), on the cpu backend and on native.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../src/engine/index.ts';
import { type Variant, residualConfig } from '../../src/laurel/index.ts';
import { describeFold, foldModel, scaledMaxDiff } from '../../src/models/fold.ts';
import { FoldedResNet } from '../../src/models/folded-resnet.ts';
import { type Gpt, type Model, type ModelSpec, type ResNet, buildModel } from '../../src/models/index.ts';
import { Rng } from '../../src/util/rng.ts';
import { setup } from '../engine/helpers.ts';

const VARIANTS: Variant[] = [
  'baseline',
  'rw',
  'lr',
  'rw+lr',
  'pa',
  'rw+lr+pa',
  'rezero',
  'layerscale',
  'dwa',
];

/**
 * Trained-looking values: LAUREL moved off its init (U ≠ 0, α ≠ β), norms with γ ∈ [0.5, 1.5], β, running mean
 * ~ N(0, 0.1²) and running variance ∈ [0.5, 1.5]; weights keep their init scale so that activations stay O(1).
 */
function train(m: Model, seed: number): void {
  const rng = new Rng(seed);
  const kinds = new Map(m.namedParameters().map((p) => [p.name, p.kind]));
  for (const p of [...m.namedParameters(), ...m.namedBuffers()]) {
    const kind = kinds.get(p.name);
    const tail = p.name.slice(p.name.lastIndexOf('.') + 1);
    const v = p.variable.dataSync() as Float32Array;
    const next = Float32Array.from(v, (x) => {
      if (kind === 'laurel') return x + 0.1 * rng.normal();
      if (tail === 'gamma' && kind === 'norm') return 0.5 + rng.next();
      if (tail === 'runningVar') return 0.5 + rng.next();
      if ((tail === 'beta' && kind === 'norm') || tail === 'runningMean' || tail === 'bias')
        return 0.1 * rng.normal();
      return x;
    });
    const t = tf.tensor(next, p.variable.shape);
    p.variable.assign(t);
    t.dispose();
  }
  m.setTraining(false);
}

function check(spec: ModelSpec, input: () => tf.Tensor, label: string): void {
  const m = buildModel(spec) as Model;
  train(m, 11);
  const folded = foldModel(m);
  const run = (model: unknown) => (model as ResNet).forward(input() as tf.Tensor4D);
  tf.dispose([run(m), run(folded)]); // the first pass makes the attention masks each model keeps
  const before = tf.memory().numTensors;
  const [y, yf] = tf.tidy(() => {
    const x = input();
    return [(m as ResNet).forward(x as tf.Tensor4D), (folded as unknown as ResNet).forward(x as tf.Tensor4D)];
  });
  const err = scaledMaxDiff(yf.dataSync(), y.dataSync());
  assert.ok(err <= 1e-5, `${label}: folded output off by ${err}`);
  tf.dispose([y, yf]);
  assert.equal(tf.memory().numTensors, before, `${label}: leaked tensors`);
  if (folded instanceof FoldedResNet) {
    assert.equal(folded.namedBuffers().length, 0, 'no batch-norm statistics remain');
    const names = folded.namedParameters().map((p) => p.name);
    assert.ok(!names.some((n) => n.includes('bn')), 'no batch norm remains');
  }
  m.dispose();
  folded.dispose();
}

const rank = (v: Variant) => (v === 'baseline' || v === 'rw' ? {} : { rank: 4 });

async function resnets(backend: string): Promise<void> {
  await tf.setBackend(backend);
  const rng = new Rng(5);
  const image = () =>
    tf.tensor4d(
      Float32Array.from({ length: 2 * 12 * 12 }, () => rng.next()),
      [2, 12, 12, 1],
    );
  for (const v of VARIANTS)
    check({ model: 'resnet20', residual: residualConfig(v, rank(v)) }, image, `${backend} resnet20 ${v}`);
  for (const opts of [{ rwNorm: 'sigmoid' as const }, { rwPerDim: true }])
    check(
      { model: 'resnet20', residual: residualConfig('rw+lr', { rank: 4, ...opts }) },
      image,
      `${backend} ${JSON.stringify(opts)}`,
    );
}

async function gpts(backend: string): Promise<void> {
  await tf.setBackend(backend);
  const tokens = () =>
    tf.tensor2d(
      [
        [1, 5, 2, 9, 12, 0, 3],
        [7, 7, 4, 1, 2, 11, 6],
      ],
      [2, 7],
      'int32',
    );
  for (const v of [...VARIANTS, 'gemma3n' as Variant])
    for (const placement of ['block', 'attention', 'both'] as const)
      check(
        {
          model: 'gpt',
          layers: 2,
          dim: 16,
          heads: 2,
          context: 8,
          vocab: 13,
          placement,
          residual: residualConfig(v, rank(v)),
        },
        tokens,
        `${backend} gpt ${v} ${placement}`,
      );
}

test('folded ResNet-20 equals the trained one (1e-5): baseline, rw, lr, rw+lr, pa, rw+lr+pa, rezero, layerscale, dwa, sigmoid and per-dim RW (cpu)', async () => {
  await setup();
  await resnets('cpu');
});

test('folded GPT equals the trained one (1e-5): every variant, block / attention / both placement (cpu)', async () => {
  await setup();
  await gpts('cpu');
});

const { addon, error } = loadAddon();
test(
  'folding on the native backend (fused kernels for the remainder)',
  { skip: addon ? false : `native backend unavailable: ${error}` },
  async () => {
    await setup();
    await resnets('native');
    await gpts('native');
  },
);

test('describeFold says what folds and what remains', () => {
  const r = describeFold({ model: 'resnet20', residual: residualConfig('rw+lr', { rank: 4 }) });
  assert.deepEqual(r.folded, [
    '21 batch norms into their convolutions',
    "RW's α into each block's last convolution",
    '2 projection shortcuts merged with β(I + V·U) into one 1×1 convolution each',
  ]);
  assert.deepEqual(r.remains, ['7 blocks keep a fused LAUREL kernel: β, the low-rank U·V·x']);
  assert.deepEqual(describeFold({ model: 'resnet20' }).remains, ['nothing: the plain model']);
  const g = describeFold({ model: 'gpt', residual: 'rw+lr', placement: 'both' });
  assert.deepEqual(g.folded, ["RW's α into the attention and MLP output projection"]);
});
