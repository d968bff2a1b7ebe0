// `laurel bench --inference [--quick] [--json]`: inference latency on the same weights, ours against PyTorch
// (bench/torch/infer.py on python/laurel_torch.py's models), and LAUREL's inference overhead against the plain
// model with and without folding (src/models/fold.ts):
//   ResNet-20 (28×28×1, 10 classes): one forward at batch 1 and at batch 128;
//   GPT (the training bench's: 4 layers, D 256, 4 heads, context 128, bytes): a 128-token prefill that fills the
//   key/value cache, and tokens/s of greedy decoding at batch 1 through the cache.
// Each for a plain residual and RW+LR (rank 16), both trained-looking (LAUREL and batch norms moved off their init
// with a fixed seed), exported once as safetensors for PyTorch. PyTorch first searches its fastest setting per case
// (threads, memory format) and checks its logits against ours; then ours and PyTorch alternate by block (see
// Rounds): our four forms of a case (plain and RW+LR, trained and folded) in turns, then PyTorch's two (bench/torch/
// infer.py --serve answers a block per request), each call timed by its own side. Every ratio is a median of
// paired ratios with its distribution-free 95 % interval (bench/timing.ts medianCi): ours / PyTorch pairs the
// blocks' medians, RW+LR / plain pairs our calls round by round, so the VM's slow and fast phases fall on both
// sides of each ratio alike.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import {
  type BackendName,
  addonLoaded,
  getNumThreads,
  initBackend,
  setNumThreads,
} from '../src/engine/index.ts';
import { type FoldedModel, foldModel, scaledMaxDiff } from '../src/models/fold.ts';
import { lastLogits } from '../src/models/generate.ts';
import type { Gpt } from '../src/models/gpt.ts';
import { type Model, buildModel } from '../src/models/index.ts';
import { saveSafetensors } from '../src/models/safetensors-file.ts';
import { Rng } from '../src/util/rng.ts';
import { forwardMacs } from './macs.ts';
import { type BenchConfig, DRY_CONFIG, FULL_CONFIG, TorchServer, benchSpec, median } from './models.ts';
import { medianCi, pairedRatios } from './timing.ts';

type Residual = 'baseline' | 'rw+lr';
const RESIDUALS: Residual[] = ['baseline', 'rw+lr'];

export interface InferenceConfig {
  /** The models and LAUREL ranks: the training benchmark's (bench/models.ts benchSpec). */
  models: BenchConfig;
  resnet: { batches: number[]; reps: Record<string, number> };
  gpt: {
    /** Tokens of the timed prefill. */
    prefill: number;
    /** Prompt before the timed decoding, and tokens decoded per block; PyTorch's search decodes decodeRounds × decode. */
    prompt: number;
    decode: number;
    decodeRounds: number;
    reps: number;
  };
  /** Untimed calls (rounds, on our side) at the start of each block, and every search setting's warmup calls. */
  warmup: number;
  /** Blocks per case: ours and PyTorch alternate by block (see Rounds); ratios to PyTorch pair them. */
  blocks: number;
  /** torch.set_num_threads values PyTorch tries (its fastest counts). */
  torchThreads: number[];
}

export const INFERENCE_FULL: InferenceConfig = {
  models: FULL_CONFIG,
  resnet: { batches: [1, 128], reps: { '1': 10, '128': 3 } },
  gpt: {
    prefill: 128,
    prompt: 32,
    decode: 24,
    decodeRounds: 3,
    reps: 6,
  },
  warmup: 3,
  blocks: 12,
  torchThreads: [1, 2],
};

export const INFERENCE_QUICK: InferenceConfig = {
  ...INFERENCE_FULL,
  resnet: { ...INFERENCE_FULL.resnet, reps: { '1': 5, '128': 1 } },
  gpt: { ...INFERENCE_FULL.gpt, decode: 8, decodeRounds: 1, reps: 2 },
  warmup: 1,
  blocks: 3,
};

