// Tiny on-disk datasets and a subprocess runner for the CLI tests.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeIdx } from '../../src/data/idx.ts';
import { Rng } from '../../src/util/rng.ts';

export const BIN = 'bin/laurel.mjs';
export const ENV = { ...process.env, LAUREL_BACKEND: 'cpu' };

export interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `env` adds to (or, with undefined values, removes from) the test environment. */
export function laurel(
  args: string[],
  o: { env?: Record<string, string | undefined>; timeoutMs?: number } = {},
): Result {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...ENV, ...o.env },
    timeout: o.timeoutMs,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function laurelAsync(args: string[]) {
  return spawn(process.execPath, [BIN, ...args], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The JSON summary: with --json, stdout must be exactly one JSON document (human lines go to stderr). */
export function lastJson(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout);
}

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `laurel-cli-${prefix}-`));
}

/** An MNIST-format folder of 8×8 images (class = brightness band), 64 train and 16 test images. */
export function tinyIdx(): string {
  const dir = tmp('idx');
  const rng = new Rng(3);
  for (const [split, n] of [
    ['train', 64],
    ['t10k', 16],
  ] as const) {
    const labels = new Uint8Array(n).map(() => rng.int(3));
    const images = new Uint8Array(n * 64).map((_, i) =>
      Math.min(255, labels[Math.floor(i / 64)] * 80 + rng.int(60)),
    );
    writeFileSync(join(dir, `${split}-images-idx3-ubyte`), encodeIdx([n, 8, 8], images));
    writeFileSync(join(dir, `${split}-labels-idx1-ubyte`), encodeIdx([n], labels));
  }
  return dir;
}

/** A folder of 20 small .txt documents of English-like sentences. */
export function tinyText(): string {
  const dir = tmp('txt');
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(5);
  const words = [
    'the',
    'state',
    'of',
    'union',
    'is',
    'strong',
    'we',
    'have',
    'peace',
    'and',
    'commerce',
    'grows',
  ];
  for (let d = 0; d < 20; d++) {
    const sentences: string[] = [];
    for (let s = 0; s < 12; s++) {
      const n = 6 + rng.int(8);
      const w = Array.from({ length: n }, () => words[rng.int(words.length)]);
      sentences.push(`${w[0][0].toUpperCase()}${w.join(' ').slice(1)}.`);
    }
    writeFileSync(join(dir, `doc${String(d).padStart(2, '0')}.txt`), sentences.join(' '));
  }
  return dir;
}
/**
 * A tiny tmpfs (root only; the kernel refuses the mount otherwise), for a real ENOSPC without filling a disk.
 * Returns null when it cannot be mounted.
 */
export function tinyTmpfs(bytes: number, options = ''): { dir: string; unmount: () => void } | null {
  if (process.getuid?.() !== 0) return null;
  const dir = mkdtempSync(join(tmpdir(), 'laurel-tmpfs-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}${options}`, 'tmpfs', dir]);
  if (m.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return null;
  }
  return {
    dir,
    unmount: () => {
      spawnSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A tiny GPT run (1 layer, D = 16, RW+LR r = 4) on the `text` folder, with --json. */
export const gptArgs = (text: string, out: string, steps = 6, evalEvery = 2) => [
  'train',
  '--task',
  'text',
  '--model',
  'gpt',
  '--layers',
  '1',
  '--dim',
  '16',
  '--heads',
  '2',
  '--context',
  '16',
  '--residual',
  'rw+lr',
  '--rank',
  '4',
  '--batch-size',
  '4',
  '--max-steps',
  String(steps),
  '--eval-every',
  String(evalEvery),
  '--eval-limit',
  '4',
  '--seed',
  '3',
  '--data',
  text,
  '--out',
  out,
  '--json',
];
