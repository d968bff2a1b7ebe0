// Ordinary Keras-style recipes (tfjs Layers: compile / fit / evaluate / predict) give the same numbers on `native`
// as on `cpu`: same initial weights, same batches (no shuffling), loss and metric histories to 1e-4 relative.
// These are the programs issue 10 found broken (tf.oneHot's int32 labels read as floats: the loss stuck at 1e-45).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_FASHION_MNIST_DIR, readMnistSplit } from '../../src/data/fashion-mnist.ts';
import { NATIVE_BACKEND } from '../../src/engine/index.ts';
import { rand, setup } from './helpers.ts';

const RTOL = 1e-4;

interface Recipe {
  build(): tf.LayersModel;
  /** A fresh optimizer each call (runRecipe disposes it). */
  compile(): tf.ModelCompileArgs;
  /** Training inputs and targets, then held-out ones for evaluate and predict (made on the current backend). */
  data(): { x: tf.Tensor; y: tf.Tensor; xTest: tf.Tensor; yTest: tf.Tensor };
  epochs: number;
  batchSize: number;
}

interface Run {
  history: Record<string, number[]>;
  evaluation: number[];
  predictions: Float32Array;
}

/** Deterministic initial weights (uniform, scaled by fan-in; vectors such as biases start at zero). */
function seedWeights(model: tf.LayersModel, seed: number): void {
  const weights = model.getWeights().map((w, i) => {
    const n = w.size;
    if (w.rank < 2) return tf.zeros(w.shape);
    const fanIn = n / w.shape[w.rank - 1];
    const scale = Math.sqrt(3 / fanIn);
    return tf.tensor(
      rand(n, seed + i).map((v) => v * scale),
      w.shape,
    );
  });
  model.setWeights(weights);
  tf.dispose(weights);
}

async function runRecipe(backend: string, r: Recipe, seed: number): Promise<Run> {
  await tf.setBackend(backend);
  const model = r.build();
  seedWeights(model, seed);
  model.compile(r.compile());
  const { x, y, xTest, yTest } = r.data();
  const h = await model.fit(x, y, { epochs: r.epochs, batchSize: r.batchSize, shuffle: false, verbose: 0 });
  const evaluated = model.evaluate(xTest, yTest, { batchSize: r.batchSize }) as tf.Scalar[];
  const evaluation = evaluated.map((s) => s.dataSync()[0]);
  const pred = model.predict(xTest) as tf.Tensor;
  const predictions = (pred.dataSync() as Float32Array).slice();
  tf.dispose([x, y, xTest, yTest, pred, ...evaluated]);
  model.optimizer.dispose();
  model.dispose();
  return { history: h.history as Record<string, number[]>, evaluation, predictions };
}

function close(what: string, native: ArrayLike<number>, cpu: ArrayLike<number>): void {
  assert.equal(native.length, cpu.length, `${what}: lengths`);
  for (let i = 0; i < cpu.length; i++) {
    const [n, c] = [native[i], cpu[i]];
    assert.ok(Number.isFinite(n) && Number.isFinite(c), `${what}[${i}]: native ${n}, cpu ${c}`);
    assert.ok(
      Math.abs(n - c) <= RTOL * Math.max(Math.abs(n), Math.abs(c)) + 1e-7,
      `${what}[${i}]: native ${n} vs cpu ${c}`,
    );
  }
}

/** Trains the recipe on both backends and compares; returns the cpu loss history (to check it learned). */
async function agree(name: string, r: Recipe, metric: string): Promise<number[]> {
  await setup();
  const cpu = await runRecipe('cpu', r, 11);
  const nat = await runRecipe(NATIVE_BACKEND, r, 11);
  assert.deepEqual(Object.keys(nat.history).sort(), Object.keys(cpu.history).sort());
  assert.ok(metric in cpu.history, `${name}: no ${metric} history (${Object.keys(cpu.history)})`);
  for (const k of Object.keys(cpu.history)) close(`${name} history ${k}`, nat.history[k], cpu.history[k]);
  close(`${name} evaluate`, nat.evaluation, cpu.evaluation);
  close(`${name} predict`, nat.predictions, cpu.predictions);
  return cpu.history.loss;
}

function assertLearned(name: string, loss: number[]): void {
  assert.ok(loss[loss.length - 1] < loss[0], `${name}: loss did not fall (${loss.join(', ')})`);
}

