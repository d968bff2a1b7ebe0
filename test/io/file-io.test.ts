import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { fileIO } from '../../src/io/file-io.ts';
import { tinyTmpfs } from '../cli/fixtures.ts';

const dense = (units: number, inputs: number) =>
  tf.sequential({ layers: [tf.layers.dense({ units, inputShape: [inputs] })] });

test('fileIO: a save that fails (ENOSPC) leaves the old model whole and no temporary file', async (t) => {
  const fs = tinyTmpfs(256 * 1024);
  if (!fs) return t.skip('needs root to mount a tmpfs');
  const small = dense(3, 4);
  const big = dense(300, 300); // 361 KB of weights: more than the disk holds
  try {
    await small.save(fileIO(fs.dir));
    await assert.rejects(big.save(fileIO(fs.dir)), /ENOSPC/);
    assert.deepEqual(readdirSync(fs.dir).sort(), ['model.json', 'weights.bin']);
    const loaded = await tf.loadLayersModel(fileIO(fs.dir));
    assert.deepEqual(
      loaded.getWeights().map((w) => Array.from(w.dataSync())),
      small.getWeights().map((w) => Array.from(w.dataSync())),
    );
    loaded.dispose();
  } finally {
    small.dispose();
    big.dispose();
    fs.unmount();
  }
});
