import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  ActivationHistory,
  Residual,
  type ResidualConfig,
  VARIANTS,
  addedParamCount,
  residualConfig,
  resolveRank,
} from '../../src/laurel/index.ts';
import { CASES, generalG } from './helpers.ts';

const cfg = residualConfig;

test('parameter counts follow the paper (addedParamCount, addedParams and the real parameter count agree)', () => {
  const D = 12;
  const r = 3;
  const k = 4;
  const expected: [ResidualConfig, number][] = [
    [cfg('baseline'), 0],
    [cfg('rw'), 2],
    [cfg('rw', { rwNorm: 'none' }), 2],
    [cfg('rw', { rwNorm: 'sigmoid' }), 1],
    [cfg('rw', { rwPerDim: true }), 2 * D],
    [cfg('rw', { rwPerDim: true, rwNorm: 'sigmoid' }), D],
    [cfg('lr', { rank: r }), 2 * r * D],
    [cfg('pa', { rank: r, k }), 2 * r * D + k],
    [cfg('pa', { paH: 'identity', k }), k],
    [cfg('rw+lr', { rank: r }), 2 * r * D + 2],
    [cfg('rw+pa', { rank: r, k }), 2 * r * D + k + 2],
    [cfg('rw+pa', { paH: 'identity', k }), k + 2],
    [cfg('lr+pa', { rank: r, k }), 2 * r * k * D + k],
    [cfg('rw+lr+pa', { rank: r, k }), 2 * r * k * D + k + 2],
    [cfg('rw+lr+pa', { rank: r, k, rwNorm: 'sigmoid' }), 2 * r * k * D + k + 1],
    [cfg('gemma3n', { rank: r }), 2 * r * D + D],
    [cfg('general', { g: generalG }), 1],
  ];
  for (const [c, n] of expected) {
    assert.equal(addedParamCount(c, D), n, JSON.stringify(c));
    const res = new Residual(c, D, { seed: 1 });
    assert.equal(res.addedParams(), n, JSON.stringify(c));
    assert.equal(res.parameterCount(), n, JSON.stringify(c));
    res.dispose();
  }
  // Paper scale: RW+LR with r = 4 at D = 2048 adds 2·4·2048 + 2; default k = 3.
  assert.equal(addedParamCount(cfg('rw+lr', { rank: 4 }), 2048), 16386);
  assert.equal(addedParamCount(cfg('pa', { rank: 16 }), 256), 2 * 16 * 256 + 3);
  // gemma3n: default rank 64, clamped below D when D is small.
  assert.equal(addedParamCount(cfg('gemma3n'), 2048), 2 * 64 * 2048 + 2048);
  assert.equal(resolveRank(cfg('gemma3n'), 32), 31);
  assert.equal(resolveRank(cfg('lr'), 256), 16);
});

test('every LAUREL parameter is tagged kind "laurel" (so optimizers skip weight decay)', () => {
  let seen = 0;
  for (const cs of CASES) {
    const res = new Residual(cs.config, 6, { seed: 2 });
    for (const p of res.namedParameters()) {
      assert.equal(p.kind, 'laurel', `${cs.name}: ${p.name}`);
      seen++;
    }
    res.dispose();
  }
  assert.ok(seen > 30);
});

function initCheck(c: ResidualConfig, shape: number[], expectPlain: boolean) {
  const D = shape[shape.length - 1];
  const res = new Residual(c, D, { seed: 3 });
  const history = new ActivationHistory(4);
  const xs = [0, 1, 2, 3].map((s) => tf.randomNormal(shape, 0, 1, 'float32', 10 + s));
  const fs = xs.map((x) => tf.tanh(tf.mul(x, 1.7)));
  // Four blocks in a row, so that PA sees earlier activations.
  for (let i = 0; i < 4; i++) {
    const out = res.forward(fs[i], xs[i], { history });
    const plain = tf.add(fs[i], xs[i]);
    const diff = tf.max(tf.abs(tf.sub(out, plain))).dataSync()[0];
    if (expectPlain)
      assert.ok(diff <= 1e-6, `${JSON.stringify(c)} block ${i}: differs from f + x by ${diff}`);
    else assert.ok(diff > 1e-3, `${JSON.stringify(c)}: expected to differ from f + x at init`);
    tf.dispose([out, plain]);
  }
  tf.dispose([...xs, ...fs]);
  res.dispose();
}

