// Runs before `npm start` and `npm test`: sets up what a fresh clone lacks, using only Node built-ins
// (node_modules may not exist yet). npm packages: `npm ci`; the native addon: scripts/build-native.mjs;
// Fashion-MNIST: apt-get when root, else the exact command to run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Runs a command; returns whether it succeeded. */
function attempt(cmd, args) {
  console.error(`[laurel setup] ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status === 0;
}

function run(cmd, args) {
  if (!attempt(cmd, args)) {
    console.error(`[laurel setup] '${cmd} ${args.join(' ')}' failed`);
    process.exit(1);
  }
}

if (!existsSync(join(root, 'node_modules', '@tensorflow', 'tfjs'))) {
  run('npm', ['ci']); // also builds the native addon: npm ci runs package.json's `prepare` (scripts/build-native.mjs)
} else if (!existsSync(join(root, 'native', 'build', 'Release', 'laurel_native.node'))) {
  run(process.execPath, [join(root, 'scripts', 'build-native.mjs')]);
}

const fmnist = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz';
if (!existsSync(fmnist) && !process.env.LAUREL_NO_APT) {
  const isRoot = process.getuid?.() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  const installed =
    isRoot &&
    hasApt &&
    attempt('apt-get', ['update', '-qq']) &&
    attempt('apt-get', ['install', '-y', '-qq', 'dataset-fashion-mnist']);
  if (!installed) {
    console.error(
      '[laurel setup] Fashion-MNIST is missing: run `sudo apt-get install dataset-fashion-mnist` (or pass --data PATH)',
    );
  }
}
