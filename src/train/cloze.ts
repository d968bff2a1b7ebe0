import * as tf from '@tensorflow/tfjs';
import type { Model } from './task.ts';

/**
 * A multiple-choice cloze item (a HellaSwag-like "downstream" probe) in tokens: a context and candidate
 * continuations, one of which (`answer`) is the true one. The LM experiment builds them from held-out sentences
 * (src/data/cloze.ts) and tokenizes them (src/cli/setup.ts).
 */
export interface ClozeItem {
  context: Int32Array;
  choices: Int32Array[];
  answer: number;
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
