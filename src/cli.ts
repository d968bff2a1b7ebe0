/**
 * The `laurel` command: `laurel <command> [flags]`. Each command lives in src/cli/<command>.ts with its flag
 * table (the single source of truth for parsing, validation and help).
 * Exit status: 0 ok, 1 internal error, 2 bad input (unknown flag, bad value, missing or bad data, run folder or
 * checkpoint, a full disk), 3 training diverged (NaN/Inf loss), 130 interrupted (a checkpoint was written).
 * Errors print one line; LAUREL_DEBUG=1 adds the stack trace (src/cli/errors.ts).
 */
import { reportError } from './cli/errors.ts';
import { UsageError } from './cli/flags.ts';
import { type Command, registeredCommands } from './cli/registry.ts';
import { poolMegabytes, requestedBackend } from './engine/backends.ts';

const COMMANDS: Record<string, Command> = {
  params: {
    summary: 'Count parameters of a model and what a LAUREL variant adds',
    help: async () => (await import('./cli/params.ts')).PARAMS_HELP,
    run: async (argv) => (await import('./cli/params.ts')).paramsCommand(argv),
  },
  train: {
    summary: 'Train a ResNet on Fashion-MNIST or a GPT on English text (checkpoints, resume, metrics)',
    help: async () => (await import('./cli/train.ts')).TRAIN_HELP,
    run: async (argv) => (await import('./cli/train.ts')).trainCommand(argv),
  },
  eval: {
    summary: "Re-evaluate a run's checkpoint",
    help: async () => (await import('./cli/eval.ts')).EVAL_HELP,
    run: async (argv) => (await import('./cli/eval.ts')).evalCommand(argv),
  },
  export: {
    summary: "Write a run's weights as safetensors (PyTorch layout by default)",
    help: async () => (await import('./cli/export.ts')).EXPORT_HELP,
    run: async (argv) => (await import('./cli/export.ts')).exportCommand(argv),
  },
  generate: {
    summary: 'Sample text from a trained GPT (key/value cache)',
    help: async () => (await import('./cli/generate.ts')).GENERATE_HELP,
    run: async (argv) => (await import('./cli/generate.ts')).generateCommand(argv),
  },
  predict: {
    summary: 'Classify a PNG or IDX image with a trained ResNet (top-5 classes)',
    help: async () => (await import('./cli/predict.ts')).PREDICT_HELP,
    run: async (argv) => (await import('./cli/predict.ts')).predictCommand(argv),
  },
  fold: {
    summary: 'Fold a trained model for serving (batch norms, RW α, merged shortcuts; same outputs)',
    help: async () => (await import('./cli/fold.ts')).FOLD_HELP,
    run: async (argv) => (await import('./cli/fold.ts')).foldCommand(argv),
  },
  demo: {
    summary: 'Short training of plain ResNet-20 vs LAUREL RW+LR on Fashion-MNIST, with a comparison table',
    help: async () => (await import('./cli/demo.ts')).DEMO_HELP,
    run: async (argv) => (await import('./cli/demo.ts')).demoCommand(argv),
  },
  experiment: {
    summary: "Run the paper's experiments (vision, rank, lm) at a budget, resumable",
    help: async () => (await import('./cli/experiment.ts')).EXPERIMENT_HELP,
    run: async (argv) => (await import('./cli/experiment.ts')).experimentCommand(argv),
  },
  probe: {
    summary:
      "Linear probe of a trained GPT's frozen features on spam vs ham (the lm experiment's downstream task)",
    help: async () => (await import('./cli/probe.ts')).PROBE_HELP,
    run: async (argv) => (await import('./cli/probe.ts')).probeCommand(argv),
  },
  inspect: {
    summary: "Print what a trained model's LAUREL residuals learned (α, β, γ, U and V, …), site by site",
    help: async () => (await import('./cli/inspect.ts')).INSPECT_HELP,
    run: async (argv) => (await import('./cli/inspect.ts')).inspectCommand(argv),
  },
  worker: {
    summary: 'Run trials queued by `laurel experiment NAME --queue redis://HOST:PORT` (BullMQ)',
    help: async () => (await import('./cli/worker.ts')).WORKER_HELP,
    run: async (argv) => (await import('./cli/worker.ts')).workerCommand(argv),
  },
  report: {
    summary: "Regenerate an experiment's report.md and plots from stored results",
    help: async () => (await import('./cli/experiment.ts')).REPORT_HELP,
    run: async (argv) => (await import('./cli/experiment.ts')).reportCommand(argv),
  },
  ...Object.fromEntries(registeredCommands()),
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  return [
    'Usage: laurel <command> [flags]',
    '',
    'LAUREL (Learned Augmented Residual Layer, ICML 2025) on TensorFlow.js.',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(width)}${c.summary}`),
    '',
    "Run 'laurel <command> --help' for a command's flags.",
    'Errors print one line (exit 2: bad flags, data, run folder, checkpoint or disk); LAUREL_DEBUG=1 adds the stack.',
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(mainHelp());
    return name === undefined ? 2 : 0;
  }
  // the environment is checked for every command, also those that start no backend
  requestedBackend();
  poolMegabytes(process.env.LAUREL_POOL_MB);
  const cmd = COMMANDS[name];
  if (!cmd) throw new UsageError(`unknown command '${name}'; commands: ${Object.keys(COMMANDS).join(', ')}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(await cmd.help());
    return 0;
  }
  return cmd.run(rest);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  process.exitCode = reportError(e);
}
