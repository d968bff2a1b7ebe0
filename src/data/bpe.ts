/**
 * A small byte-level BPE (GPT-2 style): text is pre-split into pieces (a word with its leading space,
 * a number, a run of punctuation, whitespace), each piece's UTF-8 bytes are the initial symbols (ids 0–255),
 * and merge m creates id 256 + m from the pair it merges. Vocab size = 256 + number of merges.
 *
 * Training is deterministic: the most frequent pair wins, ties go to the smallest (left id, right id).
 * It counts pieces once and then updates pair counts incrementally (a lazy max-heap), so thousands of
 * merges over a ~10 MB corpus take seconds.
 */
import { ByteTokenizer, type Tokenizer, type TokenizerJSON, utf8Bytes, utf8Decode } from './tokenizer.ts';

/** GPT-2's pre-tokenization pattern (contractions, words, numbers, punctuation runs, whitespace). */
const PIECE_RE = /'(?:s|t|re|ve|m|ll|d)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const KEY = 65536;
const pairKey = (a: number, b: number) => a * KEY + b;

export interface BpeTrainOptions {
  /** Target vocabulary size including the 256 byte ids (e.g. 512–4096; at most 65536). */
  vocabSize: number;
  /**
   * Train on at most this many characters, taken as 64 evenly spaced chunks of the text (default: all).
   * Counting pieces is cheap, so this is rarely needed.
   */
  maxChars?: number;
  /** Pairs seen fewer than this many times are never merged (default 2); training may stop early. */
  minFrequency?: number;
}

