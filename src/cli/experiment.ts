import {
  BUDGETS,
  DEFAULT_BUDGET,
  EXPERIMENT_NAMES,
  experimentsHelp,
  getExperiment,
  parseBudget,
  runExperiment,
} from '../experiments/index.ts';
import { writeReport } from '../experiments/report.ts';
import { type FlagDef, UsageError, formatHelp, parseFlags } from './flags.ts';

const COMMON: FlagDef[] = [
  {
    name: 'budget',
    type: 'string',
    choices: BUDGETS,
    default: DEFAULT_BUDGET,
    help: 'Preset: sizes, steps and trials',
  },
  { name: 'runs-dir', type: 'path', default: 'runs', help: 'Run folders and results.jsonl' },
  { name: 'results-dir', type: 'path', default: 'results', help: 'report.md and SVG plots' },
];

export const EXPERIMENT_FLAGS: FlagDef[] = [
  ...COMMON,
  { name: 'workers', type: 'int', min: 1, help: 'Trials run in parallel', defaultText: "the preset's" },
  { name: 'trials', type: 'int', min: 1, help: 'Seeded trials per row', defaultText: "the preset's" },
  { name: 'report', type: 'bool', default: true, help: 'Write the report when done (--no-report to skip)' },
  {
    name: 'queue',
    type: 'string',
    help: 'redis://[:PASSWORD@]HOST:PORT: enqueue the trials for `laurel worker`s (BullMQ) instead of running them here',
  },
];

export const EXPERIMENT_HELP = `${formatHelp(
  'experiment',
  `${EXPERIMENT_NAMES.join('|')} [--budget smoke|standard|full] [--workers N]`,
  "Runs the paper's experiments at this machine's scale, one `laurel train` process per trial. Resumable:\n" +
    'finished trials are skipped and an interrupted one resumes from its checkpoint. Exit status: 0 all trials\n' +
    'done, 1 some failed, 130 interrupted.',
  EXPERIMENT_FLAGS,
)}\n${experimentsHelp()}`;

export const REPORT_FLAGS: FlagDef[] = [
  ...COMMON,
  {
    name: 'force',
    type: 'bool',
    default: false,
    help: 'Replace a report that counts more successful trials than the new one',
  },
];

export const REPORT_HELP = formatHelp(
  'report',
  `${EXPERIMENT_NAMES.join('|')} [--budget smoke|standard|full] [--runs-dir DIR] [--force]`,
  'Regenerates report.md and the SVG plots of an experiment from RUNS-DIR/<name>[-<budget>]/results.jsonl,\n' +
    'without training. With no trial record there it exits 2 and writes nothing (the results committed in\n' +
    'this repository: --runs-dir results); it never replaces a report with one of fewer successful trials\n' +
    'unless --force; lines of results.jsonl that are not trial records are skipped with a warning that\n' +
    'counts them.',
  REPORT_FLAGS,
);

function experimentName(argv: string[], command: string): [string, string[]] {
  const [name, ...rest] = argv;
  if (name === undefined || name.startsWith('--')) {
    throw new UsageError(`laurel ${command}: name an experiment: ${EXPERIMENT_NAMES.join(', ')}`);
  }
  if (!(EXPERIMENT_NAMES as readonly string[]).includes(name)) {
    throw new UsageError(
      `laurel ${command}: unknown experiment '${name}'; experiments: ${EXPERIMENT_NAMES.join(', ')}`,
    );
  }
  return [name, rest];
}

export async function experimentCommand(argv: string[]): Promise<number> {
  const [name, rest] = experimentName(argv, 'experiment');
  const { values } = parseFlags(rest, EXPERIMENT_FLAGS, 'experiment');
  const r = await runExperiment(name, {
    budget: values.budget as string,
    workers: values.workers as number | undefined,
    trials: values.trials as number | undefined,
    runsDir: values['runs-dir'] as string,
    resultsDir: values['results-dir'] as string,
    report: values.report as boolean,
    queue: values.queue as string | undefined,
  });
  if (r.report) process.stdout.write(`${r.report.reportPath}\n`);
  return r.interrupted ? 130 : r.failed > 0 ? 1 : 0;
}

export async function reportCommand(argv: string[]): Promise<number> {
  const [name, rest] = experimentName(argv, 'report');
  const { values } = parseFlags(rest, REPORT_FLAGS, 'report');
  const r = await writeReport(getExperiment(name), {
    budget: parseBudget(values.budget as string),
    runsDir: values['runs-dir'] as string,
    resultsDir: values['results-dir'] as string,
    force: values.force as boolean,
  });
  if (r.skipped > 0) {
    process.stderr.write(
      `laurel report: warning: skipped ${r.skipped} lines of results.jsonl that are not trial records (torn, not JSON, or missing fields)\n`,
    );
  }
  process.stdout.write(`${r.reportPath}\n${r.plotPaths.map((p) => `${p}\n`).join('')}`);
  return 0;
}
