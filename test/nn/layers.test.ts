import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  BatchNorm,
  CausalSelfAttention,
  Conv2d,
  Embedding,
  LayerNorm,
  Linear,
  Mlp,
  RMSNorm,
  crossEntropy,
  gelu,
} from '../../src/nn/index.ts';
import { Rng } from '../../src/util/rng.ts';

function close(a: tf.Tensor | number[], b: tf.Tensor | number[], tol = 1e-4, msg = ''): void {
  const x = Array.from(a instanceof tf.Tensor ? a.dataSync() : a);
  const y = Array.from(b instanceof tf.Tensor ? b.dataSync() : b);
  assert.equal(x.length, y.length, `${msg}: lengths ${x.length} vs ${y.length}`);
  for (let i = 0; i < x.length; i++) {
    assert.ok(Math.abs(x[i] - y[i]) <= tol * (1 + Math.abs(y[i])), `${msg}[${i}]: ${x[i]} vs ${y[i]}`);
  }
}

function rand(shape: number[], seed: number): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
  );
}

test('Linear computes x·W + b on rank-2 and rank-3 inputs', () => {
  const lin = new Linear(3, 2, { seed: 1 });
  const x = tf.tensor2d([
    [1, 2, 3],
    [-1, 0, 0.5],
  ]);
  const [w, b] = [lin.kernel.arraySync() as number[][], lin.bias!.arraySync() as number[]];
  const want = (x.arraySync() as number[][]).map((row) =>
    [0, 1].map((o) => row.reduce((s, v, i) => s + v * w[i][o], b[o])),
  );
  close(lin.forward(x), want.flat(), 1e-5, 'linear');
  const y3 = lin.forward(tf.reshape(x, [1, 2, 3]));
  assert.deepEqual(y3.shape, [1, 2, 2]);
  close(y3, want.flat(), 1e-5, 'linear 3d');
  assert.equal(lin.parameterCount(), 3 * 2 + 2);
  assert.deepEqual(
    lin.namedParameters().map((p) => [p.name, p.kind]),
    [
      ['kernel', 'weight'],
      ['bias', 'bias'],
    ],
  );
  // PyTorch default init: U(±1/√fan_in).
  assert.ok((lin.kernel.dataSync() as Float32Array).every((v) => Math.abs(v) <= 1 / Math.sqrt(3)));
  assert.equal(new Linear(3, 2, { bias: false }).bias, null);
  lin.dispose();
});

test('Conv2d matches a hand-computed 2×2 convolution', () => {
  const conv = new Conv2d(1, 1, 2, { bias: false });
  conv.kernel.assign(tf.tensor4d([1, 2, 3, 4], [2, 2, 1, 1]));
  const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
  // [[1,2],[4,5]]·[[1,2],[3,4]] = 1+4+12+20 = 37, then 47, 67, 77.
  close(conv.forward(x), [37, 47, 67, 77], 0, 'valid');
  const padded = new Conv2d(1, 1, 2, { bias: false, padding: 1, stride: 2 });
  padded.kernel.assign(tf.tensor4d([1, 2, 3, 4], [2, 2, 1, 1]));
  // Padded input is 5×5; windows start at rows/cols 0 and 2: top-left sees only x[0,0]·4.
  close(padded.forward(x), [4, 6 + 12, 2 * 4 + 4 * 7, 5 + 2 * 6 + 3 * 8 + 4 * 9], 0, 'pad 1 stride 2');
});

