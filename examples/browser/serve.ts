// Serves the browser example on http://127.0.0.1:PORT/ (loopback only): bundles app.ts and serving.ts with esbuild (the core
// `laurel` is this repository's src/index.ts), then serves examples/browser/.
// Run: npm run example:browser [-- --port 8080]
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { serveStatic } from '../static-server.ts';

export const EXAMPLE_DIR = import.meta.dirname;

/** Writes build/app.js and build/serving.js: the pages' scripts with tfjs and the laurel core, for the browser. */
export async function bundleExample(): Promise<void> {
  await build({
    absWorkingDir: join(EXAMPLE_DIR, '../..'),
    entryPoints: [join(EXAMPLE_DIR, 'app.ts'), join(EXAMPLE_DIR, 'serving.ts')],
    alias: { laurel: './src/index.ts' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    outdir: join(EXAMPLE_DIR, 'build'),
    logLevel: 'warning',
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8080;
  if (!(Number.isInteger(port) && port >= 0 && port < 65536)) {
    console.error(`serve: bad --port ${process.argv[i + 1]}; allowed: an integer 0-65535`);
    process.exit(2);
  }
  await bundleExample();
  try {
    const { url } = await serveStatic(EXAMPLE_DIR, port);
    console.log(`LAUREL browser example: ${url} (Ctrl-C stops)`);
  } catch (e) {
    console.error(`serve: cannot listen on 127.0.0.1:${port} (${(e as NodeJS.ErrnoException).code ?? e})`);
    process.exit(2);
  }
}