/** Tiny models, one call each: for tests of the plumbing. */
export const INFERENCE_DRY: InferenceConfig = {
  models: DRY_CONFIG,
  resnet: { batches: [1, 2], reps: { '1': 1, '2': 1 } },
  gpt: { prefill: 8, prompt: 3, decode: 3, decodeRounds: 1, reps: 1 },
  warmup: 0,
  blocks: 1,
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

/** ours / PyTorch or RW+LR / plain: the median of paired ratios (of blocks' medians, or of one round's calls). */
export interface Paired {
  median: number;
  /** Its distribution-free 95 % interval (bench/timing.ts medianCi); null with fewer than 6 pairs. */
  ci: [number, number] | null;
}

export interface ResNetRow {
  residual: Residual;
  batch: number;
  /** Median ms per forward over the timed rounds: the trained form, the folded form, PyTorch (trained, no_grad). */
  ms: number;
  folded_ms: number;
  torch_ms: number | null;
  /** PyTorch's fastest setting (its search), at which its timed calls ran. */
  torch_setting: string | null;
  /** ours / PyTorch, trained and folded (null without PyTorch). */
  vs_torch: Paired | null;
  folded_vs_torch: Paired | null;
}

export interface GptRow {
  residual: Residual;
  /** Median ms of a `prefill`-token prefill. */
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
  /** ours / PyTorch: prefill time, and decoding time per token (the inverse of the tokens/s ratio). */
  prefill_vs_torch: Paired | null;
  folded_prefill_vs_torch: Paired | null;
  decode_vs_torch: Paired | null;
  folded_decode_vs_torch: Paired | null;
}

/** RW+LR / plain on one case (for decoding, of ms per token). */
export interface OverheadRow {
  unfolded: Paired;
  folded: Paired;
  torch: Paired | null;
  /** The folded forms' multiply-adds (bench/macs.ts): the floor of the overhead, the low-rank term's work. */
  macs: number | null;
  /** Timed rounds (each holds one call of every form). */
  rounds: number;
}

export interface InferenceReport {
  mode: 'full' | 'quick' | 'dry';
  backend: string;
  threads: number;
  note: string;
  resnet: ResNetRow[];
  gpt: GptRow[];
  /** Per case: resnet20_batch{b}, gpt_prefill, gpt_decode. */
  laurel_overhead: Record<string, OverheadRow>;
  /** Both sides' logits on the same input and weights: max |Δ| / max |y|; GPT: greedy continuations equal. */
  equivalence: Record<string, unknown> | null;
  torch: { available: boolean; version?: string; reason?: string };
  elapsed_s: number;
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

/** One classifier forward, waited for (the logits read back). */
function classify(m: Model | FoldedModel, x: tf.Tensor4D): Float32Array {
  const y = (m as { forward: (x: tf.Tensor4D) => tf.Tensor }).forward(x);
  const v = y.dataSync() as Float32Array;
  y.dispose();
  return v;
}

const argmax = (z: ArrayLike<number>) => {
  let b = 0;
  for (let i = 1; i < z.length; i++) if (z[i] > z[b]) b = i;
  return b;
};

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

/** The four forms of a case, in this order: plain, plain folded, RW+LR, RW+LR folded. */
type Forms<T> = [T, T, T, T];

/**
 * A case's timings. Ours and PyTorch alternate by block: our four forms in turns (`warmup` untimed rounds, then
 * `n` timed ones), then each PyTorch model (`warmup` untimed calls, then `n` timed, one request each). Alternating
 * call by call instead let the side that had just run disturb the other's next call (its threads leaving the
 * cores, its data in the caches: up to 4× on a decoding step); within a block each side runs alone and its
 * warmup calls absorb the switch, while the blocks spread the machine's slow and fast phases over both.
 */
interface Rounds {
  /** Our timed calls, [form][call]: call i of every form ran in the same round. */
  ours: number[][];
  /** Per block, the median of each of our forms' timed calls ([form][block]) and of PyTorch's ([residual][block]). */
  oursBlocks: number[][];
  torch: number[][] | null;
}

/**
 * `blocks` blocks (see Rounds). `start`, when given, runs untimed before each block (decoding: fresh caches and
 * the prompt). `torch[i](warmup, n)` runs PyTorch's model of RESIDUALS[i] and returns its n timed ms.
 */
async function timeBlocks(
  blocks: number,
  warmup: number,
  n: number,
  ours: (() => void)[],
  torch: ((warmup: number, n: number) => Promise<number[]>)[] | null,
  start?: () => void,
): Promise<Rounds> {
  const empty = (k: number) => Array.from({ length: k }, () => [] as number[]);
  const r: Rounds = {
    ours: empty(ours.length),
    oursBlocks: empty(ours.length),
    torch: torch ? empty(torch.length) : null,
  };
  for (let b = 0; b < blocks; b++) {
    start?.();
    const block = empty(ours.length);
    for (let i = 0; i < warmup + n; i++)
      for (const [j, fn] of ours.entries()) {
        const t0 = performance.now();
        fn();
        if (i >= warmup) block[j].push(performance.now() - t0);
      }
    block.forEach((times, j) => {
      r.ours[j].push(...times);
      r.oursBlocks[j].push(median(times));
    });
    if (torch) for (const [i, run] of torch.entries()) r.torch![i].push(median(await run(warmup, n)));
  }
  return r;
}

function paired(a: number[], b: number[]): Paired {
  const c = medianCi(pairedRatios(a, b));
  return { median: c.median, ci: c.low === null || c.high === null ? null : [c.low, c.high] };
}

/** RW+LR over plain from a case's timings (Forms order on our side): ours call by call, PyTorch's by block. */
function overheadOf(r: Rounds, macs: number | null): OverheadRow {
  return {
    unfolded: paired(r.ours[2], r.ours[0]),
    folded: paired(r.ours[3], r.ours[1]),
    torch: r.torch ? paired(r.torch[1], r.torch[0]) : null,
    macs,
    rounds: r.ours[0].length,
  };
}

/** Our form j (Forms order) against PyTorch's model of the same residual, block by block; null without PyTorch. */
function vsTorch(r: Rounds, j: number): Paired | null {
  return r.torch ? paired(r.oursBlocks[j], r.torch[j >> 1]) : null;
}

/** PyTorch's side of timeBlocks: one block of `call` (infer.py's "block" request), after `before` when given. */
function torchBlocks(
  server: TorchServer | null,
  call: (residual: Residual) => Record<string, unknown>,
  before?: (residual: Residual) => Record<string, unknown>,
): ((warmup: number, n: number) => Promise<number[]>)[] | null {
  if (!server) return null;
  return RESIDUALS.map((residual) => async (warmup, n) => {
    if (before) await server.request(before(residual));
    return (await server.request<{ ms: number[] }>({ cmd: 'block', call: call(residual), warmup, n })).ms;
  });
}

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'torch', 'infer.py');

/**
 * Ours and PyTorch alternate on the same cores. By default both keep their worker threads spinning after a call
 * (measured: our process spent 113 ms of CPU in the 300 ms after a 2-thread OpenBLAS call, PyTorch 8–35 ms), which
 * costs nothing alone but here takes a core from the other side's next block. So in this bench both sides' pools
 * sleep as soon as a call ends (then 6 and 0.1 ms); each side pays its own thread wake-ups, the same on both.
 */
const IDLE_POOLS = { OMP_WAIT_POLICY: 'PASSIVE', OPENBLAS_THREAD_TIMEOUT: '4' };

/** What infer.py's search reports (its "report" reply; see its docstring). */
interface TorchSearch {
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

/** Our models of one family: both residuals, trained-looking and folded, with the spec each was built from. */
interface Built {
  residual: Residual;
  spec: ReturnType<typeof benchSpec>;
  m: Model;
  folded: FoldedModel;
}

export async function runInferenceBench(opts: InferenceOptions = {}): Promise<InferenceReport> {
  const t0 = performance.now();
  const log = opts.log ?? ((m: string) => process.stderr.write(`bench: ${m}\n`));
  const out = opts.out ?? ((s: string) => process.stdout.write(s));
  const mode = opts.dry ? 'dry' : opts.quick ? 'quick' : 'full';
  const cfg = opts.config ?? (opts.dry ? INFERENCE_DRY : opts.quick ? INFERENCE_QUICK : INFERENCE_FULL);
  // Neither side's thread pool may spin on the cores while the other side runs its call (see IDLE_POOLS); ours
  // reads this as OpenBLAS loads, so a process that loaded the addon earlier keeps OpenBLAS's default.
  const poolsIdle = !addonLoaded();
  const saved = Object.keys(IDLE_POOLS).map((k) => [k, process.env[k]] as const);
  if (poolsIdle) Object.assign(process.env, IDLE_POOLS);
  const backend = await initBackend(opts.backend);
  // Read by now; the PyTorch child gets IDLE_POOLS explicitly, and the rest of this process its own environment.
  for (const [k, v] of saved)
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  if (!poolsIdle)
    log('inference: the addon was loaded before this bench; OpenBLAS threads keep spinning after calls');
  if (opts.threads !== undefined) setNumThreads(opts.threads);
  log(`inference: backend ${backend}, ${getNumThreads()} threads, ${mode}`);
  const dir = mkdtempSync(join(tmpdir(), 'laurel-bench-infer-'));
  const s = cfg.models.resnet.image;
  const checkImage = Float32Array.from({ length: s * s }, (_, i) => ((i * 37) % 101) / 100);
  const checkTokens = randomTokens(Math.min(12, cfg.models.gpt.context - 4), cfg.models.gpt.vocab, 3);
  const checkDecode = 3;
  const request = {
    resnet: {
      ...cfg.resnet,
      image: s,
      warmup: cfg.warmup,
      threads: cfg.torchThreads,
      files: {} as Record<string, string>,
      check_image: Array.from(checkImage),
      check_shape: [1, s, s, 1],
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
  const built = (model: 'resnet' | 'gpt'): Built[] =>
    RESIDUALS.map((residual) => {
      const spec = benchSpec(cfg.models, model, residual);
      const m = buildModel(spec);
      pretendTrained(m, 7);
      return { residual, spec, m, folded: foldModel(m) };
    });
  const forms = <T>(cases: Built[]) =>
    [cases[0].m, cases[0].folded, cases[1].m, cases[1].folded] as unknown as Forms<T>;
  // Both residuals' models, trained and folded, alive together: their four forms are timed in turns.
  const resnets = built('resnet');
  const gpts = built('gpt');
  let server: TorchServer | null = null;
  try {
    // What PyTorch is compared on: the logits, our folding's error, the MACs; then the weights it loads.
    const ours: Record<string, Record<string, unknown>> = {};
    const img = tf.tensor4d(checkImage, [1, s, s, 1]);
    for (const { residual, spec, m, folded } of resnets) {
      ours[`resnet ${residual}`] = {
        logits: classify(m, img),
        folded: scaledMaxDiff(classify(folded, img), classify(m, img)),
        macs: await forwardMacs(() => classify(folded, img)),
      };
      const file = join(dir, `resnet-${residual}.safetensors`);
      saveSafetensors(m, file, { layout: 'torch', metadata: { 'laurel.spec': JSON.stringify(spec) } });
      request.resnet.files[residual] = file;
    }
    img.dispose();
    for (const { residual, spec, m: trained, folded } of gpts) {
      const m = trained as Gpt;
      const cache = m.newCache();
      let z = lastLogits(m, checkTokens, cache);
      const logits = z;
      const greedy: number[] = [];
      for (let i = 0; i < checkDecode; i++) {
        greedy.push(argmax(z));
        z = lastLogits(m, [greedy[i]], cache);
      }
      cache.dispose();
      ours[`gpt ${residual}`] = { logits, greedy, macs: await gptMacs(folded as Gpt, cfg) };
      const file = join(dir, `gpt-${residual}.safetensors`);
      saveSafetensors(m, file, { layout: 'torch', metadata: { 'laurel.spec': JSON.stringify(spec) } });
      request.gpt.files[residual] = file;
    }
    const reqFile = join(dir, 'request.json');
    writeFileSync(reqFile, JSON.stringify(request));

    // PyTorch: its search and checks (infer.py), then the same process answers the timed calls.
    let search: TorchSearch = { available: false, reason: 'skipped (--skip-torch)' };
    if (!opts.skipTorch) {
      const started = await TorchServer.start(SCRIPT, ['--request', reqFile, '--serve'], log, IDLE_POOLS);
      if ('server' in started) {
        server = started.server;
        search = await server.request<TorchSearch>({ cmd: 'report' });
      } else search = { available: false, reason: started.reason };
    }
    const blocks = cfg.blocks;

    const resnetRows: ResNetRow[] = [];
    const overhead: Record<string, OverheadRow> = {};
    const macRatio = (key: string, pick: (macs: unknown) => number): number | null => {
      const [b, l] = RESIDUALS.map((v) => ours[`${key} ${v}`]?.macs);
      return b && l ? pick(l) / pick(b) : null;
    };
    for (const batch of cfg.resnet.batches) {
      const x = tf.tensor4d(
        Float32Array.from({ length: batch * s * s }, (_, i) => ((i * 13) % 97) / 96),
        [batch, s, s, 1],
      );
      const r = await timeBlocks(
        blocks,
        cfg.warmup,
        cfg.resnet.reps[String(batch)] ?? 5,
        forms<Model | FoldedModel>(resnets).map((m) => () => classify(m, x)),
        torchBlocks(server, (residual) => ({ cmd: 'resnet', residual, batch })),
      );
      x.dispose();
      for (const [i, residual] of RESIDUALS.entries()) {
        const setting = search.resnet?.[residual]?.[String(batch)] as { setting: string } | undefined;
        const row: ResNetRow = {
          residual,
          batch,
          ms: median(r.ours[2 * i]),
          folded_ms: median(r.ours[2 * i + 1]),
          torch_ms: r.torch ? median(r.torch[i]) : null,
          torch_setting: setting?.setting ?? null,
          vs_torch: vsTorch(r, 2 * i),
          folded_vs_torch: vsTorch(r, 2 * i + 1),
        };
        log(
          `resnet20 ${residual} batch ${batch}: ${row.ms.toFixed(2)} ms, folded ${row.folded_ms.toFixed(2)} ms, PyTorch ${row.torch_ms?.toFixed(2) ?? 'n/a'} ms`,
        );
        resnetRows.push(row);
      }
      overhead[`resnet20_batch${batch}`] = overheadOf(
        r,
        macRatio('resnet', (m) => m as number),
      );
    }

    const g = cfg.gpt;
    const prefillTokens = randomTokens(g.prefill, cfg.models.gpt.vocab, 1);
    const prefill = await timeBlocks(
      blocks,
      cfg.warmup,
      g.reps,
      forms<Gpt>(gpts).map((m) => () => {
        const cache = m.newCache();
        lastLogits(m, prefillTokens, cache);
        cache.dispose();
      }),
      torchBlocks(server, (residual) => ({ cmd: 'prefill', residual })),
    );
    // Greedy decoding: each block starts every model on a fresh cache holding the same prompt; a call is a token.
    const prompt = randomTokens(g.prompt, cfg.models.gpt.vocab, 2);
    const decoders = forms<Gpt>(gpts);
    let caches = decoders.map((m) => m.newCache());
    const z: Float32Array[] = [];
    const decode = await timeBlocks(
      blocks,
      cfg.warmup,
      g.decode,
      decoders.map((m, j) => () => {
        z[j] = lastLogits(m, [argmax(z[j])], caches[j]);
      }),
      torchBlocks(
        server,
        (residual) => ({ cmd: 'decode_step', residual }),
        (residual) => ({ cmd: 'decode_start', residual }),
      ),
      () => {
        for (const c of caches) c.dispose();
        caches = decoders.map((m) => m.newCache());
        decoders.forEach((m, j) => {
          z[j] = lastLogits(m, prompt, caches[j]);
        });
      },
    );
    for (const c of caches) c.dispose();
    type GptMacs = { prefill: number; decode: number };
    overhead.gpt_prefill = overheadOf(
      prefill,
      macRatio('gpt', (m) => (m as GptMacs).prefill),
    );
    overhead.gpt_decode = overheadOf(
      decode,
      macRatio('gpt', (m) => (m as GptMacs).decode),
    );
    const gptRows: GptRow[] = RESIDUALS.map((residual, i) => {
      const t = search.gpt?.[residual];
      const row: GptRow = {
        residual,
        prefill_ms: median(prefill.ours[2 * i]),
        folded_prefill_ms: median(prefill.ours[2 * i + 1]),
        torch_prefill_ms: prefill.torch ? median(prefill.torch[i]) : null,
        tokens_per_s: 1000 / median(decode.ours[2 * i]),
        folded_tokens_per_s: 1000 / median(decode.ours[2 * i + 1]),
        torch_tokens_per_s: decode.torch ? 1000 / median(decode.torch[i]) : null,
        torch_setting: t?.setting ?? null,
        torch_prefill_setting: t?.prefill_setting ?? null,
        prefill_vs_torch: vsTorch(prefill, 2 * i),
        folded_prefill_vs_torch: vsTorch(prefill, 2 * i + 1),
        decode_vs_torch: vsTorch(decode, 2 * i),
        folded_decode_vs_torch: vsTorch(decode, 2 * i + 1),
      };
      log(
        `gpt ${residual}: prefill ${row.prefill_ms.toFixed(2)} ms (folded ${row.folded_prefill_ms.toFixed(2)}), ${row.tokens_per_s.toFixed(1)} tokens/s (folded ${row.folded_tokens_per_s.toFixed(1)})`,
      );
      return row;
    });

    const report: InferenceReport = {
      mode,
      backend,
      threads: getNumThreads(),
      note:
        'each ratio is a median of paired ratios with its 95 % interval (ours / PyTorch: blocks, which the two ' +
        'sides take in turns; RW+LR / plain: our calls, round by round); absolute times move with the machine load',
      resnet: resnetRows,
      gpt: gptRows,
      laurel_overhead: overhead,
      equivalence: search.available ? equivalenceOf(ours, search) : null,
      torch: search.available
        ? { available: true, version: search.torch_version }
        : { available: false, reason: search.reason },
      elapsed_s: (performance.now() - t0) / 1000,
    };
    out(opts.json ? `${JSON.stringify(report)}\n` : describe(report));
    return report;
  } finally {
    server?.close();
    for (const c of [...resnets, ...gpts]) [c.m, c.folded].forEach((m) => m.dispose());
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Our logits and PyTorch's on the same inputs and weights, per model. */
function equivalenceOf(
  ours: Record<string, Record<string, unknown>>,
  t: TorchSearch,
): Record<string, unknown> {
  const e: Record<string, unknown> = {};
  for (const v of RESIDUALS) {
    const r = ours[`resnet ${v}`];
    const g = ours[`gpt ${v}`];
    const tg = t.gpt?.[v];
    e[`resnet20 ${v}`] = {
      folded_vs_trained: r.folded,
      torch_vs_ours: t.resnet
        ? scaledMaxDiff(t.resnet[v].check_logits as number[], r.logits as Float32Array)
        : null,
    };
    e[`gpt ${v}`] = {
      torch_vs_ours_cached: tg ? scaledMaxDiff(tg.check_logits, g.logits as Float32Array) : null,
      torch_cached_vs_full: tg ? scaledMaxDiff(tg.check_logits, tg.check_full_logits) : null,
      greedy_equal: tg ? JSON.stringify(tg.check_greedy) === JSON.stringify(g.greedy) : null,
    };
  }
  return e;
}

const f = (x: number | null | undefined, d = 2) => (x === null || x === undefined ? 'n/a' : x.toFixed(d));
const withCi = (p: Paired | null) =>
  p === null ? 'n/a' : `${f(p.median, 3)} ${p.ci ? `[${f(p.ci[0], 3)}, ${f(p.ci[1], 3)}]` : '[n/a]'}`;

function describe(r: InferenceReport): string {
  const lines = [`Inference (${r.mode}, backend ${r.backend}, ${r.threads} threads); ${r.note}`, ''];
  lines.push(
    'ResNet-20        batch   ours ms  folded ms  PyTorch ms  ours/PT [95 % interval]   folded/PT [95 % interval]',
  );
  for (const x of r.resnet)
    lines.push(
      `  ${x.residual.padEnd(14)} ${String(x.batch).padStart(5)} ${f(x.ms).padStart(9)} ${f(x.folded_ms).padStart(10)} ${f(x.torch_ms).padStart(11)}  ${withCi(x.vs_torch).padEnd(25)} ${withCi(x.folded_vs_torch)}`,
    );
  lines.push('', 'GPT              prefill ms (ours / folded / PT)   decode tokens/s (ours / folded / PT)');
  for (const x of r.gpt)
    lines.push(
      `  ${x.residual.padEnd(14)} ${f(x.prefill_ms)} / ${f(x.folded_prefill_ms)} / ${f(x.torch_prefill_ms)}    ${f(x.tokens_per_s, 1)} / ${f(x.folded_tokens_per_s, 1)} / ${f(x.torch_tokens_per_s, 1)}`,
    );
  lines.push(
    '',
    'GPT, ours / PyTorch time [95 % interval]: prefill, folded prefill, decode per token, folded',
  );
  for (const x of r.gpt)
    lines.push(
      `  ${x.residual.padEnd(14)} ${withCi(x.prefill_vs_torch)}; ${withCi(x.folded_prefill_vs_torch)}; ${withCi(x.decode_vs_torch)}; ${withCi(x.folded_decode_vs_torch)}`,
    );
  lines.push(
    '',
    'LAUREL (rw+lr) over the plain model, time ratio [95 % interval]:',
    '                      rounds  unfolded                 folded                   PyTorch                  MACs (floor)',
  );
  for (const [k, v] of Object.entries(r.laurel_overhead))
    lines.push(
      `  ${k.padEnd(18)} ${String(v.rounds).padStart(7)}  ${withCi(v.unfolded).padEnd(24)} ${withCi(v.folded).padEnd(24)} ${withCi(v.torch).padEnd(24)} ${f(v.macs, 3)}`,
    );
  if (!r.torch.available) lines.push('', `PyTorch: not measured (${r.torch.reason})`);
  else lines.push('', `Equivalence: ${JSON.stringify(r.equivalence)}`);
  return `${lines.join('\n')}\n`;
}
