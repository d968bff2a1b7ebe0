import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { acquireRunLock, lockPath } from '../../src/train/lock.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'laurel-lock-'));

/** The PID of a process that has exited (so no process runs under it, barring reuse within the test). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
    encoding: 'utf8',
  });
  return Number(r.stdout);
}

test('a held lock refuses a second trainer, naming the holder PID; release frees it', () => {
  const d = dir();
  const a = acquireRunLock(d);
  assert.equal(a.tookOverFrom, null);
  assert.equal(JSON.parse(readFileSync(lockPath(d), 'utf8')).pid, process.pid);
  assert.throws(
    () => acquireRunLock(d),
    new RegExp(
      `is in use by another laurel train \\(PID ${process.pid}, since .*\\); wait for it or stop it`,
    ),
  );
  a.release();
  assert.equal(existsSync(lockPath(d)), false);
  acquireRunLock(d).release();
});

test('a stale lock (dead PID, or a PID reused by another process) is taken over', () => {
  const d = dir();
  const pid = deadPid();
  writeFileSync(lockPath(d), JSON.stringify({ pid, host: hostname(), start: null, since: 'then' }));
  const a = acquireRunLock(d);
  assert.equal(a.tookOverFrom, pid);
  a.release();
  // our own PID, but another start time: the PID was reused since the lock was written
  writeFileSync(
    lockPath(d),
    JSON.stringify({ pid: process.pid, host: hostname(), start: '1', since: 'then' }),
  );
  const b = acquireRunLock(d);
  assert.equal(b.tookOverFrom, process.pid);
  b.release();
});

test('an unreadable lock is taken over only once it is old (its owner may be writing it right now)', () => {
  const d = dir();
  writeFileSync(lockPath(d), '');
  assert.throws(() => acquireRunLock(d), /is being locked by another laurel train right now/);
  const old = new Date(Date.now() - 60_000);
  utimesSync(lockPath(d), old, old);
  acquireRunLock(d).release();
});

test('a lock from another host is respected (its process cannot be checked from here)', () => {
  const d = dir();
  writeFileSync(
    lockPath(d),
    JSON.stringify({ pid: deadPid(), host: 'elsewhere', start: null, since: 'then' }),
  );
  assert.throws(() => acquireRunLock(d), /in use by another laurel train \(PID \d+ on elsewhere/);
});
