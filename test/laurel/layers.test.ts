import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fileIO, registerFileIO } from '../../src/io/file-io.ts';
import { type Variant, residualConfig } from '../../src/laurel/config.ts';
import { ActivationHistory } from '../../src/laurel/history.ts';
import { type LaurelLayerArgs, LaurelResidualLayer, laurelResidual } from '../../src/laurel/layers/index.ts';
import { Residual } from '../../src/laurel/residual.ts';
import { Rng } from '../../src/util/rng.ts';
import { randn } from './helpers.ts';

const VARIANTS: { variant: Variant; opts?: Record<string, unknown> }[] = [
  { variant: 'baseline' },
  { variant: 'rw' },
  { variant: 'rw', opts: { rwNorm: 'sigmoid', rwPerDim: true } },
  { variant: 'lr', opts: { rank: 2 } },
  { variant: 'pa', opts: { rank: 2, k: 3 } },
  { variant: 'pa', opts: { paH: 'identity', k: 3 } },
  { variant: 'rw+lr', opts: { rank: 2, vInit: 'column-orthogonal' } },
  { variant: 'rw+pa', opts: { rank: 2, k: 2 } },
  { variant: 'lr+pa', opts: { rank: 2, k: 3 } },
  { variant: 'rw+lr+pa', opts: { rank: 2, k: 3 } },
  { variant: 'gemma3n', opts: { rank: 2 } },
];

/** Functional [B, T, D] "transformer-like" stack: x_{i+1} = laurel([f(x_i), x_i, x_{i-1}, …]). */
function transformerModel(variant: Variant, opts: Record<string, unknown>, seed: number): tf.LayersModel {
  const T = 4;
  const D = 6;
  const input = tf.input({ shape: [T, 3] });
  let x = tf.layers.dense({ units: D, name: 'embed' }).apply(input) as tf.SymbolicTensor;
  const xs: tf.SymbolicTensor[] = [];
  for (let i = 0; i < 3; i++) {
    const normed = tf.layers.layerNormalization({ axis: -1 }).apply(x) as tf.SymbolicTensor;
    const fx = tf.layers.dense({ units: D, activation: 'tanh' }).apply(normed) as tf.SymbolicTensor;
    const layer = laurelResidual({ variant, ...opts, seed: seed + i, name: `laurel_${i}` });
    const extra = variant === 'gemma3n' ? [normed] : xs.slice(0, layer.maxInputs() - 2);
    xs.unshift(x);
    x = layer.apply([fx, x, ...extra]) as tf.SymbolicTensor;
  }
  const pooled = tf.layers.globalAveragePooling1d().apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 1 }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** Functional NHWC conv stack: LAUREL acts on channels like a 1×1 conv. */
function convModel(variant: Variant, opts: Record<string, unknown>, seed: number): tf.LayersModel {
  const C = 5;
  const input = tf.input({ shape: [5, 5, 2] });
  let x = tf.layers.conv2d({ filters: C, kernelSize: 1 }).apply(input) as tf.SymbolicTensor;
  const xs: tf.SymbolicTensor[] = [];
  for (let i = 0; i < 2; i++) {
    const fx = tf.layers
      .conv2d({ filters: C, kernelSize: 3, padding: 'same', activation: 'relu' })
      .apply(x) as tf.SymbolicTensor;
    const layer = laurelResidual({ variant, ...opts, seed: seed + i });
    const extra = variant === 'gemma3n' ? [] : xs.slice(0, layer.maxInputs() - 2);
    xs.unshift(x);
    x = layer.apply([fx, x, ...extra]) as tf.SymbolicTensor;
  }
  const pooled = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  return tf.model({
    inputs: input,
    outputs: tf.layers.dense({ units: 1 }).apply(pooled) as tf.SymbolicTensor,
  });
}

function data(rng: Rng, inShape: number[], n: number) {
  const size = inShape.reduce((a, b) => a * b, 1);
  const xs = tf.tensor(Float32Array.from(randn(rng, n * size)), [n, ...inShape]);
  // A smooth target the network can fit: mean of squares plus a linear term.
  const ys = tf.tidy(() =>
    tf
      .add(
        tf.mean(
          tf.square(xs),
          [...inShape.keys()].map((a) => a + 1),
        ),
        tf.mean(
          xs,
          [...inShape.keys()].map((a) => a + 1),
        ),
      )
      .reshape([n, 1]),
  );
  return { xs, ys };
}

