// Writes the Fashion-MNIST sample that the browser example ships (data/sample.bin + data/sample.json) from the
// Debian package's files (apt-get install dataset-fashion-mnist): the first 200 training and 50 test images of
// each class, in dataset order. Run: node --import tsx examples/browser/make-sample.ts
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_FASHION_MNIST_DIR } from '../../src/data/fashion-mnist.ts';
import { readIdxImages, readIdxLabels } from '../../src/data/idx.ts';

const PER_CLASS = { train: 200, t10k: 50 } as const;
const CLASSES = 10;
const PIXELS = 28 * 28;

const parts: Uint8Array[] = [];
const meta: Record<string, number> = {};
for (const split of ['train', 't10k'] as const) {
  const images = readIdxImages(join(DEFAULT_FASHION_MNIST_DIR, `${split}-images-idx3-ubyte.gz`)).data;
  const labels = readIdxLabels(join(DEFAULT_FASHION_MNIST_DIR, `${split}-labels-idx1-ubyte.gz`)).data;
  const taken = new Array(CLASSES).fill(0);
  const picked: number[] = [];
  for (let i = 0; i < labels.length && picked.length < CLASSES * PER_CLASS[split]; i++) {
    if (taken[labels[i]] < PER_CLASS[split]) {
      taken[labels[i]]++;
      picked.push(i);
    }
  }
  const x = new Uint8Array(picked.length * PIXELS);
  picked.forEach((i, j) => x.set(images.subarray(i * PIXELS, (i + 1) * PIXELS), j * PIXELS));
  parts.push(
    x,
    Uint8Array.from(picked, (i) => labels[i]),
  );
  meta[split === 'train' ? 'train' : 'test'] = picked.length;
}
const out = join(import.meta.dirname, 'data');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'sample.bin'), Buffer.concat(parts));
writeFileSync(
  join(out, 'sample.json'),
  `${JSON.stringify({ ...meta, height: 28, width: 28, layout: 'train images, train labels, test images, test labels (uint8)' })}\n`,
);
console.log(`wrote ${meta.train} training and ${meta.test} test images to ${out}`);
