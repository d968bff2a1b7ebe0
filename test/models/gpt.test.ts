import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { VARIANTS, type Variant, residualConfig } from '../../src/laurel/index.ts';
import {
  type Gpt,
  type GptLayer,
  type ModelSpec,
  type Placement,
  buildModel,
  countParams,
} from '../../src/models/index.ts';
import { close, perturbLaurel, snapshot } from './helpers.ts';

const small = {
  model: 'gpt',
  layers: 2,
  dim: 16,
  heads: 2,
  context: 8,
  vocab: 13,
} as const satisfies ModelSpec;
const cfg = (v: Variant) =>
  v === 'general'
    ? residualConfig(v, { g: (x) => x })
    : residualConfig(v, v === 'baseline' || v === 'rw' ? {} : { rank: 4 });
const tokens = (rows: number[][]) => tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');
const seq = [
  [1, 5, 2, 9, 12, 0, 3],
  [7, 7, 4, 1, 2, 11, 6],
];

test('GPT maps int32 [B, T] to logits [B, T, V] (learned/rotary positions, tied/untied head)', () => {
  for (const positions of ['learned', 'rotary'] as const) {
    for (const tieEmbeddings of [true, false]) {
      const m = buildModel({ ...small, positions, tieEmbeddings }) as Gpt;
      const y = m.forward(tokens(seq));
      assert.deepEqual(y.shape, [2, 7, 13]);
      assert.ok(Array.from(y.dataSync()).every(Number.isFinite));
      assert.equal(m.wpe === null, positions === 'rotary');
      assert.equal(m.head === null, tieEmbeddings);
      m.dispose();
    }
  }
  const m = buildModel(small) as Gpt;
  assert.throws(() => m.forward(tokens([[1, 2, 3, 4, 5, 6, 7, 8, 9]])), /context 8/);
});

test('a GPT config whose MLP would have no hidden unit is refused, naming mlpRatio', () => {
  for (const mlpRatio of [0.01, 0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => buildModel({ ...small, mlpRatio }), /bad mlpRatio/, `mlpRatio ${mlpRatio}`);
    assert.throws(() => countParams({ ...small, mlpRatio }), /bad mlpRatio/, `mlpRatio ${mlpRatio}`);
  }
  const m = buildModel({ ...small, mlpRatio: 1 / 16 }) as Gpt; // one hidden unit at dim 16
  assert.deepEqual(m.forward(tokens(seq)).shape, [2, 7, 13]);
  m.dispose();
});

test('the plain GPT layer is the standard pre-norm block: x + a + MLP(LN₂(x + a)), head tied to wte', () => {
  const m = buildModel({ ...small, layers: 1 }) as Gpt;
  const t = tokens(seq);
  const l = m.layers[0];
  const x = tf.add(tf.gather(m.wte.table, t), tf.slice(m.wpe!.table, [0, 0], [7, 16])) as tf.Tensor3D;
  const a = l.attn.forward(l.ln1.forward(x));
  const h = tf.add(x, a);
  const out = tf.add(h, l.mlp.forward(l.ln2.forward(h)));
  const logits = tf.einsum('btd,vd->btv', m.lnF.forward(out), m.wte.table);
  close(m.forward(t), logits, 1e-4, 'baseline');
  assert.equal(l.residual, null);
  m.dispose();
});

/** (α, β) = 2·softmax(w) of an RW residual (NOTES.md: hyper-connection-factory's normalization). */
function alphaBeta(layer: GptLayer, name: string): [number, number] {
  const w = layer.namedParameters().find((p) => p.name === `${name}.w`)!.variable;
  const [a, b] = Array.from(tf.mul(tf.softmax(w), 2).dataSync());
  return [a, b];
}

test('LAUREL placement semantics (RW): block, attention, mlp, both', () => {
  for (const placement of ['block', 'attention', 'mlp', 'both'] as Placement[]) {
    const m = buildModel({ ...small, layers: 1, placement, residual: 'rw' }) as Gpt;
    perturbLaurel(m, 3, 1);
    const l = m.layers[0];
    const x = tf.add(
      tf.gather(m.wte.table, tokens(seq)),
      tf.slice(m.wpe!.table, [0, 0], [7, 16]),
    ) as tf.Tensor3D;
    const a = l.attn.forward(l.ln1.forward(x));
    let out: tf.Tensor;
    if (placement === 'block') {
      const [al, be] = alphaBeta(l, 'residual');
      const m1 = l.mlp.forward(l.ln2.forward(tf.add(x, a)));
      out = tf.add(tf.mul(al, tf.add(a, m1)), tf.mul(be, x)); // α·f(x) + β·x with f = a + m
    } else {
      const [aa, ba] = placement === 'mlp' ? [1, 1] : alphaBeta(l, 'residualAttn');
      const h = tf.add(tf.mul(aa, a), tf.mul(ba, x));
      const mm = l.mlp.forward(l.ln2.forward(h));
      const [am, bm] = placement === 'attention' ? [1, 1] : alphaBeta(l, 'residualMlp');
      out = tf.add(tf.mul(am, mm), tf.mul(bm, h));
    }
    close(l.forward(x), out, 1e-4, placement);
    assert.notEqual(
      alphaBeta(l, l.residual ? 'residual' : l.residualAttn ? 'residualAttn' : 'residualMlp')[0],
      1,
    );
    m.dispose();
  }
});

