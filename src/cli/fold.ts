import { existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describeFold, foldModel, scaledMaxDiff } from '../models/fold.ts';
import { FoldedResNet } from '../models/folded-resnet.ts';
import { Gpt } from '../models/gpt.ts';
import type { Model } from '../models/index.ts';
import { saveCheckpoint } from '../train/checkpoint.ts';
import { Rng } from '../util/rng.ts';
import { type FlagDef, UsageError, formatHelp, parseFlags, requiredFlag } from './flags.ts';
import { RUNTIME_FLAGS } from './options.ts';
import { FOLDED_FORMAT, loadRunModel } from './run-model.ts';
import { startBackend } from './train.ts';

export const FOLD_FLAGS: FlagDef[] = [
  ...RUNTIME_FLAGS.filter((d) => ['out', 'backend', 'threads'].includes(d.name)).map((d) =>
    d.name === 'out' ? { ...d, help: 'Run folder written by laurel train' } : d,
  ),
  { name: 'to', type: 'path', help: 'New folder for the folded model (must not exist or be empty)' },
  { name: 'json', type: 'bool', default: false, help: 'Print one JSON document instead of the summary' },
];

export const FOLD_HELP = formatHelp(
  'fold',
  '--out RUN --to DIR [--json]',
  "Rewrites a run's trained model into its serving form with the same outputs: batch norms folded into their\n" +
    "convolutions, RW's α into the branch's last affine map, a projection shortcut merged with LAUREL's\n" +
    'β(I + V·U) into one 1×1 convolution where exact; the rest stays as one fused LAUREL kernel (README,\n' +
    '"Inference"). DIR holds config.json and checkpoint/, which laurel predict / generate --out DIR read.\n' +
    'The folded model is checked against the trained one on a random input (max_rel_error: max |Δ| / max |y|).\n' +
    'JSON: {"to", "step", "folded", "remains", "params", "folded_params", "max_rel_error"}.',
  FOLD_FLAGS,
);

/** scaledMaxDiff of both models' outputs on one random input of the model's kind. */
function checkFold(model: Model, folded: FoldedResNet | Gpt): number {
  const rng = new Rng(0);
  const [y, yf] = tf.tidy(() => {
    let x: tf.Tensor;
    if (model instanceof Gpt) {
      const t = Math.min(16, model.config.context);
      x = tf.tensor2d(
        Int32Array.from({ length: t }, () => rng.int(model.config.vocab)),
        [1, t],
        'int32',
      );
    } else {
      const c = model.config.inChannels;
      x = tf.tensor4d(
        Float32Array.from({ length: 2 * 28 * 28 * c }, () => rng.next()),
        [2, 28, 28, c],
      );
    }
    const run = (m: { forward: unknown }) => (m.forward as (x: tf.Tensor) => tf.Tensor).call(m, x);
    return [run(model), run(folded)];
  });
  const err = scaledMaxDiff(yf.dataSync(), y.dataSync());
  tf.dispose([y, yf]);
  return err;
}

export async function foldCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, FOLD_FLAGS, 'fold');
  const out = requiredFlag(values, 'out', 'fold', 'RUN');
  const to = requiredFlag(values, 'to', 'fold', 'DIR');
  if (existsSync(to) && readdirSync(to).length > 0)
    throw new UsageError(`laurel fold: --to ${to} exists and is not empty`);
  const backend = await startBackend(values);
  const { config, model, step } = loadRunModel(out, 'fold');
  if (model instanceof FoldedResNet || config.format === FOLDED_FORMAT) {
    model.dispose();
    throw new UsageError(`laurel fold: ${out} already holds a folded model`);
  }
  let folded: FoldedResNet | Gpt;
  try {
    folded = foldModel(model as Model);
  } catch (e) {
    model.dispose();
    throw new UsageError(`laurel fold: ${(e as Error).message}`);
  }
  try {
    const maxRelError = checkFold(model as Model, folded);
    const summary = describeFold(config.spec);
    mkdirSync(to, { recursive: true });
    const params = Object.fromEntries(folded.namedParameters().map((p) => [p.name, p.variable as tf.Tensor]));
    saveCheckpoint(to, {
      params,
      buffers: {},
      optimizer: { meta: { type: 'none', step: 0 }, tensors: {} },
      step,
      epoch: 0,
      data: null,
      rng: 0,
      config: null,
      best: null,
    });
    const doc = { format: FOLDED_FORMAT, version: 1, spec: config.spec, source: out, step, fold: summary };
    writeFileSync(join(to, 'config.json.tmp'), `${JSON.stringify(doc, null, 2)}\n`);
    renameSync(join(to, 'config.json.tmp'), join(to, 'config.json'));
    const report = {
      to,
      step,
      ...summary,
      params: (model as Model).parameterCount(),
      folded_params: folded.parameterCount(),
      max_rel_error: maxRelError,
      backend,
    };
    if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      process.stdout.write(
        `${out} (step ${step}) → ${to}, max relative difference ${maxRelError.toExponential(2)}\n`,
      );
      for (const f of summary.folded) process.stdout.write(`  folded:  ${f}\n`);
      for (const r of summary.remains) process.stdout.write(`  remains: ${r}\n`);
    }
    return 0;
  } finally {
    model.dispose();
    folded.dispose();
  }
}
