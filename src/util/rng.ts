/**
 * A small seeded random number generator (mulberry32) whose whole state is one integer,
 * so that it can be saved in a checkpoint and restored exactly.
 */
export class Rng {
  private s: number;

  constructor(seed: number) {
    // a 32-bit pattern, signed or not (hashes give negative ones); any other number would be folded into one
    // silently (1.5 and 1, or 2^32 and 0, the same stream)
    if (!(Number.isInteger(seed) && seed >= -0x80000000 && seed <= 0xffffffff))
      throw new Error(`Rng: seed must be an integer from -2147483648 to 4294967295, got ${seed}`);
    this.s = seed >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal sample (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** In-place Fisher-Yates shuffle; returns the array. */
  shuffle<T>(a: T[] | Int32Array | Uint32Array): typeof a {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** A new integer seed drawn from this stream, for seeding a sub-generator or a tf initializer. */
  seed(): number {
    return this.int(2 ** 31);
  }

  get state(): number {
    return this.s;
  }

  set state(s: number) {
    this.s = s >>> 0;
  }
}
