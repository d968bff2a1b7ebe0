import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { getNumThreads, nativeAdamW, nativeOps, nativeSgd, setNumThreads } from '../../src/engine/index.ts';
import { rand, setup, t } from './helpers.ts';

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++)
    assert.ok(Math.abs(a[i] - b[i]) <= tol, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test('nativeAdamW matches the AdamW formula over 3 steps and is a no-op on cpu', async () => {
  await setup();
  const n = 1000;
  const p0 = rand(n, 1);
  const o = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1 };
  // Reference in double precision.
  const p = Float64Array.from(p0);
  const m = new Float64Array(n);
  const v = new Float64Array(n);
  await tf.setBackend('native');
  const pv = tf.variable(t(p0, [n]));
  const mv = tf.variable(tf.zeros([n]));
  const vv = tf.variable(tf.zeros([n]));
  for (let step = 1; step <= 3; step++) {
    const g = rand(n, 10 + step);
    for (let i = 0; i < n; i++) {
      p[i] *= 1 - o.lr * o.weightDecay;
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g[i];
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g[i] * g[i];
      p[i] -=
        (o.lr / (1 - o.beta1 ** step)) * (m[i] / (Math.sqrt(v[i]) / Math.sqrt(1 - o.beta2 ** step) + o.eps));
    }
    const gt = t(g, [n]);
    const before = tf.memory().numTensors;
    assert.ok(nativeAdamW(pv, gt, mv, vv, { ...o, step }));
    assert.equal(tf.memory().numTensors, before, 'nativeAdamW leaks tensors');
    gt.dispose();
  }
  close(pv.dataSync(), p, 1e-5, 'p');
  close(mv.dataSync(), m, 1e-6, 'm');
  close(vv.dataSync(), v, 1e-7, 'v');
  await tf.setBackend('cpu');
  const c = tf.variable(tf.zeros([3]));
  assert.equal(nativeAdamW(c, tf.ones([3]), c, c, { ...o, step: 1 }), false);
  await tf.setBackend('native');
  tf.dispose([pv, mv, vv, c]);
});

test('nativeSgd matches SGD with momentum, nesterov and L2 decay', async () => {
  await setup();
  await tf.setBackend('native');
  const n = 500;
  for (const nesterov of [false, true]) {
    const o = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov };
    const p = Float64Array.from(rand(n, 3));
    const b = new Float64Array(n);
    const pv = tf.variable(t(Float32Array.from(p), [n]));
    const bv = tf.variable(tf.zeros([n]));
    for (let s = 0; s < 3; s++) {
      const g = rand(n, 20 + s);
      for (let i = 0; i < n; i++) {
        const d = g[i] + o.weightDecay * p[i];
        b[i] = o.momentum * b[i] + d;
        p[i] -= o.lr * (nesterov ? d + o.momentum * b[i] : b[i]);
      }
      const gt = t(g, [n]);
      assert.ok(nativeSgd(pv, gt, bv, o));
      gt.dispose();
    }
    close(pv.dataSync(), p, 1e-5, 'p');
    close(bv.dataSync(), b, 1e-5, 'buf');
    tf.dispose([pv, bv]);
  }
});

