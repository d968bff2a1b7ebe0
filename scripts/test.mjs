// The test command: lint + format check, type check, then every test/**/*.test.ts under node's test runner.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function findTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return findTests(p);
    return p.endsWith('.test.ts') ? [p] : [];
  });
}

// `npm test -- test/laurel` runs only the tests under the given paths, and skips the static checks.
const only = process.argv.slice(2);
if (only.length === 0) {
  run('npx', ['biome', 'check', '.']);
  run('npx', ['tsc', '--noEmit', '-p', '.']);
}
const files = (only.length ? only : ['test']).flatMap((p) =>
  statSync(p).isDirectory() ? findTests(p) : [p],
);
run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files.sort()]);
