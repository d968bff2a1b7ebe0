// The browser example (examples/browser/) in headless Chromium: the page trains the plain and the LAUREL net
// for a few steps (tfjs cpu backend, for a deterministic and quick run) and both training losses fall; the
// serving page builds, folds and runs an exported model as Node does.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { WEIGHTS } from '../../examples/browser/data.ts';
import { EXAMPLE_DIR, bundleExample } from '../../examples/browser/serve.ts';
import { type ResNet, modelFromSafetensors, scaledMaxDiff } from '../../src/index.ts';
import { inChromium } from './chromium.ts';

const STEPS = 60;
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

test('the browser example trains the plain and the RW+LR net side by side; both losses fall', async () => {
  await bundleExample();
  const r = await inChromium(EXAMPLE_DIR, `index.html?steps=${STEPS}&backend=cpu`, 180_000);
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.backend, 'cpu');
  const loss = r.loss as Record<'plain' | 'laurel', number[]>;
  for (const k of ['plain', 'laurel'] as const) {
    assert.equal(loss[k].length, STEPS);
    const first = mean(loss[k].slice(0, 5));
    const last = mean(loss[k].slice(-5));
    assert.ok(last < first - 0.1, `${k}: loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
  }
  // Two RW+LR layers at width 8, rank 4: 2·(2·4·8 + 2) parameters more than the plain net.
  assert.equal(r.laurelParams, 132);
  const acc = r.testAcc as Record<'plain' | 'laurel', [number, number][]>;
  assert.deepEqual(
    acc.plain.map(([s]) => s),
    [20, 40, 60],
  );
});

test('the serving page builds the exported ResNet-20 from its safetensors, folds it, and classifies as Node does', async () => {
  await bundleExample();
  const r = await inChromium(EXAMPLE_DIR, 'serving.html?backend=cpu', 180_000);
  assert.equal(r.error, undefined, String(r.error));
  // the same weights and test images in Node (tfjs cpu, as the page): the same logits and accuracy
  await tf.setBackend('cpu');
  const meta = JSON.parse(readFileSync(join(EXAMPLE_DIR, 'data/sample.json'), 'utf8'));
  const bytes = readFileSync(join(EXAMPLE_DIR, 'data/sample.bin'));
  const px = meta.height * meta.width;
  const at = meta.train * (px + 1);
  const images = bytes.subarray(at, at + meta.test * px);
  const labels = bytes.subarray(at + meta.test * px, at + meta.test * (px + 1));
  const model = modelFromSafetensors(readFileSync(join(EXAMPLE_DIR, WEIGHTS)), WEIGHTS) as ResNet;
  model.setTraining(false);
  const logits = tf.tidy(() =>
    model
      .forward(
        tf.tensor4d(
          Float32Array.from(images, (v) => v / 255),
          [meta.test, 28, 28, 1],
        ),
      )
      .dataSync(),
  );
  let right = 0;
  for (let i = 0; i < meta.test; i++) {
    const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
    if (row.indexOf(Math.max(...row)) === labels[i]) right++;
  }
  assert.equal(r.accuracy, right / meta.test);
  assert.ok((r.accuracy as number) > 0.7, `a trained model: ${r.accuracy}`);
  assert.ok(scaledMaxDiff(r.firstLogits as number[], logits.subarray(0, 10)) < 1e-5);
  // the folded form: the same function (1e-5 of the largest logit), hence the same answers
  assert.ok((r.maxRelError as number) < 1e-5, `folded vs trained ${r.maxRelError}`);
  assert.ok(Math.abs((r.foldedAccuracy as number) - (r.accuracy as number)) <= 1 / meta.test);
  model.dispose();
});
