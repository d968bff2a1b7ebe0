// The package as a user gets it: build, `npm pack`, install the tarball into a temporary project (from the npm
// cache where it can), then use it there the ways users do: plain Node ESM, a strict TypeScript build, an
// esbuild browser bundle run in headless Chromium (Debian's /usr/bin/chromium through playwright-core), the CLI,
// and tfjs 4.21 as the peer. One pack and install for all of them.
import assert from 'node:assert/strict';
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { build } from 'esbuild';
import { tinyIdx } from '../cli/fixtures.ts';
import { inChromium } from './chromium.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const HERE = join(ROOT, 'test/package/consumer');
const work = mkdtempSync(join(tmpdir(), 'laurel-package-'));
const app = join(work, 'app');
let tarball = '';

function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: ROOT, maxBuffer: 1 << 26, ...opts });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return String(r.stdout);
}

/** A project with the tarball and the given peers installed, preferring the npm cache. */
function project(dir: string, deps: string[]): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball, ...deps], { cwd: dir });
}

before(() => {
  run('npm', ['run', 'build']);
  const packed = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work]));
  tarball = join(work, packed[0].filename);
  project(app, ['@tensorflow/tfjs@4.22.0', '@types/node@20.19.43']);
  for (const f of ['node-consumer.mjs', 'browser-consumer.mjs', 'ts-consumer.ts'])
    copyFileSync(join(HERE, f), join(app, f));
});

after(() => rmSync(work, { recursive: true, force: true }));

test('npm pack ships the built JavaScript, its types, the CLI and the native sources; no tests, bench, results or TypeScript sources', () => {
  const files: string[] = JSON.parse(
    run('npm', ['pack', '--dry-run', '--ignore-scripts', '--json']),
  )[0].files.map((f: { path: string }) => f.path);
  for (const f of [
    'dist/index.js',
    'dist/index.d.ts',
    'dist/node.js',
    'dist/cli.js',
    'bin/laurel.mjs',
    'package.json',
  ])
    assert.ok(files.includes(f), `${f} packed`);
  const stray = files.filter(
    (f) =>
      /^(src|test|bench|results|docs|examples|\.ci)\//.test(f) || (f.endsWith('.ts') && !f.endsWith('.d.ts')),
  );
  assert.deepEqual(stray, []);
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.scripts.install, undefined, 'no install script: a core consumer compiles nothing');
  assert.equal(pkg.dependencies, undefined, 'no runtime dependencies beyond the tfjs peer');
});

test('the install brings tfjs as the one peer (no nested copy) and none of the toolkit extras', () => {
  const nm = join(app, 'node_modules');
  assert.ok(!existsSync(join(nm, 'laurel/node_modules')), 'laurel got a nested node_modules');
  for (const extra of [
    'vega',
    'vega-lite',
    'tsx',
    '@stdlib',
    '@tensorflow/tfjs-backend-wasm',
    'bullmq',
    'pngjs',
  ])
    assert.ok(!existsSync(join(nm, extra)), `${extra} installed for a core consumer`);
});

function nodeConsumer(dir: string, tfjs: string): void {
  const out = JSON.parse(
    run(process.execPath, ['node-consumer.mjs'], { cwd: dir }).trim().split('\n').pop()!,
  );
  assert.equal(out.tfjs, tfjs);
  assert.equal(out.backend, 'cpu');
  assert.equal(out.losses.length, 4);
  assert.ok(out.losses[3] < out.losses[0], `loss fell: ${out.losses}`);
  assert.equal(out.maxDiff, 0, 'the loaded model predicts what the saved one did');
  assert.equal(out.addedParams, 2 * 2 * 8 + 2);
  assert.deepEqual(out.residualShape, [2, 16]);
  assert.equal(out.residualAdded, 2 * 4 * 16 + 2);
}

test('plain Node ESM: import the core, build a tf.model with the LAUREL layer, fit, save and load (file://)', () => {
  nodeConsumer(app, '4.22.0');
});

