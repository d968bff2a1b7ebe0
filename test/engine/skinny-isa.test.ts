// The skinny GEMM and RW+LR row kernels exist twice on x86-64 (native/src/skinny.cc: AVX-512, skinny_avx2.cc:
// AVX2), and the addon picks one per process. The other tests run the pick of this CPU; these rerun the skinny
// matMul, fused low-rank and fused ReLU gradient tests with LAUREL_SKINNY=avx2 (the AVX2 kernels, also on an
// AVX-512 CPU) and LAUREL_SKINNY=0 (OpenBLAS only), so that every path this CPU can run is checked against cpu.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadAddon } from '../../src/engine/index.ts';

const { addon, error } = loadAddon();
const skip = addon ? false : `${error}`;

function cpuHas(...flags: string[]): boolean {
  if (process.arch !== 'x64') return false;
  const line =
    readFileSync('/proc/cpuinfo', 'utf8')
      .match(/^flags\s*:(.*)$/m)?.[1]
      .split(/\s+/) ?? [];
  return flags.every((f) => line.includes(f));
}

/** The addon's row-kernel width under LAUREL_SKINNY=value, read in a fresh process. */
function rowsMaxD(value: string): unknown {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '-e',
      "import('./src/engine/index.ts').then((m) => console.log(JSON.stringify(m.loadAddon().addon?.rowsMaxD ?? null)))",
    ],
    { env: { ...process.env, LAUREL_SKINNY: value }, encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim());
}

test(
  'LAUREL_SKINNY picks the kernels: AVX-512 (row kernels to D = 64), AVX2 (to D = 32) or none',
  { skip },
  () => {
    const avx2 = cpuHas('avx2', 'fma');
    assert.equal(rowsMaxD('auto'), cpuHas('avx512f') ? 64 : avx2 ? 32 : null);
    assert.equal(rowsMaxD('avx2'), avx2 ? 32 : null);
    assert.equal(rowsMaxD('0'), null);
  },
);

for (const value of ['avx2', '0']) {
  test(
    `with LAUREL_SKINNY=${value}, skinny matMul and the fused low-rank combine (values, gradients) match cpu`,
    { skip },
    () => {
      // NODE_TEST_CONTEXT would make the inner runner report to this one instead of printing its summary.
      const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT'));
      env.LAUREL_SKINNY = value;
      const r = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '--test',
          '--test-reporter=tap',
          '--test-name-pattern=^(skinny matMul|fusedLowRankCombine \\(RW|every fused ReLU)',
          'test/engine/matmul.test.ts',
          'test/engine/fused.test.ts',
        ],
        { env, encoding: 'utf8' },
      );
      assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /^# pass 3$/m, 'the three tests ran');
      assert.match(r.stdout, /^# fail 0$/m);
    },
  );
}
