import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { nativeKernelNames } from '../../src/engine/index.ts';
import { compare, rand, runOn, setup, t } from './helpers.ts';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

test('unary kernels match cpu (incl. NaN, large and tiny values)', async () => {
  await setup();
  const x = rand(1000, 11).map((v, i) => (i % 3 === 0 ? v * 30 : i % 3 === 1 ? v * 1e-3 : v * 4));
  x[5] = Number.NaN;
  const pos = x.map((v) => Math.abs(v) + 1e-3);
  const ops: [string, (a: tf.Tensor) => tf.Tensor, boolean?][] = [
    ['neg', tf.neg],
    ['relu', tf.relu],
    ['exp', (a) => tf.exp(a.clipByValue(-80, 80))],
    ['log', tf.log, true],
    ['sqrt', tf.sqrt, true],
    ['rsqrt', tf.rsqrt, true],
    ['square', tf.square],
    ['tanh', tf.tanh],
    ['sigmoid', tf.sigmoid],
    ['erf', tf.erf],
    ['abs', tf.abs],
    ['reciprocal', tf.reciprocal, true],
    ['step', (a) => tf.step(a, 0.25)],
    ['relu6', tf.relu6],
    ['elu', tf.elu],
    ['leakyRelu', (a) => tf.leakyRelu(a, 0.1)],
    ['softplus', tf.softplus],
    ['log1p', tf.log1p, true],
  ];
  for (const [name, f, positive] of ops) {
    await compare(() => f(t(positive ? pos : x, [10, 100])), 2e-6, 1e-6, name);
    // Relative accuracy near zero for the transcendental functions.
    if (!positive && name !== 'erf')
      await compare(
        () =>
          f(
            t(
              x.map((v) => v * 1e-3),
              [1000],
            ),
          ),
        1e-5,
        1e-9,
        `${name} small`,
      );
  }
  // tfjs's cpu erf has 1.5e-7 absolute error, so check small arguments against the series in double precision.
  await tf.setBackend('native');
  const xs = Float32Array.from({ length: 50 }, (_, i) => (i - 25) * 1e-3);
  const e = tf.erf(t(xs, [50]));
  const got = e.dataSync();
  xs.forEach((v, i) => {
    const ref = (2 / Math.sqrt(Math.PI)) * (v - v ** 3 / 3 + v ** 5 / 10);
    assert.ok(Math.abs(got[i] - ref) <= 1e-6 * Math.abs(ref) + 1e-12, `erf(${v}) = ${got[i]}, want ${ref}`);
  });
  e.dispose();
  for (const k of ['Relu', 'Exp', 'Tanh', 'Sigmoid', 'Erf', 'Step', 'Rsqrt'])
    assert.ok(nativeKernelNames().includes(k));
});

test('exp near its lower limit: normal results stay accurate, underflow gives 0, and a causal softmax row too', async () => {
  await setup();
  await tf.setBackend('native');
  // fexp clamps its input just above −126·ln 2 (so that no lane computes a denormal product); results there
  // are still the true exp to float precision, and below exp(x) < 2⁻¹²⁶ flushes to 0.
  const xs = [-87.3365, -87.3, -87, -86, -50, -87.34, -88, -1e9];
  const got = tf.exp(tf.tensor1d(xs)).dataSync();
  xs.forEach((x, i) => {
    const want = Math.exp(x);
    if (want >= 2 ** -126)
      assert.ok(Math.abs(got[i] - want) <= 1e-5 * want, `exp(${x}) = ${got[i]}, want ${want}`);
    else assert.ok(got[i] >= 0 && got[i] <= 2 ** -126, `exp(${x}) = ${got[i]} (underflow)`);
  });
  const row = tf.softmax(tf.tensor2d([[1, 2, -1e9, -1e9]])).dataSync();
  const z = Math.exp(1) + Math.exp(2);
  [Math.exp(1) / z, Math.exp(2) / z, 0, 0].forEach((want, i) =>
    assert.ok(Math.abs(row[i] - want) <= 1e-6, `masked softmax [${i}]: ${row[i]} vs ${want}`),
  );
});

