import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
/**
 * One trainer per run folder: `DIR/lock` holds the owner's PID, host and process start time, created with
 * O_EXCL so that of two trainers starting at once exactly one wins. A lock whose process is gone (killed
 * with -9, machine rebooted, PID reused by another process) is stale and is taken over.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../util/errors.ts';
import { tempName } from '../util/files.ts';

interface LockInfo {
  pid: number;
  host: string;
  /** The process's start time in clock ticks since boot (/proc/PID/stat field 22): tells a reused PID apart. */
  start: string | null;
  since: string;
}

export function lockPath(dir: string): string {
  return join(dir, 'lock');
}

function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count fields after its closing ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function alive(info: LockInfo): boolean {
  if (info.host !== hostname()) return true; // cannot tell from here: assume it runs
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStart(info.pid);
  return info.start === null || start === null || start === info.start;
}

function readLock(path: string): LockInfo | null {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
    return typeof v?.pid === 'number' ? v : null;
  } catch {
    return null; // vanished, or torn by a kill between create and write: treated as stale
  }
}

/** An unreadable lock younger than this may be one whose owner is between creating and writing it. */
const FRESH_MS = 2000;

function justCreated(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < FRESH_MS;
  } catch {
    return false;
  }
}

function busy(dir: string, info: LockInfo, holder: string): InputError {
  const where = info.host === hostname() ? '' : ` on ${info.host}`;
  return new InputError(
    `${dir} is in use by another ${holder} (PID ${info.pid}${where}, since ${info.since}); ` +
      `wait for it or stop it (if no such process runs, delete ${lockPath(dir)})`,
  );
}

export interface RunLock {
  /** The stale lock that was taken over, if any. */
  tookOverFrom: number | null;
  release(): void;
}

/** Takes the lock of run folder `dir` (which must exist), or throws an InputError naming the owner's PID. */
export function acquireRunLock(dir: string, holder = 'laurel train'): RunLock {
  const path = lockPath(dir);
  const mine: LockInfo = {
    pid: process.pid,
    host: hostname(),
    start: processStart(process.pid),
    since: new Date().toISOString(),
  };
  let tookOverFrom: number | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new InputError(`cannot lock ${dir}: ${(e as Error).message}`, { cause: e });
      }
      const other = readLock(path);
      if (other && alive(other)) throw busy(dir, other, holder);
      if (!other && justCreated(path)) {
        throw new InputError(`${dir} is being locked by another ${holder} right now; try again`);
      }
      // Stale: move it aside under a name of our own, then check that what we moved is the stale lock
      // (another trainer may have replaced it meanwhile); if not, put theirs back and give way.
      const aside = tempName(path);
      try {
        renameSync(path, aside);
      } catch {
        continue; // someone else moved it first
      }
      const moved = readLock(aside);
      if (moved && alive(moved)) {
        try {
          linkSync(aside, path);
        } catch {
          // a third trainer holds it now; it will refuse or be refused on its own
        }
        rmSync(aside, { force: true });
        throw busy(dir, moved, holder);
      }
      rmSync(aside, { force: true });
      tookOverFrom = other?.pid ?? null;
      continue;
    }
    try {
      writeSync(fd, `${JSON.stringify(mine)}\n`);
      closeSync(fd);
    } catch (e) {
      closeSync(fd);
      rmSync(path, { force: true });
      throw new InputError(`cannot lock ${dir}: ${(e as Error).message}`, { cause: e });
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.off('exit', release);
      if (readLock(path)?.pid === process.pid) rmSync(path, { force: true });
    };
    process.on('exit', release); // errors and process.exit(): no lock left behind by a live-then-gone process
    return { tookOverFrom, release };
  }
  throw new InputError(`cannot lock ${dir}: its lock file keeps changing; is another ${holder} starting?`);
}
