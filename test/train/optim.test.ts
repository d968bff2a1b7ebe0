import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { NamedParam, ParamKind } from '../../src/nn/module.ts';
import { clipGradNorm } from '../../src/train/optim/clip.ts';
import { AdamW, type NamedTensors, type Optimizer, Sgd, isDecayed } from '../../src/train/optim/index.ts';

await tf.setBackend('cpu');

function params(spec: Record<string, { shape: number[]; values: number[]; kind: ParamKind }>): NamedParam[] {
  return Object.entries(spec).map(([name, s]) => ({
    name,
    kind: s.kind,
    variable: tf.variable(tf.tensor(s.values, s.shape)),
  }));
}

function values(p: NamedParam[]): Record<string, number[]> {
  return Object.fromEntries(p.map((x) => [x.name, Array.from(x.variable.dataSync())]));
}

function assertClose(actual: number[], expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((a, i) =>
    assert.ok(Math.abs(a - expected[i]) <= tol, `${what}[${i}]: ${a} vs ${expected[i]}`),
  );
}

test('decay applies to weight and embedding only by default; LAUREL decay is opt-in', () => {
  assert.ok(isDecayed('weight') && isDecayed('embedding'));
  assert.ok(!isDecayed('bias') && !isDecayed('norm') && !isDecayed('laurel'));
  assert.ok(isDecayed('laurel', { decayLaurel: true }));
  assert.ok(!isDecayed('bias', { decayLaurel: true }));
});

test('SGD momentum + weight decay: two hand-computed steps', () => {
  const p = params({ w: { shape: [2], values: [1, -2], kind: 'weight' } });
  const opt = new Sgd(p, { momentum: 0.5, weightDecay: 0.1 });
  const g = tf.tensor([0.5, 1]);
  opt.step({ w: g }, 0.1);
  // d = g + 0.1 p = [0.6, 0.8]; b = d; p = p − 0.1 b = [0.94, −2.08]
  assertClose(values(p).w, [0.94, -2.08], 1e-6, 'step 1');
  opt.step({ w: g }, 0.1);
  // d = [0.5+0.094, 1−0.208] = [0.594, 0.792]; b = 0.5·[0.6,0.8] + d = [0.894, 1.192]; p −= 0.1 b
  assertClose(values(p).w, [0.94 - 0.0894, -2.08 - 0.1192], 1e-6, 'step 2');
  opt.dispose();
});

test('SGD nesterov: hand-computed step, biases not decayed', () => {
  const p = params({ b: { shape: [1], values: [1], kind: 'bias' } });
  const opt = new Sgd(p, { momentum: 0.9, nesterov: true, weightDecay: 0.5 });
  opt.step({ b: tf.tensor([2]) }, 0.1);
  // no decay on bias: b = 2; d = g + 0.9 b = 3.8; p = 1 − 0.38
  assertClose(values(p).b, [0.62], 1e-6, 'nesterov');
  assert.throws(() => new Sgd(p, { nesterov: true }), /nesterov needs momentum/);
  // NaN was taken as 0; a negative or NaN eps drove AdamW's weights to −∞ in two steps
  assert.throws(() => new Sgd(p, { momentum: Number.NaN }), /momentum must be >= 0, got NaN/);
  assert.throws(() => new Sgd(p, { weightDecay: Number.NaN }), /weightDecay must be >= 0, got NaN/);
  assert.throws(() => new AdamW(p, { eps: -1 }), /eps must be >= 0, got -1/);
  assert.throws(() => new AdamW(p, { eps: Number.NaN }), /eps must be >= 0, got NaN/);
  assert.throws(() => new AdamW(p, { weightDecay: -0.1 }), /weightDecay must be >= 0/);
});

