// Training-step benchmark of the `laurel bench` models: our stack (buildModel + src/train's optimizers, one
// step as src/train/loop.ts runs it) and the same models in plain PyTorch (bench/torch/step.py, subprocess).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { convFilterGradMode } from '../src/engine/index.ts';
import { residualConfig } from '../src/laurel/index.ts';
import { type Model, type ModelSpec, buildModel } from '../src/models/index.ts';
import { crossEntropy } from '../src/nn/loss.ts';
import { AdamW, type NamedTensors, type Optimizer, Sgd, isDecayed } from '../src/train/optim/index.ts';
import { Rng } from '../src/util/rng.ts';

/** The two benchmark model families. */
export type BenchModelName = 'resnet' | 'gpt';
/** The residuals every model is run with. */
export type BenchResidual = 'baseline' | 'rw+lr';

export interface ResNetBenchConfig {
  /** A CIFAR-style ResNet (src/models/resnet.ts). */
  arch: 'resnet20' | 'resnet32' | 'resnet44' | 'resnet56';
  batch: number;
  /** Square input side (28: Fashion-MNIST). */
  image: number;
  channels: number;
  classes: number;
  /** SGD: lr, momentum, L2 weight decay (kernels only). */
  lr: number;
  momentum: number;
  weightDecay: number;
}

export interface GptBenchConfig {
  layers: number;
  dim: number;
  heads: number;
  mlpRatio: number;
  /** Context = sequence length T of the benchmark batch. */
  context: number;
  vocab: number;
  batch: number;
  /** AdamW: lr, decoupled weight decay (kernels and embeddings only). */
  lr: number;
  weightDecay: number;
}

/**
 * One benchmark configuration, shared verbatim with bench/torch/step.py (passed as `--config` JSON), so both
 * sides build the same models from the same numbers.
 */
export interface BenchConfig {
  resnet: ResNetBenchConfig;
  gpt: GptBenchConfig;
  models: BenchModelName[];
  residuals: BenchResidual[];
  /** LAUREL rank per model; null: our default rule min(16, D − 1) per layer (src/laurel resolveRank). ResNet
   * blocks cap a rank ≥ their width D at D − 1 (src/models/resnet.ts blockResidual). */
  rank: { resnet: number | null; gpt: number | null };
  /** Untimed steps first, then the median of `steps` timed steps. */
  warmup: number;
  steps: number;
  /** torch.set_num_threads values to try; torch_ms is the fastest setting. */
  threads: number[];
  /** PyTorch memory formats tried for the ResNet ('contiguous' = NCHW, 'channels_last'); ignored by our side. */
  torchMemoryFormats: ('contiguous' | 'channels_last')[];
}

/**
 * The issue #3 benchmark: ResNet-20 (option B, 28×28×1, 10 classes) at batch 128 with SGD(0.9, wd 5e-4), and a
 * GPT (4 layers, D = 256, 4 heads, T = 128, byte vocabulary 256, learned positions, tied head) at batch 16 with
 * AdamW; each with a plain residual and RW+LR at rank 16 (capped at D − 1 = 15 in ResNet-20's 16-channel
 * stage).
 */
export const FULL_CONFIG: BenchConfig = {
  resnet: {
    arch: 'resnet20',
    batch: 128,
    image: 28,
    channels: 1,
    classes: 10,
    lr: 0.1,
    momentum: 0.9,
    weightDecay: 5e-4,
  },
  gpt: {
    layers: 4,
    dim: 256,
    heads: 4,
    mlpRatio: 4,
    context: 128,
    vocab: 256,
    batch: 16,
    lr: 3e-4,
    weightDecay: 0.01,
  },
  models: ['resnet', 'gpt'],
  residuals: ['baseline', 'rw+lr'],
  rank: { resnet: 16, gpt: 16 },
  warmup: 3,
  steps: 10,
  threads: [1, 2],
  torchMemoryFormats: ['contiguous', 'channels_last'],
};

/** `--quick`: the same models, fewer steps (one warmup, median of 3). */
export const QUICK_CONFIG: BenchConfig = { ...FULL_CONFIG, warmup: 1, steps: 3 };

