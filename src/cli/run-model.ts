/**
 * The trained model of a run folder, for the inference commands (generate, predict, fold): built from
 * OUT/config.json's model spec and loaded from OUT/checkpoint, without loading the run's data.
 */
import { type Model, buildModel } from '../models/index.ts';
import { assignNamed, hasCheckpoint, loadCheckpoint } from '../train/checkpoint.ts';
import { CliError, UsageError } from './flags.ts';
import { type RunConfig, readRunConfig } from './setup.ts';

export interface RunModel {
  config: RunConfig;
  /** The trained model, in inference mode (BatchNorm uses its running statistics). */
  model: Model;
  /** The checkpoint's step. */
  step: number;
}

/** Loads OUT's model; `command` names the command in error messages. The caller disposes `model`. */
export function loadRunModel(out: string, command: string): RunModel {
  const config = readRunConfig(out);
  if (!hasCheckpoint(out)) throw new UsageError(`laurel ${command}: no checkpoint in ${out}/checkpoint`);
  let model: Model;
  try {
    model = buildModel(config.spec);
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
