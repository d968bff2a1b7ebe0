// Incremental decoding: the GPT's logits with a key/value cache (a prefill, then one token at a time) equal a
// full recompute of the whole sequence at every position, for every LAUREL variant and placement, with learned
// and rotary positions, on the cpu backend and on native.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../src/engine/index.ts';
import { VARIANTS, type Variant, residualConfig } from '../../src/laurel/index.ts';
import { type Gpt, type Placement, buildModel } from '../../src/models/index.ts';
import { setup } from '../engine/helpers.ts';
import { perturbLaurel } from '../models/helpers.ts';

const cfg = (v: Variant) =>
  v === 'general'
    ? residualConfig(v, { g: (x, prev) => (prev.length ? tf.add(x, tf.mul(prev[0], 0.5)) : x) })
    : residualConfig(v, v === 'baseline' || v === 'rw' ? {} : { rank: 4 });

const seq = [
  [1, 5, 2, 9, 12, 0, 3, 8, 4, 10],
  [7, 7, 4, 1, 2, 11, 6, 0, 12, 3],
];
const T = seq[0].length;

/** Largest |a − b| / (1 + |b|) between the full forward's logits and the cached ones, over every position. */
function cachedVsFull(m: Gpt, prefill: number): number {
  const full = tf.tidy(() => m.forward(tf.tensor2d(seq, [2, T], 'int32')));
  const want = full.arraySync() as number[][][];
  full.dispose();
  const cache = m.newCache();
  let worst = 0;
  const compare = (logits: tf.Tensor3D, from: number) => {
    const got = logits.arraySync() as number[][][];
    logits.dispose();
    for (let b = 0; b < 2; b++)
      for (let t = 0; t < got[b].length; t++)
        for (let v = 0; v < got[b][t].length; v++) {
          const w = want[b][from + t][v];
          worst = Math.max(worst, Math.abs(got[b][t][v] - w) / (1 + Math.abs(w)));
        }
  };
  const step = (from: number, to: number) => {
    const tok = tf.tensor2d(
      seq.map((r) => r.slice(from, to)),
      [2, to - from],
      'int32',
    );
    compare(m.forward(tok, cache), from);
    tok.dispose();
  };
  step(0, prefill);
  for (let t = prefill; t < T; t++) step(t, t + 1);
  assert.equal(cache.length, T);
  // a prefill in two chunks (queries after the cached keys with their own causal mask) agrees as well
  cache.dispose();
  step(0, 2);
  step(2, T);
  cache.dispose();
  return worst;
}

async function everyVariant(backend: string): Promise<void> {
  await tf.setBackend(backend);
  for (const v of VARIANTS) {
    for (const placement of ['block', 'both'] as Placement[]) {
      for (const positions of ['learned', 'rotary'] as const) {
        const m = buildModel({
          model: 'gpt',
          layers: 3,
          dim: 16,
          heads: 2,
          context: 12,
          vocab: 13,
          placement,
          positions,
          residual: cfg(v),
        }) as Gpt;
        perturbLaurel(m, 7);
        const err = cachedVsFull(m, 3);
        assert.ok(err <= 1e-5, `${backend} ${v} ${placement} ${positions}: cached logits off by ${err}`);
        // the first run made the model's per-length masks and rotary tables; a second one must add nothing
        const inside = tf.memory().numTensors;
        cachedVsFull(m, 3);
        assert.equal(tf.memory().numTensors, inside, `${backend} ${v}: cached decoding leaked tensors`);
        m.dispose();
      }
    }
  }
}

test('cached logits equal a full recompute at every position (cpu): every variant, placement, position kind', async () => {
  await setup();
  await everyVariant('cpu');
});

const { addon, error } = loadAddon();
test(
  'cached logits equal a full recompute at every position (native backend)',
  { skip: addon ? false : `native backend unavailable: ${error}` },
  async () => {
    await setup();
    await everyVariant('native');
  },
);

test('the cache refuses positions past the context and a different batch size', async () => {
  await setup();
  await tf.setBackend('cpu');
  const m = buildModel({ model: 'gpt', layers: 1, dim: 8, heads: 2, context: 4, vocab: 5 }) as Gpt;
  const cache = m.newCache();
  tf.dispose(m.forward(tf.tensor2d([[1, 2, 3]], [1, 3], 'int32'), cache));
  assert.throws(() => m.forward(tf.tensor2d([[1, 2]], [1, 2], 'int32'), cache), /5 \(3 cached\) > context 4/);
  assert.throws(() => m.forward(tf.tensor2d([[1], [2]], [2, 1], 'int32'), cache), /batch 2/);
  cache.dispose();
  m.dispose();
});
