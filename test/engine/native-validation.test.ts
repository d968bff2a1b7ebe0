// Every entry point of the native addon checks its arguments before it touches memory: a wrong count, type,
// length or size throws one JavaScript error ("laurel native <name>: ..."), never reads or writes out of bounds
// (run under AddressSanitizer by scripts/asan.sh). Each entry point gets a valid call (which must not throw)
// and variations of it that must throw.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../src/engine/index.ts';
import { setup } from './helpers.ts';

const { addon, error } = loadAddon();
const skip = addon ? false : `${error}`;

const F = (n: number) => new Float32Array(n);
const I = (...v: number[]) => Int32Array.from(v);

// Conv: x [1, 4, 4, 2], filter [3, 3, 2, 3], out [1, 2, 2, 3] (valid padding, stride 1).
const CONV = () => I(1, 4, 4, 2, 2, 2, 3, 3, 3, 1, 1, 1, 1, 0, 0);
// Pool: x [1, 4, 4, 2] → [1, 2, 2, 2], 2×2 windows, stride 2.
const POOL = () => I(1, 4, 4, 2, 2, 2, 2, 2, 2, 2, 1, 1, 0, 0);

interface Case {
  /** A valid argument list (fresh arrays each call). */
  args: () => unknown[];
  /** Indices of arrays that must hold the full extent: one element fewer must throw. */
  short: number[];
}

const CASES: Record<string, Case> = {
  unary: { args: () => [0, F(4), F(4)], short: [1] },
  binary: { args: () => [0, F(6), F(3), F(6), I(2, 3), I(3, 1), I(0, 1)], short: [1, 2, 3] },
  reduce: { args: () => [0, F(6), F(2), 2, 3, 1], short: [1, 2] },
  transpose: { args: () => [F(6), F(6), I(2, 3), I(1, 0)], short: [0, 1] },
  softmax: { args: () => [F(6), F(6), 2, 3, false], short: [0, 1] },
  causalSoftmax: { args: () => [F(8), F(8), 2, 1], short: [1] },
  causalSoftmaxGrad: { args: () => [F(8), F(8), F(8), 2, 1], short: [1, 2] },
  gather: { args: () => [F(6), I(0, 2), F(4), 1, 3, 2], short: [0, 2] },
  segmentSum: { args: () => [F(6), I(0, 1, 1), F(4), 2, 2], short: [0, 2] },
  batchNorm: { args: () => [F(6), F(6), F(3), F(3), null, null, 1e-3], short: [0] },
  tile: { args: () => [F(2), F(4), I(1, 2), I(2, 2)], short: [0, 1] },
  adamw: {
    args: () => [F(4), F(4), F(4), F(4), F(4), F(4), F(4), 0.1, 0.9, 0.999, 1e-8, 0, 0.1, 0.001],
    short: [1, 2, 3, 4, 5, 6],
  },
  sgd: { args: () => [F(4), F(4), F(4), F(4), F(4), 0.1, 0.9, 0, false, true], short: [1, 2, 3, 4] },
  stridedCopy: { args: () => [F(6), F(6), I(2, 3), I(3, 1), I(3, 1), 0, 0], short: [0, 1] },
  fill: { args: () => [F(4), 1], short: [] },
  combine: { args: () => [F(6), F(6), F(6), F(3), null, F(6), 3], short: [0, 1, 2, 3] },
  gelu: { args: () => [F(4), F(4)], short: [0] },
  geluGrad: { args: () => [F(4), F(4), F(4)], short: [0, 1] },
  layerNorm: { args: () => [F(6), F(3), F(3), F(6), F(2), F(2), 3, 1e-5], short: [0, 1, 2, 4, 5] },
  layerNormGrad: {
    args: () => [F(6), F(6), F(2), F(2), F(3), F(6), F(3), F(3), 3],
    short: [1, 2, 3, 4, 5, 6, 7],
  },
  batchNormTrain: { args: () => [F(6), F(3), F(3), F(6), F(3), F(3), 3, 1e-5], short: [0, 1, 2, 4, 5] },
  batchNormTrainGrad: {
    args: () => [F(6), F(6), F(3), F(3), F(3), F(6), F(3), F(3), 3, 1e-5],
    short: [1, 2, 3, 4, 5, 6, 7],
  },
  combineGrad: {
    args: () => [F(6), F(6), F(6), null, F(3), null, F(6), F(6), F(3), null, 3],
    short: [1, 2, 4, 6, 7, 8],
  },
  gemm: { args: () => [false, true, 2, 3, 4, 1, F(8), F(12), 0, F(6)], short: [6, 7, 9] },
  smallGemm: { args: () => [true, false, 2, 3, 4, 1, F(8), F(12), 0, F(6)], short: [6, 7, 9] },
  batchGemm: {
    args: () => [false, false, 2, 3, 4, F(16), F(12), F(12), I(0, 8), I(0, 0)],
    short: [5, 6, 7, 9],
  },
  conv2d: { args: () => [F(32), F(54), F(12), CONV()], short: [0, 1, 2, 3] },
  conv2dBackInput: { args: () => [F(12), F(54), F(32), CONV()], short: [0, 1, 2, 3] },
  conv2dBackFilter: { args: () => [F(32), F(12), F(54), CONV()], short: [0, 1, 2, 3] },
  pool: { args: () => [0, F(32), F(8), POOL()], short: [1, 2, 3] },
  poolGrad: { args: () => [0, F(8), F(32), F(32), POOL()], short: [1, 2, 3, 4] },
  lowRankCombineRows: { args: () => [F(32), F(32), F(16), 0.5, F(32), 4], short: [0, 1, 2] },
  lowRankCombineGradRows: {
    args: () => [F(32), F(32), F(32), F(16), 0.5, F(32), F(32), F(16), F(1), 4],
    short: [1, 2, 3, 5, 6, 7, 8],
  },
  setNumThreads: { args: () => [1], short: [] },
  poolProbe: { args: () => [4], short: [] },
};

