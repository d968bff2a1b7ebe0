// One worker process of the tfjs-core conformance run (bundled by bundle.mjs with tfjs-core, tfjs-backend-cpu,
// @tensorflow/tfjs and our backend, so that all of them share one tfjs-core: one engine, one kernel registry).
// The parent sends spec file names over IPC; each file runs in a fresh jasmine environment and its results go
// back before the next file is asked for, so a crash loses only the file in flight.
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-cpu';
import { setTestEnvs, setupTestFilters } from '@tensorflow/tfjs-core/dist/jasmine_util';
import jasmineRequire from 'jasmine-core/lib/jasmine-core/jasmine.js';
import { ensureNative } from '../../src/engine/index.ts';
import { excludedBy } from './exclusions.mjs';

// tfjs's jasmine_util gives its own specs this timeout; a fresh jasmine core would default to 5 s.
const SPEC_TIMEOUT_MS = 20000;

function setUpBackend(backend) {
  if (backend === 'native') {
    const why = ensureNative();
    if (why !== null) throw new Error(`native backend unavailable: ${why}`);
  }
  // As tfjs-backend-cpu's run_tests: a synchronous backend, specs in file order.
  setTestEnvs([{ name: backend, backendName: backend, isDataSync: true }]);
}

/** Runs one spec file in a fresh jasmine environment; resolves with its counts and failures. */
function runFile(load) {
  const j = jasmineRequire.core(jasmineRequire);
  j.DEFAULT_TIMEOUT_INTERVAL = SPEC_TIMEOUT_MS;
  const env = j.getEnv();
  Object.assign(globalThis, jasmineRequire.interface(j, env));
  env.configure({ random: false });
  // tfjs's filter helper: no include list, so every spec runs unless excludedBy names it.
  setupTestFilters([], (name) => excludedBy(name) === null);
  const result = { passed: 0, failed: 0, excluded: 0, pending: 0, failures: [] };
  return new Promise((resolve, reject) => {
    env.addReporter({
      specDone(r) {
        if (r.status === 'passed') result.passed++;
        else if (r.status === 'failed') {
          result.failed++;
          result.failures.push({
            name: r.fullName,
            message: r.failedExpectations.map((e) => (process.env.TFJS_SUITE_STACKS ? e.stack : e.message)),
          });
        } else if (r.status === 'excluded') result.excluded++;
        else result.pending++;
      },
      suiteDone(r) {
        // A failure in beforeAll/afterAll belongs to no spec; count it so that it cannot pass unseen.
        if (r.status === 'failed') {
          result.failed++;
          result.failures.push({
            name: r.fullName,
            message: r.failedExpectations.map((e) => (process.env.TFJS_SUITE_STACKS ? e.stack : e.message)),
          });
        }
      },
      jasmineDone(r) {
        if (r.overallStatus === 'failed' && r.failedExpectations.length > 0) {
          result.failed++;
          result.failures.push({
            name: '(top level)',
            message: r.failedExpectations.map((e) => (process.env.TFJS_SUITE_STACKS ? e.stack : e.message)),
          });
        }
        resolve(result);
      },
    });
    load().then(() => env.execute(), reject);
  });
}

/** Entry point of the bundle: `specs` maps each spec file name to a function that imports it. */
export function runWorker(specs) {
  const backend = process.env.TFJS_SUITE_BACKEND;
  try {
    setUpBackend(backend);
  } catch (e) {
    process.send({ type: 'fatal', message: e.message.split('\n')[0] });
    process.exit(1);
  }
  process.on('message', async (msg) => {
    if (msg.type === 'stop') process.exit(0);
    if (msg.type !== 'run') return;
    const load = specs[msg.file];
    try {
      if (!load) throw new Error(`no spec file ${msg.file} in the bundle`);
      const result = await runFile(load);
      process.send({ type: 'done', file: msg.file, ...result });
    } catch (e) {
      process.send({
        type: 'done',
        file: msg.file,
        passed: 0,
        failed: 1,
        excluded: 0,
        pending: 0,
        failures: [{ name: '(loading the file)', message: [String(e?.stack ?? e)] }],
      });
    }
  });
  process.send({ type: 'ready' });
}