test("a strict TypeScript consumer type-checks and compiles (NodeNext, declarations on); laurel's own declarations pass lib checking", () => {
  const tsc = (skipLibCheck: boolean) => {
    const compilerOptions = {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      declaration: true,
      outDir: 'out',
      types: ['node'],
      skipLibCheck,
    };
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['ts-consumer.ts'] }));
    return spawnSync(
      process.execPath,
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'],
      {
        cwd: app,
        encoding: 'utf8',
      },
    );
  };
  const normal = tsc(true);
  assert.equal(normal.status, 0, normal.stdout);
  assert.ok(existsSync(join(app, 'out/ts-consumer.js')));
  // Checking every declaration file: tfjs 4.2x's own fail (Long, PyJsonValue); none of ours or the consumer's may.
  const strict = tsc(false);
  const ours = strict.stdout
    .split('\n')
    .filter((l) => /error TS/.test(l) && !l.startsWith('node_modules/@tensorflow/'));
  assert.deepEqual(ours, []);
});

test('esbuild bundles the core for the browser: no node: import, no process in our code; it trains and saves to IndexedDB in headless Chromium', async () => {
  // Our code alone (tfjs external): nothing from Node, no `process` (tfjs itself probes `process` safely).
  const core = await build({
    absWorkingDir: app,
    stdin: { contents: "export * from 'laurel';", resolveDir: app, loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    external: ['@tensorflow/tfjs'],
    write: false,
    logLevel: 'silent',
  });
  const text = core.outputFiles[0].text;
  assert.doesNotMatch(text, /["']node:/);
  assert.doesNotMatch(text, /\bprocess\b/);
  // The whole page bundle, run in Chromium.
  const www = join(app, 'www');
  mkdirSync(www, { recursive: true });
  await build({
    absWorkingDir: app,
    entryPoints: ['browser-consumer.mjs'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    outfile: join(www, 'bundle.js'),
    logLevel: 'silent',
  });
  writeFileSync(join(www, 'index.html'), '<!doctype html><script type="module" src="bundle.js"></script>');
  const result = await inChromium(www, '', 60_000);
  assert.equal(result.error, undefined, String(result.error));
  assert.equal(result.backend, 'cpu');
  assert.equal(result.forward, true);
  const losses = result.losses as number[];
  assert.ok(losses[3] < losses[0], `loss fell: ${losses}`);
  assert.equal(result.maxDiff, 0, 'the model loaded from IndexedDB predicts what the saved one did');
  assert.equal(result.addedParams, 2 * 2 * 8 + 2);
});

test('the CLI from the installed package: --help, params, a 5-step train (built JavaScript, no tsx)', () => {
  const bin = (args: string[]) =>
    spawnSync('npx', ['--no', '--', 'laurel', ...args], {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, LAUREL_BACKEND: 'cpu' },
    });
  const help = bin(['--help']);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage: laurel <command>/);
  const params = bin(['params', '--model', 'resnet20', '--residual', 'rw+lr', '--rank', '4', '--json']);
  assert.equal(params.status, 0, params.stderr);
  const p = JSON.parse(params.stdout.trim().split('\n').pop()!);
  assert.ok(p.added_params > 0);
  const out = join(work, 'run');
  const train = bin([
    'train',
    ...['--task', 'fashion-mnist', '--model', 'resnet20', '--residual', 'rw+lr', '--rank', '4'],
    ...['--batch-size', '8', '--max-steps', '5', '--data', tinyIdx(), '--out', out, '--json'],
  ]);
  assert.equal(train.status, 0, train.stderr);
  assert.equal(JSON.parse(train.stdout.trim().split('\n').pop()!).steps, 5);
});

test('an older tfjs peer (4.21) works: one tfjs instance, the same Node consumer passes', () => {
  const old = join(work, 'old');
  project(old, ['@tensorflow/tfjs@4.21.0']);
  assert.ok(!existsSync(join(old, 'node_modules/laurel/node_modules')), 'laurel got a nested tfjs');
  copyFileSync(join(HERE, 'node-consumer.mjs'), join(old, 'node-consumer.mjs'));
  nodeConsumer(old, '4.21.0');
});
