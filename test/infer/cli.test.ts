// laurel generate / predict / fold / inspect / bench --inference end to end on tiny trained runs (cpu backend).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import type { OverheadRow } from '../../bench/inference.ts';
import { encodeIdx } from '../../src/data/idx.ts';
import { laurel, tinyIdx, tinyText, tmp } from '../cli/fixtures.ts';

const one = (stdout: string) => {
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 1, `--json prints one line, got:\n${stdout}`);
  return JSON.parse(lines[0]);
};
/** A usage error: exit 2, one line on stderr that matches `re`. */
const refused = (args: string[], re: RegExp) => {
  const r = laurel(args);
  assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('laurel'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], re);
};

const gptRun = join(tmp('gen'), 'run');
const cnnRun = join(tmp('pred'), 'run');
const idx = tinyIdx();

test('setup: a tiny GPT (rw+lr+pa) and a tiny ResNet-20 (rw+lr) run', () => {
  const common = ['--max-steps', '2', '--eval-limit', '2', '--quiet', '--json'];
  const g = laurel([
    ...['train', '--task', 'text', '--model', 'gpt', '--layers', '2', '--dim', '16', '--heads', '2'],
    ...[
      '--context',
      '16',
      '--residual',
      'rw+lr+pa',
      '--rank',
      '4',
      '--batch-size',
      '2',
      '--data',
      tinyText(),
    ],
    ...['--out', gptRun, ...common],
  ]);
  assert.equal(g.status, 0, g.stderr);
  const c = laurel([
    ...['train', '--task', 'fashion-mnist', '--model', 'resnet20', '--residual', 'rw+lr', '--rank', '4'],
    ...['--batch-size', '4', '--data', idx, '--out', cnnRun, ...common],
  ]);
  assert.equal(c.status, 0, c.stderr);
});

test('laurel generate: one JSON document, deterministic greedy text, cut prompts, sliding window, bad flags', () => {
  const greedy = [
    'generate',
    '--out',
    gptRun,
    '--prompt',
    'The state',
    '--max-tokens',
    '20',
    '--temperature',
    '0',
    '--json',
  ];
  const a = one(laurel(greedy).stdout);
  assert.equal(a.tokens.length, 20);
  // 9 + 20 tokens: the window (16) fills at 16 and, after each slide back to 8, every 8 tokens: at 16 and 24
  assert.equal(a.slides, 2);
  assert.deepEqual(one(laurel(greedy).stdout).tokens, a.tokens);
  const long = laurel([
    'generate',
    '--out',
    gptRun,
    '--prompt',
    'x'.repeat(40),
    '--max-tokens',
    '2',
    '--json',
  ]);
  assert.equal(long.status, 0, long.stderr);
  assert.match(long.stderr, /the prompt has 40 tokens, the context 16: keeping its last 16/);
  assert.equal(one(long.stdout).truncated, 24);
  const empty = laurel([
    'generate',
    '--out',
    gptRun,
    '--max-tokens',
    '5',
    '--top-k',
    '3',
    '--top-p',
    '0.9',
    '--seed',
    '4',
  ]);
  assert.equal(empty.status, 0, empty.stderr);
  refused(['generate', '--out', gptRun, '--top-p', '1.5'], /--top-p: expected a value <= 1/);
  refused(['generate', '--out', gptRun, '--temperature', '-1'], /--temperature: expected a value >= 0/);
  refused(['generate', '--out', gptRun, '--max-tokens', 'many'], /--max-tokens: expected an integer/);
  refused(['generate', '--prompt', 'x'], /--out RUN is required/);
  refused(['generate', '--out', cnnRun], /holds a resnet20, not a GPT/);
});

test('laurel predict: IDX (--index, --idx --first), any PNG with notes, one JSON document, bad input', () => {
  const images = join(idx, 't10k-images-idx3-ubyte');
  const a = one(laurel(['predict', '--out', cnnRun, '--idx', images, '--first', '3', '--json']).stdout);
  assert.equal(a.predictions.length, 3);
  for (const p of a.predictions) {
    assert.equal(p.top.length, 3, 'top-5 of 3 classes is all 3');
    const sum = p.top.reduce((s: number, t: { probability: number }) => s + t.probability, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `probabilities sum to ${sum}`);
  }
  const b = one(laurel(['predict', '--out', cnnRun, images, '--index', '2', '--json']).stdout);
  assert.deepEqual(b.predictions[0].top, a.predictions[2].top);
  const png = new PNG({ width: 40, height: 30 });
  for (let i = 0; i < 40 * 30; i++) png.data.set([i % 256, 90, 30, 255], 4 * i);
  const file = join(tmp('png'), 'shirt.png');
  writeFileSync(file, PNG.sync.write(png));
  const c = laurel(['predict', '--out', cnnRun, file]);
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stderr, /converted from colour to grayscale/);
  assert.match(c.stderr, /resized from 40×30 to 28×28/);
  assert.match(c.stdout, /shirt\.png\n +\d+\.\d+ %/);
  refused(['predict', '--out', cnnRun, file, '--index', '1'], /--index applies to IDX files/);
  refused(['predict', '--out', cnnRun, '--idx', images, '--first', '99'], /holds 16 images/);
  refused(['predict', '--out', cnnRun, join(idx, 'nope.png')], /does not exist/);
  refused(['predict', '--out', cnnRun, 'package.json'], /neither a PNG nor an IDX images file/);
  refused(['predict', '--out', cnnRun], /an IMAGE \(PNG or IDX\) or --idx FILE is required/);
  refused(['predict', '--out', gptRun, file], /holds a GPT, not a ResNet/);
  const empty = join(tmp('empty-idx'), 'images-0x28');
  writeFileSync(empty, encodeIdx([2, 0, 28], new Uint8Array(0)));
  refused(['predict', '--out', cnnRun, '--idx', empty], /holds 0×28 images, with no pixels/);
});

