import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MetricsWriter, readMetrics } from '../../src/train/metrics.ts';
import { Progress, formatDuration } from '../../src/train/progress.ts';

test('metrics JSONL: one line per eval, truncation on resume, torn last line ignored', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'laurel-m-')), 'run', 'metrics.jsonl');
  const w = new MetricsWriter(path);
  for (const step of [10, 20, 30]) {
    w.append({
      step,
      epoch: 0,
      loss: 1 / step,
      train_loss: 1,
      accuracy: 0.5,
      lr: 0.1,
      step_ms: 5,
      images_per_s: 100,
    });
  }
  assert.deepEqual(
    readMetrics(path).map((r) => r.step),
    [10, 20, 30],
  );
  w.truncateAfter(20);
  appendFileSync(path, '{"step": 4');
  const rs = readMetrics(path);
  assert.deepEqual(
    rs.map((r) => r.step),
    [10, 20],
  );
  assert.equal(rs[1].loss, 0.05);
});

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 120, write: (s: string) => out.push(s) } };
}

test('progress: plain lines every N seconds when piped, always the final step', () => {
  let t = 0;
  const { out, stream } = sink(false);
  const p = new Progress({ total: 10, unit: 'images', stream, everySeconds: 2, now: () => t });
  for (let s = 1; s <= 10; s++) {
    t += 1000;
    p.update(s, 0.5, 32, 0.1);
  }
  assert.equal(out.length, 5);
  assert.match(out[0], /^step 2\/10 20% loss 0\.5000 lr 0\.100 32\.0 images\/s ETA 8s\n$/);
  assert.match(out[4], /^step 10\/10 100% .* ETA 0s\n$/);
});

test('progress after a resume measures from the resumed step', () => {
  let t = 0;
  const { out, stream } = sink(false);
  const p = new Progress({ total: 20, unit: 'images', stream, everySeconds: 0, now: () => t });
  t = 2000;
  p.update(11, 1, 10, 0.1);
  // one step in 2 s: 9 steps left take 18 s
  assert.match(out[0], /^step 11\/20 55% .* 5\.0 images\/s ETA 18s\n$/);
});

test('progress: a TTY gets a bar redrawn in place, messages above it', () => {
  let t = 0;
  const { out, stream } = sink(true);
  const p = new Progress({ total: 4, unit: 'tokens', stream, now: () => t });
  t = 500;
  p.update(2, 1.25, 1000, 0.001);
  p.log('eval step 2: loss 1.0');
  p.done();
  assert.ok(out[0].startsWith('\r\x1b[2K['), 'clears the line');
  assert.match(out[0], /\[#+\.+\] 2\/4 50% loss 1\.2500 .* 2\.0k tokens\/s ETA 1s$/);
  assert.match(out[1], /eval step 2: loss 1\.0\n\[#/);
  assert.equal(out[2], '\n');
  assert.equal(formatDuration(3725), '1h02m');
  assert.equal(formatDuration(125), '2m05s');
});
