#!/usr/bin/env node
// Entry point for the `laurel` command. In a repository checkout (src/ present) it runs the TypeScript CLI
// through tsx, with the repository's own `bench` command; from the installed package, the built JavaScript.
import { existsSync } from 'node:fs';

if (existsSync(new URL('../src/cli.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../bench/cli.ts');
  await import('../src/cli.ts');
} else {
  await import('../dist/cli.js');
}
