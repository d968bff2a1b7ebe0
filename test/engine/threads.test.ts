// The addon's thread pool: n per-thread items (the partial sums of batch norm, layer norm and the LAUREL
// combine gradients) must run on n threads. Chunks used to be rounded up to 16 items, which put both items of
// a 2-thread split on one thread: those kernels ran serially (fixed with this test).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getNumThreads, loadAddon, setNumThreads } from '../../src/engine/index.ts';

const { addon, error } = loadAddon();

test(
  'parallel_for gives each of n per-thread items its own thread, for 2 and 3 threads',
  { skip: addon ? false : `${error}` },
  () => {
    const a = addon!;
    const before = getNumThreads();
    try {
      for (const nt of [2, 3]) {
        setNumThreads(nt);
        assert.equal(a.poolProbe(nt), nt, `${nt} items on ${nt} threads`);
        assert.equal(a.poolProbe(1000), nt, `1000 items on ${nt} threads`);
        assert.equal(a.poolProbe(2), 2, `2 items on ${nt} threads`);
      }
      setNumThreads(1);
      assert.equal(a.poolProbe(8), 1, 'one thread');
    } finally {
      setNumThreads(before);
    }
  },
);