/** Tiny models, one step: for tests of the plumbing (no meaningful timing). */
export const DRY_CONFIG: BenchConfig = {
  resnet: { ...FULL_CONFIG.resnet, batch: 4, image: 8 },
  gpt: { ...FULL_CONFIG.gpt, layers: 1, dim: 32, heads: 2, context: 8, vocab: 16, batch: 2 },
  models: ['resnet', 'gpt'],
  residuals: ['baseline', 'rw+lr'],
  rank: { resnet: 16, gpt: 4 },
  warmup: 1,
  steps: 1,
  threads: [1],
  torchMemoryFormats: ['contiguous'],
};

/** The ModelSpec for buildModel of one benchmark case. */
export function benchSpec(cfg: BenchConfig, model: BenchModelName, residual: BenchResidual): ModelSpec {
  const rank = cfg.rank[model];
  const res = residual === 'baseline' ? 'baseline' : residualConfig('rw+lr', rank === null ? {} : { rank });
  if (model === 'resnet') {
    const c = cfg.resnet;
    return { model: c.arch, residual: res, inChannels: c.channels, numClasses: c.classes };
  }
  const g = cfg.gpt;
  return {
    model: 'gpt',
    residual: res,
    layers: g.layers,
    dim: g.dim,
    heads: g.heads,
    mlpRatio: g.mlpRatio,
    context: g.context,
    vocab: g.vocab,
    positions: 'learned',
    tieEmbeddings: true,
    bias: true,
    placement: 'block',
  };
}

/** A readable description of a case (goes into the report). */
export function benchDescription(cfg: BenchConfig, model: BenchModelName): string {
  if (model === 'resnet') {
    const c = cfg.resnet;
    return `${c.arch} (option B) on ${c.image}x${c.image}x${c.channels}, batch ${c.batch}, SGD momentum ${c.momentum} wd ${c.weightDecay}`;
  }
  const g = cfg.gpt;
  return `gpt ${g.layers} layers, d=${g.dim}, ${g.heads} heads, T=${g.context}, vocab ${g.vocab}, batch ${g.batch}, AdamW wd ${g.weightDecay}`;
}

/** [our parameter name, size, weight-decayed] for every parameter, in registration order. */
export type Structure = [string, number, boolean][];

/** One built case: model, optimizer, a fixed batch, and the loss. The caller disposes it. */
export interface BenchCase {
  model: Model;
  optimizer: Optimizer;
  lr: number;
  inputs: tf.Tensor;
  targets: tf.Tensor;
  loss: () => tf.Scalar;
  dispose(): void;
}

/** Builds a case: buildModel(benchSpec), the optimizer src/train would use, a seeded random batch. */
export function buildCase(
  cfg: BenchConfig,
  name: BenchModelName,
  residual: BenchResidual,
  seed = 0,
): BenchCase {
  // Conv2d's kernel gradient through Conv2DBackpropFilter where that kernel is native (as laurel train).
  const model = buildModel(benchSpec(cfg, name, residual), {
    convFilterGrad: convFilterGradMode(tf.getBackend()),
  });
  const params = model.namedParameters();
  const rng = new Rng(seed);
  let inputs: tf.Tensor;
  let targets: tf.Tensor;
  let optimizer: Optimizer;
  let lr: number;
  if (name === 'resnet') {
    const c = cfg.resnet;
    const x = new Float32Array(c.batch * c.image * c.image * c.channels);
    for (let i = 0; i < x.length; i++) x[i] = rng.normal();
    const y = Int32Array.from({ length: c.batch }, () => rng.int(c.classes));
    inputs = tf.tensor4d(x, [c.batch, c.image, c.image, c.channels]);
    targets = tf.tensor1d(y, 'int32');
    optimizer = new Sgd(params, { momentum: c.momentum, weightDecay: c.weightDecay });
    lr = c.lr;
  } else {
    const g = cfg.gpt;
    const tok = Int32Array.from({ length: g.batch * (g.context + 1) }, () => rng.int(g.vocab));
    const x = new Int32Array(g.batch * g.context);
    const y = new Int32Array(g.batch * g.context);
    for (let b = 0; b < g.batch; b++) {
      x.set(tok.subarray(b * (g.context + 1), b * (g.context + 1) + g.context), b * g.context);
      y.set(tok.subarray(b * (g.context + 1) + 1, (b + 1) * (g.context + 1)), b * g.context);
    }
    inputs = tf.tensor2d(x, [g.batch, g.context], 'int32');
    targets = tf.tensor2d(y, [g.batch, g.context], 'int32');
    optimizer = new AdamW(params, { weightDecay: g.weightDecay });
    lr = g.lr;
  }
  model.setTraining(true);
  // What ClassificationTask.loss and LanguageTask.loss compute.
  const loss = () =>
    crossEntropy((model.forward as (x: tf.Tensor) => tf.Tensor)(inputs), targets) as tf.Scalar;
  return {
    model,
    optimizer,
    lr,
    inputs,
    targets,
    loss,
    dispose() {
      optimizer.dispose();
      model.dispose();
      tf.dispose([inputs, targets]);
    },
  };
}

