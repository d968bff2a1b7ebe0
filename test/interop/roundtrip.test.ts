// Export → import (src/models/safetensors.ts): bit-identical parameters, buffers and outputs in both layouts;
// layout detection; every mismatch refused with one line, leaving the model untouched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { type Model, type ResNet, buildModel } from '../../src/models/index.ts';
import {
  WEIGHT_LAYOUTS,
  assignSafetensors,
  encodeModel,
  exportTensors,
  modelFromSafetensors,
} from '../../src/models/safetensors.ts';
import { type TensorToWrite, decodeSafetensors, encodeSafetensors } from '../../src/util/safetensors.ts';
import { CASES, buildCaseModel, caseInput } from './cases.ts';

/** Every parameter and buffer's bytes, by name. */
function state(m: Model): Map<string, Buffer> {
  const all = [...m.namedParameters(), ...m.namedBuffers()];
  return new Map(all.map((p) => [p.name, Buffer.from((p.variable.dataSync() as Float32Array).buffer)]));
}

function assertSameState(a: Model, b: Model, what: string): void {
  const sa = state(a);
  const sb = state(b);
  assert.deepEqual([...sb.keys()], [...sa.keys()], what);
  for (const [name, bytes] of sa) assert.ok(bytes.equals(sb.get(name)!), `${what}: ${name} differs`);
}

const forward = (m: Model, x: tf.Tensor) =>
  tf.tidy(() => Buffer.from((m.forward as (t: tf.Tensor) => tf.Tensor)(x).dataSync().buffer));

for (const layout of WEIGHT_LAYOUTS) {
  test(`${layout} layout: export → import gives bit-identical parameters, buffers and logits`, () => {
    for (const c of CASES) {
      const a = buildCaseModel(c);
      const b = buildModel({ ...c.spec, seed: (c.spec.seed ?? 0) + 100 }).setTraining(false);
      const x = caseInput(c);
      try {
        const n0 = tf.memory().numTensors;
        const used = assignSafetensors(b, decodeSafetensors(encodeModel(a, { layout }))).layout;
        assert.equal(tf.memory().numTensors, n0, 'no tensor leaked');
        assert.equal(used, layout, 'detected from the metadata');
        assertSameState(a, b, `${c.name} ${layout}`);
        assert.ok(forward(a, x).equals(forward(b, x)), `${c.name}: logits bit-identical`);
      } finally {
        a.dispose();
        b.dispose();
        x.dispose();
      }
    }
  });
}

test('layout detection without metadata: by the names the file holds', () => {
  const c = CASES[0];
  const a = buildCaseModel(c);
  for (const layout of WEIGHT_LAYOUTS) {
    const b = buildModel({ ...c.spec, seed: 99 });
    const bare = encodeSafetensors(exportTensors(a, { layout }));
    assert.equal(assignSafetensors(b, decodeSafetensors(bare)).layout, layout);
    assertSameState(a, b, layout);
    b.dispose();
  }
  a.dispose();
});

test('import refuses missing, extra, misshapen and integer tensors, naming them, and assigns nothing', () => {
  const c = CASES.find((k) => k.name === 'gpt-rw+lr')!;
  const a = buildCaseModel(c);
  const b = buildModel({ ...c.spec, seed: 42 });
  const before = state(b);
  const good = exportTensors(a, { layout: 'torch' });
  const variant = (edit: (t: Record<string, TensorToWrite>) => void) => {
    const t = { ...good };
    edit(t);
    return decodeSafetensors(encodeSafetensors(t), 'w.safetensors');
  };
  const refuses = (contents: ReturnType<typeof variant>, pattern: RegExp) => {
    assert.throws(
      () => assignSafetensors(b, contents, { source: 'w.safetensors' }),
      (e: Error) => pattern.test(e.message) && e.message.startsWith('safetensors: w.safetensors: '),
    );
    const after = state(b);
    for (const [name, bytes] of before) assert.ok(bytes.equals(after.get(name)!), `${name} was changed`);
  };
  // The last tensor is checked after all the others converted: nothing may be assigned before the error.
  const last = Object.keys(good).at(-1)!;
  refuses(
    variant((t) => delete t[last]),
    new RegExp(`lacks tensor '${last.replaceAll('.', '\\.')}' \\(torch layout\\)`),
  );
  refuses(
    variant((t) => {
      t['layers.0.extra.weight'] = { shape: [1], data: new Float32Array(1) };
    }),
    /has tensor 'layers\.0\.extra\.weight' that this model lacks \(torch layout\)/,
  );
  refuses(
    variant((t) => {
      t['layers.0.attn.qkv.weight'] = { shape: [32, 96], data: new Float32Array(32 * 96) };
    }),
    /tensor 'layers\.0\.attn\.qkv\.weight' has shape \[32,96\], the model needs \[96,32\] \(torch layout\)/,
  );
  refuses(
    variant((t) => {
      t[last] = { shape: good[last].shape, data: new Int32Array(good[last].data.length) };
    }),
    /has dtype I32; expected F32, F16, BF16 or F64/,
  );
  refuses(
    variant((t) => {
      t['wte.weight'] = { shape: good['wte.weight'].shape, data: good['wte.weight'].data };
      t['lnF.weight'] = { shape: [], data: new Float32Array(1) };
    }),
    /tensor 'lnF\.weight' has shape \[\], the model needs \[32\]/,
  );
  // Loading a torch file as tfjs names every tensor as foreign.
  assert.throws(
    () => assignSafetensors(b, decodeSafetensors(encodeSafetensors(good)), { layout: 'tfjs' }),
    /has tensor 'wte\.weight' that this model lacks \(tfjs layout\)/,
  );
  a.dispose();
  b.dispose();
});

