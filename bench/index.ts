// `laurel bench [--quick] [--json]`: GEMM throughput, training-step time of the benchmark models against
// PyTorch, and LAUREL's own cost. Produces ONE JSON object (issue #3, "Benchmark").
//
// Also runnable on its own:
//   npx tsx bench/index.ts [--quick] [--json] [--dry] [--sequential] [--backend native|cpu|wasm] [--threads N]
//     [--models resnet,gpt]
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import {
  type BackendName,
  convFilterGradMode,
  getNumThreads,
  initBackend,
  setNumThreads,
} from '../src/engine/index.ts';
import type { ConvFilterGradMode } from '../src/nn/conv2d.ts';
import {
  type BenchConfig,
  type BenchModelName,
  type BenchResidual,
  DRY_CONFIG,
  FULL_CONFIG,
  type OurResult,
  QUICK_CONFIG,
  type TorchRun,
  benchDescription,
  benchOurs,
  benchPaired,
  checkAgainstTorch,
  compareStructure,
  median,
  runTorch,
} from './models.ts';
import { pairedRatios } from './timing.ts';

export interface BenchOptions {
  /** Fewer steps (whole run under 3 minutes on the native backend). */
  quick?: boolean;
  /** Print the report as one JSON object on stdout; otherwise print a table. Progress goes to stderr either way. */
  json?: boolean;
  /** tfjs backend (default: $LAUREL_BACKEND, else native, falling back with the engine's warning). */
  backend?: BackendName;
  /** Threads for OpenBLAS and our kernels (default: the engine's). */
  threads?: number;
  /** Tiny models, one untimed-quality step, no GEMM benchmark, PyTorch in its dry mode: for tests. */
  dry?: boolean;
  /** Skip the GEMM benchmark (reported as null with a reason). */
  skipGemm?: boolean;
  /** Skip PyTorch (torch_ms null with a reason). */
  skipTorch?: boolean;
  /** Time all of our cases first, then PyTorch's in one batch run, instead of interleaving their steps
   * (interleaved is the default: on a shared machine both sides then see the same load). */
  sequential?: boolean;
  /** Skip the numerical equivalence check (`equivalence` null). */
  skipCheck?: boolean;
  /** Only these model families (default: all of the configuration's). */
  models?: BenchModelName[];
  /** Replaces the configuration chosen by quick/dry (models, sizes, steps, torch threads). */
  config?: BenchConfig;
  /** Where the report goes (default: process.stdout.write). */
  out?: (text: string) => void;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export interface GemmReport {
  native_gflops: number;
  openblas_gflops: number;
  [k: string]: unknown;
}

export interface ModelRow {
  /** 'resnet20' or 'gpt'. */
  model: string;
  residual: BenchResidual;
  /** What exactly was run (sizes, batch, optimizer). */
  description: string;
  /** Trainable parameters of our model (PyTorch's count must be equal: see structure_match). */
  params: number;
  /** Median ms per training step in our stack, on `backend` (named native_ms whatever the backend); steps
   * interleaved with PyTorch's unless `sequential`. */
  native_ms: number;
  /** PyTorch's median ms per step at its fastest setting (interleaved with ours); null with torch_reason when
   * not measured. */
  torch_ms: number | null;
  /** native_ms / torch_ms. */
  ratio: number | null;
  /** Interleaved timing only: the median over rounds of (our step / the PyTorch step right after it), which
   * cancels load changes between rounds better than the ratio of medians. */
  ratio_paired: number | null;
  /** Our timed steps, in order. */
  native_steps_ms: number[];
  /** PyTorch's timed steps (interleaved timing), in order. */
  torch_steps_ms: number[] | null;
  /** The torch.set_num_threads value that gave torch_ms. */
  torch_threads: number | null;
  /** The fastest PyTorch setting, e.g. 'threads=1,channels_last'. */
  torch_setting: string | null;
  /** Per thread count (best over memory formats): { "1": ms, "2": ms }. */
  torch_ms_by_threads: Record<string, number> | null;
  /** Every setting tried (medians of the search phase, which runs before the interleaved steps). */
  torch_ms_by_setting: Record<string, number> | null;
  /** Settings given up on early (a step took > 3× the best setting so far: cannot be the fastest). */
  torch_abandoned?: string[];
  torch_reason?: string;
  torch_params: number | null;
  /** Same parameter names, sizes and weight-decay split, in the same order, on both sides (null: no torch). */
  structure_match: boolean | null;
  structure_diff?: string;
  /** Tensors alive after the last timed step minus after the first step (0: no leak). */
  leaked_tensors: number;
}

export interface EquivalenceRow {
  model: string;
  residual: BenchResidual;
  loss: number;
  torch_loss: number;
  max_grad_norm_rel_err: number;
  worst_param: string;
}

export interface BenchReport {
  backend: string;
  threads: number;
  gemm: GemmReport | null;
  gemm_reason?: string;
  models: ModelRow[];
  /** rw+lr step / plain step, same backend (target ≤ 1.10). */
  laurel_overhead: Partial<Record<BenchModelName, number | null>>;
  /** The same ratio in PyTorch, for reference. */
  torch_laurel_overhead: Partial<Record<BenchModelName, number | null>>;
  /** Interleaved timing only: median over rounds of (rw+lr step / plain step), ours and PyTorch's. */
  laurel_overhead_paired: Partial<Record<BenchModelName, number | null>> | null;
  torch_laurel_overhead_paired: Partial<Record<BenchModelName, number | null>> | null;
  torch: { available: boolean; version?: string; python?: string; reason?: string };
  /**
   * Both definitions on the same weights and batch (small sizes: DRY_CONFIG, LAUREL weights randomized), on
   * this backend: our loss and PyTorch's, and the worst relative difference of per-parameter gradient norms.
   * null when skipped (dry mode, no torch) with equivalence_reason.
   */
  equivalence: EquivalenceRow[] | null;
  equivalence_reason?: string;
  /** How Conv2d computed its kernel gradient (src/engine convFilterGradMode): 'tfjs' when the backend has a
   * native Conv2DBackpropFilter, else 'conv' (as a dilated convolution). */
  conv_filter_grad: ConvFilterGradMode;
  mode: 'full' | 'quick' | 'dry' | 'custom';
  /** 'interleaved': our steps and PyTorch's alternate; 'sequential': ours first, then PyTorch's. */
  timing: 'interleaved' | 'sequential';
  warmup: number;
  steps: number;
  /** Wall time of the whole run. */
  seconds: number;
  date: string;
  git: string | null;
}

const here = dirname(fileURLToPath(import.meta.url));

function gitDescribe(): string | null {
  const root = join(here, '..');
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (head.status !== 0) return null;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], {
    cwd: root,
    encoding: 'utf8',
  });
  return `${head.stdout.trim()}${dirty.status === 0 && dirty.stdout.trim() !== '' ? '-dirty' : ''}`;
}

