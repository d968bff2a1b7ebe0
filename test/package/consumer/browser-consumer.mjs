// The core bundled for a web page (esbuild --platform=browser): a model with the LAUREL layer, a forward pass,
// a few fit steps, save to IndexedDB and load back. The result lands in window.__result for the test.
import * as tf from '@tensorflow/tfjs';
import { laurelResidual } from 'laurel';

async function main() {
  await tf.setBackend('cpu');
  const x = tf.input({ shape: [8] });
  const fx = tf.layers.dense({ units: 8, activation: 'relu' }).apply(x);
  const layer = laurelResidual({ variant: 'rw+lr', rank: 2, seed: 1 });
  const y = tf.layers.dense({ units: 1 }).apply(layer.apply([fx, x]));
  const model = tf.model({ inputs: x, outputs: y });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
  const xs = tf.randomNormal([32, 8], 0, 1, 'float32', 1);
  const ys = tf.sum(xs, 1, true);
  const forward = Array.from(model.predict(xs).dataSync()).every(Number.isFinite);
  const h = await model.fit(xs, ys, { epochs: 4, batchSize: 8, verbose: 0, shuffle: false });
  await model.save('indexeddb://laurel-consumer');
  const loaded = await tf.loadLayersModel('indexeddb://laurel-consumer');
  const a = model.predict(xs).dataSync();
  const b = loaded.predict(xs).dataSync();
  const maxDiff = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  return {
    backend: tf.getBackend(),
    forward,
    losses: h.history.loss,
    maxDiff,
    addedParams: layer.addedParams(),
  };
}

main().then(
  (r) => {
    window.__result = r;
  },
  (e) => {
    window.__result = { error: String(e?.stack ?? e) };
  },
);
