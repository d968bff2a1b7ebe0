import { execFileSync } from 'node:child_process';
import { REPO_ROOT } from './trial.ts';

/** `git rev-parse HEAD` of the repository, or null outside git. */
export function gitCommit(cwd = REPO_ROOT): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return null;
  }
}
