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

/** One forward window: `inputs` predict the tokens at positions [from, to) of the choice's full sequence. */
interface Window {
  choice: number;
  inputs: Int32Array;
  /** Offset of `inputs[0]` in the full sequence. */
  start: number;
  from: number;
  to: number;
}

/**
 * Windows that score positions [first, seq.length) of `seq` with a model of context `maxLen`: each target
 * sees at least maxLen/2 earlier tokens (or all of them), like a strided perplexity evaluation.
 */
function windows(seq: Int32Array, first: number, maxLen: number, choice: number): Window[] {
  const out: Window[] = [];
  const stride = Math.max(1, Math.floor(maxLen / 2));
  for (let from = first; from < seq.length; ) {
    const to = Math.min(seq.length, from + stride);
    const start = Math.max(0, to - 1 - maxLen);
    out.push({ choice, inputs: seq.slice(start, to - 1), start, from, to });
    from = to;
  }
  return out;
}

/**
 * Scores each choice by the model's log-likelihood of its tokens given the context (the sum over its tokens,
 * and the per-token mean for `accuracyNorm`); the prediction is the highest-scoring choice.
 * Sequences longer than the model's context `maxLen` are scored in overlapping windows, so every choice
 * token is predicted from at least maxLen/2 preceding tokens.
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
    const ws = item.choices.flatMap((c, i) => {
      const all = new Int32Array(item.context.length + c.length);
      all.set(item.context);
      all.set(c, item.context.length);
      return windows(all, item.context.length, maxLen, i).map((w) => ({ ...w, seq: all }));
    });
    const T = Math.max(...ws.map((w) => w.inputs.length));
    const inputs = new Int32Array(ws.length * T);
    ws.forEach((w, r) => inputs.set(w.inputs, r * T));
    // log-probabilities [windows, T, V]; padding at the end does not affect a causal model's earlier positions
    const logp = tf.tidy(() => tf.logSoftmax(model.forward(tf.tensor2d(inputs, [ws.length, T], 'int32'))));
    const lp = logp.dataSync();
    const V = logp.shape[2] as number;
    logp.dispose();
    const s = item.choices.map(() => 0);
    ws.forEach((w, r) => {
      // the token at sequence position j is predicted at input position j − 1 − start
      for (let j = w.from; j < w.to; j++) s[w.choice] += lp[(r * T + (j - 1 - w.start)) * V + w.seq[j]];
    });
    const norm = s.map((x, i) => x / item.choices[i].length);
    const argmax = (xs: number[]) => xs.indexOf(Math.max(...xs));
    if (argmax(s) === item.answer) correct++;
    if (argmax(norm) === item.answer) correctNorm++;
    scores.push(s);
  }
  return { accuracy: correct / items.length, accuracyNorm: correctNorm / items.length, scores };
}
