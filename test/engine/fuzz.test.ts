// A sample of the native-vs-cpu fuzzer (npm run fuzz runs the full one): every overridden kernel has a
// generator, a fixed-seed run of a few hundred cases agrees, and the comparison does catch a wrong value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { nativeKernelNames } from '../../src/engine/index.ts';
import type { Case } from '../fuzz/case.ts';
import { Draw } from '../fuzz/draw.ts';
import { caseSeed, runFuzz, setupFuzz } from '../fuzz/fuzz.ts';
import { generators } from '../fuzz/generators.ts';
import { compareResults, runCase } from '../fuzz/run-case.ts';

test('the fuzzed kernels are read from the registry and include every kernel the backend lists', async () => {
  const kernels = await setupFuzz();
  for (const k of nativeKernelNames()) assert.ok(kernels.includes(k), `${k} is not fuzzed`);
  for (const k of kernels) assert.ok(generators[k], `${k} has no generator`);
});

test('a case is a pure function of (seed, op, index)', () => {
  for (const op of ['Conv2D', 'Add', 'Concat']) {
    const mode = { floatOnly: false, small: false };
    const a = generators[op](new Draw(caseSeed(5, op, 3), mode));
    const b = generators[op](new Draw(caseSeed(5, op, 3), mode));
    assert.deepEqual(a.inputs, b.inputs);
    assert.deepEqual(a.attrs, b.attrs);
  }
  assert.notEqual(caseSeed(5, 'Add', 3), caseSeed(5, 'Add', 4));
});

test('the comparison catches a wrong value, a wrong gradient, and one backend throwing', async () => {
  await setupFuzz();
  const x = {
    name: 'x',
    shape: [4],
    kind: 'float32' as const,
    values: Float32Array.of(1, 2, 3, 4),
    grad: true,
  };
  const c: Case = { inputs: [x], attrs: {}, family: 'arith', run: (t) => tf.mul(t.x, t.x) };
  const good = await runCase('cpu', c, 1);
  assert.equal(compareResults(c, good, good, ['x']), null);
  const off = await runCase('cpu', { ...c, run: (t) => tf.mul(tf.mul(t.x, t.x), 1.001) }, 1);
  assert.match(compareResults(c, good, off, ['x']) ?? '', /output 0\[\d\]: native/);
  // The same values with a gradient 0.1 % off.
  const square = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const v = args[0] as tf.Tensor;
    return { value: tf.mul(v, v), gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.mul(v, 2.002)) };
  });
  const gradOff = await runCase('cpu', { ...c, run: (t) => square(t.x) }, 1);
  assert.match(compareResults(c, good, gradOff, ['x']) ?? '', /^∂\/∂x\[\d\]: native/);
  const threw = { values: { error: 'boom' }, grads: { outs: [] } };
  assert.match(compareResults(c, good, threw, ['x']) ?? '', /values: native threw "boom"/);
});

test('fuzz sample: 210 small cases, about 3 per kernel (seed 2026), native agrees with cpu on values and gradients', async () => {
  const r = await runFuzz({ seed: 2026, cases: 210, small: true });
  assert.equal(r.cases, 210);
  assert.deepEqual(
    r.failures.map((f) => `${f.command}  # ${f.message}; ${f.what}`),
    [],
  );
});
