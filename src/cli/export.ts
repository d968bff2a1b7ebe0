import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { saveSafetensors } from '../models/safetensors-file.ts';
import { WEIGHT_LAYOUTS, type WeightLayout, exportLayout } from '../models/safetensors.ts';
import { type FlagDef, UsageError, formatHelp, parseFlags, requiredFlag } from './flags.ts';
import { RUNTIME_FLAGS } from './options.ts';
import { FOLDED_FORMAT, loadRunModel } from './run-model.ts';
import { startBackend } from './train.ts';

const E = 'Export';
export const EXPORT_FLAGS: FlagDef[] = [
  ...RUNTIME_FLAGS.filter((d) => ['out', 'json', 'backend'].includes(d.name)).map((d) =>
    d.name === 'out' ? { ...d, help: 'Run folder written by laurel train' } : d,
  ),
  {
    name: 'format',
    type: 'string',
    choices: ['safetensors'],
    default: 'safetensors',
    help: 'File format',
    group: E,
  },
  {
    name: 'layout',
    type: 'string',
    choices: WEIGHT_LAYOUTS,
    default: 'torch',
    help: "Names and layouts: python/laurel_torch.py's (torch) or laurel's own (tfjs)",
    group: E,
  },
  {
    name: 'to',
    type: 'path',
    help: 'File to write',
    group: E,
    defaultText: 'OUT/model.safetensors (torch), OUT/model.tfjs.safetensors (tfjs)',
  },
];

export const EXPORT_HELP = formatHelp(
  'export',
  '--out DIR [--layout torch|tfjs] [--to FILE] [--json]',
  'Writes the weights of OUT/checkpoint as a safetensors file (docs/formats.md). With --layout torch the names\n' +
    'and layouts are those of python/laurel_torch.py (torchvision names for the ResNets), so in PyTorch\n' +
    '`laurel_torch.from_safetensors(FILE)` or `model.load_state_dict(safetensors.torch.load_file(FILE))` loads\n' +
    'it; the metadata holds the model spec (laurel.spec) and the step. `laurel train --init-from FILE` reads\n' +
    'either layout back. With --json stdout holds one JSON object: file, format, layout, tensors, bytes, sha256,\n' +
    'step.',
  EXPORT_FLAGS,
);

export async function exportCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, EXPORT_FLAGS, 'export');
  const out = requiredFlag(values, 'out', 'export', 'DIR');
  const layout = values.layout as WeightLayout;
  const to =
    (values.to as string | undefined) ??
    join(out, layout === 'torch' ? 'model.safetensors' : 'model.tfjs.safetensors');
  await startBackend(values);
  const { config, model, step } = loadRunModel(out, 'export');
  try {
    if (config.format === FOLDED_FORMAT) {
      throw new UsageError(
        `laurel export: ${out} holds a folded model; export the training run it came from`,
      );
    }
    const metadata = { 'laurel.step': String(step) };
    try {
      saveSafetensors(model, to, { layout, step, metadata, spec: config.spec });
    } catch (e) {
      throw new UsageError(`laurel export: ${(e as Error).message.replace(/^safetensors: /, '')}`);
    }
    const bytes = readFileSync(to);
    const summary = {
      file: to,
      format: 'safetensors',
      layout,
      tensors: exportLayout(model, layout).length,
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      step,
    };
    // with --json, stdout holds the JSON document alone
    (values.json ? process.stderr : process.stdout).write(
      `wrote ${to}: ${summary.tensors} tensors of ${config.spec.model} at step ${step}, ${layout} layout, ${bytes.length} bytes\n`,
    );
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    return 0;
  } finally {
    model.dispose();
  }
}
