import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../src/engine/addon.ts';
import { getNumThreads, initBackend, nativeKernelNames, setNumThreads } from '../../src/engine/index.ts';
import { compare, rand, setup, t } from './helpers.ts';

test('native backend loads, is the default of initBackend and overrides the GEMM kernels', async () => {
  await setup();
  assert.equal(await initBackend(), 'native');
  assert.equal(tf.getBackend(), 'native');
  const names = nativeKernelNames();
  for (const k of ['BatchMatMul', '_FusedMatMul']) assert.ok(names.includes(k), k);
  // Every cpu kernel is available on native too.
  const native = new Set(tf.getKernelsForBackend('native').map((k) => k.kernelName));
  for (const k of tf.getKernelsForBackend('cpu')) assert.ok(native.has(k.kernelName), k.kernelName);
});

test('setNumThreads is shared and validated', () => {
  const n = getNumThreads();
  setNumThreads(1);
  assert.equal(getNumThreads(), 1);
  assert.equal(loadAddon().addon!.getNumThreads(), 1);
  setNumThreads(n);
  assert.equal(loadAddon().addon!.getNumThreads(), n);
  assert.throws(() => setNumThreads(0), /expected an integer from 1 to/);
});

test('initBackend rejects unknown names and honours cpu', async () => {
  await setup();
  await assert.rejects(
    initBackend('gpu' as never),
    /^InputError: unknown backend 'gpu' \(the backend argument\): expected native, cpu, wasm$/,
  );
  const saved = process.env.LAUREL_BACKEND;
  process.env.LAUREL_BACKEND = 'gpu';
  try {
    await assert.rejects(
      initBackend(),
      /unknown backend 'gpu' \(LAUREL_BACKEND\): expected native, cpu, wasm/,
    );
  } finally {
    if (saved === undefined) Reflect.deleteProperty(process.env, 'LAUREL_BACKEND');
    else process.env.LAUREL_BACKEND = saved;
  }
  assert.equal(await initBackend('cpu'), 'cpu');
  assert.equal(await initBackend('native'), 'native');
});

test('matMul matches cpu on random shapes with transposes', async () => {
  let seed = 1;
  for (const [m, k, n] of [
    [1, 1, 1],
    [3, 5, 7],
    [17, 33, 9],
    [64, 100, 1],
    [1, 128, 65],
    [130, 70, 90],
  ]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const a = rand(m * k, seed++);
        const b = rand(k * n, seed++);
        await compare(
          () => tf.matMul(t(a, ta ? [k, m] : [m, k]), t(b, tb ? [n, k] : [k, n]), ta, tb),
          1e-4,
          1e-5,
          `${m}x${k}x${n} ${ta} ${tb}`,
        );
      }
    }
  }
});

test('batched matMul broadcasts batch dims (incl. batch 1 and rank 4)', async () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[4, 5, 6], [4, 6, 3], false, false],
    [[4, 6, 5], [4, 3, 6], true, true],
    [[1, 5, 6], [4, 6, 3], false, false],
    [[4, 5, 6], [1, 6, 3], false, false],
    [[2, 3, 5, 6], [2, 3, 3, 6], false, true],
    [[2, 1, 5, 6], [1, 3, 6, 4], false, false],
    [[6, 5, 7], [7, 2], false, false],
    [[3, 4, 7], [2, 7], false, true],
  ];
  let seed = 100;
  for (const [as, bs, ta, tb] of cases) {
    const a = rand(
      as.reduce((x, y) => x * y),
      seed++,
    );
    const b = rand(
      bs.reduce((x, y) => x * y),
      seed++,
    );
    // tfjs's cpu kernel mis-broadcasts some batch shapes, so compare against explicit per-batch products too.
    const [native] = await compare(
      () => tf.matMul(t(a, as), t(b, bs), ta, tb),
      1e-4,
      1e-5,
      `${as} x ${bs}`,
    ).catch(async () => {
      const { runOn } = await import('./helpers.ts');
      return runOn('native', () => tf.matMul(t(a, as), t(b, bs), ta, tb));
    });
    const ref = tf.tidy(() => {
      const outB = tf.backend_util.assertAndGetBroadcastShape(as.slice(0, -2), bs.slice(0, -2));
      const ab = tf.broadcastTo(t(a, as), [...outB, ...as.slice(-2)]);
      const bb = tf.broadcastTo(t(b, bs), [...outB, ...bs.slice(-2)]);
      const a3 = ab.reshape([-1, ...as.slice(-2)]);
      const b3 = bb.reshape([-1, ...bs.slice(-2)]);
      const parts = tf.unstack(a3).map((x, i) => tf.matMul(x, tf.unstack(b3)[i], ta, tb));
      return tf.stack(parts).dataSync().slice();
    });
    assert.equal(native.values.length, ref.length);
    for (let i = 0; i < ref.length; i++)
      assert.ok(Math.abs(native.values[i] - ref[i]) < 1e-4, `${as} x ${bs} [${i}]`);
  }
});