test('at initialization LR, PA, RW (softmax and none) and their combinations equal a plain residual', () => {
  const plain: ResidualConfig[] = [
    cfg('baseline'),
    cfg('rw'),
    cfg('rw', { rwPerDim: true }),
    cfg('rw', { rwNorm: 'none' }),
    cfg('lr', { rank: 2 }),
    cfg('lr', { rank: 2, vInit: 'column-orthogonal' }),
    cfg('pa', { rank: 2, k: 3 }),
    cfg('pa', { paH: 'identity', k: 3 }),
    cfg('rw+lr', { rank: 2 }),
    cfg('rw+pa', { rank: 2, k: 3 }),
    cfg('rw+pa', { paH: 'identity', k: 4 }),
    cfg('lr+pa', { rank: 2, k: 3 }),
    cfg('rw+lr+pa', { rank: 2, k: 3 }),
  ];
  for (const c of plain) {
    initCheck(c, [2, 5], true);
    initCheck(c, [2, 3, 5], true);
    initCheck(c, [2, 3, 2, 5], true);
  }
});

test('sigmoid RW (0.5·f + 0.5·x) and gemma3n are NOT a plain residual at init (documented)', () => {
  initCheck(cfg('rw', { rwNorm: 'sigmoid' }), [2, 5], false);
  initCheck(cfg('gemma3n', { rank: 2 }), [2, 5], false);
  const res = new Residual(cfg('rw', { rwNorm: 'sigmoid' }), 3, { seed: 1 });
  const f = tf.tensor2d([[2, 4, 6]]);
  const x = tf.tensor2d([[1, 1, 1]]);
  assert.deepEqual(Array.from(res.forward(f, x).dataSync()), [1.5, 2.5, 3.5]);
});

test('initial values: U = 0, γ = 1 (low-rank h) or 0 (identity h), column-orthogonal V', () => {
  const get = (res: Residual, name: string) => res.namedParameters().find((p) => p.name === name)!.variable;
  const lr = new Residual(cfg('lr+pa', { rank: 2, k: 3, vInit: 'column-orthogonal' }), 5, { seed: 1 });
  assert.deepEqual(get(lr, 'U').shape, [3, 2, 5]);
  assert.equal(tf.max(tf.abs(get(lr, 'U'))).dataSync()[0], 0);
  assert.deepEqual(Array.from(get(lr, 'gamma').dataSync()), [1, 1, 1]);
  const c = 1 / Math.sqrt(2 * 5);
  const v0 = Array.from(get(lr, 'V').dataSync().slice(0, 10)); // V_0: [D = 5, r = 2]
  assert.deepEqual(
    v0.map((v) => Math.round(v / c)),
    [1, 0, 0, 1, 1, 0, 0, 1, 1, 0],
  );
  const pa = new Residual(cfg('pa', { paH: 'identity', k: 2 }), 5);
  assert.deepEqual(Array.from(get(pa, 'gamma').dataSync()), [0, 0]);
  const xa = new Residual(cfg('lr', { rank: 4 }), 12, { seed: 5 });
  const V = get(xa, 'V').dataSync();
  const lim = Math.sqrt(6 / 16);
  assert.ok(V.every((v) => Math.abs(v) <= lim) && V.some((v) => Math.abs(v) > lim / 2), 'xavier range');
  const same = new Residual(cfg('lr', { rank: 4 }), 12, { seed: 5 });
  assert.deepEqual(get(same, 'V').dataSync(), V, 'seeded init is reproducible');
  for (const r of [lr, pa, xa, same]) r.dispose();
});

