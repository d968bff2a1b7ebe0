import type { NamedParam } from '../../nn/module.ts';
import { AdamW, type AdamWOptions } from './adamw.ts';
import type { Optimizer } from './optimizer.ts';
import { Sgd, type SgdOptions } from './sgd.ts';

export { AdamW, type AdamWOptions } from './adamw.ts';
export {
  type DecayOptions,
  type NamedTensors,
  Optimizer,
  type OptimizerState,
  isDecayed,
} from './optimizer.ts';
export { Sgd, type SgdOptions } from './sgd.ts';

export const OPTIMIZERS = ['sgd', 'adamw'] as const;
export type OptimizerName = (typeof OPTIMIZERS)[number];

/** Builds an optimizer by name (the CLI's `--optimizer`). */
export function createOptimizer(
  name: OptimizerName,
  params: NamedParam[],
  opts: SgdOptions & AdamWOptions = {},
): Optimizer {
  switch (name) {
    case 'sgd':
      return new Sgd(params, opts);
    case 'adamw':
      return new AdamW(params, opts);
  }
}
