import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { TextWindowSampler } from '../../src/data/text-batches.ts';
import { Module } from '../../src/nn/module.ts';
import { type ClozeItem, scoreCloze } from '../../src/train/cloze.ts';
import { LanguageTask, evaluateLm } from '../../src/train/language.ts';
import { train } from '../../src/train/loop.ts';
import { AdamW } from '../../src/train/optim/index.ts';
import { Rng } from '../../src/util/rng.ts';

/**
 * Test helper: builds `count` items from a held-out token stream: the context is `contextLen` tokens at a random position,
 * the true choice the next `choiceLen` tokens, and the distractors `choiceLen`-token continuations taken from
 * other random positions of the same stream (so they are fluent text, just not this text's continuation),
 * each different from the truth and from one another.
 */
function makeClozeItems(
  tokens: Int32Array,
  o: { count: number; contextLen: number; choiceLen: number; choices?: number; seed: number },
): ClozeItem[] {
  const k = o.choices ?? 4;
  const span = o.contextLen + o.choiceLen;
  if (tokens.length < 2 * span)
    throw new Error(`makeClozeItems: stream of ${tokens.length} tokens is too short`);
  const rng = new Rng(o.seed);
  const items: ClozeItem[] = [];
  for (let i = 0; i < o.count; i++) {
    const s = rng.int(tokens.length - span + 1);
    const truth = tokens.slice(s + o.contextLen, s + span);
    const choices = [truth];
    for (let tries = 0; choices.length < k; tries++) {
      if (tries > 1000) throw new Error('makeClozeItems: cannot find distinct distractors in this stream');
      const d = rng.int(tokens.length - o.choiceLen + 1);
      const c = tokens.slice(d, d + o.choiceLen);
      // a distractor must differ from the truth and from the other distractors
      if (choices.some((x) => x.every((t, j) => t === c[j]))) continue;
      choices.push(c);
    }
    const answer = rng.int(k);
    [choices[0], choices[answer]] = [choices[answer], choices[0]];
    items.push({ context: tokens.slice(s, s + o.contextLen), choices, answer });
  }
  return items;
}

await tf.setBackend('cpu');

const V = 8;

/** A bigram LM: logits[b, t] = table[tokens[b, t]] (int32 [B, T] → [B, T, V]). */
class Bigram extends Module {
  readonly table: tf.Variable;
  constructor(init?: tf.Tensor) {
    super();
    this.table = this.param('table', init ?? tf.zeros([V, V]), 'embedding');
  }
  forward(x: tf.Tensor): tf.Tensor {
    return tf.gather(this.table, x);
  }
}

/** A stream where token t is followed by t+1 (mod V) 90 % of the time. */
function stream(n: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  const out = new Int32Array(n);
  for (let i = 1; i < n; i++) out[i] = rng.next() < 0.9 ? (out[i - 1] + 1) % V : rng.int(V);
  return out;
}

test('cloze scorer: log-likelihood of each choice given the context, by hand', () => {
  // log p(next = cur+1 | cur) = 5 − log(e⁵ + 7); every other token 0 − log(e⁵ + 7)
  const model = new Bigram(
    tf.tidy(() => tf.mul(tf.oneHot(tf.tensor1d([1, 2, 3, 4, 5, 6, 7, 0], 'int32'), V), 5)),
  );
  const z = Math.log(Math.exp(5) + 7);
  const items = [
    {
      context: Int32Array.from([0, 1, 2]),
      choices: [Int32Array.from([5, 6]), Int32Array.from([3, 4])],
      answer: 1,
    },
    { context: Int32Array.from([6]), choices: [Int32Array.from([7]), Int32Array.from([2, 3, 4])], answer: 0 },
  ];
  const r = scoreCloze(model, items, 16);
  assert.ok(Math.abs(r.scores[0][1] - 2 * (5 - z)) < 1e-4);
  assert.ok(Math.abs(r.scores[0][0] - (-z + 5 - z)) < 1e-4);
  assert.ok(Math.abs(r.scores[1][1] - (-z + 2 * (5 - z))) < 1e-4);
  assert.equal(r.accuracy, 1);
  // a bigram model needs one token of context: any window size gives the same scores, even when the
  // choice is longer than the window (scored in strides)
  for (const maxLen of [1, 2, 3]) {
    const w = scoreCloze(model, items, maxLen).scores;
    w.flat().forEach((x, i) => assert.ok(Math.abs(x - r.scores.flat()[i]) < 1e-4, `maxLen ${maxLen}: ${w}`));
  }
  const long = {
    context: Int32Array.from([0]),
    choices: [Int32Array.from([1, 2, 3, 4, 5, 6, 7, 0, 1])],
    answer: 0,
  };
  assert.ok(Math.abs(scoreCloze(model, [long], 2).scores[0][0] - 9 * (5 - z)) < 1e-3);
  const built = makeClozeItems(stream(500, 3), { count: 20, contextLen: 6, choiceLen: 3, seed: 1 });
  assert.equal(built.length, 20);
  assert.ok(built.every((it) => it.choices.length === 4 && it.choices.every((c) => c.length === 3)));
  assert.ok(new Set(built.map((it) => it.answer)).size > 1, 'answers are shuffled');
  assert.ok(scoreCloze(model, built, 16).accuracy >= 0.7);
  model.dispose();
});