test('bad configurations throw errors that name the field and the allowed values', () => {
  assert.throws(() => cfg('lora'), /variant 'lora'.*allowed: 'baseline', 'rw', 'lr'/);
  assert.throws(() => cfg('lr', { rank: 0 }), /rank 0.*1 <= rank < D/);
  assert.throws(() => cfg('lr', { rank: -3 }), /rank -3/);
  assert.throws(() => cfg('lr', { rank: 2.5 }), /rank 2.5/);
  assert.throws(() => new Residual(cfg('lr', { rank: 8 }), 8), /rank 8.*1 <= rank < D = 8/);
  assert.throws(() => addedParamCount(cfg('rw+lr', { rank: 9 }), 8), /rank 9.*rank < D = 8/);
  assert.throws(() => cfg('pa', { k: 0 }), /bad k 0.*integer >= 1/);
  assert.throws(() => cfg('pa', { k: 1.5 }), /bad k 1.5/);
  assert.throws(() => cfg('rw', { rwNorm: 'tanh' as never }), /rwNorm 'tanh'.*'softmax', 'sigmoid', 'none'/);
  assert.throws(() => cfg('lr', { vInit: 'he' as never }), /vInit 'he'.*'xavier', 'column-orthogonal'/);
  assert.throws(() => cfg('pa', { paH: 'mlp' as never }), /paH 'mlp'.*'lowrank', 'identity'/);
  assert.throws(() => cfg('lr+pa', { paH: 'identity' }), /paH 'identity'.*'lowrank'/);
  assert.throws(() => cfg('general'), /g undefined.*function/);
  assert.throws(() => cfg('lr', { ranks: 4 } as never), /option name 'ranks'.*rank, k/);
  assert.throws(() => new ActivationHistory(0), /bad k 0.*integer >= 1/);
  assert.throws(() => new Residual(cfg('lr'), 1), /bad dim 1.*>= 2/);

  const res = new Residual(cfg('rw+lr', { rank: 2 }), 4, { seed: 1 });
  const x = tf.zeros([2, 3, 4]);
  assert.throws(() => res.forward(tf.zeros([2, 3, 5]), x), /fx shape \[2,3,5\] must equal x shape \[2,3,4\]/);
  assert.throws(() => res.forward(tf.zeros([2, 4]), x), /fx shape/);
  assert.throws(
    () => res.forward(tf.zeros([2, 3, 6]), tf.zeros([2, 3, 6])),
    /last dimension of x is 6; allowed: 4/,
  );
  assert.throws(() => res.forward(tf.zeros([4]), tf.zeros([4])), /rank >= 2/);
  const pa = new Residual(cfg('pa', { rank: 2 }), 4, { seed: 1 });
  const h = new ActivationHistory(3);
  h.push(tf.zeros([1, 4]));
  assert.throws(() => pa.forward(x, x, { history: h }), /history activation shape \[1,4\] differs/);
  const h2 = new ActivationHistory(3);
  tf.tidy(() => {
    h2.push(tf.ones([2, 3, 4])); // freed when this tidy ends
  });
  assert.throws(() => pa.forward(x, x, { history: h2 }), /history was disposed/);
});

test('options that do not apply to a variant are dropped; defaults are filled in', () => {
  assert.deepEqual(cfg('rw', { rank: 8, k: 5 }), { variant: 'rw', rwNorm: 'softmax', rwPerDim: false });
  assert.deepEqual(cfg('lr', { rwNorm: 'sigmoid' }), { variant: 'lr', vInit: 'xavier' });
  assert.deepEqual(cfg('pa', { paH: 'identity', rank: 4 }), { variant: 'pa', k: 3, paH: 'identity' });
  assert.deepEqual(cfg('baseline', { rank: 4 }), { variant: 'baseline' });
  assert.deepEqual(
    VARIANTS.filter((v) => v !== 'general').map((v) => cfg(v).variant),
    VARIANTS.filter((v) => v !== 'general'),
  );
});

test('ActivationHistory keeps only the last k − 1 inputs, newest first, and PA uses only what exists', () => {
  const h = new ActivationHistory(3);
  const ts = [1, 2, 3, 4].map((v) => tf.fill([1, 2], v));
  assert.equal(h.length, 0);
  h.push(ts[0]);
  h.push(ts[1]);
  h.push(ts[2]);
  assert.equal(h.length, 2);
  assert.deepEqual(h.recent(), [ts[2], ts[1]]);
  assert.deepEqual(h.recent(1), [ts[2]]);
  h.clear();
  assert.equal(h.length, 0);
  const one = new ActivationHistory(1);
  one.push(ts[0]);
  assert.equal(one.length, 0);

  // PA with identity h, γ = (1, 10, 100): the first block sees only x_0, the second x_1 and x_0, …
  const pa = new Residual(cfg('pa', { paH: 'identity', k: 3 }), 2);
  pa.namedParameters()[0].variable.assign(tf.tensor1d([1, 10, 100]));
  const hist = new ActivationHistory(3);
  const f = tf.zeros([1, 2]);
  const outs = ts.map((x) => pa.forward(f, x, { history: hist }).dataSync()[0]);
  // x_i + γ_0·x_i + γ_1·x_{i-1} + γ_2·x_{i-2}
  assert.deepEqual(outs, [2 * 1, 2 * 2 + 10, 2 * 3 + 20 + 100, 2 * 4 + 30 + 200]);
  assert.equal(hist.length, 2);
});

