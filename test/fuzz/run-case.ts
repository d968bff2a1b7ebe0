// Runs one fuzz case on one backend (its outputs, then the gradients of a random-weighted sum of them with respect
// to its float inputs) and compares two backends' results under the case's tolerance family.
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/util/rng.ts';
import {
  type Case,
  FAMILIES,
  GRAD_FAMILY,
  type InputSpec,
  type Tol,
  meanAbs,
  sumLengthFactor,
} from './case.ts';

export interface Out {
  shape: number[];
  dtype: string;
  values: Float32Array | Int32Array | Uint8Array;
}

/** One phase's outcome: its tensors, or the error it threw (both backends throwing counts as agreement). */
export type Phase = { outs: Out[] } | { error: string };

/**
 * A case's result on one backend: the outputs, then the gradients (their own phase, so that a gradient tfjs
 * itself cannot compute, e.g. of a broadcasting Maximum, leaves the values compared).
 */
export interface Result {
  values: Phase;
  grads: Phase;
}

function makeInput(s: InputSpec): tf.Tensor {
  switch (s.kind) {
    case 'float32':
      return tf.tensor(s.values, s.shape, 'float32');
    case 'int32':
    case 'bool':
      return tf.tensor(s.values, s.shape, s.kind);
    default:
      return tf.cast(tf.tensor(s.values, s.shape, s.kind === 'int32>float32' ? 'int32' : 'bool'), 'float32');
  }
}

function read(t: tf.Tensor): Out {
  return { shape: t.shape.slice(), dtype: t.dtype, values: t.dataSync().slice() as Out['values'] };
}

function asList(r: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
  return Array.isArray(r) ? r : [r];
}

/** The loss weights W_i: normal values from the case's seed, one array per output, the same on every backend. */
function weights(seed: number, shapes: number[][]): Float32Array[] {
  const rng = new Rng(seed ^ 0x5eed);
  return shapes.map((s) => Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal()));
}

/** The inputs whose gradients are compared: those marked so that are float32 (after any cast). */
export function gradInputs(c: Case): string[] {
  return c.inputs
    .filter((s) => s.grad && (s.kind === 'float32' || s.kind.endsWith('>float32')))
    .map((s) => s.name);
}

function phase(fn: () => Out[]): Phase {
  try {
    let outs: Out[] = [];
    tf.tidy(() => {
      outs = fn();
    });
    return { outs };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] };
  }
}

/** Runs `c` on `backend`: values, then gradients. Leaked tensors are an error of the phase that leaked them. */
export async function runCase(backend: string, c: Case, seed: number): Promise<Result> {
  await tf.setBackend(backend);
  const make = () => Object.fromEntries(c.inputs.map((s) => [s.name, makeInput(s)]));
  const leakCheck = (p: Phase, before: number): Phase => {
    const leaked = tf.memory().numTensors - before;
    return leaked !== 0 && !('error' in p) ? { error: `${leaked} tensors leaked` } : p;
  };
  let before = tf.memory().numTensors;
  const values = leakCheck(
    phase(() => asList(c.run(make())).map(read)),
    before,
  );
  const diff = gradInputs(c);
  if (c.grads === false || diff.length === 0 || 'error' in values) return { values, grads: { outs: [] } };
  const used = (c.gradOutputs ?? values.outs.map((_, i) => i)).filter(
    (i) => values.outs[i].dtype === 'float32',
  );
  if (used.length === 0) return { values, grads: { outs: [] } };
  const ws = weights(
    seed,
    used.map((i) => values.outs[i].shape),
  );
  before = tf.memory().numTensors;
  const grads = phase(() => {
    const xs = make();
    const loss = (...ts: tf.Tensor[]) => {
      const m = { ...xs };
      diff.forEach((n, i) => {
        m[n] = ts[i];
      });
      const os = asList(c.run(m));
      const terms = used.map((i, j) => tf.sum(tf.mul(os[i], tf.tensor(ws[j], os[i].shape))));
      return terms.length === 1 ? terms[0] : tf.addN(terms);
    };
    return tf
      .grads(loss)(diff.map((n) => xs[n]))
      .map(read);
  });
  return { values, grads: leakCheck(grads, before) };
}

function maxAbs(outs: Out[]): number {
  let m = 0;
  for (const o of outs) for (const v of o.values) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
}

/**
 * The first disagreement between `cpu` and `nat` outputs under tolerance `tol`, or null. `scale` is the scaled
 * tolerance's magnitude.
 */
function compareOut(what: string, c: Out, n: Out, tol: Tol, scale: number): string | null {
  if (c.shape.join() !== n.shape.join()) return `${what}: shape [${n.shape}] vs cpu [${c.shape}]`;
  if (c.dtype !== n.dtype) return `${what}: dtype ${n.dtype} vs cpu ${c.dtype}`;
  for (let j = 0; j < c.values.length; j++) {
    const cv = c.values[j];
    const nv = n.values[j];
    if (Object.is(cv, nv) || cv === nv) continue;
    const bad = `${what}[${j}]: native ${nv} vs cpu ${cv}`;
    if (Number.isNaN(cv) || Number.isNaN(nv) || !Number.isFinite(cv) || !Number.isFinite(nv)) return bad;
    const t = tol.atol + tol.rtol * (tol.scaled ? scale : Math.abs(cv));
    if (!(Math.abs(nv - cv) <= t)) return `${bad} (tol ${t.toPrecision(3)})`;
  }
  return null;
}

function comparePhase(
  what: string,
  c: Phase,
  n: Phase,
  tol: Tol,
  names: (i: number) => string,
  shared: boolean,
  factor: number,
  floor: number,
): string | null {
  if ('error' in c || 'error' in n) {
    if ('error' in c && 'error' in n) return null;
    if ('error' in c) return `${what}: cpu threw "${c.error}", native did not`;
    return `${what}: native threw "${(n as { error: string }).error}"`;
  }
  if (c.outs.length !== n.outs.length) return `${what}: ${n.outs.length} tensors vs cpu ${c.outs.length}`;
  for (let i = 0; i < c.outs.length; i++) {
    const scale = Math.max(floor, shared ? maxAbs(c.outs) : maxAbs([c.outs[i]])) * factor;
    const why = compareOut(names(i), c.outs[i], n.outs[i], tol, scale);
    if (why) return why;
  }
  return null;
}

/**
 * Why native's result differs from cpu's, or null when they agree. A sum's rounding follows its terms, which a
 * result that cancels to ~0 does not show: an output's scale is at least the case's `scale` (a mean of values of
 * size 4 that comes out at 0.05), and gradients share one scale, max |∂L/∂·| over every input.
 */
export function compareResults(c: Case, cpu: Result, nat: Result, gradNames: string[]): string | null {
  const factor = sumLengthFactor(c.inputs);
  const floor = c.scale ?? meanAbs(c.inputs);
  return (
    comparePhase(
      'values',
      cpu.values,
      nat.values,
      FAMILIES[c.family],
      (i) => `output ${i}`,
      false,
      factor,
      floor,
    ) ??
    comparePhase(
      'gradients',
      cpu.grads,
      nat.grads,
      FAMILIES[GRAD_FAMILY[c.family]],
      (i) => `∂/∂${gradNames[i] ?? i}`,
      true,
      factor,
      c.gradScale ?? 0,
    )
  );
}