/** Max-heap of (count, key) with ties broken by the smaller key; entries may be stale (lazy deletion). */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(i: number, j: number): boolean {
    const ci = this.counts[i];
    const cj = this.counts[j];
    return ci > cj || (ci === cj && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const lastC = this.counts.pop()!;
    const lastK = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      let i = 0;
      const n = this.counts.length;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < n && this.above(l, m)) m = l;
        if (r < n && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/** Splits text into pre-tokenization pieces; their concatenation is the text. */
export function pieces(text: string): string[] {
  return text.match(PIECE_RE) ?? [];
}

function sample(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const chunks = 64;
  const len = Math.floor(maxChars / chunks);
  const step = Math.floor(text.length / chunks);
  let out = '';
  for (let i = 0; i < chunks; i++) out += `${text.slice(i * step, i * step + len)}\n`;
  return out;
}

/** Learns merges from `text`; returns the list of merged pairs in order (merge m creates id 256 + m). */
export function trainBpeMerges(text: string, opts: BpeTrainOptions): [number, number][] {
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < 256 || opts.vocabSize > KEY) {
    throw new Error(`BPE vocabSize must be an integer in [256, 65536], got ${opts.vocabSize}`);
  }
  const minFreq = opts.minFrequency ?? 2;
  const src = opts.maxChars !== undefined ? sample(text, opts.maxChars) : text;
  const pieceCounts = new Map<string, number>();
  for (const p of pieces(src)) pieceCounts.set(p, (pieceCounts.get(p) ?? 0) + 1);
  // Sorted for determinism independent of Map insertion details.
  const entries = [...pieceCounts.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const words: number[][] = entries.map(([p]) => Array.from(utf8Bytes(p)));
  const freq: number[] = entries.map(([, c]) => c);

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const heap = new PairHeap();
  const addPairs = (w: number, sign: number, changed: Set<number>) => {
    const sym = words[w];
    const f = freq[w] * sign;
    for (let i = 0; i + 1 < sym.length; i++) {
      const k = pairKey(sym[i], sym[i + 1]);
      pairCount.set(k, (pairCount.get(k) ?? 0) + f);
      changed.add(k);
      if (sign > 0) {
        let s = pairWords.get(k);
        if (!s) {
          s = new Set();
          pairWords.set(k, s);
        }
        s.add(w);
      }
    }
  };
  const init = new Set<number>();
  for (let w = 0; w < words.length; w++) addPairs(w, 1, init);
  for (const k of init) heap.push(pairCount.get(k)!, k);

  const merges: [number, number][] = [];
  const target = opts.vocabSize - 256;
  while (merges.length < target && heap.size > 0) {
    const [c, k] = heap.pop();
    if (pairCount.get(k) !== c) continue; // stale entry
    if (c < minFreq) break;
    const a = Math.floor(k / KEY);
    const b = k % KEY;
    const id = 256 + merges.length;
    merges.push([a, b]);
    const changed = new Set<number>();
    const affected = [...(pairWords.get(k) ?? [])].sort((x, y) => x - y);
    pairWords.delete(k);
    for (const w of affected) {
      const sym = words[w];
      let has = false;
      for (let i = 0; i + 1 < sym.length; i++) {
        if (sym[i] === a && sym[i + 1] === b) {
          has = true;
          break;
        }
      }
      if (!has) continue;
      addPairs(w, -1, changed);
      words[w] = mergeSymbols(sym, a, b, id);
      addPairs(w, 1, changed);
    }
    for (const ck of changed) {
      const v = pairCount.get(ck)!;
      if (v <= 0) pairCount.delete(ck);
      else heap.push(v, ck);
    }
  }
  return merges;
}

/** Replaces every non-overlapping occurrence (left to right) of the pair (a, b) in `sym` by `id`. */
function mergeSymbols(sym: number[], a: number, b: number, id: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < sym.length; i++) {
    if (i + 1 < sym.length && sym[i] === a && sym[i + 1] === b) {
      out.push(id);
      i++;
    } else out.push(sym[i]);
  }
  return out;
}

/** Byte-level BPE tokenizer from a list of merges. */
export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly vocabSize: number;
  readonly merges: [number, number][];
  private readonly ranks = new Map<number, number>();
  /** The UTF-8 bytes each id stands for. */
  private readonly tokenBytes: Uint8Array[];
  private readonly cache = new Map<string, number[]>();

  constructor(merges: [number, number][]) {
    this.merges = merges;
    this.vocabSize = 256 + merges.length;
    this.tokenBytes = Array.from({ length: 256 }, (_, i) => Uint8Array.of(i));
    merges.forEach(([a, b], m) => {
      const id = 256 + m;
      if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0 && a < id && b < id)) {
        throw new Error(
          `BPE merge ${m} = [${a}, ${b}] refers to an id not defined before it (must be < ${id})`,
        );
      }
      this.ranks.set(pairKey(a, b), m);
      const ab = new Uint8Array(this.tokenBytes[a].length + this.tokenBytes[b].length);
      ab.set(this.tokenBytes[a]);
      ab.set(this.tokenBytes[b], this.tokenBytes[a].length);
      this.tokenBytes.push(ab);
    });
  }

  /** Trains on `text` (normally the joined train split). */
  static train(text: string, opts: BpeTrainOptions): BpeTokenizer {
    return new BpeTokenizer(trainBpeMerges(text, opts));
  }

  private encodePiece(p: string): number[] {
    const hit = this.cache.get(p);
    if (hit) return hit;
    let sym = Array.from(utf8Bytes(p));
    while (sym.length > 1) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i + 1 < sym.length; i++) {
        const r = this.ranks.get(pairKey(sym[i], sym[i + 1]));
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const [a, b] = this.merges[bestRank];
      sym = mergeSymbols(sym, a, b, 256 + bestRank);
    }
    if (this.cache.size < 500_000) this.cache.set(p, sym);
    return sym;
  }

  encode(text: string): Int32Array {
    const out: number[] = [];
    for (const p of pieces(text)) for (const id of this.encodePiece(p)) out.push(id);
    return Int32Array.from(out);
  }

  decode(ids: ArrayLike<number>): string {
    let len = 0;
    for (let i = 0; i < ids.length; i++) {
      const t = this.tokenBytes[ids[i]];
      if (!t) throw new Error(`BpeTokenizer.decode: id ${ids[i]} is not in [0, ${this.vocabSize})`);
      len += t.length;
    }
    const out = new Uint8Array(len);
    let o = 0;
    for (let i = 0; i < ids.length; i++) {
      const t = this.tokenBytes[ids[i]];
      out.set(t, o);
      o += t.length;
    }
    return utf8Decode(out);
  }

  /** The bytes of one token as text (for inspection; partial UTF-8 shows as U+FFFD). */
  tokenText(id: number): string {
    return utf8Decode(this.tokenBytes[id]);
  }

  toJSON(): TokenizerJSON {
    return { kind: 'bpe', version: 1, merges: this.merges.map(([a, b]) => [a, b]) };
  }
}

/** Rebuilds a tokenizer from `toJSON()` output (or its JSON text). */
export function tokenizerFromJSON(json: TokenizerJSON | string): Tokenizer {
  const j = (typeof json === 'string' ? JSON.parse(json) : json) as TokenizerJSON;
  if (j.kind === 'byte') return new ByteTokenizer();
  if (j.kind === 'bpe') {
    if (j.version !== 1 || !Array.isArray(j.merges))
      throw new Error('tokenizer JSON: bpe needs version 1 and merges');
    return new BpeTokenizer(j.merges);
  }
  throw new Error(`tokenizer JSON: unknown kind ${JSON.stringify((j as { kind: unknown }).kind)}`);
}