test('Conv2d with explicit padding matches tf.pad + tf.conv2d valid, and differs from TF same at stride 2', () => {
  const x = rand([2, 8, 8, 3], 2) as tf.Tensor4D;
  for (const [k, s, p] of [
    [7, 2, 3],
    [3, 2, 1],
    [3, 1, 1],
    [1, 2, 0],
    [1, 1, 0],
  ]) {
    const conv = new Conv2d(3, 4, k, { stride: s, padding: p, rng: new Rng(k * 10 + s) });
    const ref = tf.add(
      tf.conv2d(
        tf.pad(x, [
          [0, 0],
          [p, p],
          [p, p],
          [0, 0],
        ]),
        conv.kernel as tf.Tensor4D,
        s,
        'valid',
      ),
      conv.bias!,
    );
    const y = conv.forward(x);
    assert.deepEqual(y.shape, ref.shape, `k${k} s${s} p${p}`);
    close(y, ref, 1e-4, `k${k} s${s} p${p}`);
    // Odd sizes too (7×7 maps in ResNet stage 3 of a 28×28 input).
    const x7 = tf.slice(x, [0, 0, 0, 0], [2, 7, 7, 3]) as tf.Tensor4D;
    const pad = [
      [0, 0],
      [p, p],
      [p, p],
      [0, 0],
    ] as [number, number][];
    const ref7 = tf.add(tf.conv2d(tf.pad(x7, pad), conv.kernel as tf.Tensor4D, s, 'valid'), conv.bias!);
    close(conv.forward(x7), ref7, 1e-4, `7×7 k${k} s${s} p${p}`);
    // And gradients for the kernel and for the input.
    const wts = rand(ref7.shape, 3);
    const loss = (inp: tf.Tensor, ker: tf.Tensor) =>
      tf.sum(
        tf.mul(
          tf.add(tf.conv2d(tf.pad(inp as tf.Tensor4D, pad), ker as tf.Tensor4D, s, 'valid'), conv.bias!),
          wts,
        ),
      );
    const [gx, gk] = tf.grads(loss)([x7, conv.kernel]);
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(conv.forward(x7), wts)) as tf.Scalar);
    close(grads[conv.kernel.name], gk, 1e-4, `kernel grad k${k} s${s} p${p}`);
    // The same layer built with tf.conv2d's own kernel gradient (filterGrad 'tfjs'): the same numbers.
    const viaTfjs = new Conv2d(3, 4, k, { stride: s, padding: p, filterGrad: 'tfjs' });
    viaTfjs.kernel.assign(conv.kernel);
    viaTfjs.bias!.assign(conv.bias!);
    const tfjsGrads = tf.variableGrads(() => tf.sum(tf.mul(viaTfjs.forward(x7), wts)) as tf.Scalar).grads;
    close(tfjsGrads[viaTfjs.kernel.name], gk, 1e-4, `tfjs-mode kernel grad k${k} s${s} p${p}`);
    close(
      tf.grad((inp: tf.Tensor) => tf.sum(tf.mul(conv.forward(inp as tf.Tensor4D), wts)))(x7),
      gx,
      1e-4,
      `input grad k${k} s${s} p${p}`,
    );
  }
  const conv = new Conv2d(3, 4, 3, { stride: 2, padding: 1, bias: false });
  const same = tf.conv2d(x, conv.kernel as tf.Tensor4D, 2, 'same');
  const tfSame = new Conv2d(3, 4, 3, { stride: 2, padding: 'same', bias: false });
  tfSame.kernel.assign(conv.kernel);
  close(tfSame.forward(x), same, 1e-4, "padding 'same' is TF's");
  assert.throws(() => new Conv2d(3, 4, 3, { filterGrad: 'fast' as never }), /Conv2d: bad filterGrad 'fast'/);
  const y = conv.forward(x);
  assert.deepEqual(y.shape, same.shape);
  const diff = tf.max(tf.abs(tf.sub(y, same))).dataSync()[0];
  assert.ok(diff > 1e-3, 'torch-style symmetric padding differs from TF same at stride 2');
  // Gradients through the torch-padded conv equal those of the tf.pad + valid reference.
  const w = tf.square(rand([2, 4, 4, 4], 9));
  const g = tf.variableGrads(() => tf.sum(tf.mul(conv.forward(x), w)) as tf.Scalar).grads[conv.kernel.name];
  const gRef = tf.grad((k: tf.Tensor) =>
    tf.sum(
      tf.mul(
        tf.conv2d(
          tf.pad(x, [
            [0, 0],
            [1, 1],
            [1, 1],
            [0, 0],
          ]),
          k as tf.Tensor4D,
          2,
          'valid',
        ),
        w,
      ),
    ),
  )(conv.kernel);
  close(g, gRef, 1e-4, 'conv grad');
});

test('Conv2d kaiming-normal-fan-out init has std √(2/fan_out)', () => {
  const conv = new Conv2d(32, 64, 3, { init: 'kaiming-normal-fan-out', bias: false, seed: 3 });
  const v = Array.from(conv.kernel.dataSync());
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  const want = Math.sqrt(2 / (64 * 9));
  assert.ok(Math.abs(std - want) / want < 0.03, `std ${std} vs ${want}`);
  assert.ok(Math.abs(mean) < 0.003);
});

