/**
 * One trial = one `laurel train` subprocess. This module holds the pure parts: the trial description,
 * the command-line builder, the config fingerprint and the parser of the trainer's `--json` summary.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

/** Everything `laurel train` needs to know for one trial (besides seed, output directory and threads). */
export interface TrainArgs {
  task: 'fashion-mnist' | 'text';
  model: string;
  residual: string;
  rank?: number;
  k?: number;
  extraBlocks?: number;
  /** ResNet stage (1-based) that gets the extra blocks (`--extra-stage`); trainer default (3) when absent. */
  extraStage?: number;
  /** PA's h (`--pa-h`): `identity` gives Table 5's PA row (k params per layer). Trainer default when absent. */
  paH?: 'lowrank' | 'identity';
  /** V initialization (`--v-init`); the paper uses column-orthogonal for its LMs. Trainer default when absent. */
  vInit?: 'xavier' | 'column-orthogonal';
  /** LayerScale's λ at init (`--layer-scale-init`; only for `--residual layerscale`). Trainer default when absent. */
  layerScaleInit?: number;
  /** GPT shape (only for `--model gpt`). */
  layers?: number;
  dim?: number;
  heads?: number;
  context?: number;
  epochs?: number;
  maxSteps?: number;
  batchSize: number;
  /** Use only the first N training examples (vision) or windows (text): tiny subsets for `smoke`. */
  trainLimit?: number;
  /** Evaluate on at most N test examples (vision) or windows / cloze items (text). */
  evalLimit?: number;
  /** Evaluate every N steps (trainer default when absent). */
  evalEvery?: number;
  /** Built-in text corpus (`--corpus`; text only): `mixed` = SOTU + Brown (src/data/corpus.ts). Trainer default when absent. */
  corpus?: 'sotu' | 'mixed';
  /** Run `laurel probe` (spam vs ham, frozen features) after training; `limit` messages (all when absent). */
  probe?: { limit?: number };
  /** Anything else, passed through verbatim after the flags above. */
  extraArgs?: readonly string[];
}

export interface TrialSpec {
  /** Store id of the experiment (`vision`, or `vision-smoke` for a non-standard budget). */
  experiment: string;
  /** Row id (file-system safe), e.g. `rw-lr-r16`. */
  row: string;
  seed: number;
  /** Run directory passed as `--out` (checkpoints, metrics, runner log). */
  out: string;
  train: TrainArgs;
}

/** Unique id of a trial within its experiment. */
export function trialKey(t: Pick<TrialSpec, 'row' | 'seed'>): string {
  return `${t.row}/seed${t.seed}`;
}

/** The order in which TrainArgs become flags. Flags for undefined fields are omitted. */
const FLAG_ORDER: [keyof TrainArgs, string][] = [
  ['task', '--task'],
  ['model', '--model'],
  ['residual', '--residual'],
  ['rank', '--rank'],
  ['k', '--k'],
  ['extraBlocks', '--extra-blocks'],
  ['extraStage', '--extra-stage'],
  ['paH', '--pa-h'],
  ['vInit', '--v-init'],
  ['layerScaleInit', '--layer-scale-init'],
  ['layers', '--layers'],
  ['dim', '--dim'],
  ['heads', '--heads'],
  ['context', '--context'],
  ['epochs', '--epochs'],
  ['maxSteps', '--max-steps'],
  ['batchSize', '--batch-size'],
  ['trainLimit', '--train-limit'],
  ['evalLimit', '--eval-limit'],
  ['evalEvery', '--eval-every'],
  ['corpus', '--corpus'],
];

/**
 * The argument vector after `node bin/laurel.mjs`:
 * `train --task … --seed S --out DIR --resume --json [--threads t]`. Pure: same input, same output.
 */
