// The addon is loaded once per process, but Node's worker threads each call it: its thread pool and its
// argument checks must hold when two JS threads use it at once. Each worker here is plain CommonJS (eval)
// that loads the same addon file.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { addonPath } from '../../src/engine/addon.ts';
import { getNumThreads, loadAddon, setNumThreads } from '../../src/engine/index.ts';

const { addon, error } = loadAddon();
const skip = addon ? false : `${error}`;
const NEG = 0; // the addon's unary op code for Neg

/** Runs `body` (CommonJS, with `A` the addon and `data` the workerData) in a worker; resolves to its message. */
function inWorker(
  body: string,
  data: Record<string, unknown> = {},
): { worker: Worker; result: Promise<unknown> } {
  const worker = new Worker(
    `const { parentPort, workerData: data } = require('node:worker_threads');
const A = require(data.addon);
${body}`,
    { eval: true, workerData: { addon: addonPath(), ...data } },
  );
  const result = new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return { worker, result };
}

// o = −x over 2^17 floats, `times` times; returns how many passes left a wrong value (a chunk run by no one,
// or by the other thread's job).
const NEGATE = `function negate(times) {
  const n = 1 << 17, x = new Float32Array(n), o = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = i;
  let bad = 0;
  for (let it = 0; it < times; it++) {
    o.fill(0);
    A.unary(${NEG}, x, o);
    for (let i = 0; i < n; i += 509) if (o[i] !== -i) { bad++; break; }
  }
  return bad;
}`;

test(
  'two JS threads running parallel kernels at once each get their whole result (the pool has one owner at a time)',
  { skip, timeout: 120_000 },
  async () => {
    const before = getNumThreads();
    setNumThreads(2);
    try {
      const { result } = inWorker(`${NEGATE}\nparentPort.postMessage(negate(2000));`);
      const negate = new Function('A', `${NEGATE}; return negate;`)(addon) as (times: number) => number;
      const mine = negate(2000);
      assert.equal(mine, 0, 'wrong passes on the main thread');
      assert.equal(await result, 0, 'wrong passes on the worker');
    } finally {
      setNumThreads(before);
    }
  },
);

test(
  'an Int32Array over a SharedArrayBuffer is read once: indices another thread rewrites cannot reach past x',
  { skip, timeout: 120_000 },
  async () => {
    const n = 1 << 16;
    const idx = new Int32Array(new SharedArrayBuffer(4 * n)); // all 0: valid for a table of 4 rows
    const stop = new Int32Array(new SharedArrayBuffer(4));
    // the worker flips the last 8 indices between 0 (valid) and 100000 (far past x) until told to stop
    const { worker } = inWorker(
      `const idx = new Int32Array(data.idx), stop = new Int32Array(data.stop);
parentPort.postMessage('started');
while (Atomics.load(stop, 0) === 0) {
  for (let i = idx.length - 8; i < idx.length; i++) idx[i] = 100000;
  for (let i = idx.length - 8; i < idx.length; i++) idx[i] = 0;
}`,
      { idx: idx.buffer, stop: stop.buffer },
    );
    await new Promise((resolve) => worker.once('message', resolve));
    const x = Float32Array.of(1, 2, 3, 4);
    const out = new Float32Array(n);
    let rejected = 0;
    try {
      for (let it = 0; it < 20000; it++) {
        if (addon!.gather(x, idx, out, 1, 4, 1) >= 0) {
          rejected++; // an index out of range, seen in the one read: refused before anything is written
          continue;
        }
        for (let i = n - 8; i < n; i++)
          assert.ok([1, 2, 3, 4].includes(out[i]), `out[${i}] = ${out[i]}, not from x`);
      }
    } finally {
      Atomics.store(stop, 0, 1);
      await worker.terminate();
    }
    assert.ok(rejected > 0, 'the worker never changed an index during a call (the test did not race)');
  },
);