test('same seed gives the same weights, another seed different ones', () => {
  const a = new Mlp(8, { seed: 5 });
  const b = new Mlp(8, { seed: 5 });
  const c = new Mlp(8, { seed: 6 });
  const pa = a.namedParameters();
  const pb = b.namedParameters();
  const pc = c.namedParameters();
  for (let i = 0; i < pa.length; i++) {
    assert.deepEqual(pa[i].variable.dataSync(), pb[i].variable.dataSync());
  }
  assert.notDeepEqual(pa[0].variable.dataSync(), pc[0].variable.dataSync());
  // Two layers drawn from one stream differ.
  const rng = new Rng(1);
  assert.notDeepEqual(
    new Linear(4, 4, { rng }).kernel.dataSync(),
    new Linear(4, 4, { rng }).kernel.dataSync(),
  );
});

test('BatchNorm: batch statistics and torch-style running-stat updates in training', () => {
  const bn = new BatchNorm(2);
  const x = tf.tensor4d([1, 10, 2, 20, 3, 30, 6, 40], [2, 2, 1, 2]);
  const y = bn.forward(x);
  // channel 0: values 1,2,3,6: mean 3, biased var 3.5, unbiased 14/3; channel 1: 10..40: mean 25, var 125.
  const want = [
    [1, 2, 3, 6],
    [10, 20, 30, 40],
  ].map((c, ch) => c.map((v) => (v - [3, 25][ch]) / Math.sqrt([3.5, 125][ch] + 1e-5)));
  close(
    y,
    [0, 1, 2, 3].flatMap((i) => [want[0][i], want[1][i]]),
    1e-5,
    'train output',
  );
  close(bn.runningMean, [0.3, 2.5], 1e-6, 'running mean');
  close(bn.runningVar, [0.9 + 0.1 * (14 / 3), 0.9 + 0.1 * (500 / 3)], 1e-5, 'running var');
  assert.equal(bn.parameterCount(), 4);
  assert.deepEqual(
    bn.namedBuffers().map((b) => b.name),
    ['runningMean', 'runningVar'],
  );
  // Inference: uses the running statistics and updates nothing.
  bn.setTraining(false);
  const rm = bn.runningMean.dataSync().slice();
  const rv = bn.runningVar.dataSync().slice();
  const ye = bn.forward(x);
  close(
    ye,
    [0, 1, 2, 3].flatMap((i) =>
      [0, 1].map((ch) => ([x.dataSync()[i * 2 + ch]][0] - rm[ch]) / Math.sqrt(rv[ch] + 1e-5)),
    ),
    1e-5,
    'eval output',
  );
  assert.deepEqual(bn.runningMean.dataSync(), rm);
  assert.deepEqual(bn.runningVar.dataSync(), rv);
});

test('BatchNorm inside tf.variableGrads: correct gradients, buffers updated, no leaked tensors', () => {
  const conv = new Conv2d(2, 3, 1, { seed: 4 });
  const bn = new BatchNorm(3);
  const x = rand([4, 3, 3, 2], 7) as tf.Tensor4D;
  const target = rand([4, 3, 3, 3], 8);
  const loss = (useBn: boolean) => () =>
    tf.tidy(() => {
      const h = conv.forward(x);
      let y: tf.Tensor;
      if (useBn) y = bn.forward(h);
      else {
        // Independent reference: the BN formula written with elementary ops.
        const mean = tf.mean(h, [0, 1, 2]);
        const v = tf.mean(tf.square(tf.sub(h, mean)), [0, 1, 2]);
        y = tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(v, 1e-5))), bn.gamma), bn.beta);
      }
      return tf.sum(tf.mul(tf.square(y), target)) as tf.Scalar;
    });
  const ref = tf.variableGrads(loss(false));
  const before = tf.memory().numTensors;
  for (let step = 0; step < 3; step++) {
    const rm = bn.runningMean.dataSync().slice();
    const { value, grads } = tf.variableGrads(loss(true));
    if (step === 0) {
      close(value, ref.value, 1e-4, 'loss');
      for (const p of [...conv.namedParameters(), ...bn.namedParameters()]) {
        close(grads[p.variable.name], ref.grads[p.variable.name], 1e-3, `grad ${p.name}`);
      }
    }
    assert.equal(grads[bn.runningMean.name], undefined, 'no gradient for a buffer');
    assert.notDeepEqual(bn.runningMean.dataSync(), rm, 'running mean moves in training');
    value.dispose();
    tf.dispose(Object.values(grads));
    assert.equal(tf.memory().numTensors, before, `tensors leaked at step ${step}`);
  }
});

