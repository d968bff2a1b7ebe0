import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  joinDocs,
  loadMobyDick,
  loadSotu,
  loadTextCorpus,
  loadTextFolder,
  splitDocs,
} from '../../src/data/text.ts';

const tmp = mkdtempSync(join(tmpdir(), 'laurel-text-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('SOTU: 233 documents, ~10.7M chars, unique ids; Moby Dick: 138 parts, ~1.2M chars', () => {
  const s = loadSotu();
  assert.equal(s.length, 233);
  assert.equal(new Set(s.map((d) => d.id)).size, 233);
  assert.equal(s[0].id, '1790-george-washington');
  const chars = s.reduce((a, d) => a + d.text.length, 0);
  assert.ok(chars > 10_500_000 && chars < 11_000_000, `${chars}`);
  const m = loadMobyDick();
  assert.equal(m.length, 138);
  assert.ok(m.some((d) => d.text.startsWith('Call me Ishmael.')));
  const mc = m.reduce((a, d) => a + d.text.length, 0);
  assert.ok(mc > 1_150_000 && mc < 1_250_000, `${mc}`);
});

test('split by document: deterministic, disjoint, complete, 90/5/5', () => {
  const docs = loadSotu();
  const a = splitDocs(docs, 5);
  const b = splitDocs(docs, 5);
  const c = splitDocs(docs, 6);
  const ids = (x: { id: string }[]) => x.map((d) => d.id);
  assert.deepEqual(ids(a.test), ids(b.test));
  assert.deepEqual(ids(a.train), ids(b.train));
  assert.notDeepEqual(ids(a.test), ids(c.test));
  assert.deepEqual([a.train.length, a.val.length, a.test.length], [209, 12, 12]);
  const all = [...ids(a.train), ...ids(a.val), ...ids(a.test)];
  assert.equal(new Set(all).size, 233);
  const corpus = loadTextCorpus({ seed: 5, ood: false });
  assert.deepEqual(ids(corpus.test), ids(a.test));
  assert.equal(corpus.ood.length, 0);
});

test('user text folder: .txt files recursively, split by file', () => {
  const dir = join(tmp, 'corpus');
  mkdirSync(join(dir, 'sub'), { recursive: true });
  for (let i = 0; i < 5; i++) writeFileSync(join(dir, `f${i}.txt`), `document ${i} héllo\n`);
  writeFileSync(join(dir, 'sub', 'g.txt'), 'nested');
  writeFileSync(join(dir, 'skip.md'), 'not text');
  writeFileSync(join(dir, 'empty.txt'), '  \n');
  const docs = loadTextFolder(dir);
  assert.deepEqual(
    docs.map((d) => d.id),
    ['f0.txt', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt', join('sub', 'g.txt')],
  );
  assert.equal(docs[0].text, 'document 0 héllo\n');
  const c = loadTextCorpus({ dir, seed: 1 });
  assert.deepEqual([c.train.length, c.val.length, c.test.length, c.ood.length], [4, 1, 1, 0]);
  assert.equal(joinDocs(c.val).includes('\n\n'), false);
  assert.equal(joinDocs([docs[0], docs[1]]), 'document 0 héllo\n\ndocument 1 héllo');
});

test('text folder errors: missing, not a folder, no .txt, too few files', () => {
  assert.throws(() => loadTextFolder(join(tmp, 'absent')), /absent does not exist.*--data DIR/);
  const f = join(tmp, 'file.txt');
  writeFileSync(f, 'x');
  assert.throws(() => loadTextFolder(f), /is not a folder/);
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  assert.throws(() => loadTextFolder(empty), /holds no \.txt files/);
  const two = join(tmp, 'two');
  mkdirSync(two);
  writeFileSync(join(two, 'a.txt'), 'a');
  writeFileSync(join(two, 'b.txt'), 'b');
  assert.throws(() => loadTextCorpus({ dir: two }), /cannot split 2 document\(s\).*at least 3/);
  assert.throws(
    () => splitDocs(loadTextFolder(two).concat(loadTextFolder(two)), 0, [0.5, 0.2, 0.2]),
    /sum to 1/,
  );
});
