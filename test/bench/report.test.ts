// The shape of runBench's report on a dry configuration (tiny models, cpu backend). Speed is not tested.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BenchReport, runBench } from '../../bench/index.ts';
import { DRY_CONFIG } from '../../bench/models.ts';

const quiet = () => {};

async function dryRun(skipTorch: boolean): Promise<{ report: BenchReport; printed: string }> {
  let printed = '';
  const report = await runBench({
    dry: true,
    json: true,
    backend: 'cpu',
    skipTorch,
    out: (s) => {
      printed += s;
    },
    log: quiet,
  });
  return { report, printed };
}

function checkShape(report: BenchReport, printed: string): void {
  assert.deepEqual(JSON.parse(printed), report, 'prints exactly the returned object, as one JSON document');
  assert.equal(report.backend, 'cpu');
  assert.ok(Number.isInteger(report.threads) && report.threads >= 1);
  assert.equal(report.gemm, null);
  assert.equal(typeof report.gemm_reason, 'string');
  assert.equal(report.models.length, 4);
  const keys = report.models.map((m) => `${m.model}/${m.residual}`).sort();
  assert.deepEqual(keys, ['gpt/baseline', 'gpt/rw+lr', 'resnet20/baseline', 'resnet20/rw+lr']);
  for (const m of report.models) {
    assert.ok(m.native_ms > 0);
    assert.ok(m.params > 0);
    assert.ok(m.torch_ms === null || m.torch_ms > 0);
    assert.equal(m.ratio === null, m.torch_ms === null);
    if (m.torch_ms === null) assert.equal(typeof m.torch_reason, 'string');
    else assert.ok(m.torch_threads !== null);
    assert.equal(m.leaked_tensors, 0, `${m.model} ${m.residual} leaks tensors`);
  }
  for (const k of ['resnet', 'gpt'] as const) {
    const v = report.laurel_overhead[k];
    assert.ok(typeof v === 'number' && v > 0);
  }
  assert.equal(report.equivalence, null, 'dry mode skips the numerical check');
  assert.equal(report.equivalence_reason, 'skipped');
  assert.ok(report.conv_filter_grad === 'conv' || report.conv_filter_grad === 'tfjs');
  assert.equal(report.mode, 'dry');
  assert.ok(!Number.isNaN(Date.parse(report.date)));
  assert.ok(report.git === null || typeof report.git === 'string');
}

test('runBench (dry, no torch): one JSON object, torch_ms null with a reason', async () => {
  const { report, printed } = await dryRun(true);
  checkShape(report, printed);
  assert.equal(report.torch.available, false);
  for (const m of report.models) {
    assert.equal(m.torch_ms, null);
    assert.equal(m.torch_reason, 'skipped');
    assert.equal(m.structure_match, null);
  }
});

test('runBench (dry, with torch when installed): structures match PyTorch', async () => {
  const { report, printed } = await dryRun(false);
  checkShape(report, printed);
  if (!report.torch.available) {
    assert.equal(typeof report.torch.reason, 'string');
    return;
  }
  for (const m of report.models) {
    assert.equal(m.structure_match, true, m.structure_diff);
    assert.equal(m.torch_params, m.params);
    assert.equal(m.torch_ms, null, 'dry mode does not time');
  }
});

test("runBench (tiny config): our steps interleaved with PyTorch's when installed", async () => {
  let printed = '';
  const report = await runBench({
    config: { ...DRY_CONFIG, steps: 2 },
    json: true,
    backend: 'cpu',
    skipGemm: true,
    skipCheck: true,
    out: (s) => {
      printed += s;
    },
    log: quiet,
  });
  assert.deepEqual(JSON.parse(printed), report);
  assert.equal(report.mode, 'custom');
  assert.equal(report.timing, 'interleaved');
  assert.ok(typeof report.laurel_overhead_paired?.resnet === 'number');
  assert.equal(report.models.length, 4);
  for (const m of report.models) {
    assert.ok(m.native_ms > 0);
    assert.equal(m.leaked_tensors, 0);
    if (report.torch.available) {
      assert.ok(m.torch_ms !== null && m.torch_ms > 0, `${m.model} ${m.residual}: ${m.torch_reason}`);
      assert.ok(m.ratio !== null && m.ratio > 0);
      assert.ok(m.ratio_paired !== null && m.ratio_paired > 0);
      assert.equal(m.torch_steps_ms?.length, 2);
      assert.equal(m.torch_threads, 1);
      assert.equal(m.structure_match, true, m.structure_diff);
    } else {
      assert.equal(m.torch_ms, null);
      assert.equal(typeof m.torch_reason, 'string');
    }
  }
});