test('torch layout: num_batches_tracked holds the step, must be an integer scalar, and is otherwise ignored', () => {
  const c = CASES[0];
  const a = buildCaseModel(c);
  const t = exportTensors(a, { layout: 'torch', step: 1234 });
  assert.deepEqual([...(t['bn1.num_batches_tracked'].data as BigInt64Array)], [1234n]);
  const b = buildModel({ ...c.spec, seed: 8 });
  t['bn1.num_batches_tracked'] = { shape: [1], data: new BigInt64Array([1n]) };
  assert.throws(
    () => assignSafetensors(b, decodeSafetensors(encodeSafetensors(t))),
    /'bn1\.num_batches_tracked' has shape \[1\]; expected a scalar/,
  );
  t['bn1.num_batches_tracked'] = { shape: [], data: new Float32Array([1]) };
  assert.throws(
    () => assignSafetensors(b, decodeSafetensors(encodeSafetensors(t))),
    /'bn1\.num_batches_tracked' has dtype F32; expected an integer dtype/,
  );
  a.dispose();
  b.dispose();
});

test("keepLaurel: a plain network's weights start a LAUREL model, whose LAUREL parameters keep their init", () => {
  const c = CASES.find((k) => k.name === 'resnet20-rw+lr')!;
  const plain = buildCaseModel({ ...c, spec: { ...c.spec, residual: 'baseline' } });
  const laurel = buildModel({ ...c.spec, seed: 31 });
  const init = state(laurel);
  const file = decodeSafetensors(encodeModel(plain, { layout: 'torch' }));
  assert.throws(() => assignSafetensors(laurel, file), /lacks tensor 'layer1\.0\.residual\.w'/);
  const r = assignSafetensors(laurel, file, { keepLaurel: true });
  assert.equal(r.kept.length, 9 * 3); // w, V and U of each of the 9 blocks
  const ours = state(laurel);
  const theirs = state(plain);
  for (const [name, bytes] of ours) {
    const want = name.includes('.residual.') ? init.get(name)! : theirs.get(name)!;
    assert.ok(bytes.equals(want), name);
  }
  // A file with some LAUREL parameters must have them all.
  const full = buildCaseModel(c);
  const partial = Object.fromEntries(
    Object.entries(exportTensors(full, { layout: 'torch' })).filter(([n]) => n !== 'layer3.2.residual.U'),
  );
  full.dispose();
  assert.throws(
    () => assignSafetensors(laurel, decodeSafetensors(encodeSafetensors(partial)), { keepLaurel: true }),
    /lacks tensor 'layer3\.2\.residual\.U'/,
  );
  plain.dispose();
  laurel.dispose();
});

test('modelFromSafetensors: the model from the file alone (its laurel.spec), the same state; bad metadata refused', () => {
  const c = CASES[0];
  const a = buildCaseModel(c);
  const bytes = encodeModel(a, { layout: 'torch', spec: c.spec });
  const b = modelFromSafetensors(bytes, 'w.safetensors');
  assertSameState(a, b, 'from the file alone');
  // ready to serve: a forward pass uses, and keeps, the loaded batch-norm statistics (a is in inference mode)
  assert.equal(b.training, false, 'inference mode');
  const x = caseInput(c);
  const [ya, yb] = [a, b].map((m) =>
    tf.tidy(() => Array.from((m as ResNet).forward(x as tf.Tensor4D).dataSync())),
  );
  assert.deepEqual(yb, ya);
  assertSameState(a, b, 'after a forward pass');
  x.dispose();
  a.dispose();
  b.dispose();
  const withSpec = (spec?: string) =>
    encodeSafetensors(
      { x: { shape: [1], data: new Float32Array([1]) } },
      spec === undefined ? {} : { 'laurel.spec': spec },
    );
  for (const [bad, re] of [
    [withSpec(), /^Error: safetensors: w\.st: no 'laurel\.spec' metadata to build the model from/],
    [withSpec('{oops'), /^Error: safetensors: w\.st: 'laurel\.spec' metadata is not JSON$/],
    [
      withSpec('{"model":"nope"}'),
      /^Error: safetensors: w\.st: 'laurel\.spec' metadata: bad model 'nope'; allowed: /,
    ],
    [withSpec('{"model":"resnet20"}'), /^Error: safetensors: w\.st: has tensor 'x' that this model lacks/],
  ] as const) {
    const n0 = tf.memory().numTensors;
    assert.throws(() => modelFromSafetensors(bad, 'w.st'), re);
    assert.equal(tf.memory().numTensors, n0, 'a refused file leaves no model behind');
  }
});
