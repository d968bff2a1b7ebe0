// Bad input and faults against the CLI (issue 12's catalogue): each known error is one line and exit 2,
// nothing is written before everything is checked, one trainer per run folder, and --json stdout is JSON.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadFashionMnist } from '../../src/data/fashion-mnist.ts';
import { encodeIdx } from '../../src/data/idx.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { readMetrics } from '../../src/train/metrics.ts';
import {
  type Result,
  gptArgs,
  lastJson,
  laurel,
  laurelAsync,
  tinyIdx,
  tinyText,
  tinyTmpfs,
  tmp,
} from './fixtures.ts';

const text = tinyText();
const idx = tinyIdx();

/** A known error: exit 2, exactly one stderr line (with --quiet), naming the problem, no stack trace. */
function refused(r: Result, message: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^laurel: /);
  assert.match(lines[0], message);
}

/** Every file under `dir` with a hash of its content: "nothing was written" is this staying equal. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out[p.slice(dir.length)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

const imageArgs = (out: string, ...extra: string[]) => [
  'train',
  '--task',
  'fashion-mnist',
  '--data',
  idx,
  '--max-steps',
  '1',
  '--out',
  out,
  '--quiet',
  ...extra,
];

test('bad sizes, --out places and data: one line, exit 2, no folder left behind', (t) => {
  const base = tmp('bad');
  const out = join(base, 'run');
  refused(
    laurel(imageArgs(out, '--train-limit', '5', '--batch-size', '16')),
    /--batch-size 16 needs 16 training images, the data has 5 \(--train-limit 5\)/,
  );
  refused(
    laurel(imageArgs(out, '--batch-size', '100')),
    /--batch-size 100 needs 100 training images, the data has 64;/,
  );
  const short = tmp('short');
  for (let i = 0; i < 10; i++) writeFileSync(join(short, `d${i}.txt`), 'Hi.');
  refused(
    laurel([...gptArgs(short, out), '--quiet']),
    /the (training|test) text has \d+ tokens, fewer than one window of --context 16 \+ 1/,
  );
  assert.equal(existsSync(out), false, 'a folder made for a refused run is removed');
  const file = join(base, 'file');
  writeFileSync(file, 'x');
  refused(laurel(imageArgs(file)), /file exists and is not a folder/);
  refused(laurel(imageArgs(join(file, 'run'))), /cannot create .*file\/run: .*file is a file, not a folder/);
  const t0 = Date.now();
  refused(laurel(imageArgs('/proc/laurel-x'), { timeoutMs: 60_000 }), /cannot create \/proc\/laurel-x: E/);
  assert.ok(Date.now() - t0 < 30_000, 'no hang');
  refused(laurel(['eval', '--out', join(base, 'nothing')]), /no run in .*nothing/);
  const bogus = laurel(['params', '--model', 'resnet20'], { env: { LAUREL_BACKEND: 'bogus' } });
  refused(bogus, /unknown backend 'bogus' \(LAUREL_BACKEND\): expected native, cpu, wasm/);
  const pool = laurel(['params', '--model', 'resnet20'], { env: { LAUREL_POOL_MB: 'abc' } });
  refused(pool, /LAUREL_POOL_MB must be a number of megabytes ≥ 0 \(got "abc"\)/);
  const ro = tinyTmpfs(64 * 1024, ',ro');
  if (!ro) return t.skip('the read-only --out case needs root to mount a tmpfs');
  try {
    refused(laurel(imageArgs(join(ro.dir, 'run'))), /cannot create .*run: EROFS: read-only file system/);
  } finally {
    ro.unmount();
  }
});

test('a label out of range in an IDX file: an error naming the file, index and value', () => {
  const bad = tmp('labels');
  cpSync(idx, bad, { recursive: true });
  const labels = readFileSync(join(idx, 'train-labels-idx1-ubyte')).subarray(8);
  const changed = Uint8Array.from(labels);
  changed[5] = 250;
  writeFileSync(join(bad, 'train-labels-idx1-ubyte'), encodeIdx([changed.length], changed));
  refused(
    laurel(['train', '--task', 'fashion-mnist', '--data', bad, '--out', join(bad, 'run'), '--quiet']),
    /train-labels-idx1-ubyte: label 250 at index 5 is out of range: no training image has label 3, so the labels must be 0\.\.2/,
  );
  // a test label the training set never has
  writeFileSync(join(bad, 'train-labels-idx1-ubyte'), encodeIdx([labels.length], labels));
  const test = Uint8Array.from(readFileSync(join(idx, 't10k-labels-idx1-ubyte')).subarray(8));
  test[3] = 7;
  writeFileSync(join(bad, 't10k-labels-idx1-ubyte'), encodeIdx([test.length], test));
  assert.throws(
    () => loadFashionMnist({ dir: bad, valSize: 0 }),
    /t10k-labels-idx1-ubyte: label 7 at index 3 is out of range: the training labels are 0\.\.2/,
  );
});

test('resume checks everything before writing: corrupt checkpoints, config drift, a lost config.json', () => {
  const base = join(tmp('resume'), 'run');
  const first = laurel([...gptArgs(text, base), '--stop-at', '2', '--quiet']);
  assert.equal(first.status, 0, first.stderr);
  const copy = (name: string) => {
    const d = join(tmp(name), 'run');
    cpSync(base, d, { recursive: true });
    return d;
  };
  const resume = (d: string, ...extra: string[]) =>
    laurel(['train', '--out', d, '--resume', '--quiet', ...extra]);
  const blobOf = (d: string) => {
    const m = JSON.parse(readFileSync(join(d, 'checkpoint', 'manifest.json'), 'utf8'));
    return join(d, 'checkpoint', m.blob);
  };
  /** The fields of config.json and manifest.json the cases below damage. */
  interface Stored {
    flags: Record<string, unknown> | null;
    config: Record<string, unknown> | null;
    tensors: { group: string; name: string; shape: number[] | null }[];
    rng: unknown;
    data_fingerprint?: string;
  }
  const edit = (path: string, change: (j: Stored) => void) => {
    const j = JSON.parse(readFileSync(path, 'utf8'));
    change(j);
    writeFileSync(path, JSON.stringify(j));
  };
  const manifest = (d: string) => join(d, 'checkpoint', 'manifest.json');
  /** The same stored flag set to `v` in config.json and in the checkpoint (so that the two agree). */
  const storeBoth = (name: string, v: unknown) => (d: string) => {
    edit(join(d, 'config.json'), (c) => {
      (c.flags as Record<string, unknown>)[name] = v;
    });
    edit(manifest(d), (m) => {
      (m.config as Record<string, unknown>)[name] = v;
    });
  };
  const cases: [string, (d: string) => void, string[], RegExp][] = [
    [
      'a stored --task no command line accepts',
      storeBoth('task', 'foo'),
      [],
      /config.json: bad value 'foo' for --task: expected one of fashion-mnist, text/,
    ],
    [
      'a fractional stored --max-steps',
      storeBoth('max-steps', 2.5),
      [],
      /config.json: bad value '2.5' for --max-steps: expected an integer/,
    ],
    [
      'a stored --lr of the wrong type, checkpoint only',
      (d) => {
        rmSync(join(d, 'config.json'));
        edit(manifest(d), (m) => {
          (m.config as Record<string, unknown>).lr = '0.1';
        });
      },
      [],
      /the checkpoint in .*: bad value "0.1" for --lr: expected a number/,
    ],
    [
      'config.json with null flags',
      (d) =>
        edit(join(d, 'config.json'), (c) => {
          c.flags = null;
        }),
      [],
      /config.json is not a laurel run config/,
    ],
    [
      'no stored flags anywhere',
      (d) => {
        rmSync(join(d, 'config.json'));
        edit(manifest(d), (m) => {
          m.config = null;
        });
      },
      [],
      /the checkpoint in .* stores no run flags and .*config.json is missing; cannot resume/,
    ],
    [
      'a tensor entry without a shape',
      (d) =>
        edit(manifest(d), (m) => {
          m.tensors[0].shape = null;
        }),
      [],
      /bad checkpoint in .*: manifest.json has a bad or missing 'tensors\[0\]'/,
    ],
    [
      'an rng state that is not a number',
      (d) =>
        edit(manifest(d), (m) => {
          m.rng = 'abc';
        }),
      [],
      /manifest.json has a bad or missing 'rng'/,
    ],
    [
      'one optimizer slot lost (it would restart from zeros)',
      (d) =>
        edit(manifest(d), (m) => {
          m.tensors.splice(
            m.tensors.findIndex(
              (e: { group: string; name: string }) => e.group === 'optimizer' && e.name.endsWith('/v'),
            ),
            1,
          );
        }),
      [],
      /bad checkpoint in .*: optimizer: state lacks '\S+\/v'/,
    ],
    [
      '--stop-at at or before the checkpoint',
      () => {},
      ['--stop-at', '2'],
      /--stop-at 2 is not after the checkpoint's step 2/,
    ],
    [
      'corrupt blob',
      (d) => {
        const b = readFileSync(blobOf(d));
        b[100] ^= 0xff;
        writeFileSync(blobOf(d), b);
      },
      [],
      /bad checkpoint in .*: blob blob-\S+ fails its SHA-256 check \(corrupted\)/,
    ],
    [
      'missing blob',
      (d) => writeFileSync(blobOf(d), ''),
      [],
      /has 0 bytes, the manifest expects \d+ \(truncated\?\)/,
    ],
    [
      'bad manifest',
      (d) => writeFileSync(join(d, 'checkpoint', 'manifest.json'), '{"format": "laurel-chec'),
      [],
      /bad checkpoint in .*: manifest.json is not valid JSON/,
    ],
    [
      'another residual, config.json lost',
      (d) => rmSync(join(d, 'config.json')),
      ['--residual', 'baseline'],
      /--residual baseline differs from the run in .* \(rw\+lr\); drop it or use another --out/,
    ],
    [
      'another lr, config.json lost',
      (d) => rmSync(join(d, 'config.json')),
      ['--lr', '0.5'],
      /--lr 0.5 differs from the run in .* \(0.003\)/,
    ],
    [
      'config.json edited against the checkpoint',
      (d) => {
        const c = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
        c.flags.lr = 0.5;
        writeFileSync(join(d, 'config.json'), JSON.stringify(c));
      },
      [],
      /config.json says --lr 0.5 but the checkpoint was trained with 0.003/,
    ],
  ];
  for (const [what, damage, extra, message] of cases) {
    const d = copy('case');
    damage(d);
    const before = snapshot(d);
    refused(resume(d, ...extra), message);
    assert.deepEqual(snapshot(d), before, `${what}: nothing written`);
  }
  const corrupt = copy('eval');
  writeFileSync(blobOf(corrupt), 'short');
  refused(laurel(['eval', '--out', corrupt, '--json']), /blob blob-\S+ has 5 bytes/);

  // config.json lost, resumed without flags: the checkpoint's flags are used and config.json comes back
  const lost = copy('lost');
  rmSync(join(lost, 'config.json'));
  const r = laurel(['train', '--out', lost, '--resume', '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(lastJson(r.stdout).steps, 6);
  assert.doesNotMatch(r.stderr, /TensorFlow\.js in Node\.js/, 'no tfjs banner on the cpu backend');
  assert.equal(JSON.parse(readFileSync(join(lost, 'config.json'), 'utf8')).flags.residual, 'rw+lr');
  assert.deepEqual(
    readMetrics(join(lost, 'metrics.jsonl')).map((m) => m.step),
    [2, 4, 6],
  );

  // the data changed since the checkpoint: refused, nothing written; a checkpoint from before data
  // fingerprints were recorded resumes as before
  const data = tmp('changed-data');
  cpSync(text, data, { recursive: true });
  const run = join(tmp('changed'), 'run');
  assert.equal(laurel([...gptArgs(data, run), '--stop-at', '2', '--quiet']).status, 0);
  const doc = join(data, 'doc00.txt');
  writeFileSync(doc, readFileSync(doc, 'utf8').replace(/\bthe\b/, 'a'));
  const before = snapshot(run);
  refused(resume(run), /the data differ from those the checkpoint in .* was trained on/);
  assert.deepEqual(snapshot(run), before, 'changed data: nothing written');
  edit(manifest(run), (m) => {
    m.data_fingerprint = undefined;
  });
  assert.equal(resume(run).status, 0, 'a checkpoint without a data fingerprint resumes');
});