/** bench/gemm.ts's benchGemm (owned by the native-backend work), loaded only when the file exists. */
async function gemm(quick: boolean): Promise<{ gemm: GemmReport | null; reason?: string }> {
  const file = join(here, 'gemm.ts');
  if (!existsSync(file)) return { gemm: null, reason: 'bench/gemm.ts is absent' };
  try {
    const mod = (await import(new URL('./gemm.ts', import.meta.url).href)) as {
      benchGemm?: (o: { quick: boolean }) => Promise<GemmReport>;
    };
    if (typeof mod.benchGemm !== 'function')
      return { gemm: null, reason: 'bench/gemm.ts exports no benchGemm' };
    return { gemm: await mod.benchGemm({ quick }) };
  } catch (e) {
    return { gemm: null, reason: `benchGemm failed: ${(e as Error).message.split('\n')[0]}` };
  }
}

const modelLabel = (cfg: BenchConfig, m: BenchModelName) => (m === 'resnet' ? cfg.resnet.arch : 'gpt');
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

const roundAll = (m: Record<string, number> | undefined) =>
  m ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round(v, 1)])) : null;

function rows(cfg: BenchConfig, ours: OurResult[], torch: TorchRun): ModelRow[] {
  return ours.map((o) => {
    const t = torch.available
      ? torch.results.find((r) => r.model === o.model && r.residual === o.residual)
      : undefined;
    const torchMs = t?.torch_ms ?? null;
    const diff = t ? compareStructure(o.structure, t.structure) : null;
    const row: ModelRow = {
      model: modelLabel(cfg, o.model),
      residual: o.residual,
      description: benchDescription(cfg, o.model),
      params: o.params,
      native_ms: round(o.ms, 1),
      torch_ms: torchMs === null ? null : round(torchMs, 1),
      ratio: torchMs === null ? null : round(o.ms / torchMs),
      ratio_paired:
        t?.steps_ms?.length === o.stepsMs.length ? round(median(pairedRatios(o.stepsMs, t.steps_ms))) : null,
      native_steps_ms: o.stepsMs.map((x) => round(x, 1)),
      torch_steps_ms: t?.steps_ms ? t.steps_ms.map((x) => round(x, 1)) : null,
      torch_threads: t?.torch_threads ?? null,
      torch_setting: t?.torch_setting ?? null,
      torch_ms_by_threads: roundAll(t?.ms_by_threads),
      torch_ms_by_setting: roundAll(t?.ms_by_setting),
      torch_params: t?.params ?? null,
      structure_match: t ? diff === null : null,
      leaked_tensors: o.leakedTensors,
    };
    if (diff !== null) row.structure_diff = diff;
    if (t?.abandoned?.length) row.torch_abandoned = t.abandoned;
    if (torchMs === null) {
      row.torch_reason = !torch.available
        ? torch.reason
        : t
          ? 'PyTorch ran in dry mode (no timing)'
          : 'PyTorch did not run this case';
    }
    return row;
  });
}

