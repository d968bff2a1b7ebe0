import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VARIANTS, type Variant, residualConfig } from '../../src/laurel/index.ts';
import { type ModelSpec, buildModel, countParams } from '../../src/models/index.ts';

test('countParams gives torchvision parameter counts for every ImageNet ResNet', () => {
  const want = {
    resnet18: 11_689_512,
    resnet34: 21_797_672,
    resnet50: 25_557_032,
    resnet101: 44_549_160,
    resnet152: 60_192_808,
  } as const;
  for (const [model, n] of Object.entries(want)) {
    const c = countParams({ model: model as keyof typeof want });
    assert.deepEqual(c, { params: n, baseline_params: n, added_params: 0, added_percent: 0 }, model);
  }
});

test("ResNet-50 + one Bottleneck in layer3 is the paper's +1 layer: 1,117,184 params = 4.37 %", () => {
  const c = countParams({ model: 'resnet50', extraBlocks: 1 });
  assert.equal(c.params, 25_557_032 + 1_117_184);
  assert.equal(c.baseline_params, 25_557_032);
  assert.equal(c.added_params, 1_117_184);
  assert.equal(c.added_percent.toFixed(2), '4.37');
  // Another stage gives another count (the default stage matters).
  assert.notEqual(countParams({ model: 'resnet50', extraBlocks: 1, extraStage: 4 }).added_params, 1_117_184);
});

test("the paper's LLM example: 20 layers, D = 1000, RW+LR r = 4 adds 2N(4D+1) = 160,040, instantly", () => {
  const t0 = performance.now();
  const c = countParams({
    model: 'gpt',
    layers: 20,
    dim: 1000,
    heads: 8,
    residual: residualConfig('rw+lr', { rank: 4 }),
  });
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(c.added_params, 2 * 20 * (4 * 1000 + 1));
  assert.equal(c.added_params, 160_040);
  assert.equal(c.params, c.baseline_params + 160_040);
  // 'both' puts two LAURELs in each layer.
  const both = countParams({
    model: 'gpt',
    layers: 20,
    dim: 1000,
    heads: 8,
    placement: 'both',
    residual: residualConfig('rw+lr', { rank: 4 }),
  });
  assert.equal(both.added_params, 2 * 160_040);
});

test('ResNet-50 LAUREL counts: D is each block output width (projected shortcuts included)', () => {
  const blocks = 3 * 256 + 4 * 512 + 6 * 1024 + 3 * 2048;
  assert.equal(countParams({ model: 'resnet50', residual: 'rw' }).added_params, 16 * 2);
  assert.equal(
    countParams({ model: 'resnet50', residual: residualConfig('rw+lr', { rank: 16 }) }).added_params,
    2 * 16 * blocks + 16 * 2,
  );
});

test('a rank ≥ a block width is capped per block at width − 1 (ResNet-20 --rank 16: stage 1 has 16 channels)', () => {
  const spec = { model: 'resnet20', residual: residualConfig('rw+lr', { rank: 16 }) } satisfies ModelSpec;
  const c = countParams(spec);
  assert.equal(c.added_params, 3 * (2 * 15 * 16 + 2) + 3 * (2 * 16 * 32 + 2) + 3 * (2 * 16 * 64 + 2));
  const m = buildModel(spec);
  assert.equal(m.parameterCount(), c.params);
  m.dispose();
});

const variantConfig = (v: Variant, rank = 4) =>
  v === 'general'
    ? residualConfig(v, { g: (x) => x })
    : residualConfig(v, v === 'baseline' || v === 'rw' ? {} : { rank });

test('countParams equals the built model parameterCount (small models, every variant and placement)', () => {
  const specs: ModelSpec[] = [];
  for (const v of VARIANTS) {
    specs.push({ model: 'resnet20', residual: variantConfig(v), extraBlocks: v === 'rw+lr' ? 2 : 0 });
    for (const placement of ['block', 'attention', 'mlp', 'both'] as const) {
      specs.push({
        model: 'gpt',
        layers: 2,
        dim: 16,
        heads: 2,
        context: 8,
        vocab: 11,
        placement,
        residual: variantConfig(v),
      });
    }
  }
  specs.push({
    model: 'gpt',
    layers: 1,
    dim: 8,
    heads: 2,
    context: 4,
    vocab: 5,
    positions: 'rotary',
    tieEmbeddings: false,
    bias: false,
    extraBlocks: 1,
  });
  specs.push({
    model: 'resnet20',
    inChannels: 3,
    numClasses: 7,
    extraStage: 1,
    extraBlocks: 1,
    residual: 'rw',
  });
  for (const spec of specs) {
    const m = buildModel(spec);
    const c = countParams(spec);
    assert.equal(m.parameterCount(), c.params, JSON.stringify(spec));
    if (spec.residual && typeof spec.residual !== 'string' && spec.residual.variant !== 'general') {
      assert.equal(
        m.addedParams(),
        m.parameterCount() - countParams({ ...spec, residual: 'baseline' }).params,
      );
    }
    m.dispose();
  }
});

test('ResNet-50 built for real has 25,557,032 parameters, torchvision names and kinds', () => {
  const m = buildModel({ model: 'resnet50', extraBlocks: 1 });
  assert.equal(m.parameterCount(), 25_557_032 + 1_117_184);
  const names = new Map(m.namedParameters().map((p) => [p.name, p]));
  assert.deepEqual(names.get('conv1.kernel')?.variable.shape, [7, 7, 3, 64]);
  assert.deepEqual(names.get('layer1.0.downsample.0.kernel')?.variable.shape, [1, 1, 64, 256]);
  assert.deepEqual(names.get('layer3.6.conv2.kernel')?.variable.shape, [3, 3, 256, 256]); // the extra block
  assert.equal(names.get('layer3.7.conv2.kernel'), undefined);
  assert.deepEqual(names.get('fc.kernel')?.variable.shape, [2048, 1000]);
  assert.equal(names.get('layer2.0.bn1.gamma')?.kind, 'norm');
  assert.equal(names.get('fc.bias')?.kind, 'bias');
  // Running statistics are buffers, not parameters: 2 per BN channel.
  const bufferCount = m.namedBuffers().reduce((s, b) => s + b.variable.size, 0);
  const bnParams = m
    .namedParameters()
    .filter((p) => p.kind === 'norm')
    .reduce((s, p) => s + p.variable.size, 0);
  assert.equal(bufferCount, bnParams);
  m.dispose();
});

test('buildModel and countParams reject unknown names and bad fields', () => {
  assert.throws(
    () => countParams({ model: 'resnet51' as 'resnet50' }),
    /bad model 'resnet51'; allowed: .*resnet20/,
  );
  assert.throws(() => countParams({ model: 'resnet20', extraStage: 4 }), /extraStage 4; allowed: 1..3/);
  assert.throws(() => countParams({ model: 'gpt', dim: 10, heads: 3 }), /heads 3/);
  assert.throws(() => countParams({ model: 'gpt', placement: 'x' as 'block' }), /placement 'x'/);
  assert.throws(() => countParams({ model: 'gpt', residual: 'nope' as Variant }), /variant 'nope'/);
  // a residual given as an object is checked as residualConfig checks it (rank 0 was capped to 1 per block)
  for (const rank of [0, -5, 2.5])
    assert.throws(
      () => buildModel({ model: 'resnet20', residual: { variant: 'rw+lr', rank } }),
      new RegExp(`^Error: residualConfig: bad rank ${rank}; allowed: an integer`),
    );
  assert.throws(() => countParams({ model: 'gpt', residual: { variant: 'lr', k: 0 } }), /bad k 0/);
});
