// The native-vs-cpu fuzzer: every kernel the native backend overrides gets random cases from its generator, run on
// both backends, values and gradients compared. Case `i` of op `K` under seed `S` is a pure function of (S, K, i),
// so a failure reruns alone from its printed command.
import * as tf from '@tensorflow/tfjs';
import { NATIVE_BACKEND, initBackend } from '../../src/engine/index.ts';
import { type Case, type Generator, describeInputs } from './case.ts';
import { Draw, type DrawMode } from './draw.ts';
import { generators } from './generators.ts';
import { overriddenKernels } from './overrides.ts';
import { compareResults, gradInputs, runCase } from './run-case.ts';

export interface FuzzOptions {
  seed: number;
  /** Cases in all, dealt round-robin over the ops. */
  cases: number;
  /** Only these kernels (default: every override). */
  ops?: string[];
  /** Only this case index (per op). */
  caseIndex?: number;
  /** Float32 inputs only (no int32 / bool tensors, cast or raw). */
  floatOnly?: boolean;
  /** Small sizes only (see DrawMode). */
  small?: boolean;
  /** Called before each case with its rerun command (to find the case that crashed a process). */
  onCase?: (command: string) => void;
}

export interface OpStats {
  cases: number;
  /** Cases in which the native kernel itself ran (not only a path around it). */
  reached: number;
  /** Value or gradient phases both backends refused (the same error on bad input counts as agreement). */
  rejected: number;
  /** One of the errors behind `rejected` (a generator that draws mostly invalid cases shows here). */
  rejectedExample?: string;
  failures: number;
  ms: number;
}

export interface Failure {
  op: string;
  index: number;
  command: string;
  what: string;
  message: string;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  perOp: Record<string, OpStats>;
  failures: Failure[];
}

/** FNV-1a of the case's identity: its seed for the draws. */
export function caseSeed(seed: number, op: string, index: number): number {
  let h = 0x811c9dc5;
  for (const ch of `${seed}/${op}/${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

export function rerunCommand(seed: number, op: string, index: number, mode: DrawMode): string {
  const flags = `${mode.floatOnly ? ' --float-only' : ''}${mode.small ? ' --small' : ''}`;
  return `npm run fuzz -- --seed ${seed} --op ${op} --case ${index}${flags}`;
}

const calls = new Map<string, number>();
let wrapped = false;

/**
 * Initialises both backends and counts the calls of every overridden native kernel (each re-registered behind a
 * counter, once per process). Returns the overridden kernels; throws when one has no generator.
 */
export async function setupFuzz(): Promise<string[]> {
  await tf.setBackend('cpu');
  // The cpu backend's one-time "install tfjs-node" banner is noise here.
  (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
  const name = await initBackend('native');
  if (name !== NATIVE_BACKEND) throw new Error('fuzz: the native backend did not load');
  const kernels = overriddenKernels();
  const missing = kernels.filter((k) => !generators[k]);
  if (missing.length > 0)
    throw new Error(
      `fuzz: no generator for native kernel(s) ${missing.join(', ')} (add them in test/fuzz/gen-*.ts)`,
    );
  if (!wrapped) {
    for (const k of kernels) {
      const cfg = tf.getKernel(k, NATIVE_BACKEND)!;
      const fn = cfg.kernelFunc;
      tf.unregisterKernel(k, NATIVE_BACKEND);
      tf.registerKernel({
        ...cfg,
        kernelFunc: (args) => {
          calls.set(k, (calls.get(k) ?? 0) + 1);
          return fn(args);
        },
      });
    }
    wrapped = true;
  }
  return kernels;
}

function describe(c: Case): string {
  return `${describeInputs(c.inputs)} ${JSON.stringify(c.attrs)}`;
}

/** Draws and runs one case; null when native and cpu agree, else the failure. */
export async function runOne(
  op: string,
  index: number,
  seed: number,
  mode: DrawMode,
  stats: OpStats,
): Promise<Failure | null> {
  const gen: Generator = generators[op];
  const s = caseSeed(seed, op, index);
  const command = rerunCommand(seed, op, index, mode);
  const t0 = performance.now();
  let c: Case;
  try {
    c = gen(new Draw(s, mode));
  } catch (e) {
    return {
      op,
      index,
      command,
      what: '(generator)',
      message: `the generator threw: ${(e as Error).message}`,
    };
  }
  stats.cases++;
  const cpu = await runCase('cpu', c, s);
  calls.set(op, 0);
  const nat = await runCase(NATIVE_BACKEND, c, s);
  if ((calls.get(op) ?? 0) > 0) stats.reached++;
  for (const k of ['values', 'grads'] as const) {
    const [a, b] = [cpu[k], nat[k]];
    if ('error' in a && 'error' in b) {
      stats.rejected++;
      stats.rejectedExample ??= `${k}: ${a.error}`;
    }
  }
  stats.ms += performance.now() - t0;
  const why = compareResults(c, cpu, nat, gradInputs(c));
  if (!why) return null;
  stats.failures++;
  return { op, index, command, what: describe(c), message: why };
}

/** Runs the fuzz; `onFailure` hears of each failure as it happens. */
export async function runFuzz(o: FuzzOptions, onFailure?: (f: Failure) => void): Promise<FuzzReport> {
  const all = await setupFuzz();
  const unknown = (o.ops ?? []).filter((k) => !generators[k]);
  if (unknown.length > 0) throw new Error(`fuzz: no generator for --op ${unknown.join(', ')}`);
  const ops = o.ops?.length ? o.ops : all;
  const perOp: Record<string, OpStats> = Object.fromEntries(
    ops.map((k) => [k, { cases: 0, reached: 0, rejected: 0, failures: 0, ms: 0 }]),
  );
  const failures: Failure[] = [];
  const mode: DrawMode = { floatOnly: o.floatOnly === true, small: o.small === true };
  const n = o.caseIndex === undefined ? o.cases : ops.length;
  for (let g = 0; g < n; g++) {
    const op = ops[g % ops.length];
    const index = o.caseIndex ?? Math.floor(g / ops.length);
    o.onCase?.(rerunCommand(o.seed, op, index, mode));
    const f = await runOne(op, index, o.seed, mode, perOp[op]);
    if (f) {
      failures.push(f);
      onFailure?.(f);
    }
  }
  // A generator whose cases never reach its kernel tests nothing there (e.g. every case takes a fallback).
  for (const [op, s] of Object.entries(perOp)) {
    if (s.cases < 10 || s.reached > 0) continue;
    const f = {
      op,
      index: -1,
      command: `npm run fuzz -- --seed ${o.seed} --op ${op} --cases ${s.cases}`,
      what: '(coverage)',
      message: `the native kernel never ran in ${s.cases} cases`,
    };
    failures.push(f);
    onFailure?.(f);
  }
  await tf.setBackend(NATIVE_BACKEND);
  return { seed: o.seed, cases: n, perOp, failures };
}