test('gemma3n sits around attention whatever the placement, with x̂ = LN₁(x)', () => {
  const m = buildModel({ ...small, residual: residualConfig('gemma3n', { rank: 4 }) }) as Gpt;
  const l = m.layers[0];
  assert.equal(l.residual, null);
  assert.equal(l.residualMlp, null);
  assert.ok(l.residualAttn);
  assert.equal(
    countParams({ ...small, residual: residualConfig('gemma3n', { rank: 4 }) }).added_params,
    2 * (2 * 4 * 16 + 16),
  );
  // Gemma 3n's form: h = (x + a + x̂ + RMSNorm(U·V·x̂)) / √2, then h + MLP(LN₂(h)).
  const x = tf.add(
    tf.gather(m.wte.table, tokens(seq)),
    tf.slice(m.wpe!.table, [0, 0], [7, 16]),
  ) as tf.Tensor3D;
  const xn = l.ln1.forward(x);
  const a = l.attn.forward(xn);
  const p = new Map(l.namedParameters().map((q) => [q.name, q.variable]));
  const uvx = tf.matMul(
    tf.matMul(tf.reshape(xn, [-1, 16]), p.get('residualAttn.V')!),
    p.get('residualAttn.U')!,
  );
  const rms = tf.mul(
    tf.div(uvx, tf.sqrt(tf.add(tf.mean(tf.square(uvx), -1, true), 1e-6))),
    p.get('residualAttn.normScale')!,
  );
  const h = tf.div(tf.addN([x, a, xn, tf.reshape(rms, x.shape)]), Math.SQRT2);
  close(l.forward(x), tf.add(h, l.mlp.forward(l.ln2.forward(h))), 1e-3, 'gemma3n');
  m.dispose();
});

test('every variant × placement is causal: changing token t+1 leaves logits at ≤ t unchanged', () => {
  const changed = seq.map((r) => r.map((v, i) => (i >= 4 ? (v + 5) % 13 : v)));
  for (const v of VARIANTS) {
    for (const placement of ['block', 'both'] as Placement[]) {
      for (const positions of v === 'rw+lr+pa' ? (['learned', 'rotary'] as const) : (['learned'] as const)) {
        const m = buildModel({ ...small, layers: 3, placement, positions, residual: cfg(v) }) as Gpt;
        perturbLaurel(m, 1);
        const y1 = m.forward(tokens(seq));
        const y2 = m.forward(tokens(changed));
        const tag = `${v} ${placement} ${positions}`;
        close(tf.slice(y1, [0, 0, 0], [2, 4, 13]), tf.slice(y2, [0, 0, 0], [2, 4, 13]), 1e-5, tag);
        assert.ok(
          tf
            .max(tf.abs(tf.sub(tf.slice(y1, [0, 4, 0], [2, 1, 13]), tf.slice(y2, [0, 4, 0], [2, 1, 13]))))
            .dataSync()[0] > 1e-4,
          tag,
        );
        m.dispose();
      }
    }
  }
});

test('GPT-2 init: loss ≈ ln V at init, weight std 0.02 (projections 0.02/√(2L)), same seed same weights', () => {
  const spec = { ...small, dim: 32, vocab: 50, layers: 2, residual: cfg('rw+lr') } satisfies ModelSpec;
  const m = buildModel(spec) as Gpt;
  const loss = m
    .loss(tokens(seq.map((r) => r.map((v) => v * 3))), tokens(seq.map((r) => r.map((v) => v * 2))))
    .dataSync()[0];
  assert.ok(Math.abs(loss - Math.log(50)) < 0.1, `loss ${loss}`);
  const std = (v: tf.Variable) => tf.moments(v).variance.sqrt().dataSync()[0];
  const p = new Map(m.namedParameters().map((q) => [q.name, q.variable]));
  assert.ok(Math.abs(std(p.get('layers.0.attn.qkv.kernel')!) - 0.02) < 0.002);
  assert.ok(Math.abs(std(p.get('layers.1.mlp.proj.kernel')!) - 0.01) < 0.001);
  assert.ok(Math.abs(std(p.get('wte.table')!) - 0.02) < 0.002);
  assert.equal(
    p
      .get('layers.0.attn.qkv.bias')!
      .dataSync()
      .every((b) => b === 0),
    true,
  );
  assert.deepEqual(snapshot(m), snapshot(buildModel(spec)));
  assert.notDeepEqual(
    snapshot(m).get('wte.table'),
    snapshot(buildModel({ ...spec, seed: 1 })).get('wte.table'),
  );
  // Baseline and LAUREL models of one seed share their base weights, so at init (U = 0, α = β = 1) they agree.
  close(
    m.forward(tokens(seq)),
    (buildModel({ ...spec, residual: 'baseline' }) as Gpt).forward(tokens(seq)),
    1e-5,
    'init',
  );
});

test('training steps: loss goes down, every parameter gets a gradient, no tensors leak', () => {
  const m = buildModel({
    ...small,
    placement: 'both',
    positions: 'rotary',
    residual: cfg('rw+lr+pa'),
  }) as Gpt;
  const opt = tf.train.adam(0.01);
  const x = tokens(seq);
  const y = tokens(seq.map((r) => r.map((v) => (v + 1) % 13)));
  const vars = m.namedParameters().map((p) => p.variable);
  const step = () => {
    const { value, grads } = tf.variableGrads(() => m.loss(x, y), vars);
    assert.equal(Object.keys(grads).length, vars.length);
    opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    const l = value.dataSync()[0];
    value.dispose();
    tf.dispose(Object.values(grads));
    return l;
  };
  const first = step();
  step();
  const before = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 8; i++) last = step();
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  assert.ok(last < first - 0.3, `loss ${first} → ${last}`);
  m.dispose();
});
