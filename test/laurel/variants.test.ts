/**
 * The variant registry (src/laurel/variants/): one file per variant, each registered once, and each record's
 * parameter-count formula agrees with the parameters its init creates, for every option that changes them.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { VARIANTS, addedParamCount, residualConfig, variantSpec } from '../../src/laurel/config.ts';
import { initialParams } from '../../src/laurel/residual.ts';
import { generalG } from './helpers.ts';

const SHARED = new Set(['index.ts', 'parts.ts', 'spec.ts']);

test('every file in src/laurel/variants/ is one registered variant, and every variant has its file', () => {
  const files = readdirSync(new URL('../../src/laurel/variants/', import.meta.url))
    .filter((f) => !SHARED.has(f))
    .sort();
  const expected = VARIANTS.map((v) => `${v.replaceAll('+', '-')}.ts`).sort();
  assert.deepEqual(files, expected);
  assert.equal(new Set(VARIANTS).size, VARIANTS.length, 'names are unique');
  for (const v of VARIANTS) assert.equal(variantSpec(v).name, v);
  assert.throws(() => variantSpec('nope' as never), /unknown variant 'nope'/);
});

const OPTION_SETS = [
  {},
  { rank: 3 },
  { rwNorm: 'sigmoid', rwPerDim: true, k: 2 },
  { rwNorm: 'none', rwPerDim: true, k: 4, paH: 'identity' },
  { vInit: 'column-orthogonal', k: 1 },
] as const;

test("each record's parameter count equals the sizes of the parameters its init creates (names unique)", () => {
  let checked = 0;
  for (const v of VARIANTS)
    for (const opts of OPTION_SETS) {
      if (opts === OPTION_SETS[3] && variantSpec(v).perJLowRank) continue; // identity h is not allowed there
      const config = residualConfig(v, { ...opts, ...(variantSpec(v).needsG ? { g: generalG } : {}) });
      for (const D of [5, 8]) {
        const params = initialParams(config, D, 3);
        const names = params.map(([n]) => n);
        assert.equal(new Set(names).size, names.length, `${v}: names ${names}`);
        const size = params.reduce((s, [, t]) => s + t.size, 0);
        assert.equal(addedParamCount(config, D), size, `${v} ${JSON.stringify(opts)} D=${D}`);
        tf.dispose(params.map(([, t]) => t));
        checked++;
      }
    }
  assert.ok(checked >= 90, `checked ${checked}`);
});

test('the same seed draws the same initial values (one random stream per residual)', () => {
  for (const v of ['lr', 'rw+lr+pa', 'gemma3n'] as const) {
    const config = residualConfig(v, { rank: 2 });
    const a = initialParams(config, 6, 11);
    const b = initialParams(config, 6, 11);
    const c = initialParams(config, 6, 12);
    const V = (p: typeof a) => Array.from(p.find(([n]) => n === 'V')![1].dataSync());
    assert.deepEqual(V(a), V(b), v);
    assert.notDeepEqual(V(a), V(c), v);
    tf.dispose([...a, ...b, ...c].map(([, t]) => t));
  }
});
