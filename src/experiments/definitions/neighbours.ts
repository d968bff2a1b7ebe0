/**
 * The rows every experiment with neighbours shares (issue 13 item 5): the other cheap residual tricks, run in
 * the same harness, seeds and batches as LAUREL, so that "RW+LR vs ReZero" is a paired comparison too. Only the
 * `full` budget has them: it is the one sized to tell rows apart (the committed `standard` runs predate them).
 *
 * - ReZero: x + a·f(x), a = 0 at init (1 parameter per block).
 * - LayerScale: x + diag(λ)·f(x), λ = 0.1 at init: CaiT's value for networks of depth ≤ 18 (ours: 9 ResNet-20
 *   blocks, 8 GPT sublayers); the library's default (1e-4) is for deep stacks.
 * - DWA (DenseFormer): a learned average of the block output and the k − 1 earlier block inputs, k = the PA
 *   rows' k, so that both see the same history.
 */
import type { TrainArgs } from '../trial.ts';
import type { Claim, RowDef } from './types.ts';

/** LayerScale's init for our depths (CaiT, Touvron et al. 2021, §3: ε = 0.1 up to depth 18). */
export const NEIGHBOUR_LAYER_SCALE_INIT = 0.1;

export function neighbourRows(
  train: (residual: string, more?: Partial<TrainArgs>) => TrainArgs,
  k: number,
): RowDef[] {
  return [
    { id: 'rezero', label: 'ReZero (neighbour)', train: train('rezero') },
    {
      id: 'layerscale',
      label: `LayerScale, λ₀ = ${NEIGHBOUR_LAYER_SCALE_INIT} (neighbour)`,
      train: train('layerscale', { layerScaleInit: NEIGHBOUR_LAYER_SCALE_INIT }),
    },
    { id: `dwa-k${k}`, label: `DenseFormer DWA, k=${k} (neighbour)`, train: train('dwa', { k }) },
  ];
}

/** The question a user asks beside the paper's claims: does LAUREL (`row`) beat each neighbour? */
export function neighbourClaims(row: string, label: string, k: number): Claim[] {
  const not = 'not in the paper: the neighbours in the same harness';
  return [
    { text: `${label} beats ReZero`, row, against: 'rezero', paper: not },
    { text: `${label} beats LayerScale`, row, against: 'layerscale', paper: not },
    { text: `${label} beats DenseFormer DWA`, row, against: `dwa-k${k}`, paper: not },
  ];
}
