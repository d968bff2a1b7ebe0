import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';
import type { Gpt } from './gpt.ts';

/**
 * Text generation with a GPT: a prefill of the prompt, then one token at a time through the key/value cache
 * (Gpt.forward(tokens, cache)), so each new token costs O(context) attention instead of a recompute of the whole
 * window. The model code is the training code; only the cache is added.
 *
 * Sampling of the next token from the last position's logits z (vocabulary V):
 *   temperature 0: argmax z (greedy, deterministic);
 *   otherwise p = softmax(z / temperature), restricted to the top-k tokens (k = topK, 0: all), then to the
 *   smallest set of most likely tokens whose mass reaches topP (nucleus sampling, 1: all), renormalized, and
 *   drawn with a seeded Rng (the same seed gives the same text).
 *
 * The window. A prompt longer than the context keeps its last `context` tokens (`truncated` says how many were
 * dropped). When the sequence fills the context, the window slides: the cache is rebuilt by a prefill of the
 * last ⌊context/2⌋ tokens (positions restart at 0, so learned and rotary positions stay inside what the model
 * was trained on), and decoding continues; the model then always sees at least context/2 earlier tokens, and
 * the rebuild costs one half-window prefill per context/2 new tokens.
 */
export interface SampleOptions {
  /** Tokens to generate. */
  maxTokens: number;
  /** Softmax temperature; 0 = greedy. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = all). Default 0. */
  topK?: number;
  /** Nucleus: keep the most likely tokens up to this cumulative probability (1 = all). Default 1. */
  topP?: number;
  /** Seed of the sampler. Default 0. */
  seed?: number;
  /** Called with each new token as soon as it is chosen (streaming output). */
  onToken?: (token: number) => void;
}

export interface Generation {
  /** The prompt as used (after truncation). */
  prompt: number[];
  /** The generated tokens. */
  tokens: number[];
  /** Prompt tokens dropped from the front because the prompt was longer than the context. */
  truncated: number;
  /** Times the window slid (the cache was rebuilt from the last context/2 tokens). */
  slides: number;
  /** Wall time of the first prefill, and of the decoding after it (ms). */
  prefillMs: number;
  decodeMs: number;
}

/** Checks the sampling options, with the option's name in the message. */
export function checkSampleOptions(o: SampleOptions): void {
  const bad = (name: string, v: unknown, allowed: string) => {
    throw new Error(`generate: bad ${name} ${v}; allowed: ${allowed}`);
  };
  if (!(Number.isInteger(o.maxTokens) && o.maxTokens >= 0)) bad('maxTokens', o.maxTokens, 'an integer >= 0');
  const t = o.temperature ?? 1;
  if (!(Number.isFinite(t) && t >= 0)) bad('temperature', t, 'a number >= 0');
  const k = o.topK ?? 0;
  if (!(Number.isInteger(k) && k >= 0)) bad('topK', k, 'an integer >= 0');
  const p = o.topP ?? 1;
  if (!(p > 0 && p <= 1)) bad('topP', p, 'a number in (0, 1]');
}

/** The next token from logits z [V] under the options above (rng used only when temperature > 0). */
export function sampleToken(z: ArrayLike<number>, o: SampleOptions, rng: Rng): number {
  checkSampleOptions(o);
  const n = z.length;
  // −∞ masks a token out; NaN or +∞ (a diverged model) would otherwise pick an arbitrary token
  let finite = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(z[i]) || z[i] === Number.POSITIVE_INFINITY)
      throw new Error(`generate: logit ${i} is ${z[i]}; the model's output is not finite`);
    if (z[i] > Number.NEGATIVE_INFINITY) finite++;
  }
  if (finite === 0)
    throw new Error('generate: no token has a finite logit (an empty or fully masked vocabulary)');
  const temperature = o.temperature ?? 1;
  let best = 0;
  for (let i = 1; i < n; i++) if (z[i] > z[best]) best = i;
  if (temperature === 0) return best;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => z[b] - z[a] || a - b);
  const k = o.topK ? Math.min(o.topK, n) : n;
  const kept = order.slice(0, k);
  const w = kept.map((i) => Math.exp((z[i] - z[best]) / temperature));
  const total = w.reduce((s, x) => s + x, 0);
  const topP = o.topP ?? 1;
  let m = kept.length;
  if (topP < 1) {
    let mass = 0;
    for (let j = 0; j < kept.length; j++) {
      mass += w[j] / total;
      if (mass >= topP) {
        m = j + 1;
        break;
      }
    }
  }
  const mTotal = w.slice(0, m).reduce((s, x) => s + x, 0);
  let u = rng.next() * mTotal;
  for (let j = 0; j < m; j++) {
    u -= w[j];
    if (u < 0) return kept[j];
  }
  return kept[m - 1];
}

/** Logits [V] of the last position after feeding `tokens` (batch 1) through the cache. */
export function lastLogits(model: Gpt, tokens: number[], cache: ReturnType<Gpt['newCache']>): Float32Array {
  const logits = tf.tidy(() => {
    const y = model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32'), cache);
    return tf.slice(y, [0, tokens.length - 1, 0], [1, 1, -1]);
  });
  const z = logits.dataSync() as Float32Array;
  logits.dispose();
  return z;
}

/**
 * Generates `maxTokens` tokens after `prompt` (token ids, at least one: callers start an empty prompt from a
 * token of their choice). The model should be in inference mode (`setTraining(false)`).
 */
export function generate(model: Gpt, prompt: readonly number[], o: SampleOptions): Generation {
  checkSampleOptions(o);
  const { context, vocab } = model.config;
  if (prompt.length === 0) throw new Error('generate: the prompt needs at least one token');
  for (const t of prompt)
    if (!(Number.isInteger(t) && t >= 0 && t < vocab))
      throw new Error(`generate: prompt token ${t} is not in [0, ${vocab})`);
  const truncated = Math.max(0, prompt.length - context);
  const used = prompt.slice(truncated);
  const rng = new Rng(o.seed ?? 0);
  const cache = model.newCache();
  const seq = [...used];
  const out: number[] = [];
  let slides = 0;
  try {
    const t0 = performance.now();
    let z = lastLogits(model, used, cache);
    const t1 = performance.now();
    while (out.length < o.maxTokens) {
      const next = sampleToken(z, o, rng);
      out.push(next);
      seq.push(next);
      o.onToken?.(next);
      if (out.length === o.maxTokens) break;
      if (cache.length === context) {
        cache.dispose();
        slides++;
        z = lastLogits(model, seq.slice(-Math.max(1, Math.floor(context / 2))), cache);
      } else {
        z = lastLogits(model, [next], cache);
      }
    }
    return {
      prompt: used,
      tokens: out,
      truncated,
      slides,
      prefillMs: t1 - t0,
      decodeMs: performance.now() - t1,
    };
  } finally {
    cache.dispose();
  }
}
