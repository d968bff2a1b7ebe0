// Adds `laurel bench` to the CLI when it runs from a repository checkout (bin/laurel.mjs imports this first);
// the installed package ships no bench/.
import { registerCommand } from '../src/cli/registry.ts';

registerCommand('bench', {
  summary: 'Benchmarks: GEMM and training steps against PyTorch (bench/)',
  help: async () => (await import('./command.ts')).BENCH_HELP,
  run: async (argv) => (await import('./command.ts')).benchCommand(argv),
});