test('conv net on a Fashion-MNIST sample, tf.oneHot labels, accuracy: native matches cpu', async () => {
  const raw = readMnistSplit(DEFAULT_FASHION_MNIST_DIR, 'test');
  const [nTrain, nTest] = [96, 32];
  // Each image shrunk to 14×14 (means of 2×2 pixels): tfjs's cpu conv gradients are slow JavaScript loops.
  const side = raw.width / 2;
  const images = (from: number, n: number) => {
    const out = new Float32Array(n * side * side);
    for (let i = 0; i < n; i++)
      for (let r = 0; r < side; r++)
        for (let c = 0; c < side; c++) {
          const at = (from + i) * raw.height * raw.width + 2 * r * raw.width + 2 * c;
          const px = raw.images;
          out[(i * side + r) * side + c] =
            (px[at] + px[at + 1] + px[at + raw.width] + px[at + raw.width + 1]) / 1020;
        }
    return tf.tensor4d(out, [n, side, side, 1]);
  };
  const labels = (from: number, n: number) =>
    tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(raw.labels.subarray(from, from + n)), 'int32'), 10));
  const loss = await agree(
    'conv net',
    {
      build: () =>
        tf.sequential({
          layers: [
            tf.layers.conv2d({ inputShape: [side, side, 1], filters: 8, kernelSize: 3, activation: 'relu' }),
            tf.layers.maxPooling2d({ poolSize: 2 }),
            tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }),
            tf.layers.averagePooling2d({ poolSize: 2 }),
            tf.layers.flatten(),
            tf.layers.dense({ units: 10, activation: 'softmax' }),
          ],
        }),
      compile: () => ({
        optimizer: tf.train.sgd(0.1),
        loss: 'categoricalCrossentropy',
        metrics: ['accuracy'],
      }),
      data: () => ({
        x: images(0, nTrain),
        y: labels(0, nTrain),
        xTest: images(nTrain, nTest),
        yTest: labels(nTrain, nTest),
      }),
      epochs: 3,
      batchSize: 32,
    },
    'acc',
  );
  assertLearned('conv net', loss);
});

/** Token ids [n, len] in [0, vocab) and a label: does token 1 occur more often than token 2? */
function textTask(
  n: number,
  len: number,
  vocab: number,
  seed: number,
): { ids: Int32Array; labels: Float32Array } {
  const u = rand(n * len, seed);
  const ids = Int32Array.from(u, (v) => Math.min(vocab - 1, Math.floor(((v + 1) / 2) * vocab)));
  const labels = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let d = 0;
    for (let j = 0; j < len; j++) d += ids[i * len + j] === 1 ? 1 : ids[i * len + j] === 2 ? -1 : 0;
    labels[i] = d > 0 ? 1 : 0;
  }
  return { ids, labels };
}

test('embedding + dense text classifier on int32 token ids: native matches cpu', async () => {
  const [len, vocab] = [16, 12];
  const train = textTask(256, len, vocab, 3);
  const held = textTask(64, len, vocab, 4);
  const loss = await agree(
    'text classifier',
    {
      build: () =>
        tf.sequential({
          layers: [
            tf.layers.embedding({ inputDim: vocab, outputDim: 8, inputLength: len }),
            tf.layers.globalAveragePooling1d(),
            tf.layers.dense({ units: 16, activation: 'relu' }),
            tf.layers.dense({ units: 1, activation: 'sigmoid' }),
          ],
        }),
      compile: () => ({ optimizer: tf.train.sgd(0.5), loss: 'binaryCrossentropy', metrics: ['accuracy'] }),
      data: () => ({
        x: tf.tensor2d(train.ids, [256, len], 'int32'),
        y: tf.tensor2d(train.labels, [256, 1]),
        xTest: tf.tensor2d(held.ids, [64, len], 'int32'),
        yTest: tf.tensor2d(held.labels, [64, 1]),
      }),
      epochs: 4,
      batchSize: 32,
    },
    'acc',
  );
  assertLearned('text classifier', loss);
});

test('LSTM sequence classifier (sparse int32 labels via tf.oneHot): native matches cpu', async () => {
  const [n, steps, feats] = [128, 8, 4];
  const xs = rand(n * steps * feats, 21);
  // Class: which third of [-1, 1) the sum of the first feature over time falls in.
  const cls = Int32Array.from({ length: n }, (_, i) => {
    let s = 0;
    for (let t = 0; t < steps; t++) s += xs[(i * steps + t) * feats];
    return s < -1 ? 0 : s < 1 ? 1 : 2;
  });
  const split = 96;
  const loss = await agree(
    'lstm',
    {
      build: () =>
        tf.sequential({
          layers: [
            tf.layers.lstm({ inputShape: [steps, feats], units: 12 }),
            tf.layers.dense({ units: 3, activation: 'softmax' }),
          ],
        }),
      compile: () => ({
        optimizer: tf.train.sgd(0.3),
        loss: 'categoricalCrossentropy',
        metrics: ['accuracy'],
      }),
      data: () => ({
        x: tf.tensor3d(xs.subarray(0, split * steps * feats), [split, steps, feats]),
        y: tf.tidy(() => tf.oneHot(tf.tensor1d(cls.subarray(0, split), 'int32'), 3)),
        xTest: tf.tensor3d(xs.subarray(split * steps * feats), [n - split, steps, feats]),
        yTest: tf.tidy(() => tf.oneHot(tf.tensor1d(cls.subarray(split), 'int32'), 3)),
      }),
      epochs: 3,
      batchSize: 32,
    },
    'acc',
  );
  assertLearned('lstm', loss);
});
