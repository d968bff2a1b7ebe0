// Thread counts are bounded everywhere: setNumThreads, LAUREL_NUM_THREADS, the CLI's --threads and the addon
// itself. `--threads 100000` used to abort the process (std::system_error, exit 134) and `--threads 10000`
// started ten thousand threads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { addonPath } from '../../src/engine/addon.ts';
import { MAX_THREADS, getNumThreads, loadAddon, setNumThreads } from '../../src/engine/index.ts';
import { threadsFromEnv } from '../../src/engine/threads.ts';

const { addon, error } = loadAddon();

test('the limit is max(64, 4 × cores)', () => {
  assert.equal(MAX_THREADS, Math.max(64, 4 * availableParallelism()));
});

test('setNumThreads rejects absurd and malformed counts with a one-line RangeError', () => {
  const before = getNumThreads();
  for (const n of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_THREADS + 1, 100000]) {
    assert.throws(
      () => setNumThreads(n),
      (e: Error) =>
        e instanceof RangeError &&
        !e.message.includes('\n') &&
        e.message === `setNumThreads: expected an integer from 1 to ${MAX_THREADS}, got ${n}`,
      String(n),
    );
  }
  assert.equal(getNumThreads(), before, 'a rejected count changes nothing');
});

test('LAUREL_NUM_THREADS: too large is capped, malformed is ignored, each with one warning line', () => {
  const cores = Math.min(MAX_THREADS, availableParallelism());
  const warned: string[] = [];
  const warn = console.warn;
  console.warn = (msg: string) => warned.push(msg);
  try {
    const cases: [string | undefined, number, boolean][] = [
      [undefined, cores, false],
      ['', cores, false],
      ['3', 3, false],
      [String(MAX_THREADS), MAX_THREADS, false],
      ['100000', MAX_THREADS, true],
      ['0', cores, true],
      ['-2', cores, true],
      ['2.5', cores, true],
      ['many', cores, true],
    ];
    for (const [raw, want, warns] of cases) {
      warned.length = 0;
      assert.equal(threadsFromEnv({ LAUREL_NUM_THREADS: raw }), want, `LAUREL_NUM_THREADS=${raw}`);
      assert.equal(warned.length, warns ? 1 : 0, `warnings for ${raw}: ${warned.join(' | ')}`);
      if (warns) assert.match(warned[0], /^laurel: LAUREL_NUM_THREADS=.* using \d+/);
    }
  } finally {
    console.warn = warn;
  }
});

test(
  'the addon refuses absurd counts itself and keeps its threads',
  { skip: addon ? false : `${error}` },
  () => {
    const a = addon!;
    const before = a.getNumThreads();
    for (const n of [0, -5, 100000, 2 ** 40, 1.5]) {
      assert.throws(
        () => a.setNumThreads(n),
        /^Error: laurel native setNumThreads: argument 1 must be an integer/,
      );
    }
    assert.equal(a.getNumThreads(), before);
    assert.equal(a.setNumThreads(2), 2);
    assert.equal(a.poolProbe(2), 2);
    a.setNumThreads(before);
  },
);

// Under AddressSanitizer (scripts/asan.sh) the child cannot map ASan's shadow memory within the limit.
const limitSkip = !addon
  ? `${error}`
  : process.env.LAUREL_ASAN === '1'
    ? 'ASan needs more address space'
    : false;
test(
  'when the system refuses threads, the pool keeps those it started instead of aborting',
  { skip: limitSkip },
  () => {
    // 1 GB thread stacks (RLIMIT_STACK) under a 24 GB address-space limit: the system cannot start 64 threads.
    // Plain node (no tsx: its WebAssembly reserves more address space than the limit leaves).
    const script = [
      'const a = require(process.argv[1]);',
      'const got = a.setNumThreads(64);',
      'console.log(JSON.stringify({ got, now: a.getNumThreads(), probe: a.poolProbe(2) }));',
    ].join('\n');
    const limits = 'ulimit -s 1000000 && ulimit -v 24000000';
    // In bash -c, $0, $1, $2 are the arguments after the command.
    const rr = spawnSync(
      'bash',
      ['-c', `${limits} && exec "$0" -e "$1" "$2"`, process.execPath, script, addonPath()],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(rr.status, 0, `exit ${rr.status} ${rr.signal ?? ''}: ${rr.stderr}`);
    const { got, now, probe } = JSON.parse(rr.stdout.trim().split('\n').pop() as string);
    assert.ok(got >= 1 && got < 64, `started ${got} of 64`);
    assert.equal(now, got);
    assert.equal(probe, Math.min(2, got));
  },
);

test('laurel --threads 100000 exits 2 with one line on stderr', () => {
  const out = mkdtempSync(join(tmpdir(), 'laurel-threads-'));
  try {
    const r = spawnSync(process.execPath, ['bin/laurel.mjs', 'train', '--threads', '100000', '--out', out], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 2, `exit ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
    assert.equal(
      r.stderr,
      `laurel: train: bad value '100000' for --threads: expected a value <= ${MAX_THREADS}\n`,
    );
    assert.equal(r.stdout, '');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
