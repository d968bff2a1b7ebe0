// Builds the native addon (native/, node-gyp + OpenBLAS) as package.json's `prepare`, which `npm ci` runs. Never
// fails the install: when the addon cannot be built it says exactly why and what to install, and the toolkit
// falls back to the cpu backend.
// LAUREL_ASAN=1 builds it with AddressSanitizer into native/build-asan instead (never over native/build): see
// scripts/asan.sh, which runs the tests against that build.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const asan = process.env.LAUREL_ASAN === '1';
const sourceDir = join(root, 'native');
// node-gyp always builds into <cwd>/build: the ASan build runs on a copy of binding.gyp and src/.
const nativeDir = asan ? join(sourceDir, 'build-asan') : sourceDir;
const MULTIARCH = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch] ?? '';
// LAUREL_BLAS_INCLUDE_DIRS (':'-separated) overrides where cblas.h is looked for; LAUREL_NO_APT=1 never runs apt.
const BLAS_INCLUDES = process.env.LAUREL_BLAS_INCLUDE_DIRS
  ? process.env.LAUREL_BLAS_INCLUDE_DIRS.split(':')
  : [`/usr/include/${MULTIARCH}/openblas-pthread`, '/usr/include/openblas', '/usr/include'];
const HINT =
  'install it with: apt-get install -y libopenblas-dev (Debian/Ubuntu), then run: node scripts/build-native.mjs';

function log(msg) {
  console.log(`[laurel native] ${msg}`);
}
function giveUp(msg) {
  log(`${msg}`);
  if (asan) process.exit(1); // asked for explicitly: a failure, not a fallback
  log('the toolkit will run on the tfjs cpu backend (slow) until the addon is built.');
  process.exit(0);
}

function findBlasInclude() {
  return BLAS_INCLUDES.find(
    (d) => existsSync(join(d, 'cblas.h')) && existsSync(join(d, 'openblas_config.h')),
  );
}

function output(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

// macOS: Homebrew's OpenBLAS ($LAUREL_OPENBLAS_PREFIX, else `brew --prefix openblas`), else Apple's Accelerate
// (its cblas.h in the SDK; LAUREL_ACCELERATE swaps the OpenBLAS-only calls for no-ops). Untested here (Linux).
function findMacBlas() {
  const prefix = process.env.LAUREL_OPENBLAS_PREFIX || output('brew', ['--prefix', 'openblas']);
  if (prefix && existsSync(join(prefix, 'include', 'cblas.h'))) {
    const lib = join(prefix, 'lib');
    return { include: join(prefix, 'include'), libs: `-L${lib} -Wl,-rpath,${lib} -lopenblas`, defines: '' };
  }
  const sdk = output('xcrun', ['--show-sdk-path']);
  const vecLib = 'System/Library/Frameworks/Accelerate.framework/Frameworks/vecLib.framework/Headers';
  if (sdk && existsSync(join(sdk, vecLib, 'cblas.h'))) {
    const framework = '$(SDKROOT)/System/Library/Frameworks/Accelerate.framework'; // gyp links it as -framework
    return { include: join(sdk, vecLib), libs: framework, defines: 'LAUREL_ACCELERATE' };
  }
  giveUp('no BLAS found: install the Xcode command line tools (Accelerate) or run: brew install openblas');
}

if (process.env.LAUREL_SKIP_NATIVE === '1') giveUp('LAUREL_SKIP_NATIVE=1: skipping the native build.');

const blas =
  process.platform === 'darwin'
    ? findMacBlas()
    : { include: findBlasInclude(), libs: '-lopenblas', defines: '' };
if (!blas.include) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  if (isRoot && hasApt && process.env.LAUREL_NO_APT !== '1') {
    log('OpenBLAS headers not found; installing libopenblas-dev with apt-get ...');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'libopenblas-dev'], {
      stdio: 'inherit',
      env,
    });
    if (r.status !== 0) {
      spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
      r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'libopenblas-dev'], {
        stdio: 'inherit',
        env,
      });
    }
    blas.include = findBlasInclude();
  }
  if (!blas.include) giveUp(`OpenBLAS development files (cblas.h) not found; ${HINT}`);
}

// Node headers: never let node-gyp download them.
const nodedirCandidates = [
  process.env.npm_config_nodedir,
  resolve(dirname(process.execPath), '..'),
  '/usr',
  '/usr/local',
].filter(Boolean);
const nodedir = nodedirCandidates.find((d) => existsSync(join(d, 'include', 'node', 'node_api.h')));
if (!nodedir)
  giveUp('Node.js headers (include/node/node_api.h) not found; install the nodejs headers package.');

// node-gyp: the one bundled with npm.
const gypCandidates = [
  process.env.npm_config_node_gyp,
  join(
    dirname(process.execPath),
    '..',
    'lib',
    'node_modules',
    'npm',
    'node_modules',
    'node-gyp',
    'bin',
    'node-gyp.js',
  ),
  '/usr/share/nodejs/node-gyp/bin/node-gyp.js',
  '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
  '/usr/share/nodejs/npm/node_modules/node-gyp/bin/node-gyp.js',
].filter(Boolean);
const nodeGyp = gypCandidates.find((p) => existsSync(p));
if (!nodeGyp) giveUp('node-gyp not found (it ships with npm); install npm, or set npm_config_node_gyp.');

// x86-64 SIMD flags only when this CPU has them (the addon is built on the machine that runs it); ARM64 needs
// none (NEON is in the baseline), and the x86 kernels are compiled out there.
let cpuinfo = '';
try {
  if (process.arch === 'x64') cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
} catch {}
const flags =
  cpuinfo
    .match(/^flags\s*:(.*)$/m)?.[1]
    .trim()
    .split(/\s+/) ?? [];
const simd = flags.includes('avx2') && flags.includes('fma') ? '-mavx2 -mfma' : '';
const sanitize = asan ? '-fsanitize=address -fno-omit-frame-pointer -g -O1' : '';
const cflags = [simd, sanitize].filter(Boolean).join(' ');
log(
  `building with BLAS headers in ${blas.include}, node headers in ${nodedir}${cflags ? `, ${cflags}` : ''}`,
);

if (asan) {
  rmSync(join(nativeDir, 'src'), { recursive: true, force: true });
  mkdirSync(nativeDir, { recursive: true });
  cpSync(join(sourceDir, 'src'), join(nativeDir, 'src'), { recursive: true });
  cpSync(join(sourceDir, 'binding.gyp'), join(nativeDir, 'binding.gyp'));
}
const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, '--jobs=2'], {
  cwd: nativeDir,
  stdio: 'inherit',
  env: {
    ...process.env,
    LAUREL_CFLAGS: cflags,
    LAUREL_LDFLAGS: asan ? '-fsanitize=address' : '',
    LAUREL_BLAS_INCLUDE: blas.include,
    LAUREL_BLAS_LIBS: blas.libs,
    LAUREL_BLAS_DEFINES: blas.defines,
  },
});
if (r.status !== 0) giveUp(`node-gyp failed (exit ${r.status}); see the compiler output above. ${HINT}`);
log(`built ${join(nativeDir, 'build', 'Release', 'laurel_native.node').slice(root.length + 1)}`);