test('AdamW: first step is lr·sign(g) plus decoupled decay; LAUREL excluded unless asked', () => {
  const spec = {
    w: { shape: [2], values: [1, -1], kind: 'weight' as const },
    l: { shape: [1], values: [2], kind: 'laurel' as const },
  };
  const g = { w: tf.tensor([0.3, -4]), l: tf.tensor([1]) };
  const p = params(spec);
  new AdamW(p, { weightDecay: 0.5, eps: 0 }).step(g, 0.1);
  // bias-corrected m̂/√v̂ = sign(g): p·(1 − 0.05) − 0.1·sign(g)
  assertClose(values(p).w, [0.95 - 0.1, -0.95 + 0.1], 1e-6, 'w');
  assertClose(values(p).l, [1.9], 1e-6, 'l undecayed');
  const q = params(spec);
  new AdamW(q, { weightDecay: 0.5, eps: 0, decayLaurel: true }).step(g, 0.1);
  assertClose(values(q).l, [2 * 0.95 - 0.1], 1e-6, 'l decayed');
});

interface Reference {
  init: Record<string, { shape: number[]; values: number[] }>;
  grads: Record<string, number[][]>;
  lr: number;
  cases: Record<string, { options: Record<string, number | boolean>; final: Record<string, number[]> }>;
}
const ref: Reference = JSON.parse(readFileSync('test/fixtures/optim_reference.json', 'utf8'));
const kinds: Record<string, ParamKind> = { w: 'weight', b: 'bias', l: 'laurel' };

function refParams(): NamedParam[] {
  return params(Object.fromEntries(Object.entries(ref.init).map(([n, s]) => [n, { ...s, kind: kinds[n] }])));
}

function refGrads(k: number): NamedTensors {
  return Object.fromEntries(
    Object.entries(ref.grads).map(([n, gs]) => [n, tf.tensor(gs[k], ref.init[n].shape)]),
  );
}

for (const [name, c] of Object.entries(ref.cases)) {
  test(`${name} matches the PyTorch 1.13 trajectory (3 steps)`, () => {
    const p = refParams();
    const opt: Optimizer = name.startsWith('adamw') ? new AdamW(p, c.options) : new Sgd(p, c.options);
    for (let k = 0; k < 3; k++) opt.step(refGrads(k), ref.lr);
    const got = values(p);
    for (const n of Object.keys(c.final)) assertClose(got[n], c.final[n], 2e-6, `${name}.${n}`);
    opt.dispose();
  });
}

test('optimizer state save/restore continues the same trajectory, without leaking tensors', () => {
  const full = refParams();
  const a = new AdamW(full, { weightDecay: 0.1 });
  for (let k = 0; k < 3; k++) a.step(refGrads(k), ref.lr);

  const half = refParams();
  const b = new AdamW(half, { weightDecay: 0.1 });
  b.step(refGrads(0), ref.lr);
  const saved = b.getState();
  const copies = Object.fromEntries(Object.entries(saved.tensors).map(([k, t]) => [k, t.clone()]));
  assert.deepEqual(Object.keys(copies).sort(), ['b/m', 'b/v', 'l/m', 'l/v', 'w/m', 'w/v']);
  const resumedParams = refParams();
  resumedParams.forEach((p, i) => p.variable.assign(half[i].variable));
  const c = new AdamW(resumedParams, { weightDecay: 0.1 });
  c.setState({ meta: saved.meta, tensors: copies });
  assert.equal(c.stepCount, 1);
  const before = tf.memory().numTensors;
  for (let k = 1; k < 3; k++) c.step(refGrads(k), ref.lr);
  // only the 2×3 gradient tensors we created remain
  assert.equal(tf.memory().numTensors, before + 6);
  assert.deepEqual(values(resumedParams), values(full));
  assert.throws(
    () => new Sgd(resumedParams, { momentum: 0.9 }).setState(saved),
    /holds 'adamw' state, this run uses 'sgd'/,
  );
});

test('global-norm gradient clipping scales every gradient by maxNorm / norm', () => {
  const { grads, norm } = clipGradNorm({ a: tf.tensor([3]), b: tf.tensor([4]) }, 1);
  assert.ok(Math.abs(norm - 5) < 1e-6);
  assertClose(Array.from(grads.a.dataSync()), [0.6], 1e-5, 'a');
  assertClose(Array.from(grads.b.dataSync()), [0.8], 1e-5, 'b');
  const same = clipGradNorm({ a: tf.tensor([0.3]) }, 1);
  assertClose(Array.from(same.grads.a.dataSync()), [0.3], 1e-7, 'unclipped');
});
