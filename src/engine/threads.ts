// The native backend's thread count: one budget shared by OpenBLAS and our own kernels, bounded so that a slip
// (--threads 100000) cannot start thousands of threads or abort the process.
import { availableParallelism } from 'node:os';
import { loadAddon } from './addon.ts';

/** The most threads accepted: max(64, 4 × cores), far past any speed-up, far below what exhausts a system. */
export const MAX_THREADS = Math.max(64, 4 * availableParallelism());

let threads: number | undefined;

function warn(msg: string): void {
  console.warn(`laurel: ${msg}`);
}

/** n if it is a thread count (an integer in [1, MAX_THREADS]); else a one-line RangeError naming `what`. */
export function checkThreads(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new RangeError(`${what}: expected an integer from 1 to ${MAX_THREADS}, got ${n}`);
  }
  return n;
}

/**
 * $LAUREL_NUM_THREADS, else the cores. The library reads it before any command could report an error, so a bad
 * value is capped (too large) or ignored (not a count) with one warning line instead of failing the import.
 */
export function threadsFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const cores = Math.max(1, Math.min(MAX_THREADS, availableParallelism()));
  const raw = env.LAUREL_NUM_THREADS;
  if (raw === undefined || raw.trim() === '') return cores;
  const n = Number(raw);
  if (Number.isInteger(n) && n > MAX_THREADS) {
    warn(`LAUREL_NUM_THREADS=${raw} is above the limit of ${MAX_THREADS}; using ${MAX_THREADS}`);
    return MAX_THREADS;
  }
  if (!Number.isInteger(n) || n < 1) {
    warn(
      `LAUREL_NUM_THREADS='${raw}' is not a whole number from 1 to ${MAX_THREADS}; using ${cores} (the cores)`,
    );
    return cores;
  }
  return n;
}

/** Threads shared by OpenBLAS and our own kernels (one budget, no oversubscription). */
export function setNumThreads(n: number): void {
  threads = checkThreads(n, 'setNumThreads');
  const { addon } = loadAddon();
  if (!addon) return;
  const started = addon.setNumThreads(n);
  if (started < n) {
    warn(`setNumThreads(${n}): the system started only ${started} threads; using ${started}`);
    threads = started;
  }
}

export function getNumThreads(): number {
  threads ??= threadsFromEnv();
  return threads;
}