test('laurel fold: the folded run predicts and generates what the trained one does', () => {
  const images = join(idx, 't10k-images-idx3-ubyte');
  for (const [run, check] of [
    [cnnRun, ['predict', '--idx', images, '--first', '4', '--json']],
    [gptRun, ['generate', '--prompt', 'We have', '--max-tokens', '8', '--temperature', '0', '--json']],
  ] as const) {
    const to = join(tmp('fold'), 'folded');
    const f = laurel(['fold', '--out', run, '--to', to, '--json']);
    assert.equal(f.status, 0, f.stderr);
    const r = one(f.stdout);
    assert.ok(r.max_rel_error < 1e-5, `fold check ${r.max_rel_error}`);
    const trained = one(laurel([...check, '--out', run]).stdout);
    const folded = one(laurel([...check, '--out', to]).stdout);
    if (trained.predictions) {
      trained.predictions.forEach((p: { top: { label: number; probability: number }[] }, i: number) =>
        p.top.forEach((t, j) => {
          const q = folded.predictions[i].top[j];
          assert.equal(q.label, t.label);
          assert.ok(Math.abs(q.probability - t.probability) < 1e-5);
        }),
      );
    } else assert.deepEqual(folded.tokens, trained.tokens);
    refused(['fold', '--out', run, '--to', to], /exists and is not empty/);
    refused(['fold', '--out', to, '--to', join(tmp('fold'), 'again')], /already holds a folded model/);
  }
});

test("laurel inspect: each site's learned α, β (2·softmax), γ and low-rank stats; a folded model's too", () => {
  const r = laurel(['inspect', '--out', gptRun, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const doc = one(r.stdout);
  assert.equal(doc.variant, 'rw+lr+pa');
  assert.deepEqual(
    doc.sites.map((s: { site: string }) => s.site),
    ['layers.0.residual', 'layers.1.residual'],
  );
  for (const site of doc.sites) {
    const p = Object.fromEntries(site.params.map((q: { name: string }) => [q.name, q]));
    assert.deepEqual(Object.keys(p), ['alpha', 'beta', 'V', 'U', 'gamma']);
    // RW's softmax form: α + β = 2 whatever was learned; 2 steps moved them off 1
    assert.ok(Math.abs(p.alpha.values[0] + p.beta.values[0] - 2) < 1e-6, JSON.stringify(p));
    assert.notEqual(p.alpha.values[0], 1);
    assert.equal(p.gamma.values.length, 3);
    assert.deepEqual(p.V.shape, [3, 16, 4]);
    assert.ok(p.V.rms > 0 && p.V.min <= p.V.mean && p.V.mean <= p.V.max && p.V.values === undefined);
  }
  assert.equal(r.stderr.trim().split('\n').length, 3, 'a header line and one line per site');
  assert.match(r.stderr, /^layers\.1\.residual +alpha [\d.]+ +beta [\d.]+ +V \[3, 16, 4\] mean /m);
  const to = join(tmp('inspect'), 'folded');
  assert.equal(laurel(['fold', '--out', cnnRun, '--to', to]).status, 0);
  const sites = (out: string) => one(laurel(['inspect', '--out', out, '--json']).stdout).sites;
  const [trained, folded] = [sites(cnnRun), sites(to)];
  assert.equal(folded.length, 9);
  folded.forEach((s: { params: { name: string; values?: number[] }[] }, i: number) => {
    const value = (site: typeof s, name: string) => site.params.find((q) => q.name === name)?.values?.[0];
    if (s.params.length === 0) return; // a block whose shortcut took the whole combine
    assert.equal(value(s, 'alpha'), 1, 'folding moves RW α into f');
    assert.ok(Math.abs(value(s, 'beta')! - value(trained[i], 'beta')!) < 1e-6, `site ${i}: β kept`);
  });
  assert.ok(folded.filter((s: { params: unknown[] }) => s.params.length > 0).length >= 7);
  assert.match(laurel(['inspect', '--out', to]).stdout, /folded for serving/);
  refused(['inspect'], /--out/);
});

test('laurel bench --inference --dry --json: one JSON document with every measurement', () => {
  const r = laurel(['bench', '--inference', '--dry', '--skip-torch', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const d = one(r.stdout);
  assert.equal(d.mode, 'dry');
  assert.deepEqual(Object.keys(d.laurel_overhead), [
    'resnet20_batch1',
    'resnet20_batch2',
    'gpt_prefill',
    'gpt_decode',
  ]);
  assert.equal(d.resnet.length, 4);
  assert.equal(d.gpt.length, 2);
  for (const row of d.resnet) assert.ok(row.ms > 0 && row.folded_ms > 0);
  for (const row of d.gpt) assert.ok(row.tokens_per_s > 0 && row.folded_tokens_per_s > 0);
  // the low-rank term is work no folding removes: LAUREL's MAC share is above 1 everywhere
  for (const [k, v] of Object.entries(d.laurel_overhead) as [string, OverheadRow][]) {
    assert.ok(v.macs! > 1 && v.macs! < 2, `${k} macs ${v.macs}`);
    // one timed round of each form in dry mode (decoding: a few tokens), too few for a 95 % interval
    assert.equal(v.rounds, k === 'gpt_decode' ? 3 : 1);
    assert.ok(v.unfolded.median > 0 && v.folded.median > 0 && v.unfolded.ci === null && v.folded.ci === null);
    assert.equal(v.torch, null);
  }
  for (const row of [...d.resnet, ...d.gpt]) assert.equal(row.torch_setting, null);
  assert.deepEqual(d.torch, { available: false, reason: 'skipped (--skip-torch)' });
});