test('forward works on [B, D], [B, T, D] and NHWC and does not leak intermediate tensors', () => {
  for (const cs of CASES) {
    const res = new Residual(cs.config, 4, { seed: 4 });
    for (const shape of [
      [3, 4],
      [2, 3, 4],
      [2, 3, 3, 4],
    ]) {
      const x = tf.randomNormal(shape);
      const f = tf.randomNormal(shape);
      const history = new ActivationHistory(3);
      history.push(tf.randomNormal(shape));
      const before = tf.memory().numTensors;
      const out = res.forward(f, x, { history });
      assert.deepEqual(out.shape, shape);
      assert.ok(
        Array.from(out.dataSync()).every((v) => Number.isFinite(v)),
        cs.name,
      );
      assert.equal(tf.memory().numTensors, before + 1, `${cs.name}: only the output is new`);
      tf.dispose([x, f, out, ...history.recent()]);
    }
    res.dispose();
  }
});

test('a hand-written config literal is validated and normalized like residualConfig', () => {
  assert.throws(() => new Residual({ variant: 'pa', k: 0 }, 4), /bad k 0/);
  assert.throws(() => new Residual({ variant: 'nope' as never }, 4), /variant 'nope'/);
  const res = new Residual({ variant: 'lr+pa', rank: 2 }, 4, { seed: 1 });
  assert.deepEqual(res.config, residualConfig('lr+pa', { rank: 2 }));
  assert.equal(res.parameterCount(), 2 * 2 * 3 * 4 + 3);
  res.dispose();
});

test("learned(): RW's α and β in place of its raw weights, small parameters in full, large ones summarized", () => {
  const byName = (r: Residual) => Object.fromEntries(r.learned().map((p) => [p.name, p]));
  const rw = byName(new Residual(cfg('rw+lr', { rank: 2 }), 8, { seed: 1 }));
  assert.deepEqual(Object.keys(rw), ['alpha', 'beta', 'V', 'U']);
  assert.deepEqual([rw.alpha.values, rw.beta.values], [[1], [1]], '2·softmax(0) = (1, 1)');
  assert.deepEqual([rw.V.values?.length, rw.U.rms], [16, undefined], '16 values are listed');
  const sigmoid = byName(new Residual(cfg('rw', { rwNorm: 'sigmoid' }), 8));
  assert.deepEqual([sigmoid.alpha.values, sigmoid.beta.values], [[0.5], [0.5]]);
  const perDim = byName(new Residual(cfg('rw', { rwPerDim: true }), 4));
  assert.deepEqual(perDim.alpha.values, [1, 1, 1, 1]);
  assert.deepEqual(byName(new Residual(cfg('rezero'), 8)).alpha, { name: 'alpha', shape: [], values: [0] });
  const lambda = byName(new Residual(cfg('layerscale', { layerScaleInit: 0.1 }), 32)).lambda;
  assert.deepEqual(lambda.shape, [32]);
  assert.equal(lambda.values, undefined);
  for (const s of [lambda.mean, lambda.rms, lambda.min, lambda.max]) assert.ok(Math.abs(s! - 0.1) < 1e-7);
  const lr = byName(new Residual(cfg('lr', { rank: 4 }), 32, { seed: 2 }));
  assert.deepEqual([lr.U.mean, lr.U.rms, lr.U.min, lr.U.max], [0, 0, 0, 0], 'U starts at 0');
  assert.ok(lr.V.rms! > 0 && lr.V.min! < 0 && lr.V.max! > 0);
  assert.deepEqual(byName(new Residual(cfg('pa', { k: 3, paH: 'identity' }), 8)).gamma.values, [0, 0, 0]);
  assert.deepEqual(new Residual(cfg('baseline'), 8).learned(), []);
  const r = new Residual(cfg('rw+lr', { rank: 2 }), 8);
  const before = tf.memory().numTensors;
  r.learned();
  assert.equal(tf.memory().numTensors, before, 'learned() leaks no tensor (softmax, unstack)');
  r.dispose();
});

test('learned() summarizes matrices larger than a call takes as arguments', () => {
  const r = new Residual(cfg('lr', { rank: 96, vInit: 'column-orthogonal' }), 2048);
  const V = r.learned().find((p) => p.name === 'V')!;
  // column-orthogonal V [2048, 96]: 2048 entries of 1/√(r·D), the rest 0
  const c = 1 / Math.sqrt(96 * 2048);
  assert.deepEqual(V.shape, [2048, 96]);
  assert.ok(Math.abs(V.max! - c) < 1e-9 && V.min === 0);
  assert.ok(Math.abs(V.mean! - c / 96) < 1e-9 && Math.abs(V.rms! - c / Math.sqrt(96)) < 1e-9);
  r.dispose();
});