test('the combine op (the LAUREL combine) and its gradients match the tf-ops formula on cpu', async () => {
  const { ops } = await import('../../src/engine/index.ts');
  const { compare } = await import('./helpers.ts');
  const shape = [4, 6, 8];
  const n = 4 * 6 * 8;
  const variants: [string, boolean, number[] | null, number[] | null][] = [
    ['plain', false, null, null],
    ['lr', true, null, null],
    ['rw scalar', false, [], []],
    ['rw+lr scalar', true, [1], [1]],
    ['rw+lr per-dim', true, [8], [8]],
    ['alpha only', false, [8], null],
  ];
  for (const [name, withExtra, as, bs] of variants) {
    await compare(
      () => {
        const ins = [t(rand(n, 1), shape), t(rand(n, 2), shape)];
        if (withExtra) ins.push(t(rand(n, 3), shape));
        if (as)
          ins.push(
            t(
              rand(Math.max(1, as[0] ?? 1), 4).map((v) => v + 1.5),
              as,
            ),
          );
        if (bs)
          ins.push(
            t(
              rand(Math.max(1, bs[0] ?? 1), 5).map((v) => v + 0.5),
              bs,
            ),
          );
        const w = t(rand(n, 6), shape);
        const f = (...xs: tf.Tensor[]) => {
          let i = 2;
          const extra = withExtra ? xs[i++] : undefined;
          const alpha = as ? xs[i++] : undefined;
          const beta = bs ? xs[i++] : undefined;
          return ops().combine(xs[0], xs[1], { extra, alpha, beta }).mul(w).sum();
        };
        const value = f(...ins);
        return [value, ...tf.grads(f)(ins)];
      },
      1e-5,
      1e-6,
      name,
    );
  }
});

test('fusedLowRankCombine (RW+LR and LR in one kernel) and all its gradients match the tf-ops formula on cpu', async () => {
  const { fusedLowRankCombine } = await import('../../src/engine/index.ts');
  const { compare } = await import('./helpers.ts');
  // [x shape, rank r, alpha shape, beta shape]: both associations (folded x·β(I + V·U) for D ≤ 64 or D ≤ 2r;
  // split (x·V)·U otherwise), rows enough for the skinny GEMM kernels (M ≥ 1024), NHWC maps, and each of α and β
  // absent, [] or [1].
  const cases: [number[], number, number[] | null, number[] | null][] = [
    [[4, 6, 8], 4, [1], [1]],
    [[4, 6, 8], 2, [], []],
    [[4, 6, 8], 7, null, null],
    [[4, 16, 16, 16], 15, [1], [1]],
    [[4, 16, 16, 16], 4, [1], [1]],
    [[2, 16, 16, 32], 8, null, [1]],
    [[8, 160, 64], 16, [1], null],
    // The one-pass row kernels (D ≤ 64): a partial last chunk of rows and D not a multiple of 16; D = 16
    // (8-row blocks in registers) with 273 rows, a tail of rows outside the blocks for 1, 2 and 3 threads.
    [[3, 17, 19, 24], 12, [1], [1]],
    [[3, 7, 13, 16], 8, [1], [1]],
    [[2, 40, 40, 64], 32, [], []],
    // D ≤ 2r but D > 64: the GEMM + in-place combine path instead of the row kernels.
    [[2, 9, 9, 96], 48, [1], [1]],
    // D > 64 and D > 2r: the split path.
    [[2, 12, 12, 80], 8, [1], [1]],
    [[4, 300, 72], 4, [], null],
  ];
  const threads0 = getNumThreads();
  for (const [ci, [shape, r, as, bs]] of cases.entries()) {
    // One thread, and three (more threads than this machine's cores: uneven chunk splits), for some cases.
    setNumThreads(ci % 3 === 0 ? 1 : ci % 3 === 1 ? 3 : threads0);
    const n = shape.reduce((a, b) => a * b);
    const d = shape[shape.length - 1];
    await compare(
      () => {
        const ins = [
          t(rand(n, 1), shape),
          t(rand(n, 2), shape),
          t(rand(d * r, 3), [d, r]),
          t(rand(r * d, 4), [r, d]),
        ];
        if (as)
          ins.push(
            t(
              rand(1, 5).map((v) => v + 1.5),
              as,
            ),
          );
        if (bs)
          ins.push(
            t(
              rand(1, 6).map((v) => v + 0.5),
              bs,
            ),
          );
        const w = t(rand(n, 7), shape);
        const f = (...xs: tf.Tensor[]) => {
          const [fx, x, V, U] = xs;
          let i = 4;
          const alpha = as ? xs[i++] : undefined;
          const beta = bs ? xs[i++] : undefined;
          const formula = () => {
            const extra = tf.reshape(tf.matMul(tf.matMul(tf.reshape(x, [-1, d]), V), U), x.shape);
            const inner = tf.add(x, extra);
            return tf.add(alpha ? tf.mul(alpha, fx) : fx, beta ? tf.mul(beta, inner) : inner);
          };
          return (fusedLowRankCombine(fx, x, V, U, { alpha, beta }) ?? formula()).mul(w).sum();
        };
        return [f(...ins), ...tf.grads(f)(ins)];
      },
      2e-5,
      5e-4, // dα and dβ sum ~10⁵ float32 products; the cpu reference sums them in another order
      `${shape} r=${r} alpha ${as} beta ${bs}`,
    );
  }
  setNumThreads(threads0);
});

