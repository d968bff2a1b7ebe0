/**
 * `laurel worker --queue redis://HOST:PORT`: runs the trials that `laurel experiment NAME --queue …` enqueued
 * (on this or any machine), one `laurel train` process each, and returns their summaries through the queue.
 * Ctrl-C (or SIGTERM) stops it: a trial in flight writes its checkpoint and goes back to the queue.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { runQueueWorker } from '../experiments/index.ts';
import { type FlagDef, UsageError, formatHelp, parseFlags, requiredFlag } from './flags.ts';

export const WORKER_FLAGS: FlagDef[] = [
  {
    name: 'queue',
    type: 'string',
    help: 'redis://[:PASSWORD@]HOST:PORT[/DB] of the queue (required; rediss:// for TLS)',
  },
  { name: 'runs-dir', type: 'path', default: 'runs', help: 'Where the trials’ run folders go' },
  { name: 'concurrency', type: 'int', min: 1, default: 1, help: 'Trials at once in this worker' },
  {
    name: 'threads',
    type: 'int',
    min: 1,
    help: 'Threads per trial',
    defaultText: 'cores / concurrency',
  },
  {
    name: 'lock-s',
    type: 'number',
    min: 1, // BullMQ renews the lock every half of it: shorter ones expire under a busy event loop
    default: 30,
    help: 'Job lock (s): a dead worker’s trial returns to the queue within about this long',
  },
];

export const WORKER_HELP = formatHelp(
  'worker',
  '--queue redis://HOST:PORT [--runs-dir DIR] [--concurrency N] [--threads T]',
  'Runs trials queued by `laurel experiment NAME --queue redis://HOST:PORT` until stopped (Ctrl-C: the\n' +
    'trial in flight checkpoints and returns to the queue). A worker that dies mid-trial gives its trial back\n' +
    'after the job lock expires; another worker runs it (resuming from its checkpoint when it shares --runs-dir).',
  WORKER_FLAGS,
);

export async function workerCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, WORKER_FLAGS, 'worker');
  const url = requiredFlag(values, 'queue', 'worker', 'redis://HOST:PORT');
  const concurrency = values.concurrency as number;
  const threads =
    (values.threads as number | undefined) ?? Math.max(1, Math.floor(availableParallelism() / concurrency));
  const controller = new AbortController();
  let stops = 0;
  const stop = () => {
    if (++stops > 1) process.exit(130);
    process.stderr.write('worker: stopping; a trial in flight checkpoints and returns to the queue\n');
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    await runQueueWorker({
      url,
      runsDir: resolve(values['runs-dir'] as string),
      threads,
      concurrency,
      lockMs: Math.round((values['lock-s'] as number) * 1000), // Redis takes whole milliseconds
      signal: controller.signal,
      log: (line) => process.stderr.write(`worker: ${line}\n`),
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return 0;
}