type Fn = (...a: unknown[]) => unknown;
const fn = (name: string) => (addon as unknown as Record<string, Fn>)[name];

function throwsFrom(name: string, args: unknown[], why: string): void {
  assert.throws(() => fn(name)(...args), new RegExp(`^Error: laurel native ${name}: `), `${name}: ${why}`);
}

test('every entry point of the addon has a validation case', { skip }, () => {
  const exported = Object.keys(addon!).filter((k) => typeof fn(k) === 'function');
  const optional = ['lowRankCombineRows', 'lowRankCombineGradRows']; // x86-64 with AVX-512 or AVX2 only
  const listed = Object.keys(CASES).filter((k) => !optional.includes(k) || exported.includes(k));
  const noArgs = ['getNumThreads', 'blasCore'];
  assert.deepEqual(exported.filter((k) => !noArgs.includes(k)).sort(), listed.sort());
});

test('valid calls pass; short arrays, wrong types and wrong counts throw one error', { skip }, () => {
  for (const [name, c] of Object.entries(CASES)) {
    if (typeof fn(name) !== 'function') continue;
    assert.doesNotThrow(() => fn(name)(...c.args()), name);
    const base = c.args();
    throwsFrom(name, base.slice(0, -1), 'one argument missing');
    throwsFrom(name, [...base, 0, 0, 0], 'three arguments too many');
    for (const i of c.short) {
      const a = c.args();
      const arr = a[i] as Float32Array | Int32Array;
      a[i] = arr.subarray(0, arr.length - 1);
      throwsFrom(name, a, `argument ${i + 1} one element short`);
    }
    base.forEach((v, i) => {
      const a = c.args();
      if (v instanceof Float32Array)
        a[i] = new Int32Array(v.length); // int32 storage read as float
      else if (v instanceof Int32Array) a[i] = new Float32Array(v.length);
      else if (typeof v === 'number' || typeof v === 'boolean') a[i] = 'x';
      else return; // null: an optional array
      throwsFrom(name, a, `argument ${i + 1} of the wrong type`);
    });
  }
  // The addon still works after all of that.
  const out = F(4);
  fn('unary')(0, Float32Array.of(1, -2, 3, -4), out);
  assert.deepEqual([...out], [-1, 2, -3, 4]);
});

