import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { Module } from '../../src/nn/module.ts';
import { Rng } from '../../src/util/rng.ts';

export function close(a: tf.Tensor | number[], b: tf.Tensor | number[], tol = 1e-4, msg = ''): void {
  const x = Array.from(a instanceof tf.Tensor ? a.dataSync() : a);
  const y = Array.from(b instanceof tf.Tensor ? b.dataSync() : b);
  assert.equal(x.length, y.length, `${msg}: lengths ${x.length} vs ${y.length}`);
  for (let i = 0; i < x.length; i++) {
    assert.ok(Math.abs(x[i] - y[i]) <= tol * (1 + Math.abs(y[i])), `${msg}[${i}]: ${x[i]} vs ${y[i]}`);
  }
}

export function rand(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => scale * rng.normal()),
    shape,
  );
}

/** Moves every LAUREL parameter away from its (often trivial) init, so that LAUREL actually acts. */
export function perturbLaurel(m: Module, seed: number, scale = 0.3): void {
  let s = seed;
  for (const p of m.namedParameters()) {
    if (p.kind !== 'laurel') continue;
    p.variable.assign(tf.tidy(() => tf.add(p.variable, rand(p.variable.shape, s++, scale))));
  }
}

/** All parameter values, by name. */
export function snapshot(m: Module): Map<string, Float32Array> {
  return new Map(m.namedParameters().map((p) => [p.name, p.variable.dataSync().slice() as Float32Array]));
}
