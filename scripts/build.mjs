// `npm run build`: compiles src/ into dist/ (ESM JavaScript + .d.ts) with tsconfig.build.json, then finishes the
// job of rewriteRelativeImportExtensions: TypeScript 5.7 rewrites `./x.ts` to `./x.js` only in the first dynamic
// import() of a file and never in .d.ts files, and the built package must resolve without TypeScript.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

// A relative specifier ending in .ts inside quotes after `from`, `import(` or `import`.
const SPECIFIER = /((?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"])(\.\.?\/[^'"]*?)\.ts(['"])/g;
const files = (dir) =>
  readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.js') || p.endsWith('.d.ts') ? [p] : [];
  });
let left = 0;
for (const f of files(dist)) {
  const text = readFileSync(f, 'utf8');
  const fixed = text.replace(SPECIFIER, '$1$2.js$3');
  if (fixed !== text) writeFileSync(f, fixed);
  left += (fixed.match(/['"]\.\.?\/[^'"]*\.ts['"]/g) ?? []).length;
}
if (left > 0) {
  console.error(`build: ${left} relative .ts specifiers left in dist/`);
  process.exit(1);
}