test('RW and RW+LR from the raw pair w (α, β by tf ops into the fused combine kernels), with and without ReLU, and their gradients, ∂L/∂w included, match the tf-ops formula', async () => {
  const { rwAlphaBeta, rwFromRaw } = await import('../../src/laurel/math.ts');
  const { compare } = await import('./helpers.ts');
  // [x shape, rank r (0: RW alone), norm, w]: softmax away from 0 (α ≠ β), 'none', and the folded and split
  // low-rank associations (D = 80 > 2r).
  const cases: [number[], number, 'softmax' | 'none', number[]][] = [
    [[4, 9, 9, 16], 0, 'softmax', [0.3, -0.4]],
    [[4, 9, 9, 16], 0, 'none', [1.2, 0.7]],
    [[4, 9, 9, 16], 8, 'softmax', [-0.5, 0.25]],
    [[3, 200, 32], 4, 'none', [0.9, 1.1]],
    [[2, 12, 12, 80], 8, 'softmax', [0.1, 0.6]],
  ];
  for (const [[shape, r, norm, w0], relu] of cases.flatMap((c) => [
    [c, false] as const,
    [c, true] as const,
  ])) {
    const n = shape.reduce((a, b) => a * b);
    const d = shape[shape.length - 1];
    await compare(
      () => {
        const ins = [t(rand(n, 1), shape), t(rand(n, 2), shape), t(Float32Array.from(w0), [2])];
        if (r > 0) ins.push(t(rand(d * r, 3), [d, r]), t(rand(r * d, 4), [r, d]));
        const weight = t(rand(n, 7), shape);
        const f = (...xs: tf.Tensor[]) => {
          const [fx, x, w, V, U] = xs;
          const formula = () => {
            const { alpha, beta } = rwAlphaBeta(norm, w);
            const low = V ? tf.reshape(tf.matMul(tf.matMul(tf.reshape(x, [-1, d]), V), U), x.shape) : null;
            const y = tf.add(tf.mul(alpha, fx), tf.mul(beta, low ? tf.add(x, low) : x));
            return relu ? tf.relu(y) : y;
          };
          return (tf.getBackend() === 'cpu' ? formula() : rwFromRaw(norm, w, fx, x, V, U, relu))
            .mul(weight)
            .sum();
        };
        return [f(...ins), ...tf.grads(f)(ins)];
      },
      2e-5,
      5e-4, // ∂L/∂w sums ~10⁵ float32 products; the cpu reference sums them in another order
      `${shape} r=${r} ${norm} w=${w0} relu=${relu}`,
    );
  }
});

test('the combine op with ReLU (a ResNet block end) and its gradients match tf.relu(tf.add(a, b)); NaN passes forward', async () => {
  const { ops } = await import('../../src/engine/index.ts');
  const { compare } = await import('./helpers.ts');
  const shape = [4, 10, 10, 16];
  const n = 6400;
  await compare(() => {
    const ins = [t(rand(n, 1), shape), t(rand(n, 2), shape)];
    const weight = t(rand(n, 3), shape);
    const f = (p: tf.Tensor, q: tf.Tensor) => ops().combine(p, q, { relu: true }).mul(weight);
    return [f(ins[0], ins[1]), ...tf.grads((p: tf.Tensor, q: tf.Tensor) => f(p, q).sum())(ins)];
  });
  const a = rand(n, 4);
  a[5] = Number.NaN;
  await compare(() => ops().combine(t(a, shape), t(rand(n, 5), shape), { relu: true }));
});

