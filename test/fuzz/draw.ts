// Seeded draws for the fuzz cases: integers, shapes, broadcastable shapes, axes, and input tensors with their
// kind (float32, int32 or bool, as is or cast to float32) and values.
import { Rng } from '../../src/util/rng.ts';
import type { InputKind, InputSpec } from './case.ts';

/** Where an input's values lie (the op's domain, or away from a pole). */
export type Domain = 'any' | 'positive' | 'gt-1' | 'nonzero';

export interface InputOptions {
  domain?: Domain;
  /** Raw int32 / bool tensors the op takes as they are (else only float32, or int32/bool cast to float32). */
  raw?: ('int32' | 'bool')[];
  /** Allow int32/bool tensors cast to float32 (default true). */
  cast?: boolean;
  /** Allow NaN, ±∞ and ±0 among the values (default false). */
  specials?: boolean;
  /** Differentiate with respect to this input (default: when float32). */
  grad?: boolean;
  /** Standard deviation of float values (default 1). */
  scale?: number;
  /** The values themselves (the kind is then float32 unless `kind` says otherwise). */
  values?: ArrayLike<number>;
  kind?: InputKind;
}

const SPECIALS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0];

/** How cases are drawn: float32 inputs only; small sizes only (no thread splits, no tall GEMMs: npm test's sample). */
export interface DrawMode {
  floatOnly: boolean;
  small: boolean;
}

export class Draw {
  readonly rng: Rng;
  /** This case sprinkles specials into the inputs that allow them. */
  private readonly specialCase: boolean;

  constructor(
    seed: number,
    readonly mode: DrawMode,
  ) {
    this.rng = new Rng(seed);
    this.specialCase = this.rng.next() < 0.1;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + this.rng.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.rng.next() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.rng.int(xs.length)];
  }

  normal(): number {
    return this.rng.normal();
  }

  /** A dimension: mostly small, sometimes up to `max`, rarely 0 when `zero`. */
  dim(max: number, zero = true): number {
    if (zero && this.chance(0.02)) return 0;
    if (this.chance(0.7)) return this.int(1, Math.min(max, 5));
    return this.int(1, max);
  }

  /**
   * A shape of rank in [minRank, maxRank] with at most `maxSize` elements: its size is drawn first (mostly small,
   * sometimes past the native kernels' thread split of 16384 elements) and spread over the dims.
   */
  shape(minRank: number, maxRank: number, maxSize = 4096, zero = true): number[] {
    const rank = this.int(minRank, maxRank);
    if (zero && rank > 0 && this.chance(0.02)) {
      const s = Array.from({ length: rank }, () => this.int(1, 4));
      s[this.rng.int(rank)] = 0;
      return s;
    }
    const r = this.rng.next();
    const target =
      r < 0.6 ? this.int(1, 64) : r < 0.93 || this.mode.small ? this.int(1, 4096) : this.int(16384, 70000);
    const size = Math.min(target, maxSize);
    const s = new Array<number>(rank).fill(1);
    let left = size;
    // Spread the size over random dims by prime-ish factors.
    for (let i = 0; i < 4 * rank && left > 1; i++) {
      const d = this.rng.int(rank);
      const f = Math.min(left, this.int(2, Math.max(2, Math.ceil(Math.cbrt(left)) + 1)));
      s[d] *= f;
      left = Math.floor(left / f);
    }
    if (left > 1 && rank > 0) s[this.rng.int(rank)] *= left;
    return s;
  }

  /**
   * Sometimes (probability p) a rank-9 or -10 shape of 2s and 3s, past the addon's 8 strided dims when its
   * broadcasts, transposes or reductions alternate; else shape(minRank, maxRank, maxSize).
   */
  shapeOrHigh(p: number, minRank: number, maxRank: number, maxSize = 4096): number[] {
    if (!this.chance(p)) return this.shape(minRank, maxRank, maxSize);
    return Array.from({ length: this.int(9, 10) }, () => (this.chance(0.15) ? 3 : 2));
  }

  /** A shape that broadcasts to `out`: some leading dims dropped, some dims set to 1. */
  broadcastTo(out: readonly number[]): number[] {
    const drop = this.chance(0.3) ? this.int(0, out.length) : 0;
    const ones = this.rng.next() * 0.6;
    return out.slice(drop).map((d) => (this.chance(ones) ? 1 : d));
  }

  /** A random subset of the axes of a rank-r tensor, each possibly given as a negative index. */
  axes(rank: number): number[] {
    const all = Array.from({ length: rank }, (_, i) => i);
    const k = rank === 0 ? 0 : this.int(1, rank);
    this.rng.shuffle(all);
    return all.slice(0, k).map((a) => (this.chance(0.3) ? a - rank : a));
  }

  /** A permutation of [0, n). */
  perm(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    this.rng.shuffle(p);
    return p;
  }

  private kind(o: InputOptions): InputKind {
    if (o.kind) return o.kind;
    if (this.mode.floatOnly || o.values) return 'float32';
    const r = this.rng.next();
    const cast = o.cast !== false;
    if (cast && r < 0.12) return 'int32>float32';
    // A bool is never in (0, ∞) or away from 0.
    if (cast && r < 0.18 && (o.domain ?? 'any') !== 'positive' && o.domain !== 'nonzero')
      return 'bool>float32';
    if (o.raw?.length && r > 0.9) return this.pick(o.raw);
    return 'float32';
  }

  private floatValue(domain: Domain, scale: number): number {
    const v = this.normal() * scale;
    switch (domain) {
      case 'positive':
        return Math.abs(v) + 0.05;
      case 'gt-1':
        return Math.abs(v) - 0.9;
      case 'nonzero':
        return Math.sign(v || 1) * (Math.abs(v) + 0.3);
      default:
        return v;
    }
  }

  private intValue(domain: Domain): number {
    switch (domain) {
      case 'positive':
        return this.int(1, 4);
      case 'gt-1':
        return this.int(0, 3);
      case 'nonzero':
        return this.pick([-3, -2, -1, 1, 2, 3]);
      default:
        return this.int(-3, 3);
    }
  }

  /** An input tensor's spec: its kind and values. */
  input(name: string, shape: number[], o: InputOptions = {}): InputSpec {
    const kind = this.kind(o);
    let n = 1;
    for (const d of shape) n *= d;
    const domain = o.domain ?? 'any';
    const isFloat = kind === 'float32';
    const values = isFloat ? new Float32Array(n) : new Int32Array(n);
    if (o.values) values.set(o.values);
    else if (kind === 'bool' || kind === 'bool>float32')
      for (let i = 0; i < n; i++) values[i] = this.int(0, 1);
    else if (!isFloat) for (let i = 0; i < n; i++) values[i] = this.intValue(domain);
    else {
      const scale = o.scale ?? 1;
      for (let i = 0; i < n; i++) values[i] = this.floatValue(domain, scale);
      if (o.specials && this.specialCase)
        for (let i = 0; i < n; i++) if (this.chance(0.05)) values[i] = this.pick(SPECIALS);
    }
    const grad = o.grad ?? (kind === 'float32' || kind.endsWith('>float32'));
    return { name, shape, kind, values, grad };
  }
}
