import { countParams } from '../models/index.ts';
import { type FlagDef, UsageError, formatHelp, parseFlags } from './flags.ts';
import { MODEL_FLAGS, modelSpecFromFlags, refuseUnreadVariantFlags } from './options.ts';

export const PARAMS_FLAGS: FlagDef[] = [
  ...MODEL_FLAGS.map((f) => (f.name === 'model' ? { ...f, defaultText: undefined } : f)),
  {
    name: 'json',
    type: 'bool',
    default: false,
    help: 'Print the counts as one JSON object',
    group: 'Output',
  },
];

export const PARAMS_HELP = formatHelp(
  'params',
  '--model M --residual V [--rank r] [--k k] [--extra-blocks n] [--layers N --dim D --heads H] [--json]',
  'Counts the parameters of a model and of its baseline (plain residual, no extra blocks), without\n' +
    'allocating weights. JSON: {"params", "baseline_params", "added_params", "added_percent"}.',
  PARAMS_FLAGS,
);

export function paramsCommand(argv: string[]): number {
  const { values } = parseFlags(argv, PARAMS_FLAGS, 'params');
  if (values.model === undefined) throw new UsageError('laurel params: --model is required');
  refuseUnreadVariantFlags(values);
  const spec = modelSpecFromFlags(values);
  let counts: ReturnType<typeof countParams>;
  try {
    counts = countParams(spec);
  } catch (e) {
    throw new UsageError(`laurel params: ${(e as Error).message}`);
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(counts)}\n`);
  } else {
    const f = (n: number) => n.toLocaleString('en-US');
    process.stdout.write(
      `${spec.model} with ${values.residual} residual${spec.extraBlocks ? ` and ${spec.extraBlocks} extra block(s)` : ''}\n` +
        `  params:          ${f(counts.params)}\n` +
        `  baseline params: ${f(counts.baseline_params)}\n` +
        `  added:           ${f(counts.added_params)} (${counts.added_percent.toFixed(3)} %)\n`,
    );
  }
  return 0;
}