export function buildTrialArgs(trial: TrialSpec, opts: { threads?: number } = {}): string[] {
  const args = ['train'];
  for (const [field, flag] of FLAG_ORDER) {
    const v = trial.train[field];
    if (v === undefined) continue;
    if (typeof v === 'number' && !Number.isFinite(v))
      throw new Error(`trial ${trialKey(trial)}: ${field} is ${v}`);
    args.push(flag, String(v));
  }
  args.push('--seed', String(trial.seed), '--out', trial.out, '--resume', '--json');
  if (opts.threads !== undefined) {
    if (!Number.isInteger(opts.threads) || opts.threads < 1)
      throw new Error(`threads must be ≥ 1, got ${opts.threads}`);
    args.push('--threads', String(opts.threads));
  }
  if (trial.train.extraArgs) args.push(...trial.train.extraArgs);
  return args;
}

/** Absolute path of the CLI entry point (`bin/laurel.mjs`). */
export const LAUREL_BIN = fileURLToPath(new URL('../../bin/laurel.mjs', import.meta.url));
/** Repository root (the subprocess's working directory). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Full command: `process.execPath bin/laurel.mjs train …`. */
export function trialCommand(
  trial: TrialSpec,
  opts: { threads?: number } = {},
): { command: string; args: string[] } {
  return { command: process.execPath, args: [LAUREL_BIN, ...buildTrialArgs(trial, opts)] };
}

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${stableStringify(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Hash of what determines a trial's result (train args + seed; not the output directory or threads).
 * A stored result counts as finished for a trial only when its fingerprint matches.
 */
export function trialFingerprint(trial: Pick<TrialSpec, 'seed' | 'train'>): string {
  return createHash('sha256')
    .update(stableStringify({ seed: trial.seed, train: trial.train }))
    .digest('hex')
    .slice(0, 16);
}

/**
 * What the runner reads from the last stdout line of `laurel train --json`. Every field is optional on the
 * trainer's side; missing or non-numeric values become null.
 */
export interface TrialSummary {
  /** Best test top-1 accuracy over the run, in [0, 1] (vision). */
  best_accuracy: number | null;
  /** Test cross-entropy in nats per token (text; held-out documents of the corpus). */
  test_loss: number | null;
  perplexity: number | null;
  /** Out-of-domain loss on Moby Dick (text). */
  ood_loss: number | null;
  /** Multiple-choice cloze accuracy in [0, 1] (text). */
  cloze_accuracy: number | null;
  /** Loss of the unigram model on the test split (text): the floor a trained LM must beat. */
  unigram_loss: number | null;
  /** Test accuracy in [0, 1] of a linear probe on the frozen LM's features (spam vs ham; text). */
  probe_accuracy: number | null;
  params: number | null;
  added_params: number | null;
  steps: number | null;
  mean_step_ms: number | null;
  peak_rss_mb: number | null;
  /** Backend actually used (`native`, `cpu`, `wasm`). */
  backend: string | null;
  /** The summary as printed, for anything else it holds. */
  raw: Record<string, unknown>;
}

export const SUMMARY_NUMBER_FIELDS = [
  'best_accuracy',
  'test_loss',
  'perplexity',
  'ood_loss',
  'cloze_accuracy',
  'unigram_loss',
  'probe_accuracy',
  'params',
  'added_params',
  'steps',
  'mean_step_ms',
  'peak_rss_mb',
] as const;

/** Normalizes a parsed summary object: numbers stay, anything else becomes null. Accuracy given in % is scaled. */
export function normalizeSummary(raw: Record<string, unknown>): TrialSummary {
  const num = (k: string): number | null => {
    const v = raw[k];
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  };
  const out = { raw } as TrialSummary;
  for (const k of SUMMARY_NUMBER_FIELDS) out[k] = num(k);
  for (const k of ['best_accuracy', 'cloze_accuracy', 'probe_accuracy'] as const) {
    const v = out[k];
    if (v !== null && v > 1) out[k] = v / 100;
  }
  out.backend = typeof raw.backend === 'string' ? raw.backend : null;
  return out;
}

/**
 * Parses the trainer's stdout: the last non-empty line must be a JSON object. Returns null when it is not
 * (the caller records that as a failure).
 */
export function parseSummary(stdout: string): TrialSummary | null {
  const lines = stdout.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    try {
      const v: unknown = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v))
        return normalizeSummary(v as Record<string, unknown>);
    } catch {
      // not JSON
    }
    return null;
  }
  return null;
}