/** Per model: `ratio(rw+lr row's key, baseline row's key)`, null where either row or value is missing. */
function laurelVsPlain<K extends 'native_ms' | 'torch_ms' | 'native_steps_ms' | 'torch_steps_ms'>(
  cfg: BenchConfig,
  models: ModelRow[],
  key: K,
  ratio: (laurel: NonNullable<ModelRow[K]>, plain: NonNullable<ModelRow[K]>) => number | null,
): Partial<Record<BenchModelName, number | null>> {
  const out: Partial<Record<BenchModelName, number | null>> = {};
  for (const m of cfg.models) {
    const label = modelLabel(cfg, m);
    const plain = models.find((r) => r.model === label && r.residual === 'baseline')?.[key];
    const laurel = models.find((r) => r.model === label && r.residual === 'rw+lr')?.[key];
    out[m] = plain && laurel ? ratio(laurel, plain) : null;
  }
  return out;
}

/** Interleaved timing: median over rounds of (rw+lr step / plain step of the same round). */
function pairedOverhead(
  cfg: BenchConfig,
  models: ModelRow[],
  key: 'native_steps_ms' | 'torch_steps_ms',
): Partial<Record<BenchModelName, number | null>> {
  return laurelVsPlain(cfg, models, key, (laurel, plain) =>
    plain.length === laurel.length ? round(median(pairedRatios(laurel, plain))) : null,
  );
}

function overhead(
  cfg: BenchConfig,
  models: ModelRow[],
  key: 'native_ms' | 'torch_ms',
): Partial<Record<BenchModelName, number | null>> {
  return laurelVsPlain(cfg, models, key, (laurel, plain) => round(laurel / plain));
}

