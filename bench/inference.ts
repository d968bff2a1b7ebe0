// `laurel bench --inference [--quick] [--json]`: inference latency on the same weights, ours against PyTorch
// (bench/torch/infer.py on python/laurel_torch.py's models), and LAUREL's inference overhead against the plain
// model with and without folding (src/models/fold.ts):
//   ResNet-20 (28×28×1, 10 classes): one forward at batch 1 and at batch 128;
//   GPT (the training bench's: 4 layers, D 256, 4 heads, context 128, bytes): a 128-token prefill that fills the
//   key/value cache, and tokens/s of greedy decoding at batch 1 through the cache.
// Each for a plain residual and RW+LR (rank 16), both trained-looking (LAUREL and batch norms moved off their init
// with a fixed seed), exported once as safetensors for PyTorch. Timing: warmup calls, then medians; our four forms
// of a case (plain and RW+LR, trained and folded) are timed in turns (a call of each per round), and LAUREL's
// overhead is the median over rounds of (RW+LR / plain of the same round), with its 95 % interval; ours and
// PyTorch's run one after the other (two processes), so a loaded machine shifts the ratios to PyTorch more than
// those between our forms.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { type BackendName, getNumThreads, initBackend, setNumThreads } from '../src/engine/index.ts';
import { type FoldedModel, foldModel, scaledMaxDiff } from '../src/models/fold.ts';
import { lastLogits } from '../src/models/generate.ts';
import type { Gpt } from '../src/models/gpt.ts';
import { type Model, buildModel } from '../src/models/index.ts';
import { saveSafetensors } from '../src/models/safetensors-file.ts';
import { Rng } from '../src/util/rng.ts';
import { forwardMacs } from './macs.ts';
import { type BenchConfig, DRY_CONFIG, FULL_CONFIG, benchSpec, median, torchPython } from './models.ts';
import { type MedianCi, medianCi, pairedRatios } from './timing.ts';

type Residual = 'baseline' | 'rw+lr';
const RESIDUALS: Residual[] = ['baseline', 'rw+lr'];

export interface InferenceConfig {
  /** The models and LAUREL ranks: the training benchmark's (bench/models.ts benchSpec). */
  models: BenchConfig;
  resnet: { batches: number[]; reps: Record<string, number> };
  gpt: {
    /** Tokens of the timed prefill. */
    prefill: number;
    /** Prompt before the timed decoding, tokens decoded per round, rounds (median of the per-round medians). */
    prompt: number;
    decode: number;
    decodeRounds: number;
    reps: number;
  };
  warmup: number;
  /** torch.set_num_threads values PyTorch tries (its fastest counts). */
  torchThreads: number[];
}

export const INFERENCE_FULL: InferenceConfig = {
  models: FULL_CONFIG,
  resnet: { batches: [1, 128], reps: { '1': 50, '128': 10 } },
  gpt: {
    prefill: 128,
    prompt: 32,
    decode: 64,
    decodeRounds: 3,
    reps: 20,
  },
  warmup: 10,
  torchThreads: [1, 2],
};

export const INFERENCE_QUICK: InferenceConfig = {
  ...INFERENCE_FULL,
  resnet: { ...INFERENCE_FULL.resnet, reps: { '1': 15, '128': 3 } },
  gpt: { ...INFERENCE_FULL.gpt, decode: 24, decodeRounds: 1, reps: 3 },
  warmup: 1,
};

/** Tiny models, one call each: for tests of the plumbing. */
export const INFERENCE_DRY: InferenceConfig = {
  models: DRY_CONFIG,
  resnet: { batches: [1, 2], reps: { '1': 1, '2': 1 } },
  gpt: { prefill: 8, prompt: 3, decode: 3, decodeRounds: 1, reps: 1 },
  warmup: 0,
  torchThreads: [1],
};

export interface InferenceOptions {
  quick?: boolean;
  dry?: boolean;
  json?: boolean;
  skipTorch?: boolean;
  backend?: BackendName;
  threads?: number;
  config?: InferenceConfig;
  out?: (text: string) => void;
  log?: (line: string) => void;
}

export interface ResNetRow {
  residual: Residual;
  batch: number;
  /** Median ms per forward: the trained form, the folded form, PyTorch (trained form, eval, no_grad). */
  ms: number;
  folded_ms: number;
  torch_ms: number | null;
  torch_setting: string | null;
  /** ms / torch_ms and folded_ms / torch_ms. */
  ratio: number | null;
  folded_ratio: number | null;
}

