// Per-kernel time profile of real training steps on the current tfjs backend (default: native).
//   node --import tsx bench/profile-step.ts [resnet|gpt] [baseline|rw+lr] [steps] [shapes]
// Reusable: profileStep() wraps every kernel registered for the backend with a timer, runs warmup + timed steps
// of bench/models.ts's cases, and returns per-kernel totals (ms per step) next to the step time.
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/index.ts';
import { type BenchModelName, type BenchResidual, FULL_CONFIG, buildCase, makeTrainStep } from './models.ts';

export interface KernelStat {
  kernel: string;
  calls: number;
  ms: number;
}

export interface StepProfile {
  backend: string;
  model: string;
  residual: string;
  stepMs: number;
  kernelMs: number;
  kernels: KernelStat[];
}

/**
 * Wraps every kernel of `backend` with a timer; returns the stats table and an undo function. With `byShape`,
 * each kernel's calls are split by the shape of their first input.
 */
export function instrumentKernels(
  backend: string,
  byShape = false,
): { stats: Map<string, KernelStat>; restore: () => void } {
  const stats = new Map<string, KernelStat>();
  const undo: (() => void)[] = [];
  for (const cfg of tf.getKernelsForBackend(backend)) {
    const k = tf.getKernel(cfg.kernelName, backend) as tf.KernelConfig;
    const orig = k.kernelFunc;
    let depth = 0;
    k.kernelFunc = ((args: Parameters<tf.KernelFunc>[0]) => {
      // Nested calls (a kernel calling another through the registry) are counted once, by the outer one.
      if (depth > 0) return orig(args);
      const first = Object.values(args.inputs)[0] as tf.TensorInfo | undefined;
      const key = byShape && first ? `${cfg.kernelName} [${first.shape.join(',')}]` : cfg.kernelName;
      const st = stats.get(key) ?? { kernel: key, calls: 0, ms: 0 };
      stats.set(key, st);
      depth++;
      const t0 = performance.now();
      try {
        return orig(args);
      } finally {
        st.ms += performance.now() - t0;
        st.calls++;
        depth--;
      }
    }) as tf.KernelFunc;
    undo.push(() => {
      k.kernelFunc = orig;
    });
  }
  return { stats, restore: () => undo.forEach((f) => f()) };
}

export async function profileStep(opts: {
  model: BenchModelName;
  residual?: BenchResidual;
  steps?: number;
  warmup?: number;
  backend?: 'native' | 'cpu' | 'wasm';
  /** Called after the backend is set, before the model is built (e.g. to toggle the buffer pool). */
  before?: () => void;
  /** Split each kernel's time by the shape of its first input. */
  byShape?: boolean;
}): Promise<StepProfile> {
  const backend = await initBackend(opts.backend ?? 'native');
  opts.before?.();
  const residual = opts.residual ?? 'baseline';
  const c = buildCase(FULL_CONFIG, opts.model, residual);
  const step = makeTrainStep(c);
  for (let i = 0; i < (opts.warmup ?? 1); i++) step();
  const steps = opts.steps ?? 3;
  // Step time without the instrumentation, then the per-kernel split.
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  const { stats, restore } = instrumentKernels(backend, opts.byShape);
  try {
    for (let i = 0; i < steps; i++) step();
  } finally {
    restore();
    c.dispose();
  }
  const kernels = [...stats.values()]
    .filter((s) => s.calls > 0)
    .map((s) => ({ kernel: s.kernel, calls: s.calls / steps, ms: s.ms / steps }))
    .sort((a, b) => b.ms - a.ms);
  times.sort((a, b) => a - b);
  return {
    backend,
    model: opts.model,
    residual,
    stepMs: times[Math.floor(times.length / 2)],
    kernelMs: kernels.reduce((a, k) => a + k.ms, 0),
    kernels,
  };
}

export function formatProfile(p: StepProfile, top = 20): string {
  const lines = [
    `${p.model}/${p.residual} on ${p.backend}: step ${p.stepMs.toFixed(1)} ms, kernels ${p.kernelMs.toFixed(1)} ms/step (${p.kernels.reduce((a, k) => a + k.calls, 0)} calls)`,
  ];
  for (const k of p.kernels.slice(0, top)) {
    lines.push(
      `  ${k.kernel.padEnd(40)} ${k.ms.toFixed(2).padStart(9)} ms ${((100 * k.ms) / p.stepMs).toFixed(1).padStart(5)} %  ${String(k.calls).padStart(5)} calls`,
    );
  }
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[1]?.endsWith('.ts')) {
  const [model = 'gpt', residual = 'baseline', steps = '3', split] = process.argv.slice(2);
  const p = await profileStep({
    model: model as BenchModelName,
    residual: residual as BenchResidual,
    steps: Number(steps),
    byShape: split === 'shapes',
  });
  console.log(formatProfile(p, split === 'shapes' ? 60 : 25));
}
