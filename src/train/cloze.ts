import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';
import type { Model } from './task.ts';

/**
 * A multiple-choice cloze item (a HellaSwag-like "downstream" probe): a context and candidate continuations,
 * one of which (`answer`) is the true one.
 */
export interface ClozeItem {
  context: Int32Array;
  choices: Int32Array[];
  answer: number;
}

/**
 * Builds `count` items from a held-out token stream: the context is `contextLen` tokens at a random position,
 * the true choice the next `choiceLen` tokens, and the distractors `choiceLen`-token continuations taken from
 * other random positions of the same stream (so they are fluent text, just not this text's continuation),
 * each different from the truth and from one another.
 */
export function makeClozeItems(
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

/**
 * Scores each choice by the model's log-likelihood of its tokens given the context (the sum over its tokens,
 * and the per-token mean for `accuracyNorm`); the prediction is the highest-scoring choice.
 * Sequences longer than `maxLen` keep their last `maxLen` tokens (the context is cut from the left).
 */
export function scoreCloze(
  model: Model,
  items: ClozeItem[],
  maxLen: number,
): { accuracy: number; accuracyNorm: number; scores: number[][] } {
  let correct = 0;
  let correctNorm = 0;
  const scores: number[][] = [];
  for (const item of items) {
    const rows = item.choices.map((c) => {
      const all = new Int32Array(item.context.length + c.length);
      all.set(item.context);
      all.set(c, item.context.length);
      return all.length > maxLen + 1 ? all.slice(all.length - maxLen - 1) : all;
    });
    const T = Math.max(...rows.map((r) => r.length)) - 1;
    const inputs = new Int32Array(rows.length * T);
    rows.forEach((r, i) => inputs.set(r.subarray(0, r.length - 1), i * T));
    // log-probabilities [choices, T, V]; padding at the end does not affect a causal model's earlier positions
    const logp = tf.tidy(() => tf.logSoftmax(model.forward(tf.tensor2d(inputs, [rows.length, T], 'int32'))));
    const lp = logp.dataSync();
    const V = logp.shape[2] as number;
    logp.dispose();
    const s = rows.map((r, i) => {
      const n = item.choices[i].length;
      let sum = 0;
      // target at input position t is r[t + 1]; the choice occupies the last n targets of the row
      for (let t = r.length - 1 - n; t < r.length - 1; t++) sum += lp[(i * T + t) * V + r[t + 1]];
      return sum;
    });
    const norm = s.map((x, i) => x / item.choices[i].length);
    const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));
    if (argmax(s) === item.answer) correct++;
    if (argmax(norm) === item.answer) correctNorm++;
    scores.push(s);
  }
  return { accuracy: correct / items.length, accuracyNorm: correctNorm / items.length, scores };
}