test("every fused ReLU's gradient is tfjs's dy·step(y): a non-finite dy where y ≤ 0, or a NaN y, gives NaN as on cpu", async () => {
  const { ops } = await import('../../src/engine/index.ts');
  const { rwFromRaw } = await import('../../src/laurel/math.ts');
  const { compare } = await import('./helpers.ts');
  // In a few rows (inside the AVX-512 kernel's 8-row blocks, in the rows after them, at either thread's end),
  // f is driven far below 0 (y = 0) where dy is +∞, −∞ or NaN, and one f is NaN (y NaN, dy finite).
  const poisoned = (shape: number[]) => {
    const n = shape.reduce((p, q) => p * q);
    const d = shape[shape.length - 1];
    const rows = n / d;
    const f = rand(n, 1);
    const w = rand(n, 7);
    const spots = [5, Math.floor(rows / 2) - 1, rows - 1].map((r, k) => r * d + ((3 * k + 2) % d));
    spots.forEach((i, k) => {
      f[i] = -1e3;
      w[i] = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN][k];
    });
    f[Math.floor(rows / 3) * d] = Number.NaN;
    return { n, d, f, w };
  };
  // [shape, rank r (0: RW alone)]: the combine kernel (D a multiple of 8 and not), the row kernels (D = 16: the
  // 8-row blocks; D = 32), the split path (D = 80).
  const cases: [number[], number][] = [
    [[4, 9, 9, 16], 0],
    [[3, 7, 13], 0],
    [[4, 9, 9, 16], 8],
    [[3, 200, 32], 4],
    [[2, 12, 12, 80], 8],
  ];
  const threads0 = getNumThreads();
  for (const [ci, [shape, r]] of cases.entries()) {
    setNumThreads(ci % 2 === 0 ? 1 : 2);
    const { n, d, f, w } = poisoned(shape);
    await compare(
      () => {
        const ins = [t(f, shape), t(rand(n, 2), shape), t(Float32Array.from([0.3, -0.4]), [2])];
        if (r > 0) ins.push(t(rand(d * r, 3), [d, r]), t(rand(r * d, 4), [r, d]));
        const loss = (...xs: tf.Tensor[]) => {
          const [fx, x, raw, V, U] = xs;
          return rwFromRaw('softmax', raw, fx, x, V, U, true).mul(t(w, shape)).sum();
        };
        return tf.grads(loss)(ins);
      },
      2e-5,
      5e-4,
      `RW${r ? '+LR' : ''} ${shape}`,
    );
  }
  setNumThreads(threads0);
  // ResNet's block end (ReLU(f + x)) and training batch norm + ReLU (its mask recomputed from x).
  for (const shape of [
    [4, 10, 10, 16],
    [6, 5, 5, 12],
  ]) {
    const { n, f, w } = poisoned(shape);
    await compare(
      () =>
        tf.grads((p: tf.Tensor, q: tf.Tensor) => ops().combine(p, q, { relu: true }).mul(t(w, shape)).sum())([
          t(f, shape),
          t(rand(n, 2), shape),
        ]),
      1e-5,
      1e-6,
      `ReLU(f + x) ${shape}`,
    );
    const c = shape[shape.length - 1];
    await compare(
      () =>
        tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          ops().batchNormTrain(a, g, b, 1e-5, true).y.mul(t(w, shape)).sum(),
        )([
          t(
            f.map((v) => (Number.isNaN(v) ? 0 : v)),
            shape,
          ),
          t(
            rand(c, 3).map((v) => v + 1),
            [c],
          ),
          t(rand(c, 4), [c]),
        ]),
      1e-4,
      1e-5,
      `batchNorm + ReLU ${shape}`,
    );
  }
});

