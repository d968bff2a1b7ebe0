import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageBatcher, evalImageBatches, gatherImages } from '../../src/data/image-batches.ts';
import type { ImageSet } from '../../src/data/types.ts';
import { Rng } from '../../src/util/rng.ts';

/** n images of 4x4x1 where image i has pixel (r, c) = i * 100 + r * 4 + c + 1. */
function makeSet(n: number): ImageSet {
  const x = new Float32Array(n * 16);
  for (let i = 0; i < n; i++) for (let j = 0; j < 16; j++) x[i * 16 + j] = i * 100 + j + 1;
  const y = Int32Array.from({ length: n }, (_, i) => i);
  return { x, y, n, height: 4, width: 4, channels: 1, numClasses: n, fill: -1 };
}

const set = makeSet(10);

test('batches have NHWC shape, pixels follow their labels, each epoch is a permutation', () => {
  const it = new ImageBatcher(set, { batchSize: 3, seed: 7 });
  assert.equal(it.stepsPerEpoch, 3);
  const seen: number[][] = [[], []];
  for (let s = 0; s < 6; s++) {
    const e = it.epoch;
    const b = it.next().value;
    assert.deepEqual(b.shape, [3, 4, 4, 1]);
    assert.equal(b.x.length, 3 * 16);
    for (let k = 0; k < 3; k++) assert.equal(b.x[k * 16], b.y[k] * 100 + 1);
    seen[e].push(...b.y);
  }
  assert.equal(it.epoch, 2); // both epochs consumed
  assert.equal(it.step, 6);
  for (const ep of seen) assert.equal(new Set(ep).size, 9); // drop-last: 9 distinct of 10
  assert.notDeepEqual(seen[0], seen[1]); // reshuffled
  assert.notDeepEqual(seen[0], [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

test('same seed gives the same order; a different seed a different one', () => {
  const ys = (seed: number) => {
    const it = new ImageBatcher(set, { batchSize: 2, seed });
    return Array.from({ length: 10 }, () => Array.from(it.next().value.y)).flat();
  };
  assert.deepEqual(ys(1), ys(1));
  assert.notDeepEqual(ys(1), ys(2));
});

test('save/restore mid-epoch and at an epoch boundary reproduces the uninterrupted stream, augmentation included', () => {
  const opts = { batchSize: 4, seed: 11, augment: { cropPadding: 2, flip: true } };
  const ref = new ImageBatcher(set, opts);
  const refBatches = Array.from({ length: 9 }, () => ref.next().value);
  for (const cut of [1, 2, 5]) {
    const a = new ImageBatcher(set, opts);
    for (let i = 0; i < cut; i++) a.next();
    const saved = JSON.parse(JSON.stringify(a.state()));
    const b = new ImageBatcher(set, opts);
    b.restore(saved);
    for (let i = cut; i < 9; i++) {
      const got = b.next().value;
      assert.deepEqual(Array.from(got.y), Array.from(refBatches[i].y), `cut ${cut} step ${i}`);
      assert.deepEqual(Array.from(got.x), Array.from(refBatches[i].x), `cut ${cut} step ${i}`);
    }
  }
  assert.throws(() => new ImageBatcher(set, { ...opts, seed: 12 }).restore(ref.state()), /seed 11/);
});

test('limit uses a subset; dropLast=false keeps the last partial batch', () => {
  const it = new ImageBatcher(set, { batchSize: 4, seed: 0, limit: 6, dropLast: false });
  assert.equal(it.stepsPerEpoch, 2);
  const a = it.next().value;
  const b = it.next().value;
  assert.equal(b.batchSize, 2);
  assert.deepEqual([...a.y, ...b.y].sort(), [0, 1, 2, 3, 4, 5]);
  assert.throws(() => new ImageBatcher(set, { batchSize: 20, seed: 0 }), /fewer than one batch/);
});

test('crop with padding shifts the image and fills with the set fill value; flip mirrors', () => {
  const rng = new Rng(3);
  let shifted = 0;
  for (let t = 0; t < 20; t++) {
    const b = gatherImages(set, [2], { cropPadding: 2 }, rng);
    // every pixel is either the fill or a pixel of image 2
    for (const v of b.x) assert.ok(v === -1 || (v >= 201 && v <= 216), `${v}`);
    if (b.x[5] !== 206) shifted++;
  }
  assert.ok(shifted > 10);
  // flip only: each row is either identical or reversed
  const f = gatherImages(set, [0, 0, 0, 0, 0, 0, 0, 0], { flip: true }, new Rng(1));
  let mirrored = 0;
  for (let k = 0; k < 8; k++) {
    const row = Array.from(f.x.subarray(k * 16, k * 16 + 4));
    if (row[0] === 4) {
      assert.deepEqual(row, [4, 3, 2, 1]);
      mirrored++;
    } else assert.deepEqual(row, [1, 2, 3, 4]);
  }
  assert.ok(mirrored > 0 && mirrored < 8);
  // no augmentation: exact copy
  assert.deepEqual(Array.from(gatherImages(set, [3]).x), Array.from(set.x.subarray(48, 64)));
});

test('eval batches cover the set once in order', () => {
  const bs = [...evalImageBatches(set, 4)];
  assert.deepEqual(
    bs.map((b) => b.batchSize),
    [4, 4, 2],
  );
  assert.deepEqual(
    bs.flatMap((b) => Array.from(b.y)),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
});
