/**
 * How the CLI reports an error: one line on stderr and an exit status. Errors of the user's input, files or
 * machine (flags, data, run folders, checkpoints, a full disk) exit 2; anything else is a bug of ours and
 * exits 1. The stack trace is printed only with LAUREL_DEBUG=1.
 */
import { InputError, isSystemError } from '../util/errors.ts';
import { CliError } from './flags.ts';

export const DEBUG_ENV = 'LAUREL_DEBUG';

function debugging(): boolean {
  const v = process.env[DEBUG_ENV];
  return v !== undefined && v !== '' && v !== '0';
}

/** Prints `e` as one line (plus its stack when debugging) and returns the exit status. */
export function reportError(e: unknown): number {
  const err = e instanceof Error ? e : new Error(String(e));
  const oneLine = err.message.replace(/\s*\n\s*/g, ' ').trim();
  let code: number;
  let line: string;
  if (err instanceof CliError) {
    [code, line] = [err.exitCode, oneLine.replace(/^laurel /, '')];
  } else if (err instanceof InputError || isSystemError(err)) {
    [code, line] = [2, oneLine];
  } else {
    [code, line] = [1, `internal error: ${oneLine}${debugging() ? '' : ` (${DEBUG_ENV}=1 shows where)`}`];
  }
  process.stderr.write(`laurel: ${line}\n`);
  if (debugging() && err.stack) process.stderr.write(`${err.stack}\n`);
  return code;
}
