// Our torch-layout export against PyTorch (python/laurel_torch.py): the logits of the same weights on the same
// batch agree to 1e-5, and our names, shapes and dtypes are exactly the torch modules' state dicts (so that
// load_state_dict(strict=True) works). The reference comes from the committed fixture that
// test/fixtures/make_torch_export_fixtures.py writes; a second test runs that script live when torch is installed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../src/engine/index.ts';
import { buildModel } from '../../src/models/index.ts';
import { exportLayout } from '../../src/models/safetensors.ts';
import { setup } from '../engine/helpers.ts';
import {
  CASES,
  IMAGENET_CASES,
  NAME_SPECS,
  buildCaseModel,
  caseInput,
  caseInputFile,
  caseWeights,
} from './cases.ts';

interface Reference {
  cases: Record<string, { sha256: string; shape: number[]; logits: number[] }>;
  state_dicts: Record<string, [string, number[], string][]>;
}

const ROOT = join(import.meta.dirname, '..', '..');
const SCRIPT = join(ROOT, 'test', 'fixtures', 'make_torch_export_fixtures.py');
const fixture = JSON.parse(
  readFileSync(join(ROOT, 'test', 'fixtures', 'torch_export_logits.json'), 'utf8'),
) as Reference;

/** |ours − torch| ≤ 1e-5·max(1, |torch|) for every logit; returns the worst relative error. */
function assertClose(ours: Float32Array | number[], ref: number[], what: string): number {
  assert.equal(ours.length, ref.length, `${what}: ${ours.length} logits, torch has ${ref.length}`);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(ours[i] - ref[i]) / Math.max(1, Math.abs(ref[i]));
    worst = Math.max(worst, err);
    assert.ok(err <= 1e-5, `${what}[${i}]: ours ${ours[i]}, torch ${ref[i]}`);
  }
  return worst;
}

/** Our logits for a case, and its exported weights. */
function runCase(c: (typeof CASES)[number]): {
  logits: Float32Array;
  weights: Uint8Array;
  input: Uint8Array;
} {
  const model = buildCaseModel(c);
  const x = caseInput(c);
  try {
    const y = (model.forward as (t: tf.Tensor) => tf.Tensor)(x);
    const logits = y.dataSync() as Float32Array;
    y.dispose();
    return { logits, weights: caseWeights(c, model), input: caseInputFile(x) };
  } finally {
    model.dispose();
    x.dispose();
  }
}

for (const c of [...CASES, ...IMAGENET_CASES]) {
  test(`${c.name}: our logits equal PyTorch's on the exported weights (committed fixture, 1e-5)`, () => {
    const ref = fixture.cases[c.name];
    assert.ok(ref, `fixture lacks ${c.name}: rerun ${SCRIPT}`);
    const { logits, weights } = runCase(c);
    const sha = createHash('sha256').update(weights).digest('hex');
    assert.equal(sha, ref.sha256, 'we export the very file PyTorch was given');
    assertClose(logits, ref.logits, c.name);
  });
}

// The same comparison on the native backend (fused LAUREL kernels, OpenBLAS), where the addon is built.
const { addon, error } = loadAddon();
test(
  "native backend: our logits equal PyTorch's too (1e-5)",
  { skip: addon ? false : `native backend unavailable: ${error}` },
  async () => {
    await setup();
    await tf.setBackend('native');
    try {
      for (const c of CASES)
        assertClose(runCase(c).logits, fixture.cases[c.name].logits, `${c.name} (native)`);
    } finally {
      await tf.setBackend('cpu');
    }
  },
);

test('torch layout: names, shapes and dtypes equal the torch modules’ state dicts, every variant and family', () => {
  for (const [key, spec] of Object.entries(NAME_SPECS)) {
    const model = buildModel(spec);
    try {
      const ours = exportLayout(model, 'torch')
        .map((e) => [e.name, e.shape, e.dtype === 'F32' ? 'float32' : 'int64'] as [string, number[], string])
        .sort((a, b) => a[0].localeCompare(b[0]));
      const theirs = [...fixture.state_dicts[key]].sort((a, b) => a[0].localeCompare(b[0]));
      assert.deepEqual(ours, theirs, key);
    } finally {
      model.dispose();
    }
  }
});

const hasTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

test(
  'live: PyTorch loads our export (strict) and gives our logits',
  { skip: hasTorch ? false : '/usr/bin/python3 has no torch' },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'laurel-interop-'));
    try {
      const ours = new Map<string, Float32Array>();
      for (const c of [...CASES, ...IMAGENET_CASES]) {
        const { logits, weights, input } = runCase(c);
        writeFileSync(join(dir, `${c.name}.safetensors`), weights);
        writeFileSync(join(dir, `${c.name}.input.safetensors`), input);
        ours.set(c.name, logits);
      }
      writeFileSync(join(dir, 'name-specs.json'), JSON.stringify(NAME_SPECS));
      const r = spawnSync('/usr/bin/python3', [SCRIPT, '--weights', dir, '--print'], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      assert.equal(r.status, 0, r.stderr);
      const live = JSON.parse(r.stdout) as Reference;
      for (const c of [...CASES, ...IMAGENET_CASES])
        assertClose(ours.get(c.name)!, live.cases[c.name].logits, `${c.name} (live)`);
      assert.deepEqual(live.state_dicts, fixture.state_dicts, 'the committed names are current');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