test('LayerNorm and RMSNorm match their formulas', () => {
  const x = tf.tensor2d([
    [1, 2, 3, 6],
    [0, -1, 1, 0],
  ]);
  const ln = new LayerNorm(4);
  ln.gamma.assign(tf.tensor1d([1, 2, 1, 1]));
  ln.beta!.assign(tf.tensor1d([0, 0, 1, 0]));
  const rows = x.arraySync();
  const lnWant = rows.flatMap((r) => {
    const m = r.reduce((a, b) => a + b) / 4;
    const v = r.reduce((a, b) => a + (b - m) ** 2, 0) / 4;
    return r.map((e, i) => ((e - m) / Math.sqrt(v + 1e-5)) * [1, 2, 1, 1][i] + [0, 0, 1, 0][i]);
  });
  close(ln.forward(x), lnWant, 1e-5, 'layernorm');
  const rms = new RMSNorm(4);
  rms.gamma.assign(tf.tensor1d([1, 1, 3, 1]));
  const rmsWant = rows.flatMap((r) => {
    const ms = r.reduce((a, b) => a + b * b, 0) / 4;
    return r.map((e, i) => (e / Math.sqrt(ms + 1e-6)) * [1, 1, 3, 1][i]);
  });
  close(rms.forward(x), rmsWant, 1e-5, 'rmsnorm');
  assert.deepEqual(
    [...ln.namedParameters(), ...rms.namedParameters()].map((p) => p.kind),
    ['norm', 'norm', 'norm'],
  );
});

test('LayerNorm gradients match those of its elementary-op formula', () => {
  const ln = new LayerNorm(6);
  ln.gamma.assign(tf.tensor1d([1, 2, -1, 0.5, 1, 3]));
  ln.beta!.assign(tf.tensor1d([0, 1, 0, 0, -1, 0]));
  const x = rand([2, 3, 6], 4);
  const w = rand([2, 3, 6], 5);
  const reference = (inp: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const c = tf.sub(inp, tf.mean(inp, -1, true));
    const v = tf.mean(tf.square(c), -1, true);
    return tf.sum(tf.mul(tf.add(tf.mul(tf.div(c, tf.sqrt(tf.add(v, 1e-5))), g), b), w));
  };
  const want = tf.grads(reference)([x, ln.gamma, ln.beta!]);
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(ln.forward(x), w)) as tf.Scalar);
  close(grads[ln.gamma.name], want[1], 1e-4, 'dγ');
  close(grads[ln.beta!.name], want[2], 1e-4, 'dβ');
  close(tf.grad((inp: tf.Tensor) => tf.sum(tf.mul(ln.forward(inp), w)))(x), want[0], 1e-4, 'dx');
});

test('Embedding looks up rows', () => {
  const emb = new Embedding(5, 3, { seed: 2, std: 0.02 });
  const ids = tf.tensor2d(
    [
      [4, 0],
      [2, 2],
    ],
    [2, 2],
    'int32',
  );
  const y = emb.forward(ids);
  assert.deepEqual(y.shape, [2, 2, 3]);
  const table = emb.table.arraySync() as number[][];
  close(y, [table[4], table[0], table[2], table[2]].flat(), 0, 'rows');
  assert.equal(emb.namedParameters()[0].kind, 'embedding');
});

test('gelu is the tanh approximation; Mlp is proj(gelu(fc(x)))', () => {
  const xs = [-3, -1, -0.1, 0, 0.5, 2];
  const want = xs.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
  close(gelu(tf.tensor1d(xs)), want, 1e-5, 'gelu');
  const mlp = new Mlp(4, { ratio: 2, seed: 1 });
  assert.equal(mlp.fc.outFeatures, 8);
  const x = rand([2, 3, 4], 3);
  close(mlp.forward(x), mlp.proj.forward(gelu(mlp.fc.forward(x))), 1e-6, 'mlp');
  assert.equal(mlp.parameterCount(), 4 * 8 + 8 + 8 * 4 + 4);
});

/** Per-head reference attention written with explicit slices, for comparison. */
function referenceAttention(attn: CausalSelfAttention, x: tf.Tensor3D): tf.Tensor {
  const [b, t, dim] = x.shape;
  const d = attn.headDim;
  const qkv = attn.qkv.forward(x);
  const heads: tf.Tensor[] = [];
  const causal = tf.linalg.bandPart(tf.ones([t, t]), -1, 0);
  for (let h = 0; h < attn.heads; h++) {
    const q = tf.slice(qkv, [0, 0, h * d], [b, t, d]);
    const k = tf.slice(qkv, [0, 0, dim + h * d], [b, t, d]);
    const v = tf.slice(qkv, [0, 0, 2 * dim + h * d], [b, t, d]);
    const s = tf.div(tf.matMul(q, k, false, true), Math.sqrt(d));
    const masked = tf.where(tf.cast(causal, 'bool'), s, tf.fill(s.shape, Number.NEGATIVE_INFINITY));
    heads.push(tf.matMul(tf.softmax(masked), v));
  }
  return attn.proj.forward(tf.concat(heads, -1));
}

