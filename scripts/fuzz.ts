// `npm run fuzz -- --cases 10000 --seed 7`: random cases for every kernel the native backend overrides, values and
// gradients compared with tfjs's cpu backend (test/fuzz). Prints each failure as the command that reruns it, then
// the cases run per op; exits 1 when any case failed. --op K1,K2 and --case I narrow the run to those cases,
// --float-only keeps to float32 inputs, --small to small sizes (npm test's sample), --json prints the report as
// one JSON document.
import { type Failure, type FuzzReport, runFuzz } from '../test/fuzz/fuzz.ts';

const USAGE =
  'usage: npm run fuzz -- [--cases N] [--seed S] [--op KERNEL[,KERNEL...]] [--case I] [--float-only] [--small] [--json] [--verbose]';

interface Args {
  cases: number;
  seed: number;
  ops?: string[];
  caseIndex?: number;
  floatOnly: boolean;
  small: boolean;
  json: boolean;
  verbose: boolean;
}

function nonNegativeInt(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || v === '' || !Number.isSafeInteger(n) || n < 0)
    throw new Error(`${flag} needs a non-negative integer, got ${v === undefined ? 'nothing' : `'${v}'`}`);
  return n;
}

function parse(argv: string[]): Args {
  const a: Args = { cases: 1000, seed: 1, floatOnly: false, small: false, json: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i];
    switch (f) {
      case '--cases':
        a.cases = nonNegativeInt(f, argv[++i]);
        break;
      case '--seed':
        a.seed = nonNegativeInt(f, argv[++i]);
        break;
      case '--case':
        a.caseIndex = nonNegativeInt(f, argv[++i]);
        break;
      case '--op': {
        const v = argv[++i];
        if (!v) throw new Error('--op needs a kernel name (or a comma-separated list)');
        a.ops = v.split(',');
        break;
      }
      case '--float-only':
        a.floatOnly = true;
        break;
      case '--small':
        a.small = true;
        break;
      case '--json':
        a.json = true;
        break;
      case '--verbose':
        a.verbose = true;
        break;
      default:
        throw new Error(`unknown argument '${f}'`);
    }
  }
  return a;
}

function failureLine(f: Failure): string {
  return `FAIL ${f.command}  # ${f.op}: ${f.message}; ${f.what}`;
}

function table(r: FuzzReport): string {
  const rows = Object.entries(r.perOp).map(([op, s]) =>
    [
      op.padEnd(26),
      String(s.cases).padStart(6),
      String(s.reached).padStart(8),
      String(s.rejected).padStart(9),
      String(s.failures).padStart(9),
      (s.ms / Math.max(1, s.cases)).toFixed(1).padStart(8),
    ].join(' '),
  );
  const head = `${'op'.padEnd(26)} ${'cases'.padStart(6)} ${'reached'.padStart(8)} ${'rejected'.padStart(9)} ${'failures'.padStart(9)} ${'ms/case'.padStart(8)}`;
  return [head, ...rows].join('\n');
}

async function main(): Promise<number> {
  let a: Args;
  try {
    a = parse(process.argv.slice(2));
  } catch (e) {
    console.error(`fuzz: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const log = (s: string) => (a.json ? console.error(s) : console.log(s));
  const t0 = performance.now();
  let report: FuzzReport;
  try {
    report = await runFuzz(
      {
        seed: a.seed,
        cases: a.cases,
        ops: a.ops,
        caseIndex: a.caseIndex,
        floatOnly: a.floatOnly,
        small: a.small,
        onCase: a.verbose ? (cmd) => console.error(`case: ${cmd}`) : undefined,
      },
      (f) => log(failureLine(f)),
    );
  } catch (e) {
    console.error((e as Error).message.split('\n')[0]);
    return 2;
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  const n = report.failures.length;
  if (a.json) console.log(JSON.stringify({ ...report, seconds: Number(secs) }));
  else {
    console.log(table(report));
    console.log(
      `fuzz: ${report.cases} cases over ${Object.keys(report.perOp).length} native kernels, seed ${a.seed}${a.floatOnly ? ', float32 only' : ''}${a.small ? ', small sizes' : ''}: ${n === 0 ? 'no failures' : `${n} failure${n === 1 ? '' : 's'}`} (${secs} s)`,
    );
  }
  return n === 0 ? 0 : 1;
}

process.exitCode = await main();
