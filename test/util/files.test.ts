import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { InputError } from '../../src/util/errors.ts';
import {
  checkDirCreatable,
  ensureDir,
  removeEmptyDirs,
  tempName,
  writeFileAtomic,
} from '../../src/util/files.ts';
import { tinyTmpfs } from '../cli/fixtures.ts';

const tmp = mkdtempSync(join(tmpdir(), 'laurel-files-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('temp names are unique per call and per process', () => {
  const a = tempName('/x/manifest.json');
  assert.notEqual(a, tempName('/x/manifest.json'));
  assert.match(a, new RegExp(`^/x/manifest\\.json\\.${process.pid}-[0-9a-f]{8}\\.tmp$`));
});

test('writeFileAtomic replaces the file; a failed write leaves the old content and no temp file', () => {
  const path = join(tmp, 'a.json');
  writeFileAtomic(path, 'one');
  writeFileAtomic(path, 'two', { durable: true });
  assert.equal(readFileSync(path, 'utf8'), 'two');
  // the rename fails (the target is a non-empty folder): the written temp file must go
  const dir = join(tmp, 'target');
  mkdirSync(join(dir, 'inside'), { recursive: true });
  assert.throws(
    () => writeFileAtomic(dir, 'x'),
    (e: unknown) => e instanceof InputError && /^cannot write .*target: E[A-Z]+: /.test(e.message),
  );
  assert.deepEqual(
    readdirSync(tmp).filter((f) => f.endsWith('.tmp')),
    [],
  );
});

test('a full disk (ENOSPC on a 64 KiB tmpfs): one clear error, the old file kept, no partial .tmp', (t) => {
  const fs = tinyTmpfs(64 * 1024);
  if (!fs) return t.skip('needs root to mount a tmpfs');
  try {
    const path = join(fs.dir, 'blob.bin');
    writeFileAtomic(path, 'old');
    assert.throws(
      () => writeFileAtomic(path, new Uint8Array(1 << 20), { durable: true }),
      (e: unknown) =>
        e instanceof InputError && e.message === `cannot write ${path}: ENOSPC: no space left on device`,
    );
    assert.equal(readFileSync(path, 'utf8'), 'old');
    assert.deepEqual(readdirSync(fs.dir), ['blob.bin']);
  } finally {
    fs.unmount();
  }
});

test('checkDirCreatable: a file, a path under a file, a read-only place are refused without writing', (t) => {
  const file = join(tmp, 'file');
  writeFileSync(file, 'x');
  assert.throws(() => checkDirCreatable(file), /file exists and is not a folder/);
  assert.throws(
    () => checkDirCreatable(join(file, 'sub', 'run')),
    /cannot create .*: .*file is a file, not a folder/,
  );
  checkDirCreatable(join(tmp, 'new', 'deeper'));
  assert.equal(existsSync(join(tmp, 'new')), false);
  const ro = tinyTmpfs(64 * 1024, ',ro');
  if (!ro) return t.skip('read-only case needs root to mount a tmpfs');
  try {
    assert.throws(
      () => checkDirCreatable(join(ro.dir, 'run')),
      /cannot create .*run: EROFS: read-only file system/,
    );
  } finally {
    ro.unmount();
  }
});

test('ensureDir creates level by level, fails fast on /proc (no hang), and removeEmptyDirs undoes it', () => {
  const deep = join(tmp, 'e1', 'e2', 'e3');
  const created = ensureDir(deep);
  assert.deepEqual(created, [join(tmp, 'e1'), join(tmp, 'e1', 'e2'), deep]);
  assert.deepEqual(ensureDir(deep), []);
  writeFileSync(join(tmp, 'e1', 'keep'), 'x');
  removeEmptyDirs(created);
  assert.deepEqual(readdirSync(join(tmp, 'e1')), ['keep']); // e1 holds a file: kept, e2 and e3 removed
  const t0 = performance.now();
  assert.throws(() => ensureDir('/proc/laurel-x/run'), /^InputError: cannot create \/proc\/laurel-x\/run: E/);
  assert.ok(performance.now() - t0 < 1000);
});
