/**
 * The trained model of a run folder, for the inference commands (generate, predict, fold): built from
 * OUT/config.json's model spec and loaded from OUT/checkpoint, without loading the run's data.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { foldedSkeleton } from '../models/fold.ts';
import type { FoldedResNet } from '../models/folded-resnet.ts';
import { type Model, type ModelSpec, buildModel } from '../models/index.ts';
import { assignNamed, hasCheckpoint, loadCheckpoint } from '../train/checkpoint.ts';
import { CliError, UsageError } from './flags.ts';
import { readRunConfig } from './setup.ts';

/** config.json's format in a folder written by `laurel fold --to`. */
export const FOLDED_FORMAT = 'laurel-folded';

export interface RunModel {
  /** config.json: a training run's ('laurel-run') or a folded model's (FOLDED_FORMAT). */
  config: { format: string; spec: ModelSpec };
  /** The trained model, in inference mode (BatchNorm uses its running statistics), or its folded form. */
  model: Model | FoldedResNet;
  /** The checkpoint's step. */
  step: number;
}

/** config.json of a run or of a folded model. */
function readConfig(out: string): RunModel['config'] {
  const path = join(out, 'config.json');
  if (existsSync(path)) {
    let c: { format?: string; spec?: ModelSpec } | null = null;
    try {
      c = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      // not JSON: readRunConfig below says so
    }
    if (c?.format === FOLDED_FORMAT && c.spec) return { format: FOLDED_FORMAT, spec: c.spec };
  }
  return readRunConfig(out);
}

/** Loads OUT's model (a run's, or a folded one); `command` names the command in errors. The caller disposes it. */
export function loadRunModel(out: string, command: string): RunModel {
  const config = readConfig(out);
  if (!hasCheckpoint(out)) throw new UsageError(`laurel ${command}: no checkpoint in ${out}/checkpoint`);
  let model: Model | FoldedResNet;
  try {
    model = config.format === FOLDED_FORMAT ? foldedSkeleton(config.spec) : buildModel(config.spec);
  } catch (e) {
    throw new CliError(`${out}/config.json: ${(e as Error).message}`);
  }
  let step: number;
  try {
    const c = loadCheckpoint(out);
    step = c.step;
    try {
      assignNamed(model.namedParameters(), c.params, 'parameter');
      assignNamed(model.namedBuffers(), c.buffers, 'buffer');
    } finally {
      c.dispose();
    }
  } catch (e) {
    model.dispose();
    throw new CliError(`laurel ${command}: ${(e as Error).message}`);
  }
  model.setTraining(false);
  return { config, model, step };
}
