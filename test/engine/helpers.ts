// Test helpers: run the same computation on the tfjs `cpu` backend and on `native`, and compare.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/engine/index.ts';

let ready: Promise<void> | null = null;

/** Initialises both backends once; fails when the native backend cannot be used. */
export function setup(): Promise<void> {
  ready ??= (async () => {
    await tf.setBackend('cpu');
    await tf.ready();
    const name = await initBackend('native');
    assert.equal(
      name,
      'native',
      'the native backend must load for these tests (run node scripts/build-native.mjs)',
    );
  })();
  return ready;
}

/** Deterministic pseudo-random data in [-1, 1) (mulberry32). */
export function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2147483648 - 1;
  }
  return out;
}

export type Outs = { shape: number[]; values: Float32Array | Int32Array | Uint8Array }[];

/** Runs fn under one backend inside tidy, returning copies of the outputs. */
export async function runOn(backend: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<Outs> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const res = tf.tidy(() => {
    const r = fn();
    return Array.isArray(r) ? r : [r];
  });
  const outs = res.map((t) => ({ shape: t.shape.slice(), values: (t.dataSync() as Float32Array).slice() }));
  tf.dispose(res);
  assert.equal(tf.memory().numTensors, before, `${backend}: the computation leaked tensors`);
  return outs;
}

/** Asserts native and cpu agree: |n - c| <= atol + rtol * max|c| per output. Returns the native outputs. */
export async function compare(
  fn: () => tf.Tensor | tf.Tensor[],
  rtol = 1e-4,
  atol = 1e-5,
  what = '',
): Promise<Outs> {
  await setup();
  const cpu = await runOn('cpu', fn);
  const nat = await runOn('native', fn);
  assert.equal(nat.length, cpu.length);
  for (let i = 0; i < cpu.length; i++) {
    assert.deepEqual(nat[i].shape, cpu[i].shape, `${what} output ${i}: shape`);
    const c = cpu[i].values;
    const n = nat[i].values;
    assert.equal(n.length, c.length);
    let scale = 0;
    for (const v of c) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
    const tol = atol + rtol * scale;
    for (let j = 0; j < c.length; j++) {
      if (Number.isNaN(c[j])) {
        assert.ok(Number.isNaN(n[j]), `${what} output ${i}[${j}]: cpu NaN, native ${n[j]}`);
        continue;
      }
      if (c[j] === n[j]) continue;
      assert.ok(
        Math.abs(n[j] - c[j]) <= tol,
        `${what} output ${i}[${j}]: native ${n[j]} vs cpu ${c[j]} (tol ${tol})`,
      );
    }
  }
  return nat;
}

/** The name of the kernel used last by tfjs is not exposed; this checks a kernel is natively overridden. */
export function t(values: Float32Array, shape: number[]): tf.Tensor {
  return tf.tensor(values, shape, 'float32');
}
