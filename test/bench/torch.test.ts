// bench/torch/step.py against our models: --help, the dry run's parameter structure, and the loss and
// gradients on the same weights and batch. Skipped when /usr/bin/python3 (or $LAUREL_TORCH_PYTHON) has no torch.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  DRY_CONFIG,
  TORCH_SCRIPT,
  buildCase,
  checkAgainstTorch,
  compareStructure,
  runTorch,
  structureOf,
  torchPython,
} from '../../bench/models.ts';

await tf.setBackend('cpu');

function torchMissing(): string | false {
  const r = spawnSync(torchPython(), ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.error) return `${torchPython()} not runnable: ${r.error.message}`;
  if (r.status !== 0) return `${torchPython()} has no torch`;
  return false;
}
const skip = torchMissing();

test('step.py --help exits 0 without importing torch', { skip }, () => {
  const r = spawnSync(torchPython(), [TORCH_SCRIPT, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /usage: step\.py/);
  assert.match(r.stdout, /--dry/);
});

test('dry run: every PyTorch model has our parameter names, sizes and decay split', { skip }, async () => {
  const run = await runTorch(DRY_CONFIG, { dry: true });
  assert.ok(run.available, run.available ? '' : run.reason);
  assert.equal(run.results.length, DRY_CONFIG.models.length * DRY_CONFIG.residuals.length);
  for (const r of run.results) {
    const c = buildCase(DRY_CONFIG, r.model, r.residual);
    try {
      assert.equal(compareStructure(structureOf(c.model), r.structure), null, `${r.model} ${r.residual}`);
      assert.equal(r.params, c.model.parameterCount());
      assert.ok(Number.isFinite(r.loss));
      assert.equal(r.torch_ms, undefined, 'dry mode does not time');
    } finally {
      c.dispose();
    }
  }
});

test(
  'same weights and batch: PyTorch gives our loss and gradient norms (rw+lr, LAUREL weights randomized)',
  { skip },
  async () => {
    for (const model of ['resnet', 'gpt'] as const) {
      const r = await checkAgainstTorch(DRY_CONFIG, model, 'rw+lr');
      assert.ok(
        Math.abs(r.loss - r.torchLoss) <= 1e-5 * Math.max(1, Math.abs(r.torchLoss)),
        JSON.stringify(r),
      );
      assert.ok(r.maxGradNormRelErr < 1e-3, JSON.stringify(r));
    }
  },
);
