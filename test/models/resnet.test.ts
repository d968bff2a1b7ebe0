import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { VARIANTS, type Variant, residualConfig } from '../../src/laurel/index.ts';
import { type ResNet, buildModel } from '../../src/models/index.ts';
import { crossEntropy } from '../../src/nn/loss.ts';
import { close, perturbLaurel, rand, snapshot } from './helpers.ts';

const cfg = (v: Variant) =>
  v === 'general'
    ? residualConfig(v, { g: (x) => x })
    : residualConfig(v, v === 'baseline' || v === 'rw' ? {} : { rank: 4 });

test('resnet20 maps [B, 28, 28, 1] to logits [B, 10]; resnet18 maps [1, 32, 32, 3] to [1, 1000]', () => {
  const m = buildModel({ model: 'resnet20' }) as ResNet;
  const y = m.forward(rand([2, 28, 28, 1], 1) as tf.Tensor4D);
  assert.deepEqual(y.shape, [2, 10]);
  assert.ok(Array.from(y.dataSync()).every(Number.isFinite));
  assert.throws(() => m.forward(rand([1, 28, 28, 3], 1) as tf.Tensor4D), /NHWC \[N, H, W, 1\]/);
  const r18 = buildModel({ model: 'resnet18' }) as ResNet;
  assert.deepEqual(r18.forward(rand([1, 32, 32, 3], 2) as tf.Tensor4D).shape, [1, 1000]);
  r18.dispose();
  m.dispose();
});

test('the stem max-pool pads with −∞ like torch (an all-negative map keeps negative maxima)', () => {
  const x = tf.neg(tf.add(tf.abs(rand([1, 4, 4, 1], 3)), 1)) as tf.Tensor4D;
  const y = tf.maxPool(x, 3, 2, 1);
  const v = x.arraySync()[0].map((r) => r.map((c) => c[0]));
  assert.deepEqual(y.shape, [1, 2, 2, 1]);
  assert.equal(y.dataSync()[0], Math.max(v[0][0], v[0][1], v[1][0], v[1][1]));
});

test('every residual variant builds, runs forward and backward in resnet20, and leaks no tensors', () => {
  for (const v of VARIANTS) {
    const m = buildModel({ model: 'resnet20', residual: cfg(v), seed: 1 }) as ResNet;
    perturbLaurel(m, 5);
    const x = rand([2, 8, 8, 1], 2) as tf.Tensor4D;
    const labels = tf.tensor1d([3, 7], 'int32');
    const step = () => {
      const { value, grads } = tf.variableGrads(() => crossEntropy(m.forward(x), labels));
      const out = { loss: value.dataSync()[0], grads: Object.keys(grads).length };
      const laurel = m.namedParameters().filter((p) => p.kind === 'laurel');
      for (const p of laurel) {
        assert.ok(grads[p.variable.name], `${v}: no gradient for ${p.name}`);
        const nonzero = Array.from(grads[p.variable.name].dataSync()).some((g) => g !== 0);
        assert.ok(nonzero, `${v}: zero gradient for ${p.name}`);
      }
      value.dispose();
      tf.dispose(Object.values(grads));
      return out;
    };
    const first = step();
    assert.ok(Number.isFinite(first.loss), v);
    assert.equal(first.grads, m.namedParameters().length, v);
    const before = tf.memory().numTensors;
    step();
    assert.equal(tf.memory().numTensors, before, `${v}: tensors leaked`);
    m.dispose();
  }
});

test('at init, LAUREL variants with zero U compute exactly the baseline (same seed, same base weights)', () => {
  const x = rand([2, 10, 10, 1], 4) as tf.Tensor4D;
  const base = buildModel({ model: 'resnet20', seed: 9 }) as ResNet;
  const y0 = base.forward(x);
  for (const v of ['rw', 'lr', 'rw+lr', 'pa', 'rw+lr+pa'] as const) {
    const m = buildModel({ model: 'resnet20', residual: cfg(v), seed: 9 }) as ResNet;
    close(m.forward(x), y0, 1e-4, v);
    perturbLaurel(m, 1);
    assert.ok(tf.max(tf.abs(tf.sub(m.forward(x), y0))).dataSync()[0] > 1e-3, `${v} acts once trained`);
    m.dispose();
  }
});

