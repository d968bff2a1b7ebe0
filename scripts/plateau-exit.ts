// When did each trial of an `lm` experiment leave the loss plateau, and how much does that explain its final
// test loss? A small GPT's training loss first sits near 2.45 nats per byte (the next byte predicted from the
// current one alone) until attention forms; at 750 steps the step where a trial leaves it moves the final loss
// more than the residual variant does. This reads each finished trial's training log (`runner.log`, the
// trainer's progress lines `step N/M … loss X`) and its record in results.jsonl.
//
//   node --import tsx scripts/plateau-exit.ts results/lm-full
//
// Exit step: the first logged step whose training loss and the next two logged ones are all below 2.3 (one
// batch's loss is noisy; three in a row are not a fluke). A trial that never gets there has no exit step.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mean } from '../src/experiments/stats.ts';
import { ResultStore } from '../src/experiments/store.ts';

const EXIT_LOSS = 2.3;

/** The first step of three consecutive logged training losses below `EXIT_LOSS`, or null. */
export function plateauExit(log: string): number | null {
  const points = [...log.matchAll(/^step (\d+)\/\d+ .*? loss ([\d.]+)/gm)].map((m) => ({
    step: Number(m[1]),
    loss: Number(m[2]),
  }));
  for (let i = 0; i + 2 < points.length; i++)
    if (points.slice(i, i + 3).every((p) => p.loss < EXIT_LOSS)) return points[i].step;
  return null;
}

function pearson(xs: number[], ys: number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

function main(dir: string): void {
  const store = new ResultStore(dir);
  if (!existsSync(store.path)) {
    console.error(`plateau-exit: ${store.path} does not exist; pass an experiment's results folder`);
    process.exit(1);
  }
  // the latest ok record of each trial (a re-run appends a newer one); lines that are not records are skipped
  const loss = new Map<string, number>();
  for (const r of store.readAll()) {
    const testLoss = r.summary?.test_loss;
    if (r.status === 'ok' && typeof testLoss === 'number') loss.set(r.key, testLoss);
  }
  const rows = [...new Set([...loss.keys()].map((k) => k.split('/')[0]))];
  const seeds = [...new Set([...loss.keys()].map((k) => k.split('/')[1]))].sort();
  const exits = new Map<string, number | null>();
  for (const key of loss.keys()) {
    const log = join(dir, key, 'runner.log');
    if (existsSync(log)) exits.set(key, plateauExit(readFileSync(log, 'utf8')));
  }
  console.log(`| row | ${seeds.map((s) => `${s}: exit step, test loss`).join(' | ')} |`);
  console.log(`|---|${seeds.map(() => '---|').join('')}`);
  for (const row of rows) {
    const cells = seeds.map((s) => {
      const key = `${row}/${s}`;
      if (!loss.has(key)) return '';
      const exit = exits.has(key) ? (exits.get(key) ?? 'never') : 'no log';
      return `${exit}, ${loss.get(key)?.toFixed(3)}`;
    });
    console.log(`| ${row} | ${cells.join(' | ')} |`);
  }
  const left = [...exits].filter((e): e is [string, number] => e[1] !== null);
  if (left.length >= 3) {
    const r = pearson(
      left.map(([, s]) => s),
      left.map(([k]) => loss.get(k) as number),
    );
    console.log(
      `\nPearson r between exit step and test loss over the ${left.length} trials that left the plateau: ${r.toFixed(2)}`,
    );
  }
  // what the paired test sees: each row's difference from the baseline of the same seed
  const pairs = left.flatMap(([key, step]) => {
    const [row, seed] = key.split('/');
    const base = exits.get(`baseline/${seed}`);
    if (row === 'baseline' || base === null || base === undefined) return [];
    return [
      { dStep: step - base, dLoss: (loss.get(key) as number) - (loss.get(`baseline/${seed}`) as number) },
    ];
  });
  if (pairs.length >= 3) {
    const r = pearson(
      pairs.map((p) => p.dStep),
      pairs.map((p) => p.dLoss),
    );
    console.log(
      `Pearson r between a row's exit step and test loss, both as differences from the same seed's baseline (${pairs.length} pairs): ${r.toFixed(2)}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.argv.length !== 3) {
    console.error('usage: node --import tsx scripts/plateau-exit.ts RESULTS_DIR (e.g. results/lm-full)');
    process.exit(1);
  }
  main(process.argv[2]);
}