test('one trainer per run folder: the second is refused naming the first PID; a killed one leaves a lock that is taken over', async () => {
  const out = join(tmp('lock'), 'run');
  const a = laurelAsync([...gptArgs(text, out, 100000, 1), '--quiet']);
  let aErr = '';
  a.stderr.on('data', (d) => {
    aErr += d;
  });
  while (!existsSync(join(out, 'checkpoint', 'manifest.json'))) {
    if (a.exitCode !== null) assert.fail(`first trainer exited: ${aErr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  refused(
    laurel(['train', '--out', out, '--resume', '--quiet']),
    new RegExp(`${out} is in use by another laurel train \\(PID ${a.pid}, since `),
  );
  const killed = new Promise((r) => a.on('exit', r));
  a.kill('SIGKILL');
  await killed;
  assert.equal(JSON.parse(readFileSync(join(out, 'lock'), 'utf8')).pid, a.pid, 'a stale lock is left');
  const step = loadCheckpoint(out).step;
  const b = laurel(['train', '--out', out, '--resume', '--stop-at', String(step + 2), '--json']);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stderr, new RegExp(`took over the lock of ${out} from PID ${a.pid}, which no longer runs`));
  assert.equal(lastJson(b.stdout).steps, step + 2);
  const steps = readMetrics(join(out, 'metrics.jsonl')).map((m) => m.step);
  assert.deepEqual(
    steps,
    steps.map((_, i) => i + 1),
    'one metrics line per evaluation',
  );
  assert.equal(existsSync(join(out, 'lock')), false, 'released at exit');
});

test('a divergent run (--lr 1e6) exits 3 and keeps no non-finite checkpoint', () => {
  const out = join(tmp('diverge'), 'run');
  const r = laurel([...gptArgs(text, out, 6, 1), '--lr', '1e6', '--quiet']);
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /loss is (NaN|-?Infinity) at step \d+: stopping \(try a lower --lr\)/);
  assert.equal(JSON.parse(r.stdout).status, 'diverged');
  if (existsSync(join(out, 'checkpoint', 'manifest.json'))) {
    const c = loadCheckpoint(out);
    for (const t of Object.values(c.params)) assert.ok(t.dataSync().every(Number.isFinite));
    c.dispose();
    const e = laurel(['eval', '--out', out, '--json']);
    assert.equal(e.status, 0, e.stderr);
    assert.ok(Number.isFinite(JSON.parse(e.stdout).test_loss));
  }
});

test('a full disk (ENOSPC on a tiny tmpfs): one line, exit 2, no partial .tmp left', (t) => {
  const fs = tinyTmpfs(256 * 1024);
  if (!fs) return t.skip('needs root to mount a tmpfs');
  try {
    const out = join(fs.dir, 'run');
    // ResNet-20's checkpoint (weights and momentum, about 2 MB) cannot fit in 256 KiB
    const r = laurel(imageArgs(out, '--batch-size', '8'));
    refused(r, /cannot write .*run\/checkpoint\/blob-\S+\.bin: ENOSPC: no space left on device/);
    const left = Object.keys(snapshot(out)).filter((f) => f.endsWith('.tmp'));
    assert.deepEqual(left, []);
    assert.equal(existsSync(join(out, 'lock')), false);
  } finally {
    fs.unmount();
  }
});

test('--json: stdout is exactly one JSON document, for every command that has --json', () => {
  const base = tmp('json');
  const gpt = join(base, 'gpt');
  const resnet = join(base, 'resnet');
  // in order: the runs first, then the commands that read them (demo: test/cli/train.test.ts parses its stdout whole)
  const cases: [string, string[]][] = [
    ['params', ['params', '--model', 'gpt', '--residual', 'rw+lr', '--json']],
    ['train', gptArgs(text, gpt, 2, 2)],
    ['train', [...imageArgs(resnet, '--batch-size', '8'), '--json']],
    ['eval', ['eval', '--out', gpt, '--json']],
    ['export', ['export', '--out', gpt, '--json']],
    ['generate', ['generate', '--out', gpt, '--max-tokens', '4', '--json']],
    ['fold', ['fold', '--out', gpt, '--to', join(base, 'folded'), '--json']],
    ['probe', ['probe', '--out', gpt, '--limit', '20', '--json']],
    [
      'predict',
      ['predict', '--out', resnet, '--idx', join(idx, 't10k-images-idx3-ubyte'), '--first', '2', '--json'],
    ],
    ['bench', ['bench', '--dry', '--models', 'gpt', '--skip-gemm', '--skip-torch', '--skip-check', '--json']],
  ];
  for (const [name, args] of cases) {
    const r = laurel(args);
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
    assert.doesNotThrow(() => JSON.parse(r.stdout), `${name} --json stdout: ${r.stdout.slice(0, 300)}`);
    assert.doesNotMatch(r.stderr, /TensorFlow\.js in Node\.js/, `${name}: no tfjs banner on the cpu backend`);
  }
});

test('laurel report: no results is an error naming --runs-dir; garbage lines are counted in a warning', () => {
  const base = tmp('report');
  const results = join(base, 'results');
  refused(
    laurel([
      'report',
      'vision',
      '--budget',
      'standard',
      '--runs-dir',
      join(base, 'empty'),
      '--results-dir',
      results,
    ]),
    /no results to report: .*empty\/vision\/results\.jsonl does not exist; .*--runs-dir/,
  );
  assert.equal(existsSync(results), false);
  // the committed records plus two garbage lines: a report, and a warning counting the two
  mkdirSync(join(base, 'runs', 'vision'), { recursive: true });
  const committed = readFileSync('results/vision/results.jsonl', 'utf8');
  writeFileSync(join(base, 'runs', 'vision', 'results.jsonl'), `${committed}not json\n{"key": 1}\n`);
  const r = laurel([
    'report',
    'vision',
    '--budget',
    'standard',
    '--runs-dir',
    join(base, 'runs'),
    '--results-dir',
    results,
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: skipped 2 lines of results\.jsonl that are not trial records/);
  assert.ok(existsSync(join(results, 'vision', 'report.md')));
});