test('LAUREL sees the projected shortcut; the PA history restarts at every stage', () => {
  const calls: [number[], number][] = [];
  const residual = residualConfig('general', {
    g: (x, history) => {
      calls.push([x.shape.slice(1), history.length]);
      return x;
    },
  });
  const m = buildModel({ model: 'resnet20', residual }) as ResNet;
  m.forward(rand([1, 28, 28, 1], 5) as tf.Tensor4D);
  assert.deepEqual(calls, [
    [[28, 28, 16], 0],
    [[28, 28, 16], 1],
    [[28, 28, 16], 2],
    [[14, 14, 32], 0], // downsample(x): strided 1×1 conv to 32 channels
    [[14, 14, 32], 1],
    [[14, 14, 32], 2],
    [[7, 7, 64], 0],
    [[7, 7, 64], 1],
    [[7, 7, 64], 2],
  ]);
});

test('BN running statistics move in training and stay in eval; eval output is per-sample', () => {
  const m = buildModel({ model: 'resnet20', residual: 'rw' }) as ResNet;
  const bufs = () => new Map(m.namedBuffers().map((b) => [b.name, b.variable.dataSync().slice()]));
  const x = rand([2, 8, 8, 1], 6) as tf.Tensor4D;
  const b0 = bufs();
  const count = tf.memory().numTensors;
  m.forward(x).dispose();
  assert.equal(tf.memory().numTensors, count, 'a training-mode forward leaks nothing');
  const b1 = bufs();
  for (const [name, v] of b0) assert.notDeepEqual(b1.get(name), v, `${name} updated in training`);
  m.setTraining(false);
  const yBatch = m.forward(x);
  assert.deepEqual(bufs(), b1, 'nothing updated in eval');
  close(
    m.forward(tf.slice(x, [0, 0, 0, 0], [1, 8, 8, 1]) as tf.Tensor4D),
    tf.slice(yBatch, [0, 0], [1, 10]),
    1e-4,
    'eval',
  );
  assert.equal(m.stages[0].blocks[0].bn1.training, false);
  m.dispose();
});

test('same seed gives the same weights; another seed different ones; extra blocks go where asked', () => {
  const a = snapshot(buildModel({ model: 'resnet20', residual: cfg('rw+lr'), seed: 3 }));
  const b = snapshot(buildModel({ model: 'resnet20', residual: cfg('rw+lr'), seed: 3 }));
  const c = snapshot(buildModel({ model: 'resnet20', residual: cfg('rw+lr'), seed: 4 }));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.get('layer2.1.conv1.kernel'), c.get('layer2.1.conv1.kernel'));
  assert.notDeepEqual(a.get('layer2.1.residual.V'), c.get('layer2.1.residual.V'));
  const m = buildModel({ model: 'resnet20', extraBlocks: 2 }) as ResNet;
  assert.deepEqual(
    m.stages.map((s) => s.blocks.length),
    [3, 3, 5],
  );
  const m1 = buildModel({ model: 'resnet20', extraBlocks: 1, extraStage: 1 }) as ResNet;
  assert.deepEqual(
    m1.stages.map((s) => s.blocks.length),
    [4, 3, 3],
  );
  assert.deepEqual(m1.forward(rand([1, 8, 8, 1], 1) as tf.Tensor4D).shape, [1, 10]);
});

test("convFilterGrad reaches every k > 1 conv (default 'conv'), and both paths give the same gradients", () => {
  const spec = { model: 'resnet20' as const, seed: 3 };
  const plain = buildModel(spec) as ResNet;
  const viaTfjs = buildModel(spec, { convFilterGrad: 'tfjs' }) as ResNet;
  const convs = (m: ResNet) => [
    m.conv1,
    ...m.stages.flatMap((s) => s.blocks.flatMap((b) => [b.conv1, b.conv2])),
  ];
  assert.ok(convs(plain).every((c) => c.filterGrad === 'conv'));
  assert.ok(convs(viaTfjs).every((c) => c.filterGrad === 'tfjs'));
  const x = rand([2, 8, 8, 1], 4) as tf.Tensor4D;
  const labels = tf.tensor1d([1, 8], 'int32');
  const grads = (m: ResNet) => tf.variableGrads(() => crossEntropy(m.forward(x), labels)).grads;
  const [a, b] = [grads(plain), grads(viaTfjs)];
  const names = (m: ResNet) => m.namedParameters().map((p) => p.variable.name);
  const [na, nb] = [names(plain), names(viaTfjs)];
  for (let i = 0; i < na.length; i++) close(a[na[i]], b[nb[i]], 1e-4, na[i]);
  tf.dispose([x, labels, ...Object.values(a), ...Object.values(b)]);
  plain.dispose();
  viaTfjs.dispose();
});