/** A human-readable table of the report. */
export function formatReport(r: BenchReport): string {
  const lines: string[] = [];
  lines.push(
    `laurel bench (${r.mode}, ${r.timing}) on ${r.backend}, ${r.threads} threads, conv filter grad '${r.conv_filter_grad}', ${r.date}, git ${r.git ?? '?'}`,
  );
  lines.push(
    r.gemm
      ? `GEMM: ${r.gemm.native_gflops.toFixed(1)} GFLOP/s through tfjs, ${r.gemm.openblas_gflops.toFixed(1)} GFLOP/s direct OpenBLAS (${((100 * r.gemm.native_gflops) / r.gemm.openblas_gflops).toFixed(0)} %)`
      : `GEMM: not measured (${r.gemm_reason})`,
  );
  const skinny = r.gemm?.skinny as
    | { kind: string; m: number; n: number; k: number; ratio: number }[]
    | undefined;
  if (skinny?.length)
    lines.push(
      `Skinny GEMMs, own kernels / OpenBLAS time: ${skinny.map((s) => `${s.kind} ${s.m}×${s.n}×${s.k} ${s.ratio.toFixed(2)}`).join(', ')}`,
    );
  lines.push(
    r.torch.available
      ? `PyTorch ${r.torch.version} (${r.torch.python})`
      : `PyTorch: not measured (${r.torch.reason})`,
  );
  const head = [
    'model',
    'residual',
    'params',
    'ours ms',
    'torch ms',
    'ratio',
    'paired',
    'torch best',
    'by threads',
  ];
  const body = r.models.map((m) => [
    m.model,
    m.residual,
    String(m.params),
    m.native_ms.toFixed(1),
    m.torch_ms === null ? '—' : m.torch_ms.toFixed(1),
    m.ratio === null ? '—' : m.ratio.toFixed(2),
    m.ratio_paired === null ? '—' : m.ratio_paired.toFixed(2),
    m.torch_setting ?? '—',
    m.torch_ms_by_threads
      ? Object.entries(m.torch_ms_by_threads)
          .map(([k, v]) => `${k}:${v.toFixed(0)}`)
          .join(' ')
      : '—',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  lines.push('', fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...body.map(fmt), '');
  const oh = (o: BenchReport['laurel_overhead']) =>
    Object.entries(o)
      .map(([k, v]) => `${k} ${v === null || v === undefined ? '—' : v.toFixed(2)}`)
      .join(', ');
  lines.push(
    `LAUREL overhead (rw+lr / plain step): ours ${oh(r.laurel_overhead)}; PyTorch ${oh(r.torch_laurel_overhead)}`,
  );
  if (r.laurel_overhead_paired) {
    lines.push(
      `  paired by round: ours ${oh(r.laurel_overhead_paired)}; PyTorch ${r.torch_laurel_overhead_paired ? oh(r.torch_laurel_overhead_paired) : '—'}`,
    );
  }
  if (r.equivalence) {
    const e = r.equivalence
      .map(
        (q) =>
          `${q.model} loss ${q.loss.toFixed(6)} vs ${q.torch_loss.toFixed(6)}, grads ${q.max_grad_norm_rel_err.toExponential(1)}`,
      )
      .join('; ');
    lines.push(`Same function as PyTorch (small sizes, same weights): ${e}`);
  } else lines.push(`Equivalence check: ${r.equivalence_reason}`);
  for (const m of r.models) {
    if (m.structure_match === false)
      lines.push(`warning: ${m.model} ${m.residual} differs from PyTorch: ${m.structure_diff}`);
  }
  lines.push(`${r.seconds.toFixed(0)} s`);
  return `${lines.join('\n')}\n`;
}

/**
 * Runs the benchmark and returns the report; prints it (JSON with `json`, else a table) through `out`.
 * Order: GEMM; then per model family PyTorch's setting search (threads × memory format) in a subprocess, and
 * our steps and PyTorch's interleaved one by one (never concurrently: they would share the cores); then the
 * numerical equivalence check.
 */
export async function runBench(opts: BenchOptions = {}): Promise<BenchReport> {
  const t0 = performance.now();
  const log = opts.log ?? ((m: string) => process.stderr.write(`bench: ${m}\n`));
  const out = opts.out ?? ((s: string) => process.stdout.write(s));
  const mode = opts.config ? 'custom' : opts.dry ? 'dry' : opts.quick ? 'quick' : 'full';
  const base = opts.config ?? (opts.dry ? DRY_CONFIG : opts.quick ? QUICK_CONFIG : FULL_CONFIG);
  const cfg = opts.models ? { ...base, models: base.models.filter((m) => opts.models?.includes(m)) } : base;
  const backend = await initBackend(opts.backend);
  if (opts.threads !== undefined) setNumThreads(opts.threads);
  log(
    `backend ${backend}, ${getNumThreads()} threads, ${mode} (warmup ${cfg.warmup}, ${cfg.steps} timed steps)`,
  );

  // as buildCase builds the models for this backend (bench/models.ts)
  return await measure(opts, cfg, mode, backend, convFilterGradMode(backend), t0, log, out);
}

async function measure(
  opts: BenchOptions,
  cfg: BenchConfig,
  mode: BenchReport['mode'],
  backend: string,
  convFilterGrad: ConvFilterGradMode,
  t0: number,
  log: (m: string) => void,
  out: (s: string) => void,
): Promise<BenchReport> {
  const g =
    opts.dry || opts.skipGemm
      ? { gemm: null, reason: 'skipped' }
      : backend !== 'native'
        ? { gemm: null, reason: `the GEMM benchmark needs the native backend (in use: ${backend})` }
        : await gemm(opts.quick === true);
  if (g.gemm) log(`gemm: ${JSON.stringify(g.gemm)}`);
  if (tf.getBackend() !== backend) await tf.setBackend(backend);

  let ours: OurResult[];
  let torch: TorchRun;
  if (opts.skipTorch) {
    ours = await benchOurs(cfg, log);
    torch = { available: false, reason: 'skipped' };
  } else if (opts.dry || opts.sequential) {
    ours = await benchOurs(cfg, log);
    torch = await runTorch(cfg, { dry: opts.dry, log });
  } else {
    ({ ours, torch } = await benchPaired(cfg, log));
  }
  if (!torch.available) log(`PyTorch: ${torch.reason}`);

  let equivalence: EquivalenceRow[] | null = null;
  let equivalenceReason: string | undefined;
  if (opts.dry || opts.skipCheck) equivalenceReason = 'skipped';
  else if (!torch.available) equivalenceReason = `PyTorch unavailable: ${torch.reason}`;
  else {
    try {
      equivalence = [];
      for (const m of cfg.models) {
        const r = await checkAgainstTorch(DRY_CONFIG, m, 'rw+lr');
        equivalence.push({
          model: modelLabel(DRY_CONFIG, m),
          residual: r.residual,
          loss: r.loss,
          torch_loss: r.torchLoss,
          max_grad_norm_rel_err: Number(r.maxGradNormRelErr.toPrecision(3)),
          worst_param: r.worstParam,
        });
        log(
          `check ${m} rw+lr: loss ${r.loss} vs PyTorch ${r.torchLoss}, grad norms within ${r.maxGradNormRelErr.toExponential(1)}`,
        );
      }
    } catch (e) {
      equivalence = null;
      equivalenceReason = `check failed: ${(e as Error).message.split('\n')[0]}`;
    }
  }

  const models = rows(cfg, ours, torch);
  const interleaved = !(opts.dry || opts.sequential || opts.skipTorch);
  const report: BenchReport = {
    backend,
    threads: getNumThreads(),
    gemm: g.gemm,
    ...(g.reason ? { gemm_reason: g.reason } : {}),
    models,
    laurel_overhead: overhead(cfg, models, 'native_ms'),
    torch_laurel_overhead: overhead(cfg, models, 'torch_ms'),
    laurel_overhead_paired: interleaved ? pairedOverhead(cfg, models, 'native_steps_ms') : null,
    torch_laurel_overhead_paired:
      interleaved && torch.available ? pairedOverhead(cfg, models, 'torch_steps_ms') : null,
    torch: torch.available
      ? { available: true, version: torch.torch_version, python: torch.python }
      : { available: false, reason: torch.reason },
    equivalence,
    ...(equivalenceReason ? { equivalence_reason: equivalenceReason } : {}),
    conv_filter_grad: convFilterGrad,
    mode,
    timing: interleaved ? 'interleaved' : 'sequential',
    warmup: cfg.warmup,
    steps: cfg.steps,
    seconds: round((performance.now() - t0) / 1000, 1),
    date: new Date().toISOString(),
    git: gitDescribe(),
  };
  out(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report;
}

/** `npx tsx bench/index.ts [--quick] [--json] [--dry] [--sequential] [--backend B] [--threads N] [--models resnet,gpt]`. */
async function main(argv: string[]): Promise<void> {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const threads = value('--threads');
  const models = value('--models');
  await runBench({
    sequential: argv.includes('--sequential'),
    models: models === undefined ? undefined : (models.split(',') as BenchModelName[]),
    quick: argv.includes('--quick'),
    json: argv.includes('--json'),
    dry: argv.includes('--dry'),
    backend: value('--backend') as BackendName | undefined,
    threads: threads === undefined ? undefined : Number(threads),
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