/**
 * One training step exactly as src/train/loop.ts runs it (no clipping): variableGrads of the loss, read the
 * loss, map gradients to our parameter names, optimizer.step, dispose. Returns the loss.
 */
export function makeTrainStep(c: BenchCase): () => number {
  const params = c.model.namedParameters();
  const byVarName = new Map(params.map((p) => [p.variable.name, p.name]));
  const varList = params.map((p) => p.variable);
  return () => {
    const { value, grads } = tf.variableGrads(c.loss, varList);
    const loss = value.dataSync()[0];
    value.dispose();
    const named: NamedTensors = {};
    for (const [vname, g] of Object.entries(grads)) {
      const pname = byVarName.get(vname);
      if (pname !== undefined && g) named[pname] = g;
    }
    c.optimizer.step(named, c.lr);
    tf.dispose(grads);
    return loss;
  };
}

export function structureOf(model: Model): Structure {
  return model.namedParameters().map((p) => [p.name, p.variable.size, isDecayed(p.kind)]);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Our side of one case. */
export interface OurResult {
  model: BenchModelName;
  residual: BenchResidual;
  params: number;
  /** Median ms per training step on the backend in use (the report calls it native_ms whatever it is). */
  ms: number;
  stepsMs: number[];
  loss: number;
  /** Tensors alive after the last timed step minus after the first step (0: no leak). */
  leakedTensors: number;
  structure: Structure;
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/** Times every case of `cfg` in our stack on the current tfjs backend. */
export async function benchOurs(cfg: BenchConfig, log: (m: string) => void = () => {}): Promise<OurResult[]> {
  const out: OurResult[] = [];
  for (const name of cfg.models) {
    for (const residual of cfg.residuals) {
      const c = buildCase(cfg, name, residual);
      try {
        const step = makeTrainStep(c);
        for (let i = 0; i < cfg.warmup; i++) step();
        // Tensors alive once a step has run (optimizer slots exist from the first step on).
        let before = cfg.warmup > 0 ? tf.memory().numTensors : -1;
        const times: number[] = [];
        let loss = Number.NaN;
        for (let i = 0; i < cfg.steps; i++) {
          await yieldToLoop();
          const t0 = performance.now();
          loss = step();
          times.push(performance.now() - t0);
          if (before < 0) before = tf.memory().numTensors;
        }
        const ms = median(times);
        log(
          `${name} ${residual}: median ${ms.toFixed(1)} ms over ${times.length} steps (${tf.getBackend()})`,
        );
        out.push({
          model: name,
          residual,
          params: c.model.parameterCount(),
          ms,
          stepsMs: times,
          loss,
          leakedTensors: tf.memory().numTensors - before,
          structure: structureOf(c.model),
        });
      } finally {
        c.dispose();
      }
    }
  }
  return out;
}

/** One case of the PyTorch side (bench/torch/step.py's `results`). */
export interface TorchResult {
  model: BenchModelName;
  residual: BenchResidual;
  params: number;
  structure: Structure;
  loss: number;
  /** Absent in dry mode. */
  torch_ms?: number;
  torch_threads?: number;
  /** The fastest setting, e.g. 'threads=1,channels_last'. */
  torch_setting?: string;
  /** Best over memory formats, per thread count. */
  ms_by_threads?: Record<string, number>;
  ms_by_setting?: Record<string, number>;
  /** Settings given up on (a step took > 3× the best setting so far); their ms_by_setting is partial. */
  abandoned?: string[];
  /** Interleaved mode: PyTorch's timed steps. */
  steps_ms?: number[];
}

export type TorchRun =
  | { available: true; torch_version: string; python: string; results: TorchResult[] }
  | { available: false; reason: string };

export const TORCH_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch', 'step.py');

/** The interpreter with Debian's python3-torch: $LAUREL_TORCH_PYTHON, else /usr/bin/python3. */
export function torchPython(): string {
  return process.env.LAUREL_TORCH_PYTHON ?? '/usr/bin/python3';
}

/** Runs step.py with `args`; resolves with its parsed stdout JSON, or rejects with a one-line reason. */
function runScript(args: string[], log: (m: string) => void, timeoutMs: number): Promise<unknown> {
  const python = torchPython();
  return new Promise((resolve, reject) => {
    const child = spawn(python, [TORCH_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${python} ${TORCH_SCRIPT} timed out after ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      const s = d.toString();
      stderr += s;
      for (const line of s.split('\n')) if (line.startsWith('[torch]')) log(line);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${python}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        const tail = stderr.trim().split('\n').slice(-1)[0] ?? '';
        reject(new Error(`${python} ${TORCH_SCRIPT} exited with code ${code}: ${tail}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`${python} ${TORCH_SCRIPT} printed no JSON object`));
      }
    });
  });
}

/**
 * The PyTorch side: step.py with `cfg` (timed, or `dry`: build every model, one step at batch 2). Never
 * throws: when python or torch is missing, or the script fails, the result says why.
 */
export async function runTorch(
  cfg: BenchConfig,
  opts: { dry?: boolean; log?: (m: string) => void; timeoutMs?: number } = {},
): Promise<TorchRun> {
  const args = ['--config', JSON.stringify(cfg), ...(opts.dry ? ['--dry'] : [])];
  try {
    const r = (await runScript(args, opts.log ?? (() => {}), opts.timeoutMs ?? 20 * 60_000)) as TorchRun;
    if (r.available !== true && r.available !== false) return { available: false, reason: 'bad output' };
    return r;
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
}

/** null when both sides have the same parameters (names, sizes, decay) in the same order, else the first difference. */
export function compareStructure(ours: Structure, theirs: Structure): string | null {
  const n = Math.max(ours.length, theirs.length);
  for (let i = 0; i < n; i++) {
    const a = ours[i];
    const b = theirs[i];
    if (!a || !b || a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2]) {
      return `parameter ${i}: ours ${a ? JSON.stringify(a) : 'none'}, torch ${b ? JSON.stringify(b) : 'none'}`;
    }
  }
  return null;
}

/** Our loss and gradient norms against step.py's on the same weights and batch (see checkAgainstTorch). */
export interface CheckResult {
  model: BenchModelName;
  residual: BenchResidual;
  loss: number;
  torchLoss: number;
  /** max over parameters of |‖g‖ − ‖g_torch‖| / max(‖g_torch‖, 1e-6). */
  maxGradNormRelErr: number;
  worstParam: string;
}

/**
 * Numerical equivalence of the two definitions on `cfg` (use a small one, e.g. DRY_CONFIG: the weights travel
 * as JSON): builds our model, sets every LAUREL parameter to random values (at init U = 0 would hide the
 * low-rank path), computes the loss and gradients of one batch, and has step.py --check load the same
 * weights (HWIO → OIHW, [in, out] → [out, in]) and batch and compute its own.
 */
export async function checkAgainstTorch(
  cfg: BenchConfig,
  name: BenchModelName,
  residual: BenchResidual,
): Promise<CheckResult> {
  const c = buildCase(cfg, name, residual, 1);
  const dir = mkdtempSync(join(tmpdir(), 'laurel-bench-check-'));
  try {
    const rng = new Rng(7);
    const params = c.model.namedParameters();
    for (const p of params) {
      if (p.kind !== 'laurel') continue;
      const v = new Float32Array(p.variable.size);
      for (let i = 0; i < v.length; i++) v[i] = 0.2 * rng.normal();
      p.variable.assign(tf.tensor(v, p.variable.shape));
    }
    const data = (t: tf.Tensor) => ({ shape: t.shape, data: Array.from(t.dataSync()) });
    const spec = {
      model: name,
      residual,
      params: Object.fromEntries(params.map((p) => [p.name, data(p.variable)])),
      inputs: data(c.inputs),
      targets: data(c.targets),
    };
    const file = join(dir, 'check.json');
    writeFileSync(file, JSON.stringify(spec));
    const { value, grads } = tf.variableGrads(
      c.loss,
      params.map((p) => p.variable),
    );
    const loss = value.dataSync()[0];
    const norms = new Map<string, number>();
    for (const p of params) {
      const g = grads[p.variable.name];
      norms.set(p.name, g ? tf.tidy(() => tf.norm(g).dataSync()[0]) : 0);
    }
    tf.dispose([value, ...Object.values(grads)]);
    const r = (await runScript(['--config', JSON.stringify(cfg), '--check', file], () => {}, 120_000)) as {
      available: boolean;
      reason?: string;
      loss: number;
      grad_norms: Record<string, number>;
    };
    if (!r.available) throw new Error(`torch unavailable: ${r.reason}`);
    let worst = 0;
    let worstParam = '';
    for (const [pname, ours] of norms) {
      const theirs = r.grad_norms[pname];
      if (theirs === undefined) throw new Error(`check: torch has no parameter ${pname}`);
      const err = Math.abs(ours - theirs) / Math.max(theirs, 1e-6);
      if (err > worst) {
        worst = err;
        worstParam = pname;
      }
    }
    return { model: name, residual, loss, torchLoss: r.loss, maxGradNormRelErr: worst, worstParam };
  } finally {
    c.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A PyTorch script in request/reply mode (step.py --serve, infer.py --serve): one JSON request per stdin line,
 * one JSON reply per stdout line; its first line says whether torch imported.
 */
export class TorchServer {
  private buffer = '';
  private waiting: ((line: string) => void)[] = [];
  private lines: string[] = [];
  private exited: string | null = null;

  private constructor(private readonly child: ReturnType<typeof spawn>) {
    child.stdout?.on('data', (d: Buffer) => {
      this.buffer += d.toString();
      let i = this.buffer.indexOf('\n');
      while (i >= 0) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        const w = this.waiting.shift();
        if (w) w(line);
        else this.lines.push(line);
        i = this.buffer.indexOf('\n');
      }
    });
  }

  /** Starts the server; resolves when it has imported torch, or with the reason it could not. */
  static async start(
    script: string,
    args: string[],
    log: (m: string) => void = () => {},
    env: Record<string, string> = {},
  ): Promise<{ server: TorchServer; version: string; python: string } | { reason: string }> {
    const python = torchPython();
    const child = spawn(python, [script, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    const server = new TorchServer(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      const s = d.toString();
      stderr += s;
      for (const line of s.split('\n')) if (line.startsWith('[torch]')) log(line);
    });
    const failed = new Promise<string>((resolve) => {
      child.on('error', (e) => resolve(`cannot run ${python}: ${e.message}`));
      child.on('close', (code) => {
        const tail = stderr.trim().split('\n').slice(-1)[0] ?? '';
        resolve(`${python} ${script} exited with code ${code}${tail ? `: ${tail}` : ''}`);
      });
    });
    failed.then((why) => {
      server.exited = why;
      for (const w of server.waiting.splice(0)) w('');
    });
    const hello = await Promise.race([server.nextLine(), failed]);
    try {
      const h = JSON.parse(hello) as { available: boolean; reason?: string; torch_version?: string };
      if (!h.available) {
        server.close();
        return { reason: h.reason ?? 'torch unavailable' };
      }
      return { server, version: h.torch_version ?? '?', python };
    } catch {
      server.close();
      return { reason: server.exited ?? hello };
    }
  }

  private nextLine(): Promise<string> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.exited !== null) return Promise.resolve('');
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Sends one request and returns its reply; throws with the server's error or exit reason. */
  async request<T>(req: Record<string, unknown>): Promise<T> {
    if (this.exited !== null) throw new Error(this.exited);
    this.child.stdin?.write(`${JSON.stringify(req)}\n`);
    const line = await this.nextLine();
    if (line === '') throw new Error(this.exited ?? 'PyTorch server closed');
    const r = JSON.parse(line) as T & { error?: string };
    if (r.error) throw new Error(`PyTorch: ${r.error}`);
    return r;
  }

  close(): void {
    this.child.stdin?.end();
  }
}

/**
 * Our steps and PyTorch's, interleaved: per model family, PyTorch first searches its best setting for each
 * residual (as runTorch does), then warmup and timed rounds go round-robin over (ours, PyTorch) × residuals, so
 * that every ratio (ours/PyTorch, rw+lr/plain) compares steps taken under the same machine load. native_ms
 * and torch_ms are the medians of the timed rounds; the search's per-setting medians are kept in
 * ms_by_setting. Without torch, only our side is timed (same rounds) and the TorchRun says why.
 */
export async function benchPaired(
  cfg: BenchConfig,
  log: (m: string) => void = () => {},
): Promise<{ ours: OurResult[]; torch: TorchRun }> {
  const started = await TorchServer.start(TORCH_SCRIPT, ['--serve', '--config', JSON.stringify(cfg)], log);
  const server = 'server' in started ? started.server : null;
  let torchReason = 'reason' in started ? started.reason : '';
  const ours: OurResult[] = [];
  const theirs: TorchResult[] = [];
  try {
    for (const name of cfg.models) {
      const entries = new Map<BenchResidual, TorchResult>();
      if (server && !torchReason) {
        try {
          for (const residual of cfg.residuals) {
            entries.set(residual, await server.request<TorchResult>({ cmd: 'setup', model: name, residual }));
          }
        } catch (e) {
          torchReason = (e as Error).message;
        }
      }
      let useTorch = server !== null && !torchReason;
      const cases = cfg.residuals.map((residual) => ({ residual, c: buildCase(cfg, name, residual) }));
      try {
        const steps = cases.map(({ c }) => makeTrainStep(c));
        const oursMs: number[][] = cases.map(() => []);
        const torchMs: number[][] = cases.map(() => []);
        const losses = cases.map(() => Number.NaN);
        const round = async (timed: boolean) => {
          for (let i = 0; i < cases.length; i++) {
            await yieldToLoop();
            const t0 = performance.now();
            losses[i] = steps[i]();
            const ms = performance.now() - t0;
            if (timed) oursMs[i].push(ms);
            if (useTorch && server) {
              try {
                const r = await server.request<{ ms: number[] }>({
                  cmd: 'step',
                  model: name,
                  residual: cases[i].residual,
                  n: 1,
                });
                if (timed) torchMs[i].push(r.ms[0]);
              } catch (e) {
                torchReason = (e as Error).message;
                useTorch = false;
              }
            }
          }
        };
        for (let w = 0; w < Math.max(1, cfg.warmup); w++) await round(false);
        const before = tf.memory().numTensors;
        for (let s = 0; s < cfg.steps; s++) await round(true);
        const leaked = tf.memory().numTensors - before;
        cases.forEach(({ residual, c }, i) => {
          const ms = median(oursMs[i]);
          const e = entries.get(residual);
          const tms = useTorch ? median(torchMs[i]) : undefined;
          log(
            `${name} ${residual}: ours ${ms.toFixed(1)} ms${tms === undefined ? '' : `, PyTorch ${tms.toFixed(1)} ms (${e?.torch_setting})`} (median of ${cfg.steps} interleaved steps, ${tf.getBackend()})`,
          );
          ours.push({
            model: name,
            residual,
            params: c.model.parameterCount(),
            ms,
            stepsMs: oursMs[i],
            loss: losses[i],
            leakedTensors: leaked,
            structure: structureOf(c.model),
          });
          if (e && tms !== undefined) theirs.push({ ...e, torch_ms: tms, steps_ms: torchMs[i] });
        });
      } finally {
        for (const { c } of cases) c.dispose();
        if (server && !torchReason) {
          for (const residual of cfg.residuals) {
            await server.request({ cmd: 'free', model: name, residual }).catch(() => {});
          }
        }
      }
    }
  } finally {
    server?.close();
  }
  const torch: TorchRun =
    'server' in started && !torchReason
      ? { available: true, torch_version: started.version, python: started.python, results: theirs }
      : { available: false, reason: torchReason };
  return { ours, torch };
}
