// Serving in the browser: a ResNet-20 with RW+LR, trained and exported in Node (`laurel train`, then
// `laurel export`: one safetensors file with its spec), is built from those bytes by the same model code that
// trained it, folded for serving (foldModel: batch norms and RW's α into the convolutions), and classifies the
// sample's 500 test images both ways. URL parameter: ?backend=cpu|webgl.
import * as tf from '@tensorflow/tfjs';
import { type FoldedModel, type Model, foldModel, modelFromSafetensors, scaledMaxDiff } from 'laurel';
import { WEIGHTS, loadSample } from './data.ts';

const BATCH = 100;

/** Logits of every image, in batches, and the median ms per image. */
function classify(m: Model | FoldedModel, x: tf.Tensor4D): { logits: Float32Array; msPerImage: number } {
  const n = x.shape[0];
  const parts: Float32Array[] = [];
  const times: number[] = [];
  for (let i = 0; i < n; i += BATCH) {
    const t0 = performance.now();
    const y = tf.tidy(() => (m as { forward(x: tf.Tensor4D): tf.Tensor }).forward(x.slice(i, BATCH)));
    parts.push(y.dataSync() as Float32Array);
    times.push((performance.now() - t0) / Math.min(BATCH, n - i));
    y.dispose();
  }
  const logits = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    logits.set(p, at);
    at += p.length;
  }
  return { logits, msPerImage: times.sort((a, b) => a - b)[times.length >> 1] };
}

function accuracy(logits: Float32Array, labels: Uint8Array): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = logits.subarray(i * 10, i * 10 + 10);
    if (row.indexOf(Math.max(...row)) === labels[i]) right++;
  }
  return right / labels.length;
}

async function main(): Promise<void> {
  const status = document.getElementById('status') as HTMLElement;
  const wanted = new URLSearchParams(location.search).get('backend') ?? 'webgl';
  if (!(await tf.setBackend(wanted).catch(() => false))) await tf.setBackend('cpu');
  await tf.ready();
  const [sample, bytes] = await Promise.all([
    loadSample(),
    fetch(WEIGHTS).then(async (r) => new Uint8Array(await r.arrayBuffer())),
  ]);
  const model = modelFromSafetensors(bytes, WEIGHTS);
  model.setTraining(false);
  const folded = foldModel(model);
  const trained = classify(model, sample.test.x);
  const served = classify(folded, sample.test.x);
  const result = {
    backend: tf.getBackend(),
    accuracy: accuracy(trained.logits, sample.test.labels),
    foldedAccuracy: accuracy(served.logits, sample.test.labels),
    maxRelError: scaledMaxDiff(served.logits, trained.logits),
    msPerImage: trained.msPerImage,
    foldedMsPerImage: served.msPerImage,
    firstLogits: Array.from(trained.logits.subarray(0, 10)),
  };
  status.textContent =
    `backend ${result.backend}: trained form ${(100 * result.accuracy).toFixed(1)} % (${result.msPerImage.toFixed(2)} ms/image), ` +
    `folded ${(100 * result.foldedAccuracy).toFixed(1)} % (${result.foldedMsPerImage.toFixed(2)} ms/image), ` +
    `largest logit difference ${result.maxRelError.toExponential(1)} of the largest logit`;
  (window as unknown as { __result: unknown }).__result = result;
}

main().catch((e) => {
  (window as unknown as { __result: unknown }).__result = { error: String(e?.stack ?? e) };
  (document.getElementById('status') as HTMLElement).textContent = `error: ${e}`;
});
