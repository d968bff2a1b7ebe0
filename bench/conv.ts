// Conv2D / Conv2DBackpropInput / Conv2DBackpropFilter on the native backend for the ResNet-20 shapes
// (28×28×1 input, batch 128, 16/32/64 channels), against PyTorch 1.13 (bench/torch/conv.py) in the same run.
//   node --import tsx bench/conv.ts [--quick] [--no-torch] [--json] [--threads N] [--rounds R (default 2)]
// Prints ms per kernel call and per training step (each shape weighted by how often a ResNet-20 step runs it).
// Recorded 2026-11-27 on the shared 2-core machine (AVX-512 Xeon, load 3-11), ms per step fwd / dx / dw:
//   before (im2col + multi-threaded sgemm): 1737 / 1606 / 1427, torch in the same run 172 / 146 / 135 (10.5x)
//   after (direct AVX-512 kernels): 67 / 71 / 70, torch 52 / 46 / 48 (1.43x, --quick --rounds 2, load ~3.5);
//   in a run where torch got both cores and we did not: 69 / 71 / 73 vs 28 / 28 / 27 (2.6x).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { getNumThreads, initBackend, setNumThreads } from '../src/engine/index.ts';
import { bestOf } from './timing.ts';

interface Shape {
  name: string;
  x: [number, number, number, number];
  f: [number, number, number, number];
  s: number;
  p: number;
  /** Calls per ResNet-20 training step (forward, dx, dw): the stem needs no dx. */
  per: [number, number, number];
}

const B = 128;
export const SHAPES: Shape[] = [
  { name: 'stem 1→16', x: [B, 28, 28, 1], f: [3, 3, 1, 16], s: 1, p: 1, per: [1, 0, 1] },
  { name: '16→16 28²', x: [B, 28, 28, 16], f: [3, 3, 16, 16], s: 1, p: 1, per: [6, 6, 6] },
  { name: '16→32 s2', x: [B, 28, 28, 16], f: [3, 3, 16, 32], s: 2, p: 1, per: [1, 1, 1] },
  { name: '32→32 14²', x: [B, 14, 14, 32], f: [3, 3, 32, 32], s: 1, p: 1, per: [5, 5, 5] },
  { name: '32→64 s2', x: [B, 14, 14, 32], f: [3, 3, 32, 64], s: 2, p: 1, per: [1, 1, 1] },
  { name: '64→64 7²', x: [B, 7, 7, 64], f: [3, 3, 64, 64], s: 1, p: 1, per: [5, 5, 5] },
  { name: 'proj 16→32 1×1 s2', x: [B, 28, 28, 16], f: [1, 1, 16, 32], s: 2, p: 0, per: [1, 1, 1] },
  { name: 'proj 32→64 1×1 s2', x: [B, 14, 14, 32], f: [1, 1, 32, 64], s: 2, p: 0, per: [1, 1, 1] },
];

/**
 * ms per call; *_cpu is process CPU time (what the work costs rather than what the machine gave us; only
 * meaningful with one thread: the kernel accounts other threads' time late on calls this short).
 */
type Times = { fwd: number; dx: number; dw: number; fwd_cpu: number; dx_cpu: number; dw_cpu: number };

function benchNative(sh: Shape, reps: number, minMs: number): Times {
  const x = tf.randomUniform(sh.x, -1, 1, 'float32', 1);
  const f = tf.randomUniform(sh.f, -1, 1, 'float32', 2);
  const y = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, sh.s, sh.p);
  const dy = tf.randomUniform(y.shape, -1, 1, 'float32', 3);
  const attrs = { strides: sh.s, pad: sh.p, dataFormat: 'NHWC', dilations: 1 };
  const run = (name: string, inputs: Record<string, tf.Tensor>, extra: object) => () =>
    (tf.engine().runKernel(name, inputs, { ...attrs, ...extra } as never) as tf.Tensor).dispose();
  const fwd = run('Conv2D', { x, filter: f }, {});
  const dx = run('Conv2DBackpropInput', { dy, filter: f }, { inputShape: sh.x });
  const dw = run('Conv2DBackpropFilter', { x, dy }, { filterShape: sh.f });
  for (const fn of [fwd, dx, dw]) fn();
  const [[f0, f1], [x0, x1], [w0, w1]] = [fwd, dx, dw].map((fn) => bestOf(reps, minMs, fn));
  const res = { fwd: f0, dx: x0, dw: w0, fwd_cpu: f1, dx_cpu: x1, dw_cpu: w1 };
  tf.dispose([x, f, y, dy]);
  return res;
}