test('binary kernels broadcast like cpu', async () => {
  const shapes: [number[], number[]][] = [
    [
      [7, 5],
      [7, 5],
    ],
    [[7, 5], [5]],
    [
      [7, 5],
      [7, 1],
    ],
    [
      [7, 1],
      [1, 5],
    ],
    [
      [2, 3, 4, 5],
      [3, 1, 5],
    ],
    [[1], [4, 3]],
    [[], [6]],
    [
      [4, 1, 3],
      [1, 5, 1],
    ],
    [[300, 200], [200]],
    [
      [2, 300, 100],
      [2, 1, 100],
    ],
  ];
  const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['add', tf.add],
    ['sub', tf.sub],
    ['mul', tf.mul],
    ['div', tf.div],
    ['maximum', tf.maximum],
    ['minimum', tf.minimum],
    ['squaredDifference', tf.squaredDifference],
  ];
  let seed = 50;
  for (const [as, bs] of shapes) {
    const a = rand(size(as), seed++);
    const b = rand(size(bs), seed++).map((v) => v + 2);
    for (const [name, f] of ops)
      await compare(() => f(t(a, as), t(b, bs)), 1e-6, 1e-7, `${name} ${as} ${bs}`);
  }
  await compare(() => tf.prelu(t(rand(60, 1), [3, 4, 5]), t(rand(5, 2), [5])));
  await compare(() => tf.addN([t(rand(12, 1), [3, 4]), t(rand(12, 2), [3, 4]), t(rand(12, 3), [3, 4])]));
  // int32 stays int32 (cpu fallback).
  await setup();
  await tf.setBackend('native');
  const r = tf.add(tf.tensor1d([1, 2], 'int32'), tf.tensor1d([3, 4], 'int32'));
  assert.equal(r.dtype, 'int32');
  assert.deepEqual(Array.from(r.dataSync()), [4, 6]);
  r.dispose();
});

test('gradients of broadcasting elementwise chains match cpu', async () => {
  const x = rand(4 * 6 * 8, 3);
  const g = rand(8, 4);
  const bb = rand(6 * 1, 5);
  await compare(() =>
    tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
      tf
        .sigmoid(a.mul(b).add(c))
        .tanh()
        .sub(a.div(b.abs().add(1)))
        .relu()
        .sum(),
    )([t(x, [4, 6, 8]), t(g, [8]), t(bb, [6, 1])]),
  );
  // GELU (erf form) and exp/log paths.
  await compare(() =>
    tf.grad((a: tf.Tensor) =>
      a
        .mul(tf.erf(a.mul(Math.SQRT1_2)).add(1))
        .mul(0.5)
        .exp()
        .add(1)
        .log()
        .mean(),
    )(t(x, [4, 48])),
  );
});

test('reductions over any axes match cpu', async () => {
  const shape = [3, 4, 5, 6];
  const x = rand(size(shape), 9);
  const axesList: (number | number[])[] = [
    0,
    1,
    2,
    3,
    -1,
    [0, 1],
    [1, 2],
    [0, 2],
    [1, 3],
    [0, 3],
    [0, 1, 2, 3],
    [0, 2, 3],
  ];
  for (const axes of axesList) {
    for (const keep of [false, true]) {
      await compare(
        () => [
          tf.sum(t(x, shape), axes, keep),
          tf.mean(t(x, shape), axes, keep),
          tf.max(t(x, shape), axes, keep),
          tf.min(t(x, shape), axes, keep),
        ],
        1e-5,
        1e-6,
        `axes ${axes} keep ${keep}`,
      );
    }
  }
  const big = rand(70000, 3);
  await compare(
    () => [tf.sum(t(big, [70000])), tf.mean(t(big, [70000])), tf.sum(t(big, [7, 10000]), 0)],
    1e-5,
    1e-5,
  );
  await compare(() => tf.sum(t(x, shape), [1, 2]).add(tf.max(t(x, [1, 360]))));
});