test('fusedLowRankCombine declines per-dimension weights and other backends (the caller keeps the formula)', async () => {
  const { fusedLowRankCombine } = await import('../../src/engine/index.ts');
  await tf.setBackend('native');
  const x = tf.ones([2, 8]);
  const V = tf.ones([8, 2]);
  const U = tf.ones([2, 8]);
  assert.equal(fusedLowRankCombine(x, x, V, U, { alpha: tf.ones([8]) }), null, 'per-dimension alpha');
  assert.equal(fusedLowRankCombine(x, x, tf.ones([4, 2]), U), null, 'V of the wrong size');
  const y = fusedLowRankCombine(x, x, V, U);
  assert.ok(y);
  assert.deepEqual(Array.from(y.dataSync()), new Array(16).fill(1 + 1 + 16)); // f + x + U·V·x with all ones
  await tf.setBackend('cpu');
  assert.equal(fusedLowRankCombine(x, x, V, U), null, 'cpu backend');
  await tf.setBackend('native');
  tf.dispose([x, V, U, y]);
});

test('the batchNormTrain op: one-pass batch statistics stay accurate for a large mean and a small spread', async () => {
  const { ops } = await import('../../src/engine/index.ts');
  const { compare } = await import('./helpers.ts');
  const shape = [64, 7, 7, 8];
  const n = shape.reduce((a, b) => a * b, 1);
  const x = rand(n, 11).map((v, i) => 500 + (i % 8) * 100 + 0.05 * v); // mean 500–1200, std ≈ 0.03
  await compare(
    () => {
      const { mean, variance } = ops().batchNormTrain(t(x, shape), tf.ones([8]), tf.zeros([8]), 1e-5, false);
      return [mean, tf.mul(variance, 1e4)]; // variance ≈ 8e-4: scaled so that 1e-4 relative is checked
    },
    1e-4,
    2e-3,
    'large mean',
  );
});

test('the gelu and layerNorm ops (values and gradients) match the tf-ops formulas on cpu, without leaks', async () => {
  const { ops } = await import('../../src/engine/index.ts');
  const { compare } = await import('./helpers.ts');
  const shape = [3, 5, 16];
  const n = 3 * 5 * 16;
  const x = rand(n, 1).map((v) => v * 4);
  const w = rand(n, 2);
  await compare(
    () => {
      const f = (a: tf.Tensor) => ops().gelu(a).mul(t(w, shape)).sum();
      return [ops().gelu(t(x, shape)), tf.grad(f)(t(x, shape))];
    },
    1e-5,
    1e-6,
    'gelu',
  );
  for (const [withG, withB] of [
    [true, true],
    [true, false],
    [false, false],
  ]) {
    await compare(
      () => {
        const ins = [t(x, shape)];
        if (withG)
          ins.push(
            t(
              rand(16, 3).map((v) => v + 1),
              [16],
            ),
          );
        if (withB) ins.push(t(rand(16, 4), [16]));
        const f = (...a: tf.Tensor[]) =>
          ops()
            .layerNorm(a[0], withG ? a[1] : undefined, withB ? a[withG ? 2 : 1] : undefined, 1e-5)
            .mul(t(w, shape))
            .sum();
        return [f(...ins), ...tf.grads(f)(ins)];
      },
      1e-4,
      1e-5,
      `layerNorm gamma=${withG} beta=${withB}`,
    );
  }
  // Exact reference for GELU's tanh form in double precision.
  await tf.setBackend('native');
  const g = ops().gelu(t(x, shape)).dataSync();
  x.forEach((v, i) => {
    const ref = 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    assert.ok(Math.abs(g[i] - ref) < 1e-5 * (1 + Math.abs(ref)), `gelu(${v}) = ${g[i]} vs ${ref}`);
  });
});

