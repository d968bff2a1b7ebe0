/**
 * A multiple-choice cloze task built from held-out text (a HellaSwag analog for the LM experiment):
 * each item is a context of a few consecutive sentences and `numChoices` candidate next sentences: the true
 * next sentence and distractors drawn (seeded) from other places of the same held-out text, of similar length.
 *
 * Conventions for scoring (done by the trainer): the context has no trailing space and every choice starts
 * with one space, so `context + choices[i]` is the natural text; score log p(choice | context) (optionally
 * per token or per byte). Whitespace inside sentences is collapsed to single spaces.
 */
import { Rng } from '../util/rng.ts';
import type { TextDoc } from './types.ts';

export interface ClozeItem {
  /** e.g. "We have had a year of peace. Our commerce has grown." (no trailing space) */
  context: string;
  /** `numChoices` continuations, each starting with a space; exactly one is the true next sentence. */
  choices: string[];
  /** Index of the true continuation in `choices`. */
  answer: number;
  /** Where the item comes from: `docId#sentenceIndex`. */
  source: string;
}

/** Choices per item, the true one included, unless `ClozeOptions.numChoices` says otherwise: chance is 1 / 4. */
export const CLOZE_CHOICES = 4;

/** Items the trainer asks for at an evaluation limit of `evalLimit` windows (at most 100). */
export function clozeItemCount(evalLimit?: number): number {
  return Math.min(evalLimit ?? 100, 100);
}

export interface ClozeOptions {
  numItems: number;
  seed: number;
  /** Sentences of context before the continuation (default 2). */
  contextSentences?: number;
  /** Choices per item, the true one included (default CLOZE_CHOICES). */
  numChoices?: number;
  /** Allowed length in characters of a continuation (default 30–200). */
  minChars?: number;
  maxChars?: number;
  /** Distractor length within ±tolerance × true length (default 0.2; widened if too few candidates). */
  lengthTolerance?: number;
}

const ABBREV =
  /(?:\b(?:Mr|Mrs|Ms|Dr|St|Gen|Gov|Hon|Jr|Sr|No|Co|Capt|Col|Lt|Rev|vs|etc|viz|i\.e|e\.g)|\b[A-Z](?:\.[A-Z])*)\.$/;

/** Splits text into sentences (a heuristic: ., ! or ? then whitespace then an upper-case letter or digit). */
export function splitSentences(text: string): string[] {
  const raw = text
    .replace(/\s+/g, ' ')
    .trim()
    .split(/(?<=[.!?]["'”’)\]]*) (?=["“'‘(\[]?[A-Z0-9])/);
  const out: string[] = [];
  for (const s of raw) {
    if (out.length > 0 && ABBREV.test(out[out.length - 1])) out[out.length - 1] += ` ${s}`;
    else if (s.length > 0) out.push(s);
  }
  return out;
}

interface Sentence {
  doc: number;
  index: number;
  text: string;
}

/** Lower bound: first position in `sorted` (by length) with length >= len. */
function lowerBound(sorted: Sentence[], len: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid].text.length < len) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Builds up to `numItems` cloze items from `docs` (normally the held-out test split). Deterministic for a
 * given seed. Throws if the text yields no item; may return fewer items than asked when the text is small.
 */
export function buildClozeItems(docs: TextDoc[], opts: ClozeOptions): ClozeItem[] {
  const ctxN = opts.contextSentences ?? 2;
  const k = opts.numChoices ?? CLOZE_CHOICES;
  const minC = opts.minChars ?? 30;
  const maxC = opts.maxChars ?? 200;
  const tol0 = opts.lengthTolerance ?? 0.2;
  if (k < 2) throw new Error(`numChoices must be at least 2, got ${k}`);
  const rng = new Rng(opts.seed);
  const perDoc = docs.map((d) => splitSentences(d.text));
  const ok = (s: string) => s.length >= minC && s.length <= maxC;
  const pool: Sentence[] = [];
  const items: Sentence[] = [];
  perDoc.forEach((sents, doc) => {
    sents.forEach((text, index) => {
      if (!ok(text)) return;
      pool.push({ doc, index, text });
      if (index >= ctxN && sents.slice(index - ctxN, index).every((c) => c.length >= 10))
        items.push({ doc, index, text });
    });
  });
  pool.sort((a, b) => a.text.length - b.text.length || a.doc - b.doc || a.index - b.index);
  if (items.length === 0 || pool.length < k) {
    throw new Error(
      `cloze: the held-out text (${docs.length} documents) yields too few sentences of ${minC}-${maxC} characters`,
    );
  }
  rng.shuffle(items);
  const out: ClozeItem[] = [];
  for (const it of items) {
    if (out.length >= opts.numItems) break;
    const len = it.text.length;
    const chosen = new Set<string>([it.text]);
    const distractors: string[] = [];
    for (let tol = tol0; distractors.length < k - 1 && tol <= 8; tol *= 2) {
      const lo = lowerBound(pool, Math.floor(len * (1 - tol)));
      const hi = lowerBound(pool, Math.ceil(len * (1 + tol)) + 1);
      // Random probes in the length band, skipping the item's neighbourhood and repeats.
      for (let tries = 0; tries < 64 && distractors.length < k - 1 && hi > lo; tries++) {
        const c = pool[lo + rng.int(hi - lo)];
        if (c.doc === it.doc && Math.abs(c.index - it.index) <= ctxN + 1) continue;
        if (chosen.has(c.text)) continue;
        chosen.add(c.text);
        distractors.push(c.text);
      }
    }
    if (distractors.length < k - 1) continue;
    const answer = rng.int(k);
    const choices = distractors.map((s) => ` ${s}`);
    choices.splice(answer, 0, ` ${it.text}`);
    const context = perDoc[it.doc].slice(it.index - ctxN, it.index).join(' ');
    out.push({ context, choices, answer, source: `${docs[it.doc].id}#${it.index}` });
  }
  if (out.length === 0) throw new Error('cloze: could not build any item with enough distinct distractors');
  return out;
}