export interface GptRow {
  residual: Residual;
  prefill_ms: number;
  folded_prefill_ms: number;
  torch_prefill_ms: number | null;
  /** Greedy decoding at batch 1 through the cache: 1000 / median ms per token. */
  tokens_per_s: number;
  folded_tokens_per_s: number;
  torch_tokens_per_s: number | null;
  /** PyTorch's fastest settings, for decoding and for the prefill. */
  torch_setting: string | null;
  torch_prefill_setting: string | null;
}

export interface InferenceReport {
  mode: 'full' | 'quick' | 'dry';
  backend: string;
  threads: number;
  note: string;
  resnet: ResNetRow[];
  gpt: GptRow[];
  /**
   * rw+lr / baseline, trained and folded: the median over timed rounds of the ratio of the two forms' times in
   * the same round (for decoding, of ms per token), its distribution-free 95 % interval ([low, high], null with
   * fewer than 6 rounds) and the number of rounds; PyTorch's ratio of medians; `macs`, the ratio of the folded
   * forms' multiply-adds (bench/macs.ts): the floor of the overhead, the low-rank term's work, which no folding
   * removes.
   */
  laurel_overhead: Record<string, OverheadRow>;
  /** Both sides' logits on the same input and weights: max |Δ| / max |y|; GPT: greedy continuations equal. */
  equivalence: Record<string, unknown> | null;
  torch: { available: boolean; version?: string; reason?: string };
  elapsed_s: number;
}

export interface OverheadRow {
  unfolded: number;
  unfolded_ci: [number, number] | null;
  folded: number;
  folded_ci: [number, number] | null;
  rounds: number;
  torch: number | null;
  macs: number | null;
}

/** Trained-looking values: LAUREL parameters and batch-norm γ, β, statistics moved off their init (seeded). */
function pretendTrained(m: Model, seed: number): void {
  const rng = new Rng(seed);
  const kinds = new Map(m.namedParameters().map((p) => [p.name, p.kind]));
  for (const p of [...m.namedParameters(), ...m.namedBuffers()]) {
    const kind = kinds.get(p.name);
    const tail = p.name.slice(p.name.lastIndexOf('.') + 1);
    if (kind !== 'laurel' && kind !== 'norm' && !tail.startsWith('running')) continue;
    const v = p.variable.dataSync() as Float32Array;
    const next = Float32Array.from(v, (x) =>
      tail === 'runningVar' ? 0.5 + Math.abs(x + 0.1 * rng.normal()) : x + 0.1 * rng.normal(),
    );
    const t = tf.tensor(next, p.variable.shape);
    p.variable.assign(t);
    t.dispose();
  }
  m.setTraining(false);
}

/**
 * Ms of each call of each of `fns` per round ([fn][round]), timed in turns (one call of each per round), so that
 * the VM's slow and fast phases fall on every form alike rather than on whichever ran first; `warmup` untimed
 * rounds first.
 */
function interleavedTimes(warmup: number, reps: number, fns: (() => void)[]): number[][] {
  for (let i = 0; i < warmup; i++) for (const fn of fns) fn();
  const times = fns.map(() => [] as number[]);
  for (let i = 0; i < reps; i++)
    fns.forEach((fn, j) => {
      const t0 = performance.now();
      fn();
      times[j].push(performance.now() - t0);
    });
  return times;
}

/** The four forms of a case, in this order: plain, plain folded, RW+LR, RW+LR folded. */
type Forms<T> = [T, T, T, T];

/** RW+LR over plain, trained and folded, from the four forms' per-round times (Forms order). */
function pairedOverhead(
  times: Forms<number[]>,
): Pick<OverheadRow, 'unfolded' | 'unfolded_ci' | 'folded' | 'folded_ci' | 'rounds'> {
  const interval = (c: MedianCi): [number, number] | null =>
    c.low === null || c.high === null ? null : [c.low, c.high];
  const u = medianCi(pairedRatios(times[2], times[0]));
  const f = medianCi(pairedRatios(times[3], times[1]));
  return {
    unfolded: u.median,
    unfolded_ci: interval(u),
    folded: f.median,
    folded_ci: interval(f),
    rounds: u.n,
  };
}

/** One classifier forward, waited for (the logits read back). */
function classify(m: Model | FoldedModel, x: tf.Tensor4D): Float32Array {
  const y = (m as { forward: (x: tf.Tensor4D) => tf.Tensor }).forward(x);
  const v = y.dataSync() as Float32Array;
  y.dispose();
  return v;
}

