/**
 * Paired trials (common random numbers): for one seed, every row of an experiment, built the way the trainer
 * builds it from the row's own `laurel train` arguments, sees the same first batches and starts from the same
 * weights for the parts the rows share. LAUREL at init is the identity, so the baseline and RW+LR give the same
 * logits at step 0; a naive-scaling block or layer draws from a stream of its own and shifts no shared weight.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { parseFlags } from '../../src/cli/flags.ts';
import { type Run, resolveDefaults, setupRun } from '../../src/cli/setup.ts';
import { TRAIN_CMD_FLAGS } from '../../src/cli/train.ts';
import { getExperiment } from '../../src/experiments/definitions/index.ts';
import { buildTrialArgs } from '../../src/experiments/trial.ts';
import type { Model } from '../../src/train/task.ts';

const SEED = 2;

/** The trainer's run for one row of an experiment at the smoke budget (model, data, task; nothing trained). */
function rowRun(experiment: 'vision' | 'lm', rowId: string): Run {
  const row = getExperiment(experiment)
    .rows('smoke')
    .find((r) => r.id === rowId);
  assert.ok(row, `${experiment} has a row ${rowId}`);
  const argv = buildTrialArgs({ experiment, row: row.id, seed: SEED, out: '/nonexistent', train: row.train });
  const { values } = parseFlags(argv.slice(1), TRAIN_CMD_FLAGS, 'train');
  return setupRun(resolveDefaults(values));
}

function firstBatches(run: Run, n: number): { inputs: number[]; targets: number[] }[] {
  return Array.from({ length: n }, () => {
    const b = run.task.nextBatch();
    const out = { inputs: Array.from(b.inputs.dataSync()), targets: Array.from(b.targets.dataSync()) };
    b.inputs.dispose();
    b.targets.dispose();
    return out;
  });
}

function logits(run: Run, inputs: tf.Tensor): Float32Array {
  return tf.tidy(() => (run.model as Model).forward(inputs).dataSync() as Float32Array);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function params(run: Run): Map<string, Float32Array> {
  return new Map(
    (run.model as Model).namedParameters().map((p) => [p.name, p.variable.dataSync() as Float32Array]),
  );
}

for (const [experiment, laurelRows, extraRow] of [
  ['vision', ['rw', 'rw-lr-r16', 'rw-lr-pa-r16-k3'], 'extra-block'],
  ['lm', ['rw', 'lr', 'pa', 'rw-lr', 'rw-lr-pa'], 'baseline-extra'],
] as const) {
  test(`${experiment}: one seed, every row sees the same batches; LAUREL rows give the baseline's logits at step 0`, () => {
    const base = rowRun(experiment, 'baseline');
    const baseBatches = firstBatches(base, 2);
    const probe = base.task.nextBatch();
    const baseLogits = logits(base, probe.inputs);
    for (const id of [...laurelRows, extraRow]) {
      const run = rowRun(experiment, id);
      assert.deepEqual(firstBatches(run, 2), baseBatches, `${id}: first batches`);
      if (id === extraRow) continue;
      const d = maxAbsDiff(logits(run, probe.inputs), baseLogits);
      // LAUREL at init: α = β = 1, U = 0, PA's γ = 0: the same sums as the baseline, up to float rounding
      assert.ok(d <= 1e-5, `${id}: logits at step 0 differ from the baseline's by ${d}`);
      const shared = params(base);
      for (const [name, v] of params(run)) {
        if (shared.has(name)) assert.deepEqual(v, shared.get(name), `${id}: ${name}`);
      }
      run.model.dispose();
    }
    probe.inputs.dispose();
    probe.targets.dispose();
    base.model.dispose();
  });

  test(`${experiment}: the naive-scaling row shares every weight of the baseline (its extra block draws apart)`, () => {
    const base = params(rowRun(experiment, 'baseline'));
    const extra = rowRun(experiment, extraRow);
    const mine = params(extra);
    let compared = 0;
    for (const [name, v] of base) {
      const w = mine.get(name);
      assert.ok(w, `${extraRow} has ${name}`);
      compared++;
      if (experiment === 'lm' && name.endsWith('proj.kernel')) {
        // GPT-2's output projections are scaled by 1/√(2·L_total): the same normals, rescaled by √(L/(L+1))
        const L = extra.spec.layers as number;
        const k = Math.sqrt(L / (L + 1));
        const d = maxAbsDiff(
          w.map((x) => x / k),
          v,
        );
        assert.ok(d <= 1e-6, `${name}: not the baseline's normals rescaled (${d})`);
      } else assert.deepEqual(w, v, name);
    }
    assert.ok(mine.size > base.size && compared === base.size);
    extra.model.dispose();
  });
}
