// `npm run test:tfjs -- --backend native|cpu`: tfjs-core 4.22's own backend conformance suite (its shipped
// jasmine specs) against one backend, spread over a small pool of worker processes so that a native crash loses
// one spec file, not the run. Exits non-zero when any spec fails or any file crashed.
import { fork } from 'node:child_process';
import { rmSync } from 'node:fs';
import { buildBundle, specFiles } from './tfjs-suite/bundle.mjs';
import { EXCLUSIONS } from './tfjs-suite/exclusions.mjs';

// TFJS_SUITE_STACKS=1 prints each failure's whole stack instead of its first line.
const USAGE =
  'usage: npm run test:tfjs -- [--backend native|cpu] [--workers N] [--files SUBSTRING] [--file-timeout SECONDS]';

function fail(msg) {
  console.error(`tfjs-suite: ${msg}`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { backend: 'native', workers: 2, files: '', fileTimeout: 300 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value; ${USAGE}`);
      return argv[++i];
    };
    const int = (name, v, max) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > max)
        fail(`${name} must be an integer in [1, ${max}] (got ${v})`);
      return n;
    };
    if (a === '--backend') o.backend = val();
    else if (a === '--workers') o.workers = int('--workers', val(), 16);
    else if (a === '--files') o.files = val();
    else if (a === '--file-timeout') o.fileTimeout = int('--file-timeout', val(), 3600);
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else fail(`unknown argument ${a}; ${USAGE}`);
  }
  if (o.backend !== 'native' && o.backend !== 'cpu')
    fail(`--backend must be native or cpu (got ${o.backend})`);
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const files = specFiles().filter((f) => f.includes(opts.files));
if (files.length === 0) fail(`no spec file matches --files ${opts.files}`);

const t0 = performance.now();
const { dir, entry } = await buildBundle(files);
const built = (performance.now() - t0) / 1000;
console.log(
  `tfjs-core suite on ${opts.backend}: ${files.length} spec files, ${opts.workers} workers, ` +
    `${EXCLUSIONS.length} exclusion(s), bundled in ${built.toFixed(1)} s`,
);

const totals = { passed: 0, failed: 0, excluded: 0, pending: 0, crashed: 0 };
const queue = files.slice();
let fatal = null;

function report(file, r) {
  totals.passed += r.passed;
  totals.failed += r.failed;
  totals.excluded += r.excluded;
  totals.pending += r.pending;
  for (const f of r.failures) {
    const msg = process.env.TFJS_SUITE_STACKS
      ? f.message.join('\n')
      : f.message.join(' | ').split('\n')[0].slice(0, 300);
    console.log(`FAIL ${file} › ${f.name}\n     ${msg}`);
  }
}

/** One worker: takes files off the queue until it is empty; a crash or a hang costs only the file in flight. */
function worker() {
  return new Promise((done) => {
    const child = fork(entry, [], {
      env: { ...process.env, TFJS_SUITE_BACKEND: opts.backend },
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let current = null;
    let ready = false;
    let timer = null;
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr = (stderr + d).slice(-2000);
    });
    const lastWords = () => stderr.trim().split('\n').slice(-3).join(' | ');
    const next = () => {
      current = queue.shift() ?? null;
      if (current === null || fatal) {
        child.send({ type: 'stop' });
        return;
      }
      clearTimeout(timer);
      timer = setTimeout(() => {
        console.log(`FAIL ${current} › (timed out after ${opts.fileTimeout} s; worker killed)`);
        totals.failed++;
        totals.crashed++;
        current = null;
        child.kill('SIGKILL');
      }, opts.fileTimeout * 1000);
      child.send({ type: 'run', file: current });
    };
    child.on('message', (m) => {
      if (m.type === 'fatal') fatal = m.message;
      else if (m.type === 'ready') {
        ready = true;
        next();
      } else if (m.type === 'done') {
        report(m.file, m);
        next();
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (current !== null) {
        console.log(`FAIL ${current} › (worker died: ${signal ?? `exit ${code}`}) ${lastWords()}`);
        totals.failed++;
        totals.crashed++;
      }
      // A worker that dies before it is ready would die again: stop instead of starting workers forever.
      if (!ready && !fatal)
        fatal = `a worker died while starting (${signal ?? `exit ${code}`}): ${lastWords()}`;
      // Another worker for the files still queued.
      if (queue.length > 0 && !fatal) worker().then(done);
      else done();
    });
  });
}

try {
  await Promise.all(Array.from({ length: Math.min(opts.workers, files.length) }, worker));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (fatal) {
  console.error(`tfjs-suite: ${fatal}`);
  process.exit(1);
}
const run = totals.passed + totals.failed;
const secs = (performance.now() - t0) / 1000;
console.log(
  `specs run: ${run}, passed: ${totals.passed}, failed: ${totals.failed} ` +
    `(excluded: ${totals.excluded}, pending: ${totals.pending}, files crashed or timed out: ${totals.crashed}), ` +
    `${secs.toFixed(1)} s`,
);
console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(totals.failed > 0 ? 1 : 0);
