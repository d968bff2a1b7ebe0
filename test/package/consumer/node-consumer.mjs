// A plain Node ESM consumer of the installed package (no tsx, no TypeScript): the core from 'laurel', file://
// IO from 'laurel/node'. Prints one JSON line.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ActivationHistory, Residual, laurelResidual, residualConfig } from 'laurel';
import { initBackend, registerFileIO } from 'laurel/node';

const backend = await initBackend('cpu');
const x = tf.input({ shape: [8] });
const fx = tf.layers.dense({ units: 8, activation: 'relu' }).apply(x);
const layer = laurelResidual({ variant: 'rw+lr', rank: 2, seed: 1 });
const y = tf.layers.dense({ units: 1 }).apply(layer.apply([fx, x]));
const model = tf.model({ inputs: x, outputs: y });
model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
const xs = tf.randomNormal([32, 8], 0, 1, 'float32', 1);
const ys = tf.sum(xs, 1, true);
const h = await model.fit(xs, ys, { epochs: 4, batchSize: 8, verbose: 0, shuffle: false });
registerFileIO();
const dir = join(mkdtempSync(join(tmpdir(), 'laurel-consumer-')), 'model');
await model.save(`file://${dir}`);
const loaded = await tf.loadLayersModel(`file://${dir}/model.json`);
const a = model.predict(xs).dataSync();
const b = loaded.predict(xs).dataSync();
const maxDiff = Math.max(...a.map((v, i) => Math.abs(v - b[i])));

// The module API: a Residual over any block, with an activation history.
const res = new Residual(residualConfig('rw+lr', { rank: 4 }), 16, { seed: 0 });
const v = tf.randomNormal([2, 16]);
const out = res.forward(tf.relu(v), v, { history: new ActivationHistory(3) });

console.log(
  JSON.stringify({
    backend,
    tfjs: tf.version.tfjs,
    losses: h.history.loss,
    maxDiff,
    addedParams: layer.addedParams(),
    residualShape: out.shape,
    residualAdded: res.addedParams(),
  }),
);
