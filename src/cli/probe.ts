/**
 * `laurel probe --out RUN [--limit N] [--json]`: a linear probe of a trained GPT's frozen features on spam vs
 * ham (SpamAssassin, split by message, deduplicated; src/data/spam.ts and src/train/probe.ts). The `lm`
 * experiment runs it after each trial of a budget that asks for it and adds `probe_accuracy` to the summary.
 */
import { loadSpamAssassin, splitMessages } from '../data/spam.ts';
import { ByteTokenizer } from '../data/tokenizer.ts';
import { Gpt } from '../models/gpt.ts';
import { linearProbe } from '../train/probe.ts';
import { type FlagDef, UsageError, formatHelp, parseFlags, requiredFlag } from './flags.ts';
import { RUNTIME_FLAGS } from './options.ts';
import { loadRunModel } from './run-model.ts';
import { startBackend } from './train.ts';

export const PROBE_FLAGS: FlagDef[] = [
  ...RUNTIME_FLAGS.filter((d) => ['out', 'json', 'backend', 'threads'].includes(d.name)),
  {
    name: 'limit',
    type: 'int',
    min: 20,
    help: 'Use this many messages (a seeded, stratified subset)',
    defaultText: 'all 5,929 after deduplication',
  },
];

export const PROBE_HELP = formatHelp(
  'probe',
  '--out RUN [--limit N] [--json]',
  "Fits a logistic regression on the frozen GPT's mean final hidden state over each message's first\n" +
    '`context` bytes (Subject and body), spam vs ham, 70 % of the messages, and reports its accuracy on the\n' +
    'other 30 % (split by message, stratified, fixed seed). JSON: {"probe_accuracy", "probe_majority",\n' +
    '"probe_train", "probe_test", "step"}.',
  PROBE_FLAGS,
);

export async function probeCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, PROBE_FLAGS, 'probe');
  const out = requiredFlag(values, 'out', 'probe', 'RUN');
  const backend = await startBackend(values);
  const { config, model, step } = loadRunModel(out, 'probe');
  if (config.spec.model !== 'gpt' || !(model instanceof Gpt)) {
    model.dispose();
    throw new UsageError(`laurel probe: ${out} holds a ${config.spec.model}, not a GPT`);
  }
  const tok = new ByteTokenizer();
  const { train, test } = splitMessages(loadSpamAssassin(), { limit: values.limit as number | undefined });
  const encode = (m: { text: string; label: number }) => ({ tokens: tok.encode(m.text), label: m.label });
  const t0 = performance.now();
  const r = linearProbe(model, train.map(encode), test.map(encode), model.config.context);
  model.dispose();
  const summary = {
    step,
    probe_accuracy: r.accuracy,
    probe_majority: r.majority,
    probe_train: r.train,
    probe_test: r.test,
    probe_ms: performance.now() - t0,
    backend,
  };
  (values.json ? process.stderr : process.stdout).write(
    `${out} at step ${step}: spam probe accuracy ${(r.accuracy * 100).toFixed(2)} % ` +
      `(majority class ${(r.majority * 100).toFixed(2)} %; ${r.train} training, ${r.test} test messages)\n`,
  );
  if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  return 0;
}