const argmax = (z: Float32Array) => z.reduce((b, v, i) => (v > z[b] ? i : b), 0);

function randomTokens(n: number, vocab: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.int(vocab));
}

/** MACs of the benchmark's prefill and of one decoding step after its prompt (bench/macs.ts). */
async function gptMacs(m: Gpt, cfg: InferenceConfig): Promise<{ prefill: number; decode: number }> {
  const [first, cache] = [m.newCache(), m.newCache()];
  try {
    const prefill = await forwardMacs(() =>
      lastLogits(m, randomTokens(cfg.gpt.prefill, cfg.models.gpt.vocab, 1), first),
    );
    lastLogits(m, randomTokens(cfg.gpt.prompt, cfg.models.gpt.vocab, 2), cache);
    const decode = await forwardMacs(() => lastLogits(m, [0], cache));
    return { prefill, decode };
  } finally {
    first.dispose();
    cache.dispose();
  }
}

/**
 * Per model, ms of each timed prefill and of each decoded token at batch 1 ([model][round]), the models timed in
 * turns: one prefill of each per round (interleavedTimes); in decoding, one token of each per step, every model
 * through its own cache after the same prompt (`decodeRounds` rounds of `decode` steps, one untimed round first
 * when warming up).
 */
function timeGpts(models: Gpt[], cfg: InferenceConfig): { prefill: number[][]; decode: number[][] } {
  const g = cfg.gpt;
  const prefillTokens = randomTokens(g.prefill, cfg.models.gpt.vocab, 1);
  const prefill = interleavedTimes(
    cfg.warmup,
    g.reps,
    models.map((m) => () => {
      const cache = m.newCache();
      lastLogits(m, prefillTokens, cache);
      cache.dispose();
    }),
  );
  const prompt = randomTokens(g.prompt, cfg.models.gpt.vocab, 2);
  const decode = models.map(() => [] as number[]);
  const untimed = cfg.warmup > 0 ? 1 : 0;
  for (let round = 0; round < untimed + g.decodeRounds; round++) {
    const caches = models.map((m) => m.newCache());
    const z = models.map((m, j) => lastLogits(m, prompt, caches[j]));
    for (let i = 0; i < g.decode; i++)
      models.forEach((m, j) => {
        const t0 = performance.now();
        z[j] = lastLogits(m, [argmax(z[j])], caches[j]);
        if (round >= untimed) decode[j].push(performance.now() - t0);
      });
    for (const c of caches) c.dispose();
  }
  return { prefill, decode };
}

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch', 'infer.py');

/** Runs infer.py on a request; never throws (an unavailable torch comes back as { available: false, reason }). */
/** What infer.py prints (see its docstring). */
interface TorchSide {
  available: boolean;
  reason?: string;
  torch_version?: string;
  /** Per residual: per batch size { ms, setting }, and check_logits. */
  resnet?: Record<string, Record<string, { ms: number; setting: string } | number[]>>;
  gpt?: Record<
    string,
    {
      prefill_ms: number;
      prefill_setting: string;
      tokens_per_s: number;
      setting: string;
      check_logits: number[];
      check_full_logits: number[];
      check_greedy: number[];
    }
  >;
}

function runTorchInference(request: string, log: (m: string) => void): Promise<TorchSide> {
  const python = torchPython();
  return new Promise((resolve) => {
    const child = spawn(python, [SCRIPT, '--request', request], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      for (const line of d.toString().split('\n')) if (line.startsWith('[torch]')) log(line);
    });
    child.on('error', (e) => resolve({ available: false, reason: `cannot run ${python}: ${e.message}` }));
    child.on('close', (code) => {
      if (code !== 0) {
        resolve({
          available: false,
          reason: `infer.py exited with ${code}: ${stderr.trim().split('\n').pop()}`,
        });
        return;
      }
      try {
        resolve(JSON.parse(stdout));
      } catch {
        resolve({ available: false, reason: 'infer.py printed no JSON object' });
      }
    });
  });
}

