// Every LAUREL variant on the native backend (math.ts's combine runs as the fused kernel there) against the
// same residual on the tfjs cpu backend (the tf-ops formula): outputs and the gradients of fx, x, the earlier
// activations and every LAUREL parameter, on the same inputs and non-trivial parameters; also with the ReLU
// epilogue (ctx.relu), which the native kernels fuse for the plain residual and RW / RW+LR.
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadAddon } from '../../src/engine/index.ts';
import { compare, setup } from '../engine/helpers.ts';
import { CASES, Residual, Rng, historyOf, randn, randomParams, setParams, shapeFor } from './helpers.ts';

// Without the addon (not built, no OpenBLAS) there is nothing to compare: the engine's own tests report that.
const { addon, error } = loadAddon();
const skip = addon ? false : `native backend unavailable: ${error}`;

test(
  'every variant: native (fused combine) matches cpu (tf-ops formula), values and gradients',
  { skip },
  async () => {
    await setup();
    for (const [ci, cs] of CASES.entries()) {
      const rng = new Rng(500 + ci);
      // kind 1 with the ReLU epilogue (ctx.relu, a ResNet block's end: fused into the kernels where it can be).
      for (const [kind, relu] of [
        [0, false],
        [1, false],
        [2, false],
        [1, true],
      ] as const) {
        const D = 4 + rng.int(5);
        const shape = shapeFor(rng, kind, D);
        const n = shape.reduce((a, b) => a * b, 1);
        const res = new Residual(cs.config, D, { seed: ci });
        setParams(res, randomParams(res, rng));
        const f32 = (a: Float64Array) => Float32Array.from(a);
        const fx = f32(randn(rng, n));
        const xs = Array.from({ length: 1 + cs.prev }, () => f32(randn(rng, n)));
        const xHat = f32(randn(rng, n));
        const c = f32(randn(rng, n));
        const vars = res.namedParameters().map((p) => p.variable);
        await compare(
          () => {
            const ins = [fx, ...xs, ...(cs.xNormed ? [xHat] : [])].map((a) => tf.tensor(a, shape));
            const loss = (...a: tf.Tensor[]) => {
              const [f, x, ...rest] = a;
              const prev = rest.slice(0, cs.prev);
              const history = historyOf(res.k, prev);
              const xNormed = cs.xNormed ? rest[cs.prev] : undefined;
              const out = res.forward(f, x, { history, xNormed, relu });
              return tf.sum(tf.mul(out, tf.tensor(c, shape))) as tf.Scalar;
            };
            const value = loss(...ins);
            if (vars.length === 0) return [value, ...tf.grads(loss)(ins)];
            const { grads } = tf.variableGrads(() => loss(...ins), vars);
            return [value, ...tf.grads(loss)(ins), ...vars.map((v) => grads[v.name])];
          },
          1e-4,
          1e-5,
          `${cs.name} [${shape}] relu=${relu}`,
        );
        res.dispose();
      }
    }
  },
);
