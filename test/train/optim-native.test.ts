// AdamW and SGD on the native backend (one fused kernel per parameter) against the same optimizers on the tfjs
// cpu backend (the tf-ops update), over three steps with the same gradients, decay exclusion included.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../src/engine/index.ts';
import type { NamedParam, ParamKind } from '../../src/nn/module.ts';
import { AdamW, type Optimizer, Sgd } from '../../src/train/optim/index.ts';
import { rand, setup } from '../engine/helpers.ts';

const SPEC: [string, number[], ParamKind][] = [
  ['w', [7, 5], 'weight'],
  ['b', [5], 'bias'],
  ['e', [3, 4], 'embedding'],
  ['l', [2], 'laurel'],
];

async function run(backend: string, make: (p: NamedParam[]) => Optimizer): Promise<number[][]> {
  await tf.setBackend(backend);
  const params: NamedParam[] = SPEC.map(([name, shape, kind], i) => ({
    name,
    kind,
    variable: tf.tidy(() =>
      tf.variable(
        tf.tensor(
          rand(
            shape.reduce((a, b) => a * b, 1),
            i + 1,
          ),
          shape,
        ),
      ),
    ),
  }));
  const opt = make(params);
  for (let s = 0; s < 3; s++) {
    const grads = Object.fromEntries(
      params.map((p, i) => [p.name, tf.tensor(rand(p.variable.size, 100 + 10 * s + i), p.variable.shape)]),
    );
    opt.step(grads, 0.05 * (s + 1));
    tf.dispose(Object.values(grads));
  }
  const state = opt.getState().tensors;
  const out = [
    ...params.map((p) => Array.from(p.variable.dataSync())),
    ...Object.keys(state)
      .sort()
      .map((k) => Array.from(state[k].dataSync())),
  ];
  opt.dispose();
  for (const p of params) p.variable.dispose();
  return out;
}

async function check(make: (p: NamedParam[]) => Optimizer, what: string): Promise<void> {
  await setup();
  const cpu = await run('cpu', make);
  const before = tf.memory().numTensors;
  const nat = await run('native', make);
  assert.equal(tf.memory().numTensors, before, `${what}: native run leaked tensors`);
  assert.equal(nat.length, cpu.length);
  cpu.forEach((c, i) =>
    c.forEach((v, j) =>
      assert.ok(
        Math.abs(nat[i][j] - v) <= 1e-5 + 1e-4 * Math.abs(v),
        `${what} ${i}[${j}]: ${nat[i][j]} vs ${v}`,
      ),
    ),
  );
}

// Without the addon (not built, no OpenBLAS) there is nothing to compare: the engine's own tests report that.
const { addon, error } = loadAddon();
const skip = addon ? false : `native backend unavailable: ${error}`;

test(
  'AdamW: native fused update matches the cpu tf-ops update (params and m, v slots)',
  { skip },
  async () => {
    await check((p) => new AdamW(p, { weightDecay: 0.1 }), 'adamw');
    await check((p) => new AdamW(p, { weightDecay: 0.1, decayLaurel: true, beta1: 0.8, eps: 1e-6 }), 'adamw');
  },
);

test(
  'SGD (momentum, nesterov, L2 decay; and plain): native matches the cpu tf-ops update',
  { skip },
  async () => {
    await check((p) => new Sgd(p, { momentum: 0.9, weightDecay: 5e-4 }), 'sgd momentum');
    await check((p) => new Sgd(p, { momentum: 0.9, nesterov: true, weightDecay: 0.01 }), 'sgd nesterov');
    await check((p) => new Sgd(p, { weightDecay: 0.01 }), 'sgd plain');
  },
);
