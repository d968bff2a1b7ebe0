import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  type CheckpointState,
  assignNamed,
  hasCheckpoint,
  loadCheckpoint,
  saveCheckpoint,
} from '../../src/train/checkpoint.ts';

await tf.setBackend('cpu');

function state(step: number): CheckpointState {
  return {
    params: { 'a.kernel': tf.tensor([[1, 2, 3]]), 'a.bias': tf.tensor([step]) },
    buffers: { 'bn.mean': tf.tensor([0.5, -0.5]), count: tf.tensor([7], [1], 'int32') },
    optimizer: { meta: { type: 'adamw', step }, tensors: { 'a.kernel/m': tf.tensor([[0.1, 0.2, 0.3]]) } },
    step,
    epoch: 2,
    data: { epoch: 2, position: 64, rng: 123 },
    rng: 99,
    config: { model: 'tiny' },
    best: { metric: 'accuracy', value: 0.5, step: 3 },
  };
}

test('checkpoint round trip keeps every tensor, dtype and field; one blob remains', () => {
  const dir = mkdtempSync(join(tmpdir(), 'laurel-ckpt-'));
  assert.equal(hasCheckpoint(dir), false);
  saveCheckpoint(dir, state(5));
  saveCheckpoint(dir, state(6));
  assert.equal(hasCheckpoint(dir), true);
  const files = readdirSync(join(dir, 'checkpoint')).sort();
  assert.equal(files.length, 2);
  assert.equal(files[1], 'manifest.json');
  assert.match(files[0], /^blob-00000006-.*\.bin$/);
  const c = loadCheckpoint(dir);
  assert.equal(c.step, 6);
  assert.deepEqual(c.data, { epoch: 2, position: 64, rng: 123 });
  assert.deepEqual(c.best, { metric: 'accuracy', value: 0.5, step: 3 });
  assert.deepEqual(c.optimizer.meta, { type: 'adamw', step: 6 });
  assert.deepEqual(Array.from(c.params['a.bias'].dataSync()), [6]);
  assert.deepEqual(c.params['a.kernel'].shape, [1, 3]);
  assert.equal(c.buffers.count.dtype, 'int32');
  assert.deepEqual(
    Array.from(c.optimizer.tensors['a.kernel/m'].dataSync()),
    Array.from(new Float32Array([0.1, 0.2, 0.3])),
  );
  const v = [{ name: 'a.bias', variable: tf.variable(tf.zeros([1])) }];
  assignNamed(v, { 'a.bias': c.params['a.bias'] }, 'parameter');
  assert.deepEqual(Array.from(v[0].variable.dataSync()), [6]);
  assert.throws(() => assignNamed(v, c.params, 'parameter'), /parameter 'a.kernel' that this model lacks/);
  assert.throws(() => assignNamed(v, {}, 'parameter'), /lacks parameter 'a.bias'/);
  c.dispose();
});

test('a truncated, corrupted or missing checkpoint gives a clear error; stale temp files are harmless', () => {
  const dir = mkdtempSync(join(tmpdir(), 'laurel-ckpt-'));
  assert.throws(() => loadCheckpoint(dir), /no checkpoint in .*checkpoint \(manifest.json is missing\)/);
  saveCheckpoint(dir, state(1));
  const ck = join(dir, 'checkpoint');
  // a crash mid-write of the next checkpoint leaves temp files; the committed one still loads
  writeFileSync(join(ck, 'blob-00000002-1-x.bin.tmp'), 'partial');
  writeFileSync(join(ck, 'manifest.json.tmp'), '{"form');
  loadCheckpoint(dir).dispose();
  const blob = readdirSync(ck).find((f) => f.endsWith('.bin'))!;
  const bytes = readFileSync(join(ck, blob));
  bytes[3] ^= 0xff;
  writeFileSync(join(ck, blob), bytes);
  assert.throws(() => loadCheckpoint(dir), /fails its SHA-256 check \(corrupted\)/);
  truncateSync(join(ck, blob), 10);
  assert.throws(() => loadCheckpoint(dir), /has 10 bytes, the manifest expects \d+ \(truncated\?\)/);
  const manifest = readFileSync(join(ck, 'manifest.json'), 'utf8');
  writeFileSync(join(ck, 'manifest.json'), manifest.slice(0, 50));
  assert.throws(() => loadCheckpoint(dir), /bad checkpoint in .*manifest.json is not valid JSON/);
});