async function lmRun(dir: string, opts: { stopAtStep?: number; resume?: boolean } = {}) {
  const tokens = stream(2000, 1);
  const sampler = new TextWindowSampler(tokens, { batchSize: 4, seqLen: 8, seed: 5 });
  const ood = stream(300, 9).map((t) => (t * 3) % V);
  const task = new LanguageTask({
    sampler,
    trainTokens: tokens.length,
    seqLen: 8,
    batchSize: 4,
    evalSets: [
      { name: 'test', tokens: stream(300, 2) },
      { name: 'ood', tokens: Int32Array.from(ood) },
    ],
    cloze: makeClozeItems(stream(400, 4), { count: 10, contextLen: 4, choiceLen: 2, seed: 2 }),
  });
  const model = new Bigram();
  const optimizer = new AdamW(model.namedParameters(), { weightDecay: 0 });
  const r = await train({
    model,
    task,
    optimizer,
    lr: () => 0.1,
    totalSteps: 30,
    evalEvery: 10,
    outDir: dir,
    rng: new Rng(0),
    log: () => {},
    ...opts,
  });
  return { r, model };
}

test('cloze: the per-token mean picks a long true continuation that the summed score misses', () => {
  // bigram logits: t → t+1 at 5, plus 0 → 6 at 5 too, so after 0 both 1 and 6 cost log(2e⁵ + 6) − 5 ≈ 0.71
  const table = new Float32Array(V * V);
  for (let t = 0; t < V; t++) table[t * V + ((t + 1) % V)] = 5;
  table[0 * V + 6] = 5;
  const model = new Bigram(tf.tensor2d(table, [V, V]));
  // the truth 1,2,3,4 costs ≈ 0.71 + 3·0.05 in all (≈ 0.21 per token); the distractor 6 costs ≈ 0.71
  const item = {
    context: Int32Array.from([0]),
    choices: [Int32Array.from([1, 2, 3, 4]), Int32Array.from([6])],
    answer: 0,
  };
  const r = scoreCloze(model, [item], 16);
  assert.ok(r.scores[0][0] < r.scores[0][1], 'the summed score is lower for the longer truth');
  assert.equal(r.accuracy, 0);
  assert.equal(r.accuracyNorm, 1);
});

test('LM task: loss falls below the uniform baseline, perplexity = exp(loss), OOD and cloze reported, resume exact', async () => {
  const a = await lmRun(mkdtempSync(join(tmpdir(), 'laurel-lm-')));
  const e = a.r.lastEval!;
  assert.ok(e.loss < Math.log(V) * 0.6, `test loss ${e.loss} vs uniform ${Math.log(V)}`);
  assert.equal(e.perplexity, Math.exp(e.loss));
  assert.ok(e.extra!.ood_loss > e.loss, 'out-of-domain is worse');
  assert.equal(e.extra!.ood_perplexity, Math.exp(e.extra!.ood_loss));
  assert.ok(e.extra!.cloze_accuracy >= 0.5);
  assert.ok(e.extra!.cloze_accuracy_sum >= 0.5, 'equal-length choices: both scores agree');
  assert.equal(a.r.best?.metric, 'loss');
  assert.equal(evaluateLm(a.model, stream(300, 2), { seqLen: 8, batchSize: 4 }), e.loss);

  const dir = mkdtempSync(join(tmpdir(), 'laurel-lm-'));
  const b1 = await lmRun(dir, { stopAtStep: 13 });
  const b2 = await lmRun(dir, { resume: true });
  assert.deepEqual([...b1.r.losses, ...b2.r.losses], a.r.losses);
  assert.deepEqual(Array.from(b2.model.table.dataSync()), Array.from(a.model.table.dataSync()));
  [a, b1, b2].forEach((x) => x.model.dispose());
});
