/**
 * File writes that either happen completely or leave nothing behind, and folder creation that cannot hang.
 * Every failure becomes an InputError naming the path and the system's reason (ENOSPC, EACCES, …).
 */
import { randomBytes } from 'node:crypto';
import {
  constants,
  accessSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InputError, isSystemError, systemReason } from './errors.ts';

function fail(what: string, path: string, e: unknown): never {
  if (e instanceof InputError) throw e;
  const why = isSystemError(e) ? systemReason(e) : (e as Error).message;
  throw new InputError(`cannot ${what} ${path}: ${why}`, { cause: e });
}

/**
 * A temp name next to `path` that no other process or call uses (pid + random), so two writers never
 * rename each other's half-written file.
 */
export function tempName(path: string): string {
  return `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
}

/**
 * Writes `data` to a temp file, optionally fsyncs it (`durable`), and renames it over `path`: readers see
 * the old or the new content, never a part. On any failure (e.g. ENOSPC) the temp file is removed.
 */
export function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  o: { durable?: boolean } = {},
): void {
  const tmp = tempName(path);
  try {
    const fd = openSync(tmp, 'w');
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      if (o.durable) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    fail('write', path, e);
  }
}

/** Writes a value as indented JSON atomically. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Checks, without writing, that `dir` is a folder or can be created as one: it is not a file, and its
 * nearest existing ancestor is a writable folder.
 */
export function checkDirCreatable(dir: string): void {
  let p = resolve(dir);
  if (existsSync(p) && !statSync(p).isDirectory()) {
    throw new InputError(`${dir} exists and is not a folder`);
  }
  while (!existsSync(p)) p = dirname(p);
  if (!statSync(p).isDirectory()) throw new InputError(`cannot create ${dir}: ${p} is a file, not a folder`);
  try {
    accessSync(p, constants.W_OK | constants.X_OK);
  } catch (e) {
    fail('create', dir, e);
  }
}

/**
 * Creates `dir` and its missing parents one level at a time, and returns the folders it created, outermost
 * first. (Node's recursive mkdir loops forever on some virtual file systems, e.g. `/proc/x`; one mkdir per
 * level fails there with ENOENT instead.)
 */
export function ensureDir(dir: string): string[] {
  const missing: string[] = [];
  for (let p = resolve(dir); !existsSync(p); p = dirname(p)) missing.push(p);
  missing.reverse();
  const created: string[] = [];
  for (const d of missing) {
    try {
      mkdirSync(d);
      created.push(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(d).isDirectory()) continue;
      removeEmptyDirs(created);
      fail('create', dir, e);
    }
  }
  if (!statSync(dir).isDirectory()) throw new InputError(`${dir} exists and is not a folder`);
  return created;
}

/** Removes folders that `ensureDir` created, innermost first, as long as they are still empty. */
export function removeEmptyDirs(created: string[]): void {
  for (const d of [...created].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty any more (or gone): leave it and its parents
    }
  }
}
