import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { nativeKernelNames } from '../../src/engine/index.ts';
import { compare, rand, setup, t } from './helpers.ts';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  x: [number, number, number, number];
  f: [number, number, number, number];
  s: [number, number];
  pad: Pad;
  d?: [number, number];
}

const cases: Case[] = [
  { x: [2, 8, 8, 3], f: [3, 3, 3, 4], s: [1, 1], pad: 'same' },
  { x: [1, 9, 7, 2], f: [3, 3, 2, 5], s: [2, 2], pad: 'same' },
  { x: [3, 10, 10, 4], f: [3, 3, 4, 6], s: [2, 1], pad: 'valid' },
  { x: [2, 7, 9, 3], f: [1, 1, 3, 8], s: [1, 1], pad: 'valid' },
  { x: [2, 7, 9, 3], f: [1, 1, 3, 8], s: [2, 2], pad: 'same' },
  { x: [1, 11, 11, 2], f: [5, 3, 2, 3], s: [1, 2], pad: 'same' },
  {
    x: [2, 6, 6, 3],
    f: [3, 3, 3, 2],
    s: [1, 1],
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  },
  { x: [2, 12, 12, 3], f: [3, 3, 3, 4], s: [1, 1], pad: 'same', d: [2, 2] },
  { x: [1, 12, 10, 2], f: [3, 2, 2, 3], s: [1, 1], pad: 'valid', d: [2, 3] },
];

test('conv2d forward matches cpu (strides, same/valid/explicit padding, dilation, batch 1, 1x1)', async () => {
  await setup();
  for (const k of [
    'Conv2D',
    'FusedConv2D',
    'Conv2DBackpropInput',
    'Conv2DBackpropFilter',
    'MaxPool',
    'AvgPool',
  ])
    assert.ok(nativeKernelNames().includes(k), k);
  let seed = 1;
  for (const c of cases) {
    const x = rand(size(c.x), seed++);
    const f = rand(size(c.f), seed++);
    await compare(
      () => tf.conv2d(t(x, c.x) as tf.Tensor4D, t(f, c.f) as tf.Tensor4D, c.s, c.pad, 'NHWC', c.d ?? 1),
      1e-4,
      1e-5,
      JSON.stringify(c),
    );
  }
});

test('fused conv2d with bias and relu matches cpu', async () => {
  const c = cases[1];
  const x = rand(size(c.x), 3);
  const f = rand(size(c.f), 4);
  const b = rand(c.f[3], 5);
  for (const activation of ['relu', 'linear', 'elu'] as const) {
    await compare(() =>
      tf.fused.conv2d({
        x: t(x, c.x) as tf.Tensor4D,
        filter: t(f, c.f) as tf.Tensor4D,
        strides: c.s,
        pad: c.pad as 'same',
        bias: t(b, [c.f[3]]),
        activation,
      }),
    );
  }
});