test('fused matMul with bias and activations matches cpu', async () => {
  let seed = 200;
  for (const activation of ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const) {
    for (const [m, k, n] of [
      [5, 7, 3],
      [33, 17, 40],
    ]) {
      const a = rand(m * k, seed++);
      const b = rand(k * n, seed++);
      const bias = rand(n, seed++);
      const pw = rand(n, seed++);
      await compare(
        () =>
          tf.fused.matMul({
            a: t(a, [m, k]),
            b: t(b, [k, n]),
            bias: t(bias, [n]),
            activation,
            preluActivationWeights: activation === 'prelu' ? t(pw, [n]) : undefined,
            leakyreluAlpha: 0.3,
          }),
        1e-4,
        1e-5,
        activation,
      );
    }
  }
  // Broadcast bias of rank 2 and transposes.
  const a = rand(8 * 6, 1);
  const b = rand(5 * 6, 2);
  const bias = rand(8, 3);
  await compare(() =>
    tf.fused.matMul({
      a: t(a, [6, 8]),
      b: t(b, [5, 6]),
      transposeA: true,
      transposeB: true,
      bias: t(bias, [8, 1]),
    }),
  );
});

test('gradients of matMul go through the native kernels and match cpu', async () => {
  const a = rand(6 * 4 * 5, 7);
  const b = rand(5 * 3, 8);
  const bias = rand(3, 9);
  await compare(() => {
    const f = (x: tf.Tensor, y: tf.Tensor, c: tf.Tensor) =>
      tf.fused
        .matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, bias: c, activation: 'relu' })
        .square()
        .sum();
    return tf.grads(f)([t(a, [24, 5]), t(b, [5, 3]), t(bias, [3])]);
  });
  await compare(() =>
    tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, true, false).sum())([
      t(a, [6, 5, 4]),
      t(rand(6 * 5 * 3, 3), [6, 5, 3]),
    ]),
  );
});

test('int32 matMul falls back to the cpu kernel', async () => {
  await setup();
  await tf.setBackend('native');
  const r = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), tf.tensor2d([5, 6, 7, 8], [2, 2], 'int32'));
  assert.equal(r.dtype, 'int32');
  assert.deepEqual(Array.from(r.dataSync()), [19, 22, 43, 50]);
  r.dispose();
});

test('attention-shaped batched matMul (batch split over threads) matches cpu', async () => {
  const a = rand(8 * 4 * 32 * 16, 31);
  const b = rand(8 * 4 * 32 * 16, 32);
  await compare(() => tf.matMul(t(a, [8, 4, 32, 16]), t(b, [8, 4, 32, 16]), false, true));
  await compare(() => tf.matMul(t(a, [8, 4, 32, 16]), t(b, [8, 4, 32, 16]), true, false));
  await compare(() =>
    tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x, y, false, true).square().sum())([
      t(a, [8, 4, 32, 16]),
      t(b, [8, 4, 32, 16]),
    ]),
  );
});

