// The `laurel bench` command: its flags and help (registered by bench/cli.ts from a repository checkout).
import { type FlagDef, formatHelp, parseFlags } from '../src/cli/flags.ts';
import { RUNTIME_FLAGS } from '../src/cli/options.ts';
import { runBench } from './index.ts';

export const BENCH_FLAGS: FlagDef[] = [
  { name: 'quick', type: 'bool', default: false, help: 'Fewer steps (a few minutes)' },
  {
    name: 'inference',
    type: 'bool',
    default: false,
    help: 'Inference latency instead (bench/inference.ts): ResNet-20 batch 1 / 128, GPT prefill and cached decoding, folded and not',
  },
  { name: 'dry', type: 'bool', default: false, help: 'Tiny models and one step (for tests)' },
  { name: 'skip-gemm', type: 'bool', default: false, help: 'Skip the GEMM benchmark' },
  { name: 'skip-torch', type: 'bool', default: false, help: 'Skip the PyTorch comparison' },
  { name: 'skip-check', type: 'bool', default: false, help: 'Skip the numerical equivalence check' },
  {
    name: 'models',
    type: 'string',
    choices: ['resnet', 'gpt', 'all'],
    default: 'all',
    help: 'Which models to time',
  },
  ...RUNTIME_FLAGS.filter((d) => ['json', 'backend', 'threads'].includes(d.name)).map((d) =>
    d.name === 'json' ? { ...d, help: 'Print the report as one JSON object' } : d,
  ),
];

export const BENCH_HELP = formatHelp(
  'bench',
  '[--quick] [--json]',
  'Benchmarks GEMM and training steps of our models against PyTorch (see bench/).',
  BENCH_FLAGS,
);

export async function benchCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, BENCH_FLAGS, 'bench');
  if (values.inference) {
    await (await import('./inference.ts')).runInferenceBench({
      quick: values.quick as boolean,
      dry: values.dry as boolean,
      skipTorch: values['skip-torch'] as boolean,
      json: values.json as boolean,
      backend: values.backend as 'native' | 'cpu' | 'wasm' | undefined,
      threads: values.threads as number | undefined,
    });
    return 0;
  }
  await runBench({
    quick: values.quick as boolean,
    dry: values.dry as boolean,
    skipGemm: values['skip-gemm'] as boolean,
    skipTorch: values['skip-torch'] as boolean,
    skipCheck: values['skip-check'] as boolean,
    ...(values.models !== 'all' ? { models: [values.models as 'resnet' | 'gpt'] } : {}),
    json: values.json as boolean,
    backend: values.backend as 'native' | 'cpu' | 'wasm' | undefined,
    threads: values.threads as number | undefined,
  });
  return 0;
}