test('sizes: negative, fractional, overflowing and inconsistent ones throw', { skip }, () => {
  const big = 2 ** 31 - 1;
  throwsFrom('gemm', [false, false, -1, 3, 4, 1, F(8), F(12), 0, F(6)], 'negative M');
  throwsFrom('gemm', [false, false, 1.5, 3, 4, 1, F(8), F(12), 0, F(6)], 'fractional M');
  throwsFrom('gemm', [false, false, Number.NaN, 3, 4, 1, F(8), F(12), 0, F(6)], 'NaN M');
  throwsFrom('gemm', [false, false, big, big, big, 1, F(8), F(12), 0, F(6)], 'huge sizes');
  throwsFrom('reduce', [0, F(6), F(2), big, big, big], 'A·R·B overflows');
  throwsFrom(
    'batchGemm',
    [false, false, 2, 3, 4, F(16), F(12), F(12), I(0, 9), I(0, 0)],
    'A offset past the end',
  );
  throwsFrom('batchGemm', [false, false, 2, 3, 4, F(16), F(12), F(12), I(0, -1), I(0, 0)], 'negative offset');
  throwsFrom('batchGemm', [false, false, 2, 3, 4, F(16), F(12), F(12), I(0, 8), I(0)], 'fewer B offsets');
  throwsFrom('binary', [0, F(6), F(3), F(6), I(2, -3), I(3, 1), I(0, 1)], 'negative size');
  throwsFrom('binary', [0, F(6), F(3), F(6), I(2, 3), I(3), I(0, 1)], 'fewer strides than dimensions');
  throwsFrom('binary', [0, F(6), F(3), F(6), I(), I(), I()], 'rank 0');
  throwsFrom('binary', [99, F(6), F(3), F(6), I(2, 3), I(3, 1), I(0, 1)], 'unknown op');
  throwsFrom('transpose', [F(6), F(6), I(2, 3), I(1, 1)], 'perm not a permutation');
  throwsFrom('transpose', [F(6), F(6), I(2, 3), I(0, 2)], 'perm out of range');
  throwsFrom(
    'transpose',
    [F(512), F(512), I(2, 2, 2, 2, 2, 2, 2, 2, 2), I(0, 1, 2, 3, 4, 5, 6, 7, 8)],
    'rank 9',
  );
  throwsFrom('tile', [F(2), F(3), I(1, 2), I(1, 3)], 'outShape not a multiple of inShape');
  throwsFrom('tile', [F(2), F(4), I(1, 2), I(2, 2, 1)], 'ranks differ');
  throwsFrom('stridedCopy', [F(6), F(6), I(2, 3), I(3, 1), I(3, 1), 1, 0], 'source offset runs past the end');
  throwsFrom('stridedCopy', [F(6), F(6), I(2, 3), I(3, 1), I(-3, 1), 0, 0], 'negative stride below 0');
  throwsFrom('stridedCopy', [F(6), F(6), I(2, 3), I(3, 1), I(3, 1), 0, -1], 'negative offset');
  throwsFrom('combine', [F(6), F(6), null, F(2), null, F(6), 3], 'alpha of neither 1 nor D values');
  throwsFrom('combine', [F(6), F(6), null, null, null, F(6), 0], 'D = 0');
  throwsFrom('combineGrad', [F(6), F(6), F(6), null, F(3), null, F(6), null, F(1), null, 3], 'dAlpha short');
  throwsFrom('layerNorm', [F(6), null, null, F(6), F(2), F(2), 0, 1e-5], 'D = 0');
  throwsFrom('batchNormTrain', [F(6), null, null, F(2), F(3), F(3), 3, 1e-5], 'no whole row');
  throwsFrom('batchNorm', [F(6), F(6), F(0), F(3), null, null, 1e-3], 'empty mean');
  throwsFrom('causalSoftmax', [F(8), F(8), 0, 1], 'T = 0');
  throwsFrom('conv2d', [F(32), F(54), F(12), I(1, 4, 4, 2, 2, 2, 3, 3, 3, 0, 1, 1, 1, 0, 0)], 'stride 0');
  throwsFrom(
    'conv2d',
    [F(32), F(54), F(12), I(1, 4, 4, 2, 2, 2, 3, 3, 3, 1, 1, 1, 1, -1, 0)],
    'negative pad',
  );
  throwsFrom('conv2d', [F(32), F(54), F(12), I(1, 4, 4, 2, 2, 2, 3, 3, 3, 1, 1, 1)], 'params short');
  throwsFrom('conv2d', [F(32), F(54), F(12), I(1, 4, -4, 2, 2, 2, 3, 3, 3, 1, 1, 1, 1, 0, 0)], 'negative W');
  throwsFrom('pool', [2, F(32), F(8), POOL()], 'unknown op');
  throwsFrom('setNumThreads', [0], 'no threads');
  throwsFrom('setNumThreads', [100000], 'absurd thread count');
  throwsFrom('poolProbe', [-1], 'negative count');
});

test('empty sizes write nothing outside, and the zero-extent products give zeros', { skip }, () => {
  const c = Float32Array.of(5, 5, 5, 5, 5, 5);
  fn('gemm')(false, false, 2, 3, 0, 1, F(0), F(0), 0, c);
  assert.deepEqual([...c], [0, 0, 0, 0, 0, 0], 'K = 0, beta = 0: C = 0');
  const c2 = Float32Array.of(1, 2);
  fn('gemm')(false, false, 1, 2, 0, 1, F(0), F(0), 2, c2);
  assert.deepEqual([...c2], [2, 4], 'K = 0: C = beta·C');
  const out = Float32Array.of(7, 7, 7);
  fn('conv2d')(F(0), F(0), out, I(1, 1, 3, 0, 1, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0));
  assert.deepEqual([...out], [0, 0, 0], 'no input channels: zeros');
  fn('transpose')(F(0), F(0), I(0, 3), I(1, 0));
  fn('tile')(F(0), F(0), I(0, 2), I(0, 4));
});

test('concat of mismatched shapes on native throws instead of writing past its buffers', async () => {
  await setup();
  assert.equal(tf.getBackend(), 'native');
  // Non-axis sizes that differ so that the strided copy of the second input would reach past the output.
  for (const [a, b, axis] of [
    [[2, 3, 4], [2, 4, 4], 2],
    [[1, 5], [4, 7], 1],
    [[3, 1], [3, 9], 0],
  ] as [number[], number[], number][]) {
    const x = tf.ones(a);
    const y = tf.ones(b);
    assert.throws(
      () => tf.engine().runKernel('Concat', [x, y] as unknown as tf.NamedTensorMap, { axis }),
      Error, // the kernel's shape check, else the addon's bounds check
      `${a} + ${b} on axis ${axis}`,
    );
    tf.dispose([x, y]);
  }
  const z = tf.concat([tf.ones([1, 2]), tf.zeros([1, 2])], 0);
  assert.deepEqual(await z.data(), Float32Array.of(1, 1, 0, 0), 'still correct afterwards');
});