test('conv2d gradients (input and filter) match cpu', async () => {
  let seed = 40;
  for (const c of cases.filter((c) => !c.d)) {
    const x = rand(size(c.x), seed++);
    const f = rand(size(c.f), seed++);
    await compare(
      () =>
        tf.grads((a: tf.Tensor, w: tf.Tensor) =>
          tf
            .conv2d(a as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad)
            .square()
            .sum(),
        )([t(x, c.x), t(f, c.f)]),
      1e-4,
      1e-5,
      JSON.stringify(c),
    );
  }
  // Through the fused op with bias + relu (gradients for x, filter and bias).
  const c = cases[0];
  await compare(() =>
    tf.grads((a: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
      tf.fused
        .conv2d({
          x: a as tf.Tensor4D,
          filter: w as tf.Tensor4D,
          strides: 1,
          pad: 'same',
          bias: b,
          activation: 'relu',
        })
        .sum(),
    )([t(rand(size(c.x), 1), c.x), t(rand(size(c.f), 2), c.f), t(rand(4, 3), [4])]),
  );
});

test('max/avg pooling and their gradients match cpu', async () => {
  const shapes: [number[], [number, number], [number, number], 'same' | 'valid'][] = [
    [[2, 8, 8, 3], [2, 2], [2, 2], 'valid'],
    [[1, 9, 7, 2], [3, 3], [2, 2], 'same'],
    [[2, 10, 10, 4], [3, 3], [1, 1], 'valid'],
    [[3, 7, 7, 5], [2, 3], [2, 1], 'same'],
  ];
  let seed = 9;
  for (const [s, fs, st, pad] of shapes) {
    const x = rand(size(s), seed++);
    await compare(() => [
      tf.maxPool(t(x, s) as tf.Tensor4D, fs, st, pad),
      tf.avgPool(t(x, s) as tf.Tensor4D, fs, st, pad),
    ]);
    await compare(() =>
      tf.grad((a: tf.Tensor) =>
        tf
          .maxPool(a as tf.Tensor4D, fs, st, pad)
          .square()
          .sum(),
      )(t(x, s)),
    );
    // With 'same' padding too: tfjs's AvgPoolGrad divides by the whole window even where the forward averaged
    // fewer (padded) positions, and its conformance suite pins that, so native does the same (issue 10).
    await compare(() =>
      tf.grad((a: tf.Tensor) =>
        tf
          .avgPool(a as tf.Tensor4D, fs, st, pad)
          .square()
          .sum(),
      )(t(x, s)),
    );
  }
});

// The fast paths in native/src/conv.cc: direct AVX-512 or AVX2 kernels (forward, backprop-input by stride phases,
// backprop-filter with per-thread partials) where OC (forward, filter) or C (input) ≥ 8, 1×1 stride-1 GEMMs, and
// the im2col-tile + sgemm path otherwise (or with LAUREL_CONV_DIRECT=0). Each case checks forward and both
// gradients against cpu under both settings; sizes are large enough for two threads and several row tiles.
const fastCases: (Case & { why: string })[] = [
  { why: 'C=1 stem', x: [3, 28, 28, 1], f: [3, 3, 1, 16], s: [1, 1], pad: 'same' },
  { why: '16→16 odd size', x: [2, 13, 11, 16], f: [3, 3, 16, 16], s: [1, 1], pad: 'same' },
  { why: "'same' stride 2", x: [2, 15, 14, 16], f: [3, 3, 16, 32], s: [2, 2], pad: 'same' },
  {
    why: 'explicit pad 1 stride 2 (ResNet)',
    x: [4, 14, 14, 8],
    f: [3, 3, 8, 24],
    s: [2, 2],
    pad: [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
  },
  { why: '1×1 stride 1 (GEMM)', x: [3, 9, 7, 16], f: [1, 1, 16, 32], s: [1, 1], pad: 'valid' },
  { why: '1×1 stride 2 projection', x: [4, 14, 14, 16], f: [1, 1, 16, 32], s: [2, 2], pad: 'valid' },
  { why: '1×1 stride 2 odd size', x: [2, 9, 7, 8], f: [1, 1, 8, 8], s: [2, 2], pad: 'same' },
  { why: 'batch 1, OC=40 (masked block)', x: [1, 17, 19, 24], f: [3, 3, 24, 40], s: [1, 1], pad: 'valid' },
  { why: 'batch 1 stride 2 64 ch', x: [1, 7, 7, 64], f: [3, 3, 64, 64], s: [2, 2], pad: 'same' },
  { why: 'OC=5, C=3 (fallback)', x: [2, 10, 9, 3], f: [3, 3, 3, 5], s: [1, 1], pad: 'same' },
  { why: 'stride 3, 5×3 kernel', x: [2, 16, 13, 9], f: [5, 3, 9, 12], s: [3, 3], pad: 'same' },
  { why: 'stride (1, 2), 2×4 kernel', x: [2, 11, 12, 10], f: [2, 4, 10, 9], s: [1, 2], pad: 'valid' },
  { why: 'kernel larger than stride-2 image', x: [2, 3, 2, 8], f: [5, 5, 8, 16], s: [2, 2], pad: 'same' },
  { why: 'many rows (several tiles)', x: [6, 24, 24, 8], f: [3, 3, 8, 16], s: [1, 1], pad: 'same' },
  // The AVX-512 row kernel (KW = 3, stride 1 along x): tiles of P ≤ 14 (one 16-channel block) or ≤ 8 (two).
  { why: 'row: 3 tiles, OC=48, C=24', x: [2, 6, 17, 24], f: [3, 3, 24, 48], s: [1, 1], pad: 'same' },
  { why: 'row: 5×3 kernel, stride (2, 1)', x: [2, 11, 9, 16], f: [5, 3, 16, 16], s: [2, 1], pad: 'same' },
  { why: 'row: width 1 (both ends padded)', x: [3, 5, 1, 12], f: [3, 3, 12, 16], s: [1, 1], pad: 'same' },
  { why: 'row: valid 3×3 to width 1', x: [2, 4, 3, 16], f: [3, 3, 16, 17], s: [1, 1], pad: 'valid' },
  {
    why: 'row: asymmetric pad (left 0, right 2)',
    x: [2, 6, 10, 16],
    f: [3, 3, 16, 16],
    s: [1, 1],
    pad: [
      [0, 0],
      [1, 1],
      [0, 2],
      [0, 0],
    ],
  },
];

for (const [direct, avx512, row] of [
  ['1', '1', '1'],
  ['1', '1', '0'],
  ['1', '0', '1'],
  ['0', '1', '1'],
]) {
  test(`conv2d fast paths (LAUREL_CONV_DIRECT=${direct}, LAUREL_CONV_AVX512=${avx512}, LAUREL_CONV_ROW=${row}): forward and gradients match cpu`, async () => {
    const names = ['LAUREL_CONV_DIRECT', 'LAUREL_CONV_AVX512', 'LAUREL_CONV_ROW'];
    const saved = names.map((n) => process.env[n]);
    [direct, avx512, row].forEach((v, i) => {
      process.env[names[i]] = v;
    });
    try {
      let seed = 500;
      for (const c of fastCases) {
        const x = rand(size(c.x), seed++);
        const f = rand(size(c.f), seed++);
        const what = `${c.why} ${JSON.stringify(c)}`;
        await compare(
          () => tf.conv2d(t(x, c.x) as tf.Tensor4D, t(f, c.f) as tf.Tensor4D, c.s, c.pad),
          1e-4,
          1e-5,
          what,
        );
        const y = tf.tidy(() => tf.conv2d(t(x, c.x) as tf.Tensor4D, t(f, c.f) as tf.Tensor4D, c.s, c.pad));
        const g = rand(size(y.shape), seed++);
        const gShape = y.shape;
        y.dispose();
        await compare(
          () =>
            tf.grads((a: tf.Tensor, w: tf.Tensor) =>
              tf
                .conv2d(a as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad)
                .mul(t(g, gShape))
                .sum(),
            )([t(x, c.x), t(f, c.f)]),
          1e-4,
          1e-5,
          `grads ${what}`,
        );
      }
      // Dilated forward (tfjs has no dilated backprop kernels) through the direct kernel, and fused + relu.
      const c = { x: [2, 12, 12, 8], f: [3, 3, 8, 16] };
      await compare(() =>
        tf.conv2d(
          t(rand(size(c.x), 1), c.x) as tf.Tensor4D,
          t(rand(size(c.f), 2), c.f) as tf.Tensor4D,
          1,
          'same',
          'NHWC',
          [2, 3],
        ),
      );
      await compare(() =>
        tf.fused.conv2d({
          x: t(rand(size(c.x), 3), c.x) as tf.Tensor4D,
          filter: t(rand(size(c.f), 4), c.f) as tf.Tensor4D,
          strides: 2,
          pad: 'same',
          bias: t(rand(16, 5), [16]),
          activation: 'relu',
        }),
      );
    } finally {
      names.forEach((n, i) => {
        if (saved[i] === undefined) Reflect.deleteProperty(process.env, n);
        else process.env[n] = saved[i];
      });
    }
  });
}
