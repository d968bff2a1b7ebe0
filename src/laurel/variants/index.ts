/**
 * The registry of LAUREL variants: one record per file (see spec.ts for what a record holds). A new variant is
 * its file, one line here, and its tests.
 */
import { baseline } from './baseline.ts';
import { dwa } from './dwa.ts';
import { gemma3n } from './gemma3n.ts';
import { general } from './general.ts';
import { layerscale } from './layerscale.ts';
import { lrPa } from './lr-pa.ts';
import { lr } from './lr.ts';
import { pa } from './pa.ts';
import { rezero } from './rezero.ts';
import { rwLrPa } from './rw-lr-pa.ts';
import { rwLr } from './rw-lr.ts';
import { rwPa } from './rw-pa.ts';
import { rw } from './rw.ts';
import type { VariantSpec } from './spec.ts';

const SPECS = [
  baseline,
  rw,
  lr,
  pa,
  rwLr,
  rwPa,
  lrPa,
  rwLrPa,
  gemma3n,
  general,
  rezero,
  layerscale,
  dwa,
] as const;

/** The LAUREL variants (paper eq. 2 and its special cases), in the registry's order. */
export type Variant = (typeof SPECS)[number]['name'];

export const VARIANTS: readonly Variant[] = SPECS.map((s) => s.name);

const BY_NAME = new Map<string, VariantSpec>(SPECS.map((s) => [s.name, s]));

/** The record of a variant (throws for a name not in the registry; residualConfig validates names first). */
export function variantSpec(variant: Variant): VariantSpec {
  const spec = BY_NAME.get(variant);
  if (!spec) throw new Error(`variantSpec: unknown variant '${variant}'`);
  return spec;
}

export type { ForwardInputs, Sizes, VariantSpec } from './spec.ts';
