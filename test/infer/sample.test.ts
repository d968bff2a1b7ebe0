// The sampler of laurel generate (src/models/generate.ts) and the PNG conversion of laurel predict
// (src/data/png-image.ts), as plain functions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { pngToGray } from '../../src/data/png-image.ts';
import { checkSampleOptions, generate, sampleToken } from '../../src/models/generate.ts';
import { type Gpt, buildModel } from '../../src/models/index.ts';
import { Rng } from '../../src/util/rng.ts';

const z = [1, 3, 2.5, -1, 0];

test('greedy, top-k 1 and a tiny top-p all take the argmax; the same seed draws the same tokens', () => {
  const rng = new Rng(1);
  assert.equal(sampleToken(z, { maxTokens: 1, temperature: 0 }, rng), 1);
  for (let i = 0; i < 20; i++) {
    assert.equal(sampleToken(z, { maxTokens: 1, topK: 1 }, rng), 1);
    assert.equal(sampleToken(z, { maxTokens: 1, topP: 0.01 }, rng), 1);
  }
  const draw = (seed: number) => {
    const r = new Rng(seed);
    return Array.from({ length: 30 }, () => sampleToken(z, { maxTokens: 1, temperature: 1.5 }, r));
  };
  assert.deepEqual(draw(7), draw(7));
  assert.notDeepEqual(draw(7), draw(8));
});

test('temperature 1 samples softmax(z); top-k 2 and top-p keep only the most likely tokens', () => {
  const rng = new Rng(3);
  const n = 20000;
  const counts = new Array(z.length).fill(0);
  for (let i = 0; i < n; i++) counts[sampleToken(z, { maxTokens: 1 }, rng)]++;
  const e = z.map(Math.exp);
  const total = e.reduce((a, b) => a + b, 0);
  z.forEach((_, i) => {
    const p = e[i] / total;
    const sd = Math.sqrt((p * (1 - p)) / n);
    assert.ok(Math.abs(counts[i] / n - p) < 5 * sd + 1e-9, `token ${i}: ${counts[i] / n} vs ${p}`);
  });
  const seen = new Set<number>();
  for (let i = 0; i < 500; i++) seen.add(sampleToken(z, { maxTokens: 1, topK: 2 }, rng));
  assert.deepEqual([...seen].sort(), [1, 2]);
  // p(1) ≈ 0.54, p(2) ≈ 0.33: a nucleus of 0.8 needs both, and nothing else
  seen.clear();
  for (let i = 0; i < 500; i++) seen.add(sampleToken(z, { maxTokens: 1, topP: 0.8 }, rng));
  assert.deepEqual([...seen].sort(), [1, 2]);
});

test('bad sampling options are refused with the option named', () => {
  assert.throws(() => checkSampleOptions({ maxTokens: -1 }), /bad maxTokens -1/);
  assert.throws(() => checkSampleOptions({ maxTokens: 1, temperature: Number.NaN }), /bad temperature/);
  assert.throws(() => checkSampleOptions({ maxTokens: 1, topK: 1.5 }), /bad topK/);
  assert.throws(() => checkSampleOptions({ maxTokens: 1, topP: 0 }), /bad topP/);
  // sampleToken, public too, checks the same options and its logits (it sampled the least likely token at
  // temperature −1, returned undefined for no logits and a token for NaN ones)
  const rng = new Rng(1);
  assert.throws(() => sampleToken(z, { maxTokens: 1, temperature: -1 }, rng), /bad temperature -1/);
  assert.throws(() => sampleToken([], { maxTokens: 1 }, rng), /no token has a finite logit/);
  assert.throws(
    () => sampleToken([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY], { maxTokens: 1 }, rng),
    /no token has a finite logit/,
  );
  assert.throws(() => sampleToken([0, Number.NaN], { maxTokens: 1 }, rng), /logit 1 is NaN/);
  assert.throws(
    () => sampleToken([Number.POSITIVE_INFINITY, 0], { maxTokens: 1, temperature: 0 }, rng),
    /logit 0 is Infinity/,
  );
  assert.equal(
    sampleToken([Number.NEGATIVE_INFINITY, 0, Number.NEGATIVE_INFINITY], { maxTokens: 1 }, rng),
    1,
    'a masked token is never drawn',
  );
});

test('generate: the window slides at the context, and decoding after a slide equals a fresh pass', async () => {
  await tf.setBackend('cpu');
  const m = buildModel({
    model: 'gpt',
    layers: 2,
    dim: 16,
    heads: 2,
    context: 8,
    vocab: 11,
    residual: 'rw+lr',
  }) as Gpt;
  generate(m, [1, 2, 3], { maxTokens: 12, temperature: 0 }); // makes the attention masks the model keeps per length
  const before = tf.memory().numTensors;
  const g = generate(m, [1, 2, 3], { maxTokens: 12, temperature: 0 });
  assert.equal(tf.memory().numTensors, before, 'generate leaked tensors');
  // 3 + 12 tokens: full (8) after token 8, rebuilt from tokens 5..8; full again after token 13, rebuilt from 10..13
  assert.equal(g.slides, 2);
  const seq = [1, 2, 3, ...g.tokens];
  // each greedy token is the argmax of a plain forward pass over the window the model saw
  const windowStart = (n: number) => (n <= 8 ? 0 : n <= 13 ? 5 : 10);
  for (let n = 3; n < seq.length; n++) {
    const w = seq.slice(windowStart(n), n);
    const y = tf.tidy(() => m.forward(tf.tensor2d(w, [1, w.length], 'int32')).arraySync() as number[][][]);
    const last = y[0][w.length - 1];
    assert.equal(seq[n], last.indexOf(Math.max(...last)), `token ${n} from window [${windowStart(n)}, ${n})`);
  }
  assert.throws(() => generate(m, [], { maxTokens: 1 }), /at least one token/);
  assert.throws(() => generate(m, [11], { maxTokens: 1 }), /not in \[0, 11\)/);
  m.dispose();
});

test('pngToGray: an 8-bit grayscale 28×28 PNG is read as is; colour, alpha and size are converted', () => {
  const gray = new PNG({ width: 28, height: 28, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  const pixels = Buffer.from(Array.from({ length: 784 }, (_, i) => (i * 7) % 256));
  gray.data = pixels;
  const bytes = PNG.sync.write(gray, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
  const g = pngToGray(bytes, 'g.png', 28, 28);
  assert.deepEqual(Array.from(g.pixels), Array.from(pixels));
  assert.deepEqual(g.notes, []);
  // 56×56 RGBA of 2×2 blocks, half transparent: area averaging gives each block's luma × alpha exactly
  const big = new PNG({ width: 56, height: 56 });
  for (let y = 0; y < 56; y++)
    for (let x = 0; x < 56; x++) {
      const v = (Math.floor(y / 2) * 28 + Math.floor(x / 2)) % 200;
      big.data.set([v, v, v, x < 28 ? 255 : 0], 4 * (y * 56 + x));
    }
  const h = pngToGray(PNG.sync.write(big), 'big.png', 28, 28);
  for (let y = 0; y < 28; y++)
    for (let x = 0; x < 28; x++)
      assert.equal(h.pixels[y * 28 + x], x < 14 ? (y * 28 + x) % 200 : 0, `pixel ${y},${x}`);
  assert.deepEqual(h.notes, [
    'converted from colour to grayscale (BT.601 luma)',
    'composited over black by its alpha channel',
    'resized from 56×56 to 28×28 (area average)',
  ]);
  assert.throws(
    () => pngToGray(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]), 'bad.png', 28, 28),
    /bad\.png: not a readable PNG/,
  );
});
