import { assignNamed, hasCheckpoint, loadCheckpoint } from '../train/checkpoint.ts';
import type { Model } from '../train/task.ts';
import { type FlagDef, UsageError, formatHelp, parseFlags, requiredFlag } from './flags.ts';
import { RUNTIME_FLAGS, TRAIN_FLAGS } from './options.ts';
import { readRunConfig, setupRun } from './setup.ts';
import { startBackend } from './train.ts';

const pick = (defs: FlagDef[], names: string[]) => defs.filter((d) => names.includes(d.name));

export const EVAL_FLAGS: FlagDef[] = [
  ...pick(RUNTIME_FLAGS, ['out', 'json', 'backend', 'threads']).map((d) =>
    d.name === 'out' ? { ...d, help: 'Run folder written by laurel train' } : d,
  ),
  ...pick(TRAIN_FLAGS, ['eval-limit', 'data']).map((d) => ({
    ...d,
    group: 'Evaluation',
    defaultText: "the run's own setting",
  })),
];

export const EVAL_HELP = formatHelp(
  'eval',
  '--out DIR [--json]',
  "Re-evaluates the checkpoint in OUT/checkpoint on the run's evaluation data (rebuilt from OUT/config.json).\n" +
    'JSON: {"step", "loss", "accuracy"} (fashion-mnist) or {"step", "test_loss", "perplexity", "ood_loss",\n' +
    '"cloze_accuracy"} (text); with --json that object is all of stdout. A missing, corrupt or mismatched\n' +
    'checkpoint exits 2 with one line (LAUREL_DEBUG=1 adds the stack).',
  EVAL_FLAGS,
);

export async function evalCommand(argv: string[]): Promise<number> {
  const { values, given } = parseFlags(argv, EVAL_FLAGS, 'eval');
  const out = requiredFlag(values, 'out', 'eval', 'DIR');
  const config = readRunConfig(out);
  if (!hasCheckpoint(out)) throw new UsageError(`laurel eval: no checkpoint in ${out}/checkpoint`);
  const flags = { ...config.flags };
  for (const name of ['eval-limit', 'data']) if (given.has(name)) flags[name] = values[name];
  const backend = await startBackend(values);
  const run = setupRun(flags);
  const model = run.model as Model;
  const c = loadCheckpoint(out);
  try {
    assignNamed(model.namedParameters(), c.params, 'parameter');
    assignNamed(model.namedBuffers(), c.buffers, 'buffer');
  } finally {
    c.dispose();
  }
  model.setTraining(false);
  const t0 = performance.now();
  const r = run.task.evaluate(model);
  const evalMs = performance.now() - t0;
  model.dispose();
  const summary: Record<string, unknown> =
    flags.task === 'text'
      ? {
          step: c.step,
          test_loss: r.loss,
          perplexity: r.perplexity,
          ood_loss: r.extra?.ood_loss ?? null,
          ood_perplexity: r.extra?.ood_perplexity ?? null,
          cloze_accuracy: r.extra?.cloze_accuracy ?? null,
        }
      : { step: c.step, loss: r.loss, accuracy: r.accuracy };
  Object.assign(summary, { best: c.best, eval_ms: evalMs, backend });
  const text = Object.entries(summary)
    .filter(([k]) => k !== 'best')
    .map(([k, v]) => `${k} ${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : v}`)
    .join(', ');
  // with --json, stdout holds the JSON document alone
  (values.json ? process.stderr : process.stdout).write(`${out} at step ${c.step}: ${text}\n`);
  if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  return 0;
}