test('sum and mean accumulate in double as cpu does: 1000 ones between 1e8 and −1e8 still count, on every path', async () => {
  // x[a, r, b] over [A, R, B]: 1e8 at r = 0, −1e8 at r = R − 1, 1 between; the sum over r is R − 2 exactly.
  const spiked = (A: number, R: number, B: number) => {
    const x = new Float32Array(A * R * B).fill(1);
    for (let a = 0; a < A; a++)
      for (let b = 0; b < B; b++) {
        x[a * R * B + b] = 1e8;
        x[(a * R + R - 1) * B + b] = -1e8;
      }
    return x;
  };
  // [shape, axes]: one row (serial, and long enough to be split across threads), rows of B > 1 (parallel over
  // A, and over B when A is small), and axes that are not consecutive (transposed first).
  // The last case sums 3 columns of each output too.
  const cases: [number[], number[], number[], number][] = [
    [[1, 1002, 1], [1002], [0], 1000],
    [[1, 40000, 1], [40000], [0], 39998],
    [[4, 1002, 3], [4, 1002, 3], [1], 1000],
    [[1, 1002, 64], [1002, 64], [0], 1000],
    [[1, 1002, 6], [1002, 2, 3], [0, 2], 3000],
  ];
  for (const [[A, R, B], shape, axes, expected] of cases) {
    const x = spiked(A, R, B);
    const [sum] = await compare(() => tf.sum(t(x, shape), axes), 0, 0, `sum ${shape} over ${axes}`);
    assert.ok(
      sum.values.every((v) => v === expected),
      `sum ${shape}: ${sum.values.slice(0, 4)}`,
    );
    await compare(() => tf.mean(t(x, shape), axes), 1e-6, 0, `mean ${shape} over ${axes}`);
  }
});

test('edge values as cpu: ELU near 0 to float32 accuracy, maximum/minimum of ±0, a mean of values near the float32 limit', async () => {
  await setup();
  const elu = await runOn('native', () => tf.elu(tf.tensor1d([-1e-8, -1e-5, -1e-3, -0.5])));
  const eluCpu = await runOn('cpu', () => tf.elu(tf.tensor1d([-1e-8, -1e-5, -1e-3, -0.5])));
  eluCpu[0].values.forEach((want, i) => {
    const got = elu[0].values[i];
    assert.ok(Math.abs(got - want) <= 1e-6 * Math.abs(want), `elu[${i}]: native ${got}, cpu ${want}`);
  });
  // JavaScript's Math.max(0, −0) is 0 and Math.min(0, −0) is −0, whichever argument comes first
  const zeros = () => [tf.tensor1d([0, -0, -0, 0]), tf.tensor1d([-0, 0, -0, 0])];
  for (const op of ['maximum', 'minimum'] as const) {
    const run = (b: string) => runOn(b, () => tf[op](...(zeros() as [tf.Tensor, tf.Tensor])));
    const nat = await run('native'); // one backend at a time: runOn sets the global backend
    const cpu = await run('cpu');
    cpu[0].values.forEach((want, i) =>
      assert.ok(Object.is(nat[0].values[i], want), `${op}[${i}]: native ${nat[0].values[i]}, cpu ${want}`),
    );
  }
  await compare(
    () => [tf.mean(tf.tensor1d([3e38, 3e38])), tf.mean(tf.tensor2d([3e38, 3e38, 3e38, 3e38], [2, 2]), 0)],
    1e-6,
    0,
  );
});

