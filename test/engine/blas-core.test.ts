// OPENBLAS_CORETYPE from the CPU's flags (Debian's OpenBLAS 0.3.21 takes this machine's Xeon for an SSE3
// "Prescott" and runs its GEMMs ~5× slower), set before the addon loads unless the user set it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuFlags, ensureOpenblasCoreType, openblasCoreType } from '../../src/engine/blas-core.ts';
import { loadAddon } from '../../src/engine/index.ts';

test('openblasCoreType maps CPU flags to a kernel set, and leaves old CPUs to the detection', () => {
  const flags = (s: string) => cpuFlags(`processor\t: 0\nflags\t\t: ${s}\nbugs\t: x\n`);
  assert.equal(
    openblasCoreType(flags('sse2 avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl')),
    'SkylakeX',
  );
  assert.equal(openblasCoreType(flags('sse2 avx2 fma avx512f')), 'Haswell'); // AVX-512 without BW/DQ/VL
  assert.equal(openblasCoreType(flags('sse2 sse3 avx')), null);
  assert.equal(openblasCoreType(cpuFlags('no flags line here')), null);
});

test('ensureOpenblasCoreType keeps a value the user set, and the addon runs the kernels it names', () => {
  const env: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: 'Haswell' };
  assert.equal(ensureOpenblasCoreType(env), 'Haswell');
  assert.equal(env.OPENBLAS_CORETYPE, 'Haswell');
  const { addon } = loadAddon();
  const wanted = process.env.OPENBLAS_CORETYPE;
  // (A user's own value may be an alias OpenBLAS renames; ours are its own names.)
  if (addon && (wanted === 'SkylakeX' || wanted === 'Haswell')) assert.equal(addon.blasCore(), wanted);
});