test('skinny matMul (own AVX-512 or AVX2 kernels, rows or K split over our threads) matches cpu, incl. gradient transposes and remainders', async () => {
  const n0 = getNumThreads();
  let seed = 300;
  // [a shape, b shape, transposeA, transposeB]: tall (N·K small, M large) and deep (M·N small, K large).
  const cases: [number[], number[], boolean, boolean][] = [
    [[10007, 16], [16, 16], false, false], // x·W on a [N·H·W, C] map, odd M: remainder chunk
    [[10007, 16], [16, 16], false, true], // dX = dY·Wᵀ
    [[16, 10007], [16, 16], true, false], // tall with A transposed
    [[16, 10007], [16, 16], true, true],
    [[1537, 64], [64, 64], false, false], // N·K at the 64·64 limit
    [[9001, 64], [64, 4], false, false], // x·W with W [C, r]
    [[9001, 4], [64, 4], false, true], // dX = dY·Wᵀ with W [C, r]
    [[10007, 16], [10007, 16], true, false], // dW = Xᵀ·dY, odd K
    [[9001, 64], [9001, 4], true, false], // dW [C, r]
    [[16, 10007], [10007, 16], false, false], // deep, no transposes
    [[16, 10007], [16, 10007], false, true],
    [[10007, 16], [16, 10007], true, true],
    [[1, 10007, 16], [16, 16], false, false], // batch 1
    [[1, 10007, 16], [1, 10007, 16], true, false],
    [[3, 3001, 16], [16, 16], false, false], // batch sharing B: one [3·3001, 16] product
    [[2, 16, 20011], [2, 20011, 8], false, false], // batched deep products
    // Our micro-kernels' edges: N = 17 (a 1-wide second column block), K = 15, 13 rows of dW (8 + 5), a
    // partial 32-column deep tile (N = 40), and row counts that are not multiples of the 8-row tile.
    [[10005, 15], [15, 17], false, false],
    [[10005, 17], [15, 17], false, true],
    [[10005, 13], [10005, 40], true, false],
    [[4099, 64], [4099, 63], true, false],
    [[2053, 3], [3, 64], false, false],
    // All column blocks in one tile: 3 blocks (6-row tiles), and a deep 32 × 32 in tiles of 12 rows (12 + 12 + 8).
    [[10005, 24], [24, 40], false, false],
    [[10005, 32], [10005, 32], true, false],
  ];
  try {
    for (const threads of [1, 2, 3]) {
      setNumThreads(threads);
      for (const [as, bs, ta, tb] of cases) {
        const a = rand(
          as.reduce((x, y) => x * y),
          seed++,
        );
        const b = rand(
          bs.reduce((x, y) => x * y),
          seed++,
        );
        await compare(
          () => tf.matMul(t(a, as), t(b, bs), ta, tb),
          1e-4,
          1e-4,
          `${threads} threads: ${as} x ${bs} ${ta} ${tb}`,
        );
      }
    }
    // Gradients of a LAUREL-like product: y = x·W on a [rows, C] map, both backward products skinny.
    setNumThreads(2);
    const x = rand(9001 * 32, 7);
    const w = rand(32 * 32, 8);
    await compare(
      () =>
        tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.matMul(p, q).square().sum())([
          t(x, [9001, 32]),
          t(w, [32, 32]),
        ]),
      1e-4,
      1e-4,
      'grads',
    );
  } finally {
    setNumThreads(n0);
  }
});

test('matrix-vector products (one row or one column, every transpose, batched, with bias) match cpu', async () => {
  await setup();
  // [a shape, b shape, transposeA, transposeB]: M = 1 (a decoding step) or N = 1 go through sgemv
  const cases: [number[], number[], boolean, boolean][] = [];
  for (const ta of [false, true]) {
    for (const tb of [false, true]) {
      for (const [m, n] of [
        [1, 37],
        [37, 1],
        [1, 1],
      ]) {
        const k = 70;
        const a = ta ? [k, m] : [m, k];
        const b = tb ? [n, k] : [k, n];
        cases.push([a, b, ta, tb], [[3, ...a], [3, ...b], ta, tb]);
      }
    }
  }
  for (const [as, bs, ta, tb] of cases) {
    await compare(
      () => {
        const a = t(
          rand(
            as.reduce((x, y) => x * y),
            1,
          ),
          as,
        );
        const b = t(
          rand(
            bs.reduce((x, y) => x * y),
            2,
          ),
          bs,
        );
        const y = tf.matMul(a, b, ta, tb);
        const n = y.shape[y.rank - 1];
        const fused = tf.fused.matMul({
          a: a as tf.Tensor2D,
          b: b as tf.Tensor2D,
          transposeA: ta,
          transposeB: tb,
          bias: t(rand(n, 3), [n]),
          activation: 'relu',
        });
        return [y, fused];
      },
      1e-5,
      1e-5,
      `matVec a [${as}] b [${bs}] ta ${ta} tb ${tb}`,
    );
  }
});
