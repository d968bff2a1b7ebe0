// Bundles tfjs-core 4.22's shipped jasmine specs with the worker into one ESM build (esbuild, code splitting:
// one chunk per spec file, imported on demand, over one shared tfjs-core). The dist specs are ESM with
// extensionless relative imports, which plain node cannot load.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const root = resolve(import.meta.dirname, '..', '..');
const coreDist = join(root, 'node_modules', '@tensorflow', 'tfjs-core', 'dist');

/** The spec files tfjs-core's dist/tests.js imports (its own list of the suite), relative to dist/, sorted. */
export function specFiles() {
  const index = readFileSync(join(coreDist, 'tests.js'), 'utf8');
  return [...index.matchAll(/^import '\.\/(.+_test)';$/gm)].map((m) => `${m[1]}.js`).sort();
}

/**
 * Builds the bundle into a fresh folder under node_modules/.cache (so that its external imports resolve from
 * the project's node_modules); returns the folder and the worker entry's path.
 */
export async function buildBundle(files) {
  const cache = join(root, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const dir = mkdtempSync(join(cache, 'laurel-tfjs-suite-'));
  const worker = JSON.stringify(join(import.meta.dirname, 'worker.mjs'));
  const lines = files.map(
    (f) => `  ${JSON.stringify(f)}: () => import(${JSON.stringify(join(coreDist, f))}),`,
  );
  const entry = join(dir, 'entry.mjs');
  writeFileSync(entry, `import { runWorker } from ${worker};\nrunWorker({\n${lines.join('\n')}\n});\n`);
  await esbuild.build({
    entryPoints: [entry],
    outdir: join(dir, 'out'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // tfjs-core's ESM build everywhere (the `main` fields point at separate CommonJS bundles: a second engine).
    mainFields: ['module', 'main'],
    // tfjs-core's sideEffects list omits the spec files; keep every module a spec file imports.
    ignoreAnnotations: true,
    // The addon's path is resolved from its module's URL (src/engine/addon.ts), which bundling would move.
    define: {
      'import.meta.url': JSON.stringify(pathToFileURL(join(root, 'src', 'engine', 'addon.ts')).href),
    },
    // Node builtins and the .node addon are loaded with a real require.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    // jasmine-core 3.99 has sloppy-mode code (an undeclared loop variable) that throws in a strict ESM bundle.
    external: ['*.node', 'jasmine-core', 'jasmine-core/*'],
    logLevel: 'error',
  });
  return { dir, entry: join(dir, 'out', 'entry.js') };
}
