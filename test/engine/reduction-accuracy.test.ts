// The sums inside the gradient kernels (dα, dβ of the LAUREL combine, dγ, dβ of layer norm, dα of the fused
// low-rank combine) run over every element of a batch: millions at ResNet-20's batch 128. One float32
// accumulator per thread drifted by 0.25–1 % at 4M elements; they are now float partials over blocks, added in
// double. Each sum here has an exact value (constant inputs), checked to float32 accuracy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getNumThreads, loadAddon, setNumThreads } from '../../src/engine/index.ts';

const { addon, error } = loadAddon();
const skip = addon ? false : `${error}`;
const N = 1 << 22; // elements
const TENTH = Math.fround(0.1);

function near(got: number, want: number, what: string): void {
  assert.ok(Math.abs(got - want) <= 1e-5 * Math.abs(want), `${what}: ${got}, exact ${want}`);
}

test(
  'gradient sums over 4M elements stay within 1e-5 of the exact value, on 1 and 2 threads',
  { skip },
  () => {
    const A = addon!;
    const before = getNumThreads();
    const ones = new Float32Array(N).fill(1);
    const tenths = new Float32Array(N).fill(TENTH);
    const dfx = new Float32Array(N);
    const dx = new Float32Array(N);
    try {
      for (const threads of [1, 2]) {
        setNumThreads(threads);
        const at = `${threads} thread(s)`;
        // the combine: dα = Σ dy·fx over all elements (scalar α), or per column (α of length D)
        const da = new Float32Array(1);
        const db = new Float32Array(1);
        A.combineGrad(ones, tenths, tenths, null, Float32Array.of(1), Float32Array.of(1), dfx, dx, da, db, 4);
        near(da[0], N * TENTH, `combine dα, ${at}`);
        near(db[0], N * TENTH, `combine dβ, ${at}`);
        const daCol = new Float32Array(4);
        A.combineGrad(ones, tenths, tenths, null, new Float32Array(4).fill(1), null, dfx, dx, daCol, null, 4);
        for (const v of daCol) near(v, (N / 4) * TENTH, `combine per-column dα, ${at}`);
        // layer norm: dβ = Σ dy per column, dγ = Σ dy·x̂ (x̂ = x here: mean 0, rstd 1)
        const rows = N / 4;
        const dg = new Float32Array(4);
        const dbeta = new Float32Array(4);
        A.layerNormGrad(
          tenths,
          ones,
          new Float32Array(rows),
          new Float32Array(rows).fill(1),
          null,
          dx,
          dg,
          dbeta,
          4,
        );
        for (const v of dbeta) near(v, rows * TENTH, `layer norm dβ, ${at}`);
        for (const v of dg) near(v, rows * TENTH, `layer norm dγ, ${at}`);
        // the fused low-rank combine's dα, D = 16 (AVX-512's register kernel) and 32
        if (A.lowRankCombineGradRows)
          for (const D of [16, 32]) {
            const dAlpha = new Float32Array(1);
            const B = new Float32Array(D * D);
            const G = new Float32Array(D * D);
            A.lowRankCombineGradRows(ones, tenths, tenths, B, 1, dfx, dx, G, dAlpha, D);
            near(dAlpha[0], N * TENTH, `low-rank combine dα, D = ${D}, ${at}`);
          }
      }
    } finally {
      setNumThreads(before);
    }
  },
);
