// Builds the native addon (native/, node-gyp + OpenBLAS) during `npm ci`. Never fails the install: when the
// addon cannot be built it says exactly why and what to install, and the toolkit falls back to the cpu backend.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
// LAUREL_BLAS_INCLUDE_DIRS (':'-separated) overrides where cblas.h is looked for; LAUREL_NO_APT=1 never runs apt.
const BLAS_INCLUDES = process.env.LAUREL_BLAS_INCLUDE_DIRS
  ? process.env.LAUREL_BLAS_INCLUDE_DIRS.split(':')
  : ['/usr/include/x86_64-linux-gnu/openblas-pthread', '/usr/include/openblas', '/usr/include'];
const HINT =
  'install it with: apt-get install -y libopenblas-dev (Debian/Ubuntu), then run: node scripts/build-native.mjs';

function log(msg) {
  console.log(`[laurel native] ${msg}`);
}
function giveUp(msg) {
  log(`${msg}`);
  log('the toolkit will run on the tfjs cpu backend (slow) until the addon is built.');
  process.exit(0);
}

function findBlasInclude() {
  return BLAS_INCLUDES.find(
    (d) => existsSync(join(d, 'cblas.h')) && existsSync(join(d, 'openblas_config.h')),
  );
}

if (process.env.LAUREL_SKIP_NATIVE === '1') giveUp('LAUREL_SKIP_NATIVE=1: skipping the native build.');

let blasInclude = findBlasInclude();
if (!blasInclude) {
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
    blasInclude = findBlasInclude();
  }
  if (!blasInclude) giveUp(`OpenBLAS development files (cblas.h) not found; ${HINT}`);
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

// SIMD flags only when this CPU has them (the addon is built on the machine that runs it).
let cpuinfo = '';
try {
  cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
} catch {}
const flags =
  cpuinfo
    .match(/^flags\s*:(.*)$/m)?.[1]
    .trim()
    .split(/\s+/) ?? [];
const simd = flags.includes('avx2') && flags.includes('fma') ? '-mavx2 -mfma' : '';
log(`building with OpenBLAS headers in ${blasInclude}, node headers in ${nodedir}${simd ? `, ${simd}` : ''}`);

const r = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, '--jobs=2'], {
  cwd: nativeDir,
  stdio: 'inherit',
  env: { ...process.env, LAUREL_SIMD_FLAGS: simd, LAUREL_BLAS_INCLUDE: blasInclude },
});
if (r.status !== 0) giveUp(`node-gyp failed (exit ${r.status}); see the compiler output above. ${HINT}`);
log('built native/build/Release/laurel_native.node');