async function trainSaveLoad(build: typeof transformerModel, inShape: number[], variant: Variant, opts = {}) {
  const rng = new Rng(7);
  const model = build(variant, opts, 3);
  const { xs, ys } = data(rng, inShape, 32);
  model.compile({ optimizer: tf.train.adam(0.02), loss: 'meanSquaredError' });
  const laurelWeights = () =>
    model.layers
      .filter((l) => l instanceof LaurelResidualLayer)
      .flatMap((l) => l.getWeights().map((w) => Array.from(w.dataSync())));
  const before = laurelWeights();
  const hist = await model.fit(xs, ys, { epochs: 6, batchSize: 16, shuffle: false, verbose: 0 });
  const losses = hist.history.loss as number[];
  assert.ok(losses.every(Number.isFinite), `${variant}: finite losses`);
  assert.ok(losses[losses.length - 1] < 0.9 * losses[0], `${variant}: loss ${losses[0]} -> ${losses.at(-1)}`);
  const after = laurelWeights();
  assert.equal(after.length, before.length);
  after.forEach((w, i) => assert.notDeepEqual(w, before[i], `${variant}: LAUREL weight ${i} was trained`));

  const dir = mkdtempSync(join(tmpdir(), 'laurel-layers-'));
  try {
    await model.save(`file://${dir}`);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    assert.ok(JSON.stringify(json.modelTopology).includes('LaurelResidual'));
    const loaded = await tf.loadLayersModel(`file://${join(dir, 'model.json')}`);
    const a = model.predict(xs) as tf.Tensor;
    const b = loaded.predict(xs) as tf.Tensor;
    assert.deepEqual(
      Array.from(b.dataSync()),
      Array.from(a.dataSync()),
      `${variant}: identical outputs after load`,
    );
    const laurels = loaded.layers.filter((l) => l instanceof LaurelResidualLayer) as LaurelResidualLayer[];
    assert.ok(laurels.length > 0);
    for (const l of laurels) assert.deepEqual(l.laurel, residualConfig(variant, opts));
    tf.dispose([a, b]);
    loaded.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
    tf.dispose([xs, ys]);
    model.dispose();
  }
}

registerFileIO();

for (const { variant, opts } of VARIANTS) {
  const name = `${variant}${opts ? ` ${JSON.stringify(opts)}` : ''}`;
  test(`[B, T, D] model with LaurelResidual (${name}) trains with fit, saves to file:// and loads identically`, () =>
    trainSaveLoad(transformerModel, [4, 3], variant, opts));
}

for (const { variant, opts } of VARIANTS.filter((v) =>
  ['rw', 'lr', 'pa', 'rw+lr+pa', 'gemma3n'].includes(v.variant),
)) {
  test(`NHWC conv model with LaurelResidual (${variant}${opts ? ` ${JSON.stringify(opts)}` : ''}) trains, saves and loads identically`, () =>
    trainSaveLoad(convModel, [5, 5, 2], variant, opts));
}

test('the layer computes what Residual computes, with the same weights', () => {
  const rng = new Rng(11);
  for (const { variant, opts } of VARIANTS) {
    const layer = new LaurelResidualLayer({ variant, ...opts, seed: 5 });
    const res = new Residual(residualConfig(variant, opts), 4, { seed: 5 });
    const shape = [2, 3, 4];
    const t = () => tf.tensor(Float32Array.from(randn(rng, 24)), shape);
    const [fx, x, p1, p2] = [t(), t(), t(), t()];
    const extra = variant === 'gemma3n' ? [p1] : [p1, p2].slice(0, layer.maxInputs() - 2);
    const yLayer = layer.apply([fx, x, ...extra]) as tf.Tensor;
    // Non-trivial weights on both sides.
    const ws = layer
      .getWeights()
      .map((w) => tf.add(w, tf.mul(tf.randomNormal(w.shape, 0, 1, 'float32', 3), 0.3)));
    layer.setWeights(ws);
    res.namedParameters().forEach((p, i) => p.variable.assign(ws[i]));
    const history = new ActivationHistory(4);
    for (const p of [...extra].reverse()) history.push(p);
    const y1 = layer.apply([fx, x, ...extra]) as tf.Tensor;
    const y2 = res.forward(fx, x, variant === 'gemma3n' ? { xNormed: p1 } : { history });
    assert.equal(layer.addedParams(), res.addedParams());
    assert.equal(layer.countParams(), res.parameterCount());
    const diff = tf.max(tf.abs(tf.sub(y1, y2))).dataSync()[0];
    assert.ok(diff < 1e-6, `${variant}: layer vs Residual differ by ${diff}`);
    if (variant !== 'baseline')
      assert.ok(tf.max(tf.abs(tf.sub(y1, yLayer))).dataSync()[0] > 1e-3, 'weights matter');
    res.dispose();
  }
});

