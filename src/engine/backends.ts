// The backend names laurel accepts, apart from index.ts so that the CLI can check $LAUREL_BACKEND and
// --backend without loading tfjs.
import { InputError } from '../util/errors.ts';

export const BACKEND_NAMES = ['native', 'cpu', 'wasm'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** The backend asked for: `name` (a checked flag), else $LAUREL_BACKEND (checked here), else `native`. */
export function requestedBackend(name?: BackendName): BackendName {
  if (name !== undefined) return name;
  const env = process.env.LAUREL_BACKEND;
  if (env === undefined || env === '') return 'native';
  if (!(BACKEND_NAMES as readonly string[]).includes(env)) {
    throw new InputError(`LAUREL_BACKEND=${env} is not a backend: expected ${BACKEND_NAMES.join(', ')}`);
  }
  return env as BackendName;
}