test('CausalSelfAttention matches a per-head reference and never looks ahead', () => {
  const attn = new CausalSelfAttention(8, 2, { context: 6, seed: 3 });
  const x = rand([2, 5, 8], 11) as tf.Tensor3D;
  const y = attn.forward(x);
  assert.deepEqual(y.shape, [2, 5, 8]);
  close(y, referenceAttention(attn, x), 1e-4, 'attention');
  for (const rotary of [false, true]) {
    const a = new CausalSelfAttention(8, 2, { context: 6, seed: 3, rotary });
    const y1 = a.forward(x).arraySync() as number[][][];
    // Change only position 3: outputs at positions 0..2 must not move, position 3 must.
    const x2 = tf.concat(
      [tf.slice(x, [0, 0, 0], [2, 3, 8]), tf.add(tf.slice(x, [0, 3, 0], [2, 2, 8]), 1)],
      1,
    );
    const y2 = a.forward(x2 as tf.Tensor3D).arraySync() as number[][][];
    for (let bi = 0; bi < 2; bi++) {
      close(y1[bi].slice(0, 3).flat(), y2[bi].slice(0, 3).flat(), 1e-6, `rotary=${rotary} past`);
      assert.notDeepEqual(y1[bi][3], y2[bi][3]);
    }
  }
  assert.throws(() => attn.forward(rand([1, 7, 8], 1) as tf.Tensor3D), /context/);
  assert.throws(() => new CausalSelfAttention(8, 3, { context: 4 }), /divide/);
});

test('rotary attention depends only on relative positions', () => {
  // With the same query and key vectors at every position, the rotated scores q_t·k_s must depend only on
  // t − s; checked on the rotation itself.
  const a = new CausalSelfAttention(4, 1, { context: 8, rotary: true });
  const rope = (a as unknown as { applyRope(x: tf.Tensor, t: number): tf.Tensor }).applyRope.bind(a);
  const q = tf.tile(tf.tensor3d([[[0.3, -1, 2, 0.5]]]), [1, 8, 1]);
  const k = tf.tile(tf.tensor3d([[[1, 0.2, -0.7, 1.5]]]), [1, 8, 1]);
  const s = tf.matMul(rope(q, 8), rope(k, 8), false, true).arraySync() as number[][][];
  for (const [t, u] of [
    [3, 1],
    [5, 5],
    [7, 2],
  ]) {
    assert.ok(Math.abs(s[0][t][u] - s[0][t - 1][u - 1]) < 1e-5, `(${t},${u})`);
  }
  assert.ok(Math.abs(s[0][3][1] - s[0][3][2]) > 1e-3, 'scores do change with distance');
  // Rotations keep norms.
  close(tf.norm(rope(q, 8), 2, -1), tf.norm(q, 2, -1), 1e-5, 'norm');
  a.dispose();
});

test('crossEntropy is the mean negative log-softmax of the labels', () => {
  const logits = tf.tensor3d([
    [
      [1, 2, 3],
      [0, 0, 0],
    ],
  ]);
  const labels = tf.tensor2d([[2, 1]], [1, 2], 'int32');
  const l1 = 3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
  const l2 = -Math.log(3);
  close(crossEntropy(logits, labels), [-(l1 + l2) / 2], 1e-6, 'ce');
});

test('BatchNorm.forwardRelu is ReLU(forward) in training and inference mode', () => {
  const bn = new BatchNorm(3);
  bn.beta.assign(tf.tensor1d([0.5, -0.5, 0]));
  const x = tf.tensor2d([
    [1, -2, 3],
    [-1, 0.5, 2],
    [0.25, 2, -3],
    [3, -1, 0],
  ]);
  for (const training of [true, false]) {
    bn.setTraining(training);
    const a = bn.forwardRelu(x);
    const b = tf.relu(bn.forward(x));
    assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()), `training ${training}`);
    assert.ok(a.dataSync().some((v) => v === 0) && a.dataSync().some((v) => v > 0));
    tf.dispose([a, b]);
  }
  tf.dispose(x);
  bn.dispose();
});