test('layer errors name the problem; fileIO works without the router', async () => {
  assert.throws(() => new LaurelResidualLayer({ variant: 'general' }), /variant 'general'/);
  assert.throws(() => new LaurelResidualLayer({ variant: 'lr', rank: 0 }), /rank 0/);
  // a misspelled option is refused, not dropped by tf.layers.Layer (which would build the default rank)
  assert.throws(
    () => new LaurelResidualLayer({ variant: 'rw+lr', ranks: 4 } as unknown as LaurelLayerArgs),
    /^Error: LaurelResidualLayer: bad option name 'ranks'; allowed: variant, seed, rank, k, /,
  );
  assert.throws(
    () => new LaurelResidualLayer({ variant: 'rw+lr', seed: 1.5 }),
    /bad seed 1\.5; allowed: an integer/,
  );
  // a shared layer applied to another width is refused while the graph is built
  const shared = new LaurelResidualLayer({ variant: 'rw' });
  const [a8, b16] = [8, 16].map((d) => tf.input({ shape: [d] }));
  shared.apply([a8, a8]);
  assert.throws(
    () => shared.apply([b16, b16]),
    /x shape \[,16\] must end in 8, the D the layer was built with/,
  );
  const x = tf.input({ shape: [3, 4] });
  const l = new LaurelResidualLayer({ variant: 'rw' });
  assert.throws(() => l.apply([x, x, x]), /got 3 inputs; allowed: 2 to 2/);
  const y = tf.input({ shape: [3, 5] });
  assert.throws(
    () => new LaurelResidualLayer({ variant: 'rw' }).apply([y, x]),
    /input 0 shape \[,3,5\] must equal x/,
  );
  assert.throws(
    () => new LaurelResidualLayer({ variant: 'pa', k: 2 }).apply([x, x, x, x]),
    /allowed: 2 to 3/,
  );
  // Eager calls after the first are checked too: tfjs would otherwise broadcast [1, 8] against [4, 8].
  const eager = new LaurelResidualLayer({ variant: 'rw+lr', rank: 2 });
  eager.apply([tf.ones([2, 8]), tf.ones([2, 8])]);
  assert.throws(() => eager.apply([tf.ones([4, 8]), tf.ones([1, 8])]), /input 0 shape \[4,8\] must equal x/);
  assert.throws(() => eager.apply([tf.ones([2, 6]), tf.ones([2, 6])]), /must end in 8/);
  const pa = new LaurelResidualLayer({ variant: 'pa', k: 2 });
  pa.apply([tf.ones([2, 8]), tf.ones([2, 8]), tf.ones([2, 8])]);
  assert.throws(
    () => pa.apply([tf.ones([2, 8]), tf.ones([2, 8]), tf.ones([1, 8])]),
    /input 2 shape \[1,8\] must equal x/,
  );

  const model = tf.model({
    inputs: x,
    outputs: laurelResidual({ variant: 'rw+lr', rank: 2 }).apply([x, x]) as tf.SymbolicTensor,
  });
  const dir = mkdtempSync(join(tmpdir(), 'laurel-io-'));
  try {
    await model.save(fileIO(dir));
    const loaded = await tf.loadLayersModel(fileIO(dir));
    assert.deepEqual(
      loaded.getWeights().map((w) => Array.from(w.dataSync())),
      model.getWeights().map((w) => Array.from(w.dataSync())),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