function benchTorch(reps: number, minMs: number): Record<string, Times> | string {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'torch', 'conv.py');
  const cfg = { reps, minMs, shapes: SHAPES.map(({ name, x, f, s, p }) => ({ name, x, f, s, p })) };
  const r = spawnSync('/usr/bin/python3', [script, JSON.stringify(cfg)], { encoding: 'utf8' });
  if (r.status !== 0) return `torch failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`;
  return JSON.parse(r.stdout.trim().split('\n').pop() as string);
}

async function main() {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const reps = quick ? 3 : 5;
  const minMs = quick ? 100 : 250;
  if ((await initBackend('native')) !== 'native') throw new Error('the native backend is not available');
  const ti = args.indexOf('--threads');
  if (ti >= 0) setNumThreads(Number(args[ti + 1]));
  // The machine is shared: native and torch alternate `rounds` times and each entry keeps its best time, so
  // that both sides see the same spread of load.
  const ri = args.indexOf('--rounds');
  const rounds = ri >= 0 ? Number(args[ri + 1]) : 2;
  const rows: Record<string, { native: Times; torch: Times | null }> = {};
  const keepMin = (a: Times | null, b: Times): Times => {
    if (!a) return b;
    const o = { ...a };
    for (const k of Object.keys(o) as (keyof Times)[]) o[k] = Math.min(a[k], b[k]);
    return o;
  };
  let torch: Record<string, Times> | string = 'skipped';
  for (let round = 0; round < rounds; round++) {
    for (const sh of SHAPES) {
      const n = benchNative(sh, reps, minMs);
      rows[sh.name] = {
        native: keepMin(rows[sh.name]?.native ?? null, n),
        torch: rows[sh.name]?.torch ?? null,
      };
    }
    if (args.includes('--no-torch')) continue;
    const t = benchTorch(reps, minMs);
    if (typeof t === 'string') {
      torch = t;
      continue;
    }
    torch = t;
    for (const sh of SHAPES) if (t[sh.name]) rows[sh.name].torch = keepMin(rows[sh.name].torch, t[sh.name]);
  }
  const zero = (): Times => ({ fwd: 0, dx: 0, dw: 0, fwd_cpu: 0, dx_cpu: 0, dw_cpu: 0 });
  const step = { native: zero(), torch: zero() };
  for (const sh of SHAPES) {
    const r = rows[sh.name];
    (['fwd', 'dx', 'dw'] as const).forEach((k, i) => {
      for (const key of [k, `${k}_cpu` as const]) {
        step.native[key] += sh.per[i] * r.native[key];
        if (r.torch) step.torch[key] += sh.per[i] * r.torch[key];
      }
    });
  }
  if (args.includes('--json')) {
    console.log(
      JSON.stringify({
        threads: getNumThreads(),
        rows,
        step,
        torch: typeof torch === 'string' ? torch : 'ok',
      }),
    );
    return;
  }
  const f = (v: number | undefined) => (v === undefined ? '   -  ' : v.toFixed(2).padStart(7));
  console.log(
    `threads ${getNumThreads()}; ms per call (native | torch best of 1/2 threads, NCHW/channels_last)`,
  );
  console.log(`${'shape'.padEnd(20)}   fwd     dx      dw   |  t.fwd    t.dx    t.dw`);
  for (const sh of SHAPES) {
    const { native: n, torch: t } = rows[sh.name];
    console.log(`${sh.name.padEnd(20)}${f(n.fwd)}${f(n.dx)}${f(n.dw)} |${f(t?.fwd)}${f(t?.dx)}${f(t?.dw)}`);
  }
  const s = step;
  console.log(
    `${'per step'.padEnd(20)}${f(s.native.fwd)}${f(s.native.dx)}${f(s.native.dw)} |${f(s.torch.fwd)}${f(s.torch.dx)}${f(s.torch.dw)}`,
  );
  console.log(
    `${'per step, CPU ms'.padEnd(20)}${f(s.native.fwd_cpu)}${f(s.native.dx_cpu)}${f(s.native.dw_cpu)} |${f(s.torch.fwd_cpu)}${f(s.torch.dx_cpu)}${f(s.torch.dw_cpu)}`,
  );
  const tot = (t: Times) => t.fwd + t.dx + t.dw;
  const totCpu = (t: Times) => t.fwd_cpu + t.dx_cpu + t.dw_cpu;
  if (typeof torch === 'string') console.log(`torch: ${torch}`);
  else
    console.log(
      `conv total per step: native ${tot(s.native).toFixed(1)} ms, torch ${tot(s.torch).toFixed(1)} ms, ratio ${(tot(s.native) / tot(s.torch)).toFixed(2)}; CPU time ratio ${(totCpu(s.native) / totCpu(s.torch)).toFixed(2)}`,
    );
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
