import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DEFAULT_FASHION_MNIST_DIR } from '../../src/data/fashion-mnist.ts';
import { encodeIdx, parseIdx, readIdx, readIdxImages, readIdxLabels } from '../../src/data/idx.ts';

const tmp = mkdtempSync(join(tmpdir(), 'laurel-idx-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function write(name: string, bytes: Uint8Array): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

const pixels = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 7);
const good = encodeIdx([2, 3, 4], pixels);

test('reads the real Fashion-MNIST label files: 60000 and 10000 labels in 0..9', () => {
  const tr = readIdxLabels(join(DEFAULT_FASHION_MNIST_DIR, 'train-labels-idx1-ubyte.gz'));
  const te = readIdxLabels(join(DEFAULT_FASHION_MNIST_DIR, 't10k-labels-idx1-ubyte.gz'));
  assert.deepEqual(tr.dims, [60000]);
  assert.deepEqual(te.dims, [10000]);
  assert.equal(Math.max(...te.data), 9);
  // Fashion-MNIST is balanced: 6000 per class in train.
  const counts = new Array(10).fill(0);
  for (const v of tr.data) counts[v]++;
  assert.deepEqual(counts, new Array(10).fill(6000));
});

test('reads the real Fashion-MNIST test images: [10000, 28, 28]', () => {
  const te = readIdxImages(join(DEFAULT_FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'));
  assert.deepEqual(te.dims, [10000, 28, 28]);
  assert.equal(te.data.length, 10000 * 784);
});

test('round-trips raw and gzip files', () => {
  const raw = readIdx(write('ok-raw', good), { dims: [2, 3, 4] });
  assert.deepEqual(raw.dims, [2, 3, 4]);
  assert.deepEqual(Array.from(raw.data), Array.from(pixels));
  const gz = readIdx(write('ok.gz', gzipSync(good)), { magic: 0x803 });
  assert.deepEqual(Array.from(gz.data), Array.from(pixels));
});

test('bad magic number', () => {
  const bad = good.slice();
  bad[2] = 0x0d; // float type instead of ubyte
  const p = write('bad-magic', bad);
  assert.throws(
    () => readIdx(p),
    (e: Error) => e.message.includes(p) && /bad magic number/.test(e.message),
  );
  // A label file where images are expected.
  const labels = write('labels', encodeIdx([4], new Uint8Array(4)));
  assert.throws(() => readIdxImages(labels), /bad magic number 0x00000801, expected 0x00000803/);
});

test('truncated data and truncated header', () => {
  const p = write('trunc', good.subarray(0, good.length - 5));
  assert.throws(
    () => readIdx(p),
    (e: Error) => e.message.startsWith(p) && /truncated.*5 missing/.test(e.message),
  );
  assert.throws(() => parseIdx(good.subarray(0, 10), 'h'), /h: truncated header/);
  assert.throws(() => parseIdx(new Uint8Array(2), 'tiny'), /tiny: too short/);
});

test('size mismatch (trailing bytes) and unexpected dimensions', () => {
  const extra = new Uint8Array(good.length + 3);
  extra.set(good);
  assert.throws(() => parseIdx(extra, 'x'), /x: size mismatch.*3 extra bytes/);
  assert.throws(() => parseIdx(good, 'd', { dims: [2, 28, 28] }), /d: dimension 1 is 3, expected 28/);
});

test('not gzip although named .gz, and a corrupted gzip stream', () => {
  const p = write('fake.gz', good);
  assert.throws(
    () => readIdx(p),
    (e: Error) => e.message.includes(p) && /not a gzip file/.test(e.message),
  );
  const gz = gzipSync(good);
  const q = write('cut.gz', gz.subarray(0, gz.length - 12));
  assert.throws(
    () => readIdx(q),
    (e: Error) => e.message.includes(q) && /corrupted or truncated gzip/.test(e.message),
  );
});

test('a missing file names the path', () => {
  const p = join(tmp, 'nope-idx3-ubyte');
  assert.throws(
    () => readIdx(p),
    (e: Error) => e.message.includes(p) && /ENOENT/.test(e.message),
  );
});
