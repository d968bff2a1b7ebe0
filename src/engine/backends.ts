// The backend names and environment settings laurel accepts, apart from index.ts so that the CLI can check
// $LAUREL_BACKEND, $LAUREL_POOL_MB and --backend without loading tfjs.
import { InputError } from '../util/errors.ts';

export const BACKEND_NAMES = ['native', 'cpu', 'wasm'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** `value` as a backend name; anything else is one InputError naming where it came from and the allowed names. */
function checked(value: string, from: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new InputError(`unknown backend '${value}' (${from}): expected ${BACKEND_NAMES.join(', ')}`);
}

/**
 * The backend asked for: `name`, else $LAUREL_BACKEND, else `native`. Both are checked here, since library
 * callers of initBackend can pass any string (the CLI's --backend choices are checked earlier too).
 */
export function requestedBackend(name?: string): BackendName {
  if (name !== undefined) return checked(name, 'the backend argument');
  const env = process.env.LAUREL_BACKEND;
  if (env === undefined || env === '') return 'native';
  return checked(env, 'LAUREL_BACKEND');
}

/** Parses `LAUREL_POOL_MB` (unset or empty: 1024); the CLI and initBackend check it before tfjs builds the
 * backend (tfjs would turn an error in the backend's constructor into a silent fallback). */
export function poolMegabytes(env: string | undefined): number {
  if (env === undefined || env === '') return 1024;
  const mb = Number(env);
  if (!Number.isFinite(mb) || mb < 0)
    throw new InputError(`LAUREL_POOL_MB must be a number of megabytes ≥ 0 (got ${JSON.stringify(env)})`);
  return mb;
}
