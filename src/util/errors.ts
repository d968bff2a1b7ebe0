/**
 * An error in what the user gave or has (flags, data files, a run folder, a checkpoint, a full disk), as
 * opposed to a bug: its message names the thing and what is wrong, and the CLI prints it as one line and exits
 * 2 without a stack trace. Any layer may throw it (this folder depends on nothing).
 */
export class InputError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InputError';
  }
}

/** A Node system error (ENOSPC, EACCES, ENOTDIR, …): something about the machine, not a bug of ours. */
export function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code);
}

/** "ENOSPC: no space left on device" from a system error (Node's message repeats the syscall and path). */
export function systemReason(e: NodeJS.ErrnoException): string {
  return e.message.replace(/,\s*\w+(\s+'[^']*')*(\s*->\s*'[^']*')?\s*$/, '');
}
