/**
 * `laurel inspect --out RUN [--json]`: what a trained model's LAUREL residuals learned, site by site: RW's α and
 * β, PA's γ, the neighbours' scalars and weights in full; low-rank U and V (and LayerScale's λ) as mean, RMS, min
 * and max (Residual.learned()). Reads the checkpoint only, no data; a folded model (laurel fold) works too.
 */
import { type LearnedParam, Residual } from '../laurel/residual.ts';
import { resolveResidual } from '../models/index.ts';
import { type FlagDef, formatHelp, parseFlags, requiredFlag } from './flags.ts';
import { RUNTIME_FLAGS } from './options.ts';
import { loadRunModel } from './run-model.ts';
import { startBackend } from './train.ts';

export const INSPECT_FLAGS: FlagDef[] = RUNTIME_FLAGS.filter((d) =>
  ['out', 'json', 'backend', 'threads'].includes(d.name),
);

export const INSPECT_HELP = formatHelp(
  'inspect',
  '--out RUN [--json]',
  "Prints each LAUREL residual's learned parameters from the run's checkpoint: RW's α and β (from its raw\n" +
    "weights), PA's γ, ReZero's α, DWA's weights in full; U, V and LayerScale's λ as mean, RMS, min, max.\n" +
    'JSON: {"step", "model", "variant", "sites": [{"site", "params": [{"name", "shape", "values" | "mean",\n' +
    '"rms", "min", "max"}]}]}.',
  INSPECT_FLAGS,
);

export async function inspectCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, INSPECT_FLAGS, 'inspect');
  const out = requiredFlag(values, 'out', 'inspect', 'RUN');
  await startBackend(values);
  const { config, model, step } = loadRunModel(out, 'inspect');
  const sites = model
    .namedModules()
    .filter((m): m is { name: string; module: Residual } => m.module instanceof Residual)
    .map(({ name, module }) => ({ site: name, params: module.learned() }));
  model.dispose();
  const variant = resolveResidual(config.spec.residual).variant;
  const folded = config.format !== 'laurel-run' ? ' (folded for serving: RW α is 1, its value is in f)' : '';
  const log = values.json ? process.stderr : process.stdout;
  log.write(
    `${out} at step ${step}: ${config.spec.model} with ${variant} residuals, ${sites.length} LAUREL site${sites.length === 1 ? '' : 's'}${folded}\n`,
  );
  const width = Math.max(0, ...sites.map((s) => s.site.length)) + 2;
  for (const s of sites) {
    const params = s.params.length
      ? s.params.map(formatParam).join('  ')
      : 'no parameters (folded into the weights)';
    log.write(`${s.site.padEnd(width)}${params}\n`);
  }
  if (values.json)
    process.stdout.write(`${JSON.stringify({ step, model: config.spec.model, variant, sites })}\n`);
  return 0;
}

const num = (x: number) => Number(x.toPrecision(4)).toString();

function formatParam(p: LearnedParam): string {
  if (p.values)
    return `${p.name} ${p.shape.length === 0 ? num(p.values[0]) : `[${p.values.map(num).join(', ')}]`}`;
  return `${p.name} [${p.shape.join(', ')}] mean ${num(p.mean!)} rms ${num(p.rms!)} min ${num(p.min!)} max ${num(p.max!)}`;
}