test('the batchNormTrain op (batch statistics, values and gradients, with and without the fused ReLU) matches the tf-ops formula on cpu', async () => {
  const { ops } = await import('../../src/engine/index.ts');
  const { compare } = await import('./helpers.ts');
  for (const relu of [false, true])
    for (const shape of [
      [4, 5, 5, 6],
      [32, 8],
      [1, 3, 3, 16],
    ]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const c = shape[shape.length - 1];
      const x = rand(n, 1).map((v, i) => v * 3 + (i % c));
      const w = rand(n, 2);
      await compare(
        () => {
          const ins = [
            t(x, shape),
            t(
              rand(c, 3).map((v) => v + 1),
              [c],
            ),
            t(rand(c, 4), [c]),
          ];
          const { y, mean, variance } = ops().batchNormTrain(ins[0], ins[1], ins[2], 1e-5, relu);
          const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
            ops().batchNormTrain(a, g, b, 1e-5, relu).y.mul(t(w, shape)).sum();
          return [y, mean, variance, ...tf.grads(f)(ins)];
        },
        1e-4,
        1e-5,
        `batchNorm ${shape} relu ${relu}`,
      );
    }
});

test('the inference-mode batchNorm op (values and gradients to x, mean, variance, γ, β, with and without the fused ReLU) matches tf.batchNorm on cpu, as one kernel on native', async () => {
  const { ops } = await import('../../src/engine/index.ts');
  const { compare } = await import('./helpers.ts');
  for (const relu of [false, true])
    for (const shape of [
      [2, 5, 5, 6],
      [7, 8],
      [1, 3, 3, 16],
    ]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const c = shape[shape.length - 1];
      const x = rand(n, 1).map((v, i) => v * 3 + (i % c) - c / 2);
      const w = rand(n, 2);
      await compare(
        () => {
          // x, mean, variance, γ, β: every one differentiated
          const ins = [
            t(x, shape),
            t(rand(c, 5), [c]),
            t(
              rand(c, 6).map((v) => Math.abs(v) + 0.1),
              [c],
            ),
            t(
              rand(c, 3).map((v) => v + 1),
              [c],
            ),
            t(rand(c, 4), [c]),
          ];
          const bn = ([a, mean, variance, gamma, beta]: tf.Tensor[]) =>
            ops().batchNorm(a, { mean, variance, gamma, beta, eps: 1e-3, relu });
          const f = (...a: tf.Tensor[]) => bn(a).mul(t(w, shape)).sum();
          return [bn(ins), ...tf.grads(f)(ins)];
        },
        1e-5,
        1e-5,
        `batchNorm (inference) ${shape} relu ${relu}`,
      );
    }
  await tf.setBackend('native');
  const [x, m, v, g, b] = [
    t(rand(24, 1), [2, 3, 4]),
    tf.zeros([4]),
    tf.ones([4]),
    tf.ones([4]),
    tf.zeros([4]),
  ];
  const args = { mean: m, variance: v, gamma: g, beta: b, eps: 1e-5, relu: true };
  const { kernelNames } = await tf.profile(() => ops().batchNorm(x, args));
  assert.deepEqual(kernelNames, ['LaurelBatchNorm']);
  tf.dispose([x, m, v, g, b]);
});