test('transpose, softmax, logSoftmax and their gradients match cpu', async () => {
  const shape = [2, 3, 4, 5];
  const x = rand(size(shape), 21);
  for (const perm of [
    [0, 2, 1, 3],
    [3, 2, 1, 0],
    [1, 0, 2, 3],
    [0, 1, 3, 2],
    [2, 3, 0, 1],
    [0, 1, 2, 3],
  ]) {
    await compare(() => tf.transpose(t(x, shape), perm), 0, 0, `perm ${perm}`);
  }
  const big = rand(130 * 70, 4);
  await compare(() => tf.transpose(t(big, [130, 70])), 0, 0);
  await compare(() => tf.transpose(t(big, [1, 130, 70, 1]), [3, 2, 0, 1]), 0, 0);
  // Non-contiguous result of a transpose feeding further ops.
  await compare(() => tf.transpose(t(x, shape), [0, 2, 1, 3]).add(1).sum(-1));
  const logits = rand(8 * 37, 5).map((v) => v * 10);
  await compare(() => [tf.softmax(t(logits, [8, 37])), tf.logSoftmax(t(logits, [2, 4, 37]))], 1e-5, 1e-7);
  const w = rand(8 * 37, 6);
  await compare(() =>
    tf.grads((a: tf.Tensor) =>
      tf
        .softmax(a)
        .mul(t(w, [8, 37]))
        .sum()
        .add(
          tf
            .logSoftmax(a)
            .mul(t(w, [8, 37]))
            .sum(),
        ),
    )([t(logits, [8, 37])]),
  );
});

test('gather, unsortedSegmentSum (embedding gradient), tile and batchNorm match cpu', async () => {
  const table = rand(50 * 8, 2);
  const idx = Int32Array.from({ length: 30 }, (_, i) => (i * 7) % 50);
  await compare(() => tf.gather(t(table, [50, 8]), tf.tensor(idx, [5, 6], 'int32')));
  await compare(() =>
    tf.gather(
      t(table, [5, 10, 8]),
      tf.tensor(
        idx.map((v) => v % 10),
        [30],
        'int32',
      ),
      1,
    ),
  );
  await compare(() =>
    tf.grad((w: tf.Tensor) =>
      tf
        .gather(w, tf.tensor(idx, [5, 6], 'int32'))
        .square()
        .sum(),
    )(t(table, [50, 8])),
  );
  await compare(() =>
    tf.unsortedSegmentSum(
      t(rand(30 * 4, 1), [30, 4]),
      tf.tensor(
        idx.map((v) => v % 9),
        [30],
        'int32',
      ),
      9,
    ),
  );
  await setup();
  await tf.setBackend('native');
  assert.throws(() => tf.gather(tf.zeros([3, 2]), tf.tensor1d([0, 3], 'int32')), /not in \[0, 2\]/);
  await compare(() => tf.tile(t(rand(6, 1), [2, 3]), [3, 2]));
  await compare(() => tf.tile(t(rand(24, 1), [2, 3, 4]), [1, 2, 3]));
  const xs = rand(4 * 3 * 5, 8);
  await compare(() =>
    tf.batchNorm(
      t(xs, [4, 3, 5]),
      t(rand(5, 1), [5]),
      t(
        rand(5, 2).map((v) => v + 1.5),
        [5],
      ),
      t(rand(5, 3), [5]),
      t(rand(5, 4), [5]),
      1e-3,
    ),
  );
  await compare(() =>
    tf.batchNorm(
      t(xs, [4, 3, 5]),
      t(rand(5, 1), [5]),
      t(
        rand(5, 2).map((v) => v + 1.5),
        [5],
      ),
    ),
  );
  // a large mean with a small variance: x·mul + (offset − mean·mul) would cancel (45 % off here)
  await compare(
    () =>
      tf.batchNorm(
        tf.tensor2d([
          [100000.01, 100000.05],
          [99999.98, 100000.1],
        ]),
        tf.tensor1d([1e5, 1e5]),
        tf.tensor1d([1e-4, 1e-4]),
        undefined,
        undefined,
        1e-6,
      ),
    1e-4,
    1e-5,
    'batchNorm, large mean',
  );
});
