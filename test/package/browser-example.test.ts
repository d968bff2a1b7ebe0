// The browser example (examples/browser/) in headless Chromium: the page trains the plain and the LAUREL net
// for a few steps (tfjs cpu backend, for a deterministic and quick run) and both training losses fall.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXAMPLE_DIR, bundleExample } from '../../examples/browser/serve.ts';
import { inChromium } from './chromium.ts';

const STEPS = 60;
const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

test('the browser example trains the plain and the RW+LR net side by side; both losses fall', async () => {
  await bundleExample();
  const r = await inChromium(EXAMPLE_DIR, `index.html?steps=${STEPS}&backend=cpu`, 180_000);
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.backend, 'cpu');
  const loss = r.loss as Record<'plain' | 'laurel', number[]>;
  for (const k of ['plain', 'laurel'] as const) {
    assert.equal(loss[k].length, STEPS);
    const first = mean(loss[k].slice(0, 5));
    const last = mean(loss[k].slice(-5));
    assert.ok(last < first - 0.1, `${k}: loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
  }
  // Two RW+LR layers at width 8, rank 4: 2·(2·4·8 + 2) parameters more than the plain net.
  assert.equal(r.laurelParams, 132);
  const acc = r.testAcc as Record<'plain' | 'laurel', [number, number][]>;
  assert.deepEqual(
    acc.plain.map(([s]) => s),
    [20, 40, 60],
  );
});
