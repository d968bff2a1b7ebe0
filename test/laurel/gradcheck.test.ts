/**
 * Outputs and gradients of every variant against an independent float64 reference (naive.ts): outputs are
 * compared directly, gradients against central finite differences of the float64 reference (eps 1e-6,
 * so the only float32 error is on the tfjs side). Random shapes: [B, D], [B, T, D] and NHWC [B, H, W, C].
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  CASES,
  Residual,
  Rng,
  closeness,
  historyOf,
  naiveGeneralG,
  randn,
  randomParams,
  setParams,
  shapeFor,
} from './helpers.ts';
import { type NaiveInputs, type Params, naiveResidual } from './naive.ts';

const sizeOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

for (const [ci, cs] of CASES.entries()) {
  test(`finite-difference gradients and outputs: ${cs.name}`, () => {
    const rng = new Rng(1000 + ci);
    for (let kind = 0; kind < 3; kind++) {
      const D = 3 + rng.int(3);
      const shape = shapeFor(rng, kind, D);
      const n = sizeOf(shape);
      const N = n / D;
      const res = new Residual(cs.config, D, { seed: ci });
      const P = randomParams(res, rng);
      setParams(res, P);
      const inp: NaiveInputs = {
        fx: randn(rng, n),
        xs: Array.from({ length: 1 + cs.prev }, () => randn(rng, n)),
        xHat: randn(rng, n),
      };
      if (!cs.xNormed) inp.xHat = inp.xs[0];
      const cvec = randn(rng, n);
      const r = res.rank ?? 0;
      const naive = (I: NaiveInputs, Q: Params) =>
        naiveResidual(cs.config, Q, I, N, D, r, cs.config.variant === 'general' ? naiveGeneralG : undefined);
      const loss = (I: NaiveInputs, Q: Params) => naive(I, Q).reduce((s, v, i) => s + v * cvec[i], 0);

      // tfjs side: inputs as variables so that variableGrads returns every gradient at once.
      const t = (a: Float64Array, s: number[]) => tf.variable(tf.tensor(Float32Array.from(a), s));
      const fxV = t(inp.fx, shape);
      const xVs = inp.xs.map((a) => t(a, shape));
      const xHatV = cs.xNormed ? t(inp.xHat, shape) : undefined;
      const cT = tf.tensor(Float32Array.from(cvec), shape);
      const history = historyOf(cs.config.k ?? 3, xVs.slice(1));
      const params = res.namedParameters();
      const varList = [fxV, ...xVs, ...(xHatV ? [xHatV] : []), ...params.map((p) => p.variable)];
      let outData: Float32Array = new Float32Array();
      const { grads, value } = tf.variableGrads(() => {
        const out = res.forward(fxV, xVs[0], { history, xNormed: xHatV });
        assert.deepEqual(out.shape, shape);
        outData = out.dataSync() as Float32Array;
        return tf.sum(tf.mul(out, cT)) as tf.Scalar;
      }, varList);

      const ref = naive(inp, P);
      const o = closeness(outData, ref, 1e-5, 1e-5);
      assert.ok(o.worst <= 1, `${cs.name} ${shape}: output ${o.a} vs ${o.b} at ${o.at}`);
      assert.ok(Math.abs(value.dataSync()[0] - loss(inp, P)) <= 1e-4 * (1 + Math.abs(loss(inp, P))));

      // Central differences in float64 on the reference, for every entry of every input and parameter.
      const eps = 1e-6;
      const fd = (arr: Float64Array, i: number) => {
        const v0 = arr[i];
        arr[i] = v0 + eps;
        const lp = loss(inp, P);
        arr[i] = v0 - eps;
        const lm = loss(inp, P);
        arr[i] = v0;
        return (lp - lm) / (2 * eps);
      };
      const targets: [string, tf.Variable, Float64Array][] = [
        ['fx', fxV, inp.fx],
        ...xVs.map((v, j) => [`x[i-${j}]`, v, inp.xs[j]] as [string, tf.Variable, Float64Array]),
        ...(xHatV ? [['xNormed', xHatV, inp.xHat] as [string, tf.Variable, Float64Array]] : []),
        ...params.map((p) => [p.name, p.variable, P[p.name]] as [string, tf.Variable, Float64Array]),
      ];
      for (const [name, variable, arr] of targets) {
        const g = grads[variable.name];
        assert.ok(g, `${cs.name}: no gradient for ${name}`);
        const got = g.dataSync();
        const want = Float64Array.from(arr, (_, i) => fd(arr, i));
        const e = closeness(got, want, 1e-3, 1e-4);
        assert.ok(
          e.worst <= 1,
          `${cs.name} ${shape}: d/d${name}[${e.at}] ${e.a} vs finite difference ${e.b}`,
        );
      }
      tf.dispose([fxV, ...xVs, cT, value, ...Object.values(grads)]);
      if (xHatV) xHatV.dispose();
      res.dispose();
    }
  });
}
