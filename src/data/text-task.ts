/**
 * One call that prepares the text LM task: corpus split by document, tokenizer (byte-level, or a BPE trained
 * on the train split only), token streams of every split, and the unigram baselines.
 */
import { BpeTokenizer, tokenizerFromJSON } from './bpe.ts';
import { unigramCrossEntropy } from './text-batches.ts';
import { type TextCorpus, joinDocs, loadTextCorpus } from './text.ts';
import { ByteTokenizer, type Tokenizer, type TokenizerJSON } from './tokenizer.ts';

export interface TextTaskOptions {
  /** A folder of .txt files (`--data DIR`); default SOTU (+ Moby Dick as out-of-domain test). */
  dir?: string;
  /** Seed of the document split (default 0). */
  seed?: number;
  fractions?: [number, number, number];
  /** 'byte' (default), a BPE vocab size to train on the train split, or a saved tokenizer (e.g. on resume). */
  tokenizer?: 'byte' | { bpeVocabSize: number; maxChars?: number } | TokenizerJSON;
}

export interface TextTask {
  corpus: TextCorpus;
  tokenizer: Tokenizer;
  /** Token streams [n] of the joined documents of each split. */
  train: Int32Array;
  val: Int32Array;
  test: Int32Array;
  /** Out-of-domain test stream (Moby Dick); empty for a user folder. */
  ood: Int32Array;
  /** Unigram cross-entropy (nats/token) fit on train, evaluated on test and ood (NaN when ood is empty). */
  unigram: { test: number; ood: number };
}

function makeTokenizer(spec: TextTaskOptions['tokenizer'], trainText: string): Tokenizer {
  if (spec === undefined || spec === 'byte') return new ByteTokenizer();
  if ('bpeVocabSize' in spec)
    return BpeTokenizer.train(trainText, { vocabSize: spec.bpeVocabSize, maxChars: spec.maxChars });
  return tokenizerFromJSON(spec);
}

export function loadTextTask(opts: TextTaskOptions = {}): TextTask {
  const corpus = loadTextCorpus({ dir: opts.dir, seed: opts.seed ?? 0, fractions: opts.fractions });
  const trainText = joinDocs(corpus.train);
  const tokenizer = makeTokenizer(opts.tokenizer, trainText);
  const train = tokenizer.encode(trainText);
  const val = tokenizer.encode(joinDocs(corpus.val));
  const test = tokenizer.encode(joinDocs(corpus.test));
  const ood = corpus.ood.length > 0 ? tokenizer.encode(joinDocs(corpus.ood)) : new Int32Array(0);
  const V = tokenizer.vocabSize;
  return {
    corpus,
    tokenizer,
    train,
    val,
    test,
    ood,
    unigram: {
      test: unigramCrossEntropy(train, test, V),
      ood: ood.length ? unigramCrossEntropy(train, ood, V) : Number.NaN,
    },
  };
}
