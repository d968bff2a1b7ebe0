// The tfjs-core conformance runner (scripts/tfjs-suite.mjs) on a few spec files: counts, the final line, the exit
// status, and one-line errors for bad arguments. The whole suite runs in CI (.ci/run), not here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

function suite(...args: string[]) {
  const r = spawnSync(process.execPath, ['scripts/tfjs-suite.mjs', ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('the runner runs tfjs-core spec files on native and reports run / passed / failed', () => {
  const r = suite('--backend', 'native', '--files', 'ops/concat');
  assert.equal(r.code, 0, r.out + r.err);
  const lines = r.out.trim().split('\n');
  const last = lines[lines.length - 1];
  const m = /^(\d+) passed, (\d+) failed$/.exec(last);
  assert.ok(m, `final line: ${last}`);
  assert.ok(Number(m[1]) > 50, `concat specs passed: ${m[1]}`);
  assert.equal(m[2], '0');
  assert.match(r.out, new RegExp(`specs run: ${m[1]}, passed: ${m[1]}, failed: 0`));
});

test('the runner rejects bad arguments with one line and exit 2', () => {
  for (const args of [['--backend', 'wasm'], ['--workers', '0'], ['--files', 'no_such_spec'], ['--bogus']]) {
    const r = suite(...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, /^tfjs-suite: [^\n]+\n$/, args.join(' '));
    assert.equal(r.out, '');
  }
});
