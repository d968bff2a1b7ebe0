import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadTextTask } from '../../src/data/text-task.ts';

const tmp = mkdtempSync(join(tmpdir(), 'laurel-task-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('SOTU byte-level task: token streams, Moby Dick ood, unigram baselines ~3.0 / ~3.1 nats per byte', () => {
  const t = loadTextTask({ seed: 0 });
  assert.equal(t.tokenizer.vocabSize, 256);
  assert.equal(t.corpus.train.length + t.corpus.val.length + t.corpus.test.length, 233);
  assert.ok(t.train.length > 9_000_000 && t.test.length > 100_000 && t.ood.length > 1_100_000);
  assert.ok(t.unigram.test > 2.9 && t.unigram.test < 3.1, `${t.unigram.test}`);
  assert.ok(t.unigram.ood > t.unigram.test && t.unigram.ood < 3.3, `${t.unigram.ood}`);
});

test('user folder with BPE: a saved tokenizer reproduces the same token streams (resume)', () => {
  const dir = join(tmp, 'txt');
  mkdirSync(dir);
  for (let i = 0; i < 6; i++) writeFileSync(join(dir, `d${i}.txt`), `Document number ${i}. `.repeat(50 + i));
  const a = loadTextTask({ dir, seed: 2, tokenizer: { bpeVocabSize: 300 } });
  assert.equal(a.tokenizer.kind, 'bpe');
  assert.equal(a.ood.length, 0);
  assert.ok(Number.isNaN(a.unigram.ood));
  const b = loadTextTask({ dir, seed: 2, tokenizer: JSON.parse(JSON.stringify(a.tokenizer.toJSON())) });
  assert.deepEqual(Array.from(b.train), Array.from(a.train));
  assert.deepEqual(Array.from(b.test), Array.from(a.test));
  assert.ok(a.train.length < Buffer.byteLength(a.tokenizer.decode(a.train)) / 3);
});
