// The nn layers on the native backend (fused kernels) against the same layers on the tfjs cpu backend (the
// reference tf-ops path): values, gradients and BatchNorm's running statistics, on the same inputs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../src/engine/index.ts';
import { BatchNorm, CausalSelfAttention, LayerNorm, Mlp, crossEntropy, gelu } from '../../src/nn/index.ts';
import { compare, rand, runOn, setup, t } from '../engine/helpers.ts';

// Without the addon (not built, no OpenBLAS) there is nothing to compare: the engine's own tests report that.
const { addon, error } = loadAddon();
const skip = addon ? false : `native backend unavailable: ${error}`;

test('gelu: native fused kernel matches the cpu tf-ops formula (values and gradient)', { skip }, async () => {
  const shape = [4, 7, 33];
  const n = 4 * 7 * 33;
  const x = rand(n, 1).map((v) => v * 5);
  const w = rand(n, 2);
  await compare(() => {
    const f = (a: tf.Tensor) => gelu(a).mul(t(w, shape)).sum();
    return [gelu(t(x, shape)), tf.grad(f)(t(x, shape))];
  }, 1e-4);
});

test('Mlp: native matches cpu (values and gradients of input and parameters)', { skip }, async () => {
  const mlp = new Mlp(16, { seed: 3 });
  const shape = [2, 5, 16];
  const x = rand(2 * 5 * 16, 4);
  const w = rand(2 * 5 * 16, 5);
  const vars = mlp.namedParameters().map((p) => p.variable);
  await compare(() => {
    const f = (a: tf.Tensor) => mlp.forward(a).mul(t(w, shape)).sum();
    const { value, grads } = tf.variableGrads(() => f(t(x, shape)) as tf.Scalar, vars);
    return [value, tf.grad(f)(t(x, shape)), ...vars.map((v) => grads[v.name])];
  }, 1e-4);
  mlp.dispose();
});

test(
  'LayerNorm (with and without β): native fused kernel matches cpu (values and gradients)',
  { skip },
  async () => {
    for (const bias of [true, false]) {
      const ln = new LayerNorm(24, { bias });
      ln.gamma.assign(
        t(
          rand(24, 6).map((v) => v + 1),
          [24],
        ),
      );
      ln.beta?.assign(t(rand(24, 7), [24]));
      const shape = [3, 4, 24];
      const x = rand(3 * 4 * 24, 8).map((v, i) => v * 3 + (i % 5));
      const w = rand(3 * 4 * 24, 9);
      const vars = ln.namedParameters().map((p) => p.variable);
      await compare(
        () => {
          const f = (a: tf.Tensor) => ln.forward(a).mul(t(w, shape)).sum();
          const { value, grads } = tf.variableGrads(() => f(t(x, shape)) as tf.Scalar, vars);
          return [ln.forward(t(x, shape)), value, tf.grad(f)(t(x, shape)), ...vars.map((v) => grads[v.name])];
        },
        1e-4,
        1e-5,
        `bias=${bias}`,
      );
      ln.dispose();
    }
  },
);

test(
  'BatchNorm training mode, forward and forwardRelu: native fused kernel matches cpu (values, gradients, running statistics)',
  { skip },
  async () => {
    await setup();
    for (const [shape, relu] of [
      [[4, 5, 5, 6], false],
      [[16, 8], false],
      [[4, 5, 5, 6], true],
      [[16, 8], true],
    ] as [number[], boolean][]) {
      const c = shape[shape.length - 1];
      const n = shape.reduce((a, b) => a * b, 1);
      const x = rand(n, 1).map((v, i) => v * 2 + (i % c));
      const w = rand(n, 2);
      const bns: Record<string, BatchNorm> = {};
      for (const b of ['cpu', 'native']) {
        const bn = new BatchNorm(c, { momentum: 0.2 });
        bn.gamma.assign(
          t(
            rand(c, 3).map((v) => v + 1),
            [c],
          ),
        );
        bn.beta.assign(t(rand(c, 4), [c]));
        bns[b] = bn;
      }
      const outs: Record<string, Awaited<ReturnType<typeof runOn>>> = {};
      for (const b of ['cpu', 'native']) {
        const bn = bns[b];
        const vars = [bn.gamma, bn.beta];
        outs[b] = await runOn(b, () => {
          const fwd = (a: tf.Tensor) => (relu ? bn.forwardRelu(a) : bn.forward(a));
          const f = (a: tf.Tensor) => fwd(a).mul(t(w, shape)).sum();
          const y = fwd(t(x, shape));
          const dx = tf.grad(f)(t(x, shape));
          const { grads } = tf.variableGrads(() => f(t(x, shape)) as tf.Scalar, vars);
          return [
            y,
            dx,
            grads[bn.gamma.name],
            grads[bn.beta.name],
            bn.runningMean.clone(),
            bn.runningVar.clone(),
          ];
        });
      }
      outs.cpu.forEach((o, i) => {
        const nat = outs.native[i].values;
        const scale = Math.max(...Array.from(o.values, Math.abs));
        o.values.forEach((v, j) =>
          assert.ok(
            Math.abs(nat[j] - v) <= 1e-5 + 1e-4 * scale,
            `[${shape}] relu ${relu} output ${i}[${j}]: ${nat[j]} vs ${v}`,
          ),
        );
      });
      for (const bn of Object.values(bns)) bn.dispose();
    }
  },
);

test(
  'CausalSelfAttention and crossEntropy: native matches cpu (values and gradients)',
  { skip },
  async () => {
    const attn = new CausalSelfAttention(16, 2, { context: 8, seed: 2 });
    const shape = [2, 6, 16];
    const x = rand(2 * 6 * 16, 3);
    const labels = Int32Array.from({ length: 12 }, (_, i) => (i * 7) % 16);
    const vars = attn.namedParameters().map((p) => p.variable);
    // The tf-ops path (cpu) caches its mask tensor (kept, not a leak); native's fused softmax needs none.
    for (const b of ['cpu', 'native']) {
      await tf.setBackend(b);
      tf.tidy(() => attn.forward(t(x, shape) as tf.Tensor3D));
    }
    await compare(() => {
      const f = (a: tf.Tensor) =>
        crossEntropy(attn.forward(a as tf.Tensor3D), tf.tensor(labels, [2, 6], 'int32'));
      const { value, grads } = tf.variableGrads(() => f(t(x, shape)), vars);
      return [value, tf.grad(f)(t(x, shape)), ...vars.map((v) => grads[v.name])];
    }, 1e-4);
    attn.dispose();
  },
);
