/**
 * Our Residual against plain PyTorch (llm.c's test_gpt2.c style): test/fixtures/make_laurel_fixtures.py
 * wrote the weights, inputs, outputs and gradients of every variant to laurel_fixtures.json; here the same
 * weights go into a Residual and outputs and gradients must agree at 1e-5 relative tolerance
 * (absolute floor 1e-6 for entries near zero). Both sides compute in float32. Every case runs on the tfjs `cpu`
 * backend (the tf-ops formulas) and on `native` (the fused LAUREL kernels), when the addon is built.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend, loadAddon } from '../../src/engine/index.ts';
import { type ResidualConfig, residualConfig } from '../../src/laurel/config.ts';
import { Residual } from '../../src/laurel/residual.ts';
import { closeness, generalG, historyOf } from './helpers.ts';

interface FixtureCase {
  name: string;
  config: Omit<Partial<ResidualConfig>, 'variant'> & { variant: string };
  dim: number;
  shape: number[];
  params: Record<string, { shape: number[]; data: number[] }>;
  inputs: { fx: number[]; xs: number[][]; xNormed: number[] | null; c: number[] };
  loss: number;
  out: number[];
  grads: { fx: number[]; xs: number[][]; xNormed: number[] | null; params: Record<string, number[]> };
}

const fixtures = JSON.parse(
  readFileSync(new URL('../fixtures/laurel_fixtures.json', import.meta.url), 'utf8'),
) as { torch: string; cases: FixtureCase[] };

const RTOL = 1e-5;
const ATOL = 1e-6;

function expectClose(got: ArrayLike<number>, want: number[], what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  const e = closeness(got, want, RTOL, ATOL);
  assert.ok(e.worst <= 1, `${what}[${e.at}]: ours ${e.a} vs torch ${e.b}`);
}

test('the fixture file covers every variant', () => {
  const variants = new Set<string>(fixtures.cases.map((c) => c.config.variant));
  for (const v of [
    'baseline',
    'rw',
    'lr',
    'pa',
    'rw+lr',
    'rw+pa',
    'lr+pa',
    'rw+lr+pa',
    'gemma3n',
    'general',
    'rezero',
    'layerscale',
    'dwa',
  ]) {
    assert.ok(variants.has(v), v);
  }
});

const BACKENDS = loadAddon().addon ? ['cpu', 'native'] : ['cpu'];

for (const backend of BACKENDS)
  for (const fc of fixtures.cases) {
    test(`matches PyTorch ${fixtures.torch} on ${backend}: ${fc.name}`, async () => {
      assert.equal(await initBackend(backend as 'cpu' | 'native'), backend);
      const { variant, ...opts } = fc.config;
      const config = residualConfig(variant, variant === 'general' ? { ...opts, g: generalG } : opts);
      const res = new Residual(config, fc.dim, { seed: 1 });
      const params = res.namedParameters();
      assert.deepEqual(params.map((p) => p.name).sort(), Object.keys(fc.params).sort(), 'same parameter set');
      for (const p of params) {
        assert.deepEqual(p.variable.shape, fc.params[p.name].shape, p.name);
        p.variable.assign(tf.tensor(fc.params[p.name].data, p.variable.shape));
      }
      const v = (d: number[]) => tf.variable(tf.tensor(d, fc.shape));
      const fx = v(fc.inputs.fx);
      const xs = fc.inputs.xs.map(v);
      const xNormed = fc.inputs.xNormed ? v(fc.inputs.xNormed) : undefined;
      const c = tf.tensor(fc.inputs.c, fc.shape);
      const history = historyOf(config.k ?? 3, xs.slice(1));
      let out: Float32Array = new Float32Array();
      const varList = [fx, ...xs, ...(xNormed ? [xNormed] : []), ...params.map((p) => p.variable)];
      const { value, grads } = tf.variableGrads(() => {
        const y = res.forward(fx, xs[0], { history, xNormed });
        out = y.dataSync() as Float32Array;
        return tf.sum(tf.mul(y, c)) as tf.Scalar;
      }, varList);

      expectClose(out, fc.out, 'out');
      expectClose(value.dataSync(), [fc.loss], 'loss');
      expectClose(grads[fx.name].dataSync(), fc.grads.fx, 'd/dfx');
      xs.forEach((x, j) => expectClose(grads[x.name].dataSync(), fc.grads.xs[j], `d/dx[i-${j}]`));
      if (xNormed) expectClose(grads[xNormed.name].dataSync(), fc.grads.xNormed!, 'd/dxNormed');
      for (const p of params)
        expectClose(grads[p.variable.name].dataSync(), fc.grads.params[p.name], `d/d${p.name}`);
      tf.dispose([fx, ...xs, c, value, ...Object.values(grads)]);
      if (xNormed) xNormed.dispose();
      res.dispose();
    });
  }
