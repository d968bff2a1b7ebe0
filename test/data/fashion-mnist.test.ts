import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '../../src/data/fashion-mnist.ts';
import { encodeIdx } from '../../src/data/idx.ts';

const tmp = mkdtempSync(join(tmpdir(), 'laurel-fm-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('loads the real Fashion-MNIST: 55000/5000/10000, 28x28x1, [0,1], disjoint val split', () => {
  const d = loadFashionMnist({ seed: 1 });
  assert.equal(d.train.n, 55000);
  assert.equal(d.val.n, 5000);
  assert.equal(d.test.n, 10000);
  assert.equal(d.train.x.length, 55000 * 28 * 28);
  assert.deepEqual([d.test.height, d.test.width, d.test.channels, d.test.numClasses], [28, 28, 1, 10]);
  assert.equal(d.classNames.length, 10);
  assert.equal(d.classNames[9], FASHION_MNIST_CLASSES[9]);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of d.test.x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  assert.equal(lo, 0);
  assert.equal(hi, 1);
  // The known pixel statistics of Fashion-MNIST (mean 0.286, std 0.353).
  assert.ok(Math.abs(d.mean - 0.286) < 0.005, `mean ${d.mean}`);
  assert.ok(Math.abs(d.std - 0.353) < 0.005, `std ${d.std}`);
});

function writeSet(dir: string, n: number, opts: { labels?: number; skip?: string } = {}) {
  const imgs = new Uint8Array(n * 4 * 4);
  for (let i = 0; i < n; i++) imgs.fill(i * 10, i * 16, (i + 1) * 16); // image i is constant i*10
  const lbls = Uint8Array.from({ length: opts.labels ?? n }, (_, i) => i % 3);
  for (const split of ['train', 't10k']) {
    if (opts.skip !== `${split}-labels`)
      writeFileSync(join(dir, `${split}-labels-idx1-ubyte`), encodeIdx([lbls.length], lbls));
    writeFileSync(join(dir, `${split}-images-idx3-ubyte`), encodeIdx([n, 4, 4], imgs));
  }
}

test('user data folder: seeded random val split is deterministic, disjoint and covers train', () => {
  const dir = mkdtempSync(join(tmp, 'ok-'));
  writeSet(dir, 20);
  const a = loadFashionMnist({ dir, valSize: 5, seed: 3 });
  const b = loadFashionMnist({ dir, valSize: 5, seed: 3 });
  const c = loadFashionMnist({ dir, valSize: 5, seed: 4 });
  const ids = (s: { x: Float32Array; n: number }) =>
    Array.from({ length: s.n }, (_, i) => Math.round(s.x[i * 16] * 255) / 10);
  assert.deepEqual(ids(a.val), ids(b.val));
  assert.notDeepEqual(ids(a.val), ids(c.val));
  const all = [...ids(a.train), ...ids(a.val)].sort((p, q) => p - q);
  assert.deepEqual(
    all,
    Array.from({ length: 20 }, (_, i) => i),
  );
  assert.equal(a.train.numClasses, 3);
  assert.equal(a.classNames[2], 'class 2');
  const last = loadFashionMnist({ dir, valSize: 5, valSplit: 'last' });
  assert.deepEqual(ids(last.val), [15, 16, 17, 18, 19]);
  // labels follow their images
  assert.deepEqual(Array.from(last.val.y), [0, 1, 2, 0, 1]);
});

test('normalization uses the train split statistics and sets the padding fill', () => {
  const dir = mkdtempSync(join(tmp, 'norm-'));
  writeSet(dir, 20);
  const d = loadFashionMnist({ dir, valSize: 4, normalize: true });
  let s = 0;
  let s2 = 0;
  for (const v of d.train.x) {
    s += v;
    s2 += v * v;
  }
  const m = s / d.train.x.length;
  assert.ok(Math.abs(m) < 1e-5);
  assert.ok(Math.abs(s2 / d.train.x.length - 1) < 1e-4);
  assert.ok(Math.abs(d.train.fill - -d.mean / d.std) < 1e-6);
});

test('errors: missing dir, missing file, label/image count mismatch', () => {
  assert.throws(
    () => loadFashionMnist({ dir: join(tmp, 'absent') }),
    (e: Error) =>
      /does not exist/.test(e.message) &&
      /apt-get install dataset-fashion-mnist/.test(e.message) &&
      /--data/.test(e.message),
  );
  const dir = mkdtempSync(join(tmp, 'miss-'));
  writeSet(dir, 10, { skip: 't10k-labels' });
  assert.throws(() => loadFashionMnist({ dir, valSize: 2 }), /no t10k-labels-idx1-ubyte.gz.*apt-get install/);
  const dir2 = mkdtempSync(join(tmp, 'count-'));
  writeSet(dir2, 10, { labels: 9 });
  assert.throws(() => loadFashionMnist({ dir: dir2, valSize: 2 }), /holds 9 labels but .* holds 10 images/);
  assert.throws(() => loadFashionMnist({ dir: dir2.replace('count', 'x') }), /not found/);
});
