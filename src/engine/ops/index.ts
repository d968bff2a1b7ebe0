/**
 * The ops interface: the handful of training ops that a backend may run faster than tfjs's generic kernels
 * (LAUREL's combine, the low-rank term, GELU, the norms, the causal softmax). Layers call `ops()` and never ask
 * which backend runs; the set is chosen by backend name, registered once when a backend starts
 * (`registerOps`), and every backend without a set of its own gets `referenceOps`, the tf-ops formulas (also
 * the oracle the fast sets are tested against). Browser-safe: tfjs only.
 */
import * as tf from '@tensorflow/tfjs';
import { referenceOps } from './reference.ts';
import type { Ops } from './types.ts';

export type { BatchNormArgs, BatchNormStats, CombineArgs, Ops } from './types.ts';

const byBackend = new Map<string, Ops>();

/** Makes `set` the ops of tfjs backend `backend` (a backend's start-up calls this once). */
export function registerOps(backend: string, set: Ops): void {
  byBackend.set(backend, set);
}

/** The ops of the backend in use: its registered set, else the reference. */
export function ops(): Ops {
  return byBackend.get(tf.getBackend()) ?? referenceOps;
}

export { referenceOps };