test('fusedCausalSoftmax and its gradient match softmax(scale·S + causal mask) with tf ops', async () => {
  const { fusedCausalSoftmax } = await import('../../src/engine/index.ts');
  const { compare } = await import('./helpers.ts');
  const cases: [number[], number][] = [
    [[2, 3, 9, 9], 0.125],
    [[1, 17, 17], 1],
    [[4, 2, 1, 1], 0.5],
  ];
  for (const [shape, scale] of cases) {
    const n = shape.reduce((a, b) => a * b);
    const t0 = shape[shape.length - 1];
    const mask = tf.tensor2d(
      Array.from({ length: t0 * t0 }, (_, i) => (i % t0 > Math.floor(i / t0) ? -1e9 : 0)),
      [t0, t0],
    );
    await compare(
      () => {
        const s = t(
          rand(n, 1).map((v) => 4 * v),
          [...shape],
        );
        const w = t(rand(n, 2), shape);
        const f = (x: tf.Tensor) =>
          (fusedCausalSoftmax(x, scale) ?? tf.softmax(tf.add(tf.mul(x, scale), mask))).mul(w).sum();
        return [f(s), tf.grad(f)(s)];
      },
      1e-5,
      1e-6,
      `[${shape}] scale ${scale}`,
    );
  }
  await tf.setBackend('native');
  assert.equal(fusedCausalSoftmax(tf.ones([2, 3, 4]), 1), null, 'not square');
  assert.equal(fusedCausalSoftmax(tf.ones([3, 3]), 0), null, 'scale 0');
});

test('ops().causalSoftmax: queries after a cache (T < N) see keys up to their own position, on cpu and native', async () => {
  const { ops } = await import('../../src/engine/index.ts');
  const { setup } = await import('./helpers.ts');
  await setup();
  const [b, tq, n, scale] = [2, 3, 5, 0.5];
  const s = rand(b * tq * n, 7);
  // by hand: row i of a block sits at position n − tq + i and sees keys 0 … n − tq + i
  const want = new Float32Array(s.length);
  for (let r = 0; r < b * tq; r++) {
    const last = n - tq + (r % tq);
    const row = Array.from({ length: last + 1 }, (_, j) => Math.exp(scale * s[r * n + j]));
    const z = row.reduce((x, y) => x + y);
    row.forEach((e, j) => {
      want[r * n + j] = e / z;
    });
  }
  for (const backend of ['cpu', 'native']) {
    await tf.setBackend(backend);
    for (const [shape, data, expect] of [
      [[b, tq, n], s, want],
      [[b, 1, n], s.subarray(0, b * n), null], // one query: the plain softmax
    ] as const) {
      const got = tf.tidy(() =>
        ops()
          .causalSoftmax(tf.tensor(data, [...shape]), scale)
          .dataSync(),
      );
      const ref =
        expect ??
        tf.tidy(() => tf.softmax(tf.mul(tf.tensor(data, [...shape]), scale)).dataSync() as Float32Array);
      for (let i = 0; i < got.length; i++)
        assert.ok(Math.abs(got[i] - ref[i]) < 1e-6, `${backend} [${shape}] ${i}: ${got[i]} vs ${ref[i]}`);
    }
  }
  assert.throws(() => ops().causalSoftmax(tf.ones([4, 2]), 1), /more queries \(4\) than keys \(2\)/);
});

test('the native ops take tensors with a zero-size dimension, as the reference ops do', async () => {
  await setup();
  await tf.setBackend('native');
  const cases: [string, () => tf.Tensor, number[]][] = [
    ['causalSoftmax', () => nativeOps.causalSoftmax(tf.zeros([2, 0, 0]), 0.5), [2, 0, 0]],
    ['layerNorm', () => nativeOps.layerNorm(tf.zeros([3, 0]), undefined, undefined, 1e-5), [3, 0]],
    ['combine', () => nativeOps.combine(tf.zeros([3, 0]), tf.zeros([3, 0]), { alpha: tf.scalar(2) }), [3, 0]],
    [
      'batchNormTrain',
      () => nativeOps.batchNormTrain(tf.zeros([0, 4]), tf.ones([4]), tf.zeros([4]), 1e-5, false).y,
      [0, 4],
    ],
    ['gelu', () => nativeOps.gelu(tf.zeros([0])), [0]],
  ];
  for (const [name, run, shape] of cases) assert.deepEqual(run().shape, shape, name);
});