export async function runInferenceBench(opts: InferenceOptions = {}): Promise<InferenceReport> {
  const t0 = performance.now();
  const log = opts.log ?? ((m: string) => process.stderr.write(`bench: ${m}\n`));
  const out = opts.out ?? ((s: string) => process.stdout.write(s));
  const mode = opts.dry ? 'dry' : opts.quick ? 'quick' : 'full';
  const cfg = opts.config ?? (opts.dry ? INFERENCE_DRY : opts.quick ? INFERENCE_QUICK : INFERENCE_FULL);
  const backend = await initBackend(opts.backend);
  if (opts.threads !== undefined) setNumThreads(opts.threads);
  log(`inference: backend ${backend}, ${getNumThreads()} threads, ${mode}`);
  const dir = mkdtempSync(join(tmpdir(), 'laurel-bench-infer-'));
  const checkImage = Float32Array.from(
    { length: cfg.models.resnet.image ** 2 },
    (_, i) => ((i * 37) % 101) / 100,
  );
  const checkTokens = randomTokens(Math.min(12, cfg.models.gpt.context - 4), cfg.models.gpt.vocab, 3);
  const checkDecode = 3;
  const ours: Record<string, Record<string, unknown>> = {};
  const request = {
    resnet: {
      ...cfg.resnet,
      image: cfg.models.resnet.image,
      warmup: cfg.warmup,
      threads: cfg.torchThreads,
      files: {} as Record<string, string>,
      check_image: Array.from(checkImage),
      check_shape: [1, cfg.models.resnet.image, cfg.models.resnet.image, 1],
    },
    gpt: {
      ...cfg.gpt,
      warmup: cfg.warmup,
      threads: cfg.torchThreads,
      files: {} as Record<string, string>,
      check_tokens: checkTokens,
      check_decode: checkDecode,
    },
  };
  const resnetRows: Omit<ResNetRow, 'torch_ms' | 'torch_setting' | 'ratio' | 'folded_ratio'>[] = [];
  const gptRows: Omit<
    GptRow,
    'torch_prefill_ms' | 'torch_tokens_per_s' | 'torch_setting' | 'torch_prefill_setting'
  >[] = [];
  const paired: Record<string, ReturnType<typeof pairedOverhead>> = {};
  try {
    // Both residuals' models, trained and folded, alive together so that their four forms are timed in turns.
    const built = (model: 'resnet' | 'gpt') =>
      RESIDUALS.map((residual) => {
        const spec = benchSpec(cfg.models, model, residual);
        const m = buildModel(spec);
        pretendTrained(m, 7);
        return { residual, spec, m, folded: foldModel(m) };
      });
    const forms = <T>(cases: { m: unknown; folded: unknown }[]) =>
      [cases[0].m, cases[0].folded, cases[1].m, cases[1].folded] as Forms<T>;
    const resnets = built('resnet');
    try {
      for (const batch of cfg.resnet.batches) {
        const s = cfg.models.resnet.image;
        const x = tf.tensor4d(
          Float32Array.from({ length: batch * s * s }, (_, i) => ((i * 13) % 97) / 96),
          [batch, s, s, 1],
        );
        const reps = cfg.resnet.reps[String(batch)] ?? 5;
        const times = interleavedTimes(
          cfg.warmup,
          reps,
          forms<Model | FoldedModel>(resnets).map((m) => () => classify(m, x)),
        ) as Forms<number[]>;
        x.dispose();
        resnets.forEach(({ residual }, i) => {
          const [ms, foldedMs] = [median(times[2 * i]), median(times[2 * i + 1])];
          log(`resnet20 ${residual} batch ${batch}: ${ms.toFixed(2)} ms, folded ${foldedMs.toFixed(2)} ms`);
          resnetRows.push({ residual, batch, ms, folded_ms: foldedMs });
        });
        paired[`resnet20_batch${batch}`] = pairedOverhead(times);
      }
      for (const { residual, spec, m, folded } of resnets) {
        const img = tf.tensor4d(checkImage, [1, cfg.models.resnet.image, cfg.models.resnet.image, 1]);
        ours[`resnet ${residual}`] = {
          logits: classify(m, img),
          folded: scaledMaxDiff(classify(folded, img), classify(m, img)),
          macs: await forwardMacs(() => classify(folded, img)),
        };
        img.dispose();
        const file = join(dir, `resnet-${residual}.safetensors`);
        saveSafetensors(m, file, { layout: 'torch', metadata: { 'laurel.spec': JSON.stringify(spec) } });
        request.resnet.files[residual] = file;
      }
    } finally {
      for (const c of resnets) [c.m, c.folded].forEach((m) => m.dispose());
    }
    const gpts = built('gpt');
    try {
      const { prefill, decode } = timeGpts(forms<Gpt>(gpts), cfg);
      paired.gpt_prefill = pairedOverhead(prefill as Forms<number[]>);
      paired.gpt_decode = pairedOverhead(decode as Forms<number[]>);
      for (const [i, { residual, spec, m: trained, folded }] of gpts.entries()) {
        const m = trained as Gpt;
        const [a, b] = [2 * i, 2 * i + 1].map((j) => ({
          prefill: median(prefill[j]),
          decode: median(decode[j]),
        }));
        log(
          `gpt ${residual}: prefill ${a.prefill.toFixed(2)} ms, decode ${a.decode.toFixed(3)} ms/token; folded ${b.prefill.toFixed(2)}, ${b.decode.toFixed(3)}`,
        );
        gptRows.push({
          residual,
          prefill_ms: a.prefill,
          folded_prefill_ms: b.prefill,
          tokens_per_s: 1000 / a.decode,
          folded_tokens_per_s: 1000 / b.decode,
        });
        const macs = await gptMacs(folded as Gpt, cfg);
        const cache = m.newCache();
        let z = lastLogits(m, checkTokens, cache);
        const logits = z;
        const greedy: number[] = [];
        for (let i = 0; i < checkDecode; i++) {
          greedy.push(argmax(z));
          z = lastLogits(m, [greedy[i]], cache);
        }
        cache.dispose();
        ours[`gpt ${residual}`] = { logits, greedy, macs };
        const file = join(dir, `gpt-${residual}.safetensors`);
        saveSafetensors(m, file, { layout: 'torch', metadata: { 'laurel.spec': JSON.stringify(spec) } });
        request.gpt.files[residual] = file;
      }
    } finally {
      for (const c of gpts) [c.m, c.folded].forEach((m) => m.dispose());
    }
    const reqFile = join(dir, 'request.json');
    writeFileSync(reqFile, JSON.stringify(request));
    const torch = opts.skipTorch
      ? { available: false, reason: 'skipped (--skip-torch)' }
      : await runTorchInference(reqFile, log);
    const report = assemble(mode, backend, cfg, resnetRows, gptRows, paired, ours, torch, t0);
    out(opts.json ? `${JSON.stringify(report)}\n` : describe(report));
    return report;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assemble(
  mode: InferenceReport['mode'],
  backend: string,
  cfg: InferenceConfig,
  resnetRows: Omit<ResNetRow, 'torch_ms' | 'torch_setting' | 'ratio' | 'folded_ratio'>[],
  gptRows: Omit<
    GptRow,
    'torch_prefill_ms' | 'torch_tokens_per_s' | 'torch_setting' | 'torch_prefill_setting'
  >[],
  paired: Record<string, ReturnType<typeof pairedOverhead>>,
  ours: Record<string, Record<string, unknown>>,
  torch: TorchSide,
  t0: number,
): InferenceReport {
  const tr = torch.available === true ? torch : null;
  const resnet: ResNetRow[] = resnetRows.map((r) => {
    const t = tr?.resnet?.[r.residual]?.[String(r.batch)] as { ms: number; setting: string } | undefined;
    return {
      ...r,
      torch_ms: t?.ms ?? null,
      torch_setting: t?.setting ?? null,
      ratio: t ? r.ms / t.ms : null,
      folded_ratio: t ? r.folded_ms / t.ms : null,
    };
  });
  const gpt: GptRow[] = gptRows.map((r) => {
    const t = tr?.gpt?.[r.residual];
    return {
      ...r,
      torch_prefill_ms: t?.prefill_ms ?? null,
      torch_tokens_per_s: t?.tokens_per_s ?? null,
      torch_setting: t?.setting ?? null,
      torch_prefill_setting: t?.prefill_setting ?? null,
    };
  });
  const overhead: InferenceReport['laurel_overhead'] = {};
  const macRatio = (model: 'resnet' | 'gpt', pick: (macs: unknown) => number): number | null => {
    const [b, l] = RESIDUALS.map((v) => ours[`${model} ${v}`]?.macs);
    return b && l ? pick(l) / pick(b) : null;
  };
  for (const batch of cfg.resnet.batches) {
    const [b, l] = RESIDUALS.map((v) => resnet.find((r) => r.residual === v && r.batch === batch)!);
    overhead[`resnet20_batch${batch}`] = {
      ...paired[`resnet20_batch${batch}`],
      torch: l.torch_ms && b.torch_ms ? l.torch_ms / b.torch_ms : null,
      macs: macRatio('resnet', (x) => x as number),
    };
  }
  const [gb, gl] = RESIDUALS.map((v) => gpt.find((r) => r.residual === v)!);
  type GptMacs = { prefill: number; decode: number };
  overhead.gpt_prefill = {
    ...paired.gpt_prefill,
    torch: gl.torch_prefill_ms && gb.torch_prefill_ms ? gl.torch_prefill_ms / gb.torch_prefill_ms : null,
    macs: macRatio('gpt', (x) => (x as GptMacs).prefill),
  };
  overhead.gpt_decode = {
    ...paired.gpt_decode,
    torch:
      gl.torch_tokens_per_s && gb.torch_tokens_per_s ? gb.torch_tokens_per_s / gl.torch_tokens_per_s : null,
    macs: macRatio('gpt', (x) => (x as GptMacs).decode),
  };
  const equivalence: Record<string, unknown> = {};
  for (const v of RESIDUALS) {
    const r = ours[`resnet ${v}`];
    const g = ours[`gpt ${v}`];
    const t = tr?.gpt?.[v];
    equivalence[`resnet20 ${v}`] = {
      folded_vs_trained: r.folded,
      torch_vs_ours: tr?.resnet
        ? scaledMaxDiff(tr.resnet[v].check_logits as number[], r.logits as Float32Array)
        : null,
    };
    equivalence[`gpt ${v}`] = {
      torch_vs_ours_cached: t ? scaledMaxDiff(t.check_logits, g.logits as Float32Array) : null,
      torch_cached_vs_full: t ? scaledMaxDiff(t.check_logits, t.check_full_logits) : null,
      greedy_equal: t ? JSON.stringify(t.check_greedy) === JSON.stringify(g.greedy) : null,
    };
  }
  return {
    mode,
    backend,
    threads: getNumThreads(),
    note:
      'ours and PyTorch run one after the other on the same weights; on a machine loaded by other jobs the ' +
      'absolute numbers and the ratios move between runs',
    resnet,
    gpt,
    laurel_overhead: overhead,
    equivalence: tr ? equivalence : null,
    torch: tr ? { available: true, version: tr.torch_version } : { available: false, reason: torch.reason },
    elapsed_s: (performance.now() - t0) / 1000,
  };
}

const f = (x: number | null, d = 2) => (x === null ? 'n/a' : x.toFixed(d));

function describe(r: InferenceReport): string {
  const lines = [`Inference (${r.mode}, backend ${r.backend}, ${r.threads} threads); ${r.note}`, ''];
  lines.push('ResNet-20        batch   ours ms  folded ms  PyTorch ms  ours/PT  folded/PT');
  for (const x of r.resnet)
    lines.push(
      `  ${x.residual.padEnd(14)} ${String(x.batch).padStart(5)} ${f(x.ms).padStart(9)} ${f(x.folded_ms).padStart(10)} ${f(x.torch_ms).padStart(11)} ${f(x.ratio).padStart(8)} ${f(x.folded_ratio).padStart(10)}`,
    );
  lines.push('', 'GPT              prefill ms (ours / folded / PT)   decode tokens/s (ours / folded / PT)');
  for (const x of r.gpt)
    lines.push(
      `  ${x.residual.padEnd(14)} ${f(x.prefill_ms)} / ${f(x.folded_prefill_ms)} / ${f(x.torch_prefill_ms)}    ${f(x.tokens_per_s, 1)} / ${f(x.folded_tokens_per_s, 1)} / ${f(x.torch_tokens_per_s, 1)}`,
    );
  lines.push(
    '',
    'LAUREL (rw+lr) over the plain model, median of paired rounds [95 % interval]:',
    '                      rounds  unfolded               folded                 PyTorch  MACs (floor)',
  );
  const withCi = (m: number, ci: [number, number] | null) =>
    `${f(m, 3)} ${ci ? `[${f(ci[0], 3)}, ${f(ci[1], 3)}]` : '[n/a]'}`.padEnd(22);
  for (const [k, v] of Object.entries(r.laurel_overhead))
    lines.push(
      `  ${k.padEnd(18)} ${String(v.rounds).padStart(7)}  ${withCi(v.unfolded, v.unfolded_ci)} ${withCi(v.folded, v.folded_ci)} ${f(v.torch, 3).padStart(8)} ${f(v.macs, 3).padStart(13)}`,
    );
  if (!r.torch.available) lines.push('', `PyTorch: not measured (${r.torch.reason})`);
  else lines.push('', `Equivalence: ${JSON.stringify(r.equivalence)}`);
  return `${lines.join('\n')}\n`;
}
