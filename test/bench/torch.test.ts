// bench/torch/step.py and infer.py against our models: --help, the dry run's parameter structure, the loss and
// gradients on the same weights and batch, and the inference bench against PyTorch. Skipped when /usr/bin/python3
// (or $LAUREL_TORCH_PYTHON) has no torch.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { runInferenceBench } from '../../bench/inference.ts';
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

test(
  'bench --inference (dry) with PyTorch: call-by-call rounds, ratios to PyTorch, equal logits',
  { skip },
  async () => {
    let printed = '';
    const report = await runInferenceBench({
      dry: true,
      json: true,
      backend: 'cpu',
      out: (s) => {
        printed += s;
      },
      log: () => {},
    });
    assert.deepEqual(JSON.parse(printed), report);
    assert.equal(report.torch.available, true, report.torch.reason);
    for (const row of report.resnet) {
      assert.ok(row.torch_ms! > 0 && row.vs_torch!.median > 0 && row.folded_vs_torch!.median > 0);
      assert.match(row.torch_setting!, /^threads=\d,(contiguous|channels_last)$/);
    }
    for (const row of report.gpt) {
      assert.ok(row.torch_prefill_ms! > 0 && row.torch_tokens_per_s! > 0);
      for (const p of [row.prefill_vs_torch, row.decode_vs_torch]) assert.ok(p!.median > 0);
    }
    for (const v of Object.values(report.laurel_overhead)) assert.ok(v.torch!.median > 0);
    // the same weights give the same outputs on both sides
    for (const [k, e] of Object.entries(report.equivalence!) as [string, Record<string, unknown>][]) {
      if (k.startsWith('resnet'))
        assert.ok((e.torch_vs_ours as number) <= 1e-5, `${k}: ${JSON.stringify(e)}`);
      else {
        assert.ok((e.torch_vs_ours_cached as number) <= 1e-5, `${k}: ${JSON.stringify(e)}`);
        assert.equal(e.greedy_equal, true, k);
      }
    }
  },
);
