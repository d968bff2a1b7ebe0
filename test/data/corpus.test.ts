import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brownToText, dedupDocs, loadBrown, loadMixedCorpus } from '../../src/data/corpus.ts';

test('brownToText strips the tags and rejoins punctuation and quotes', () => {
  const tagged =
    "\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, that/cs (/( any/dti )/) took/vbd place/nn ./.\n\n\n\tNext/ap one/cd ./.\n";
  assert.equal(brownToText(tagged), 'The jury said "no evidence", that (any) took place.\n\nNext one.');
});

test('dedupDocs drops repeated documents and repeated long sentences, keeps short ones and the first copy', () => {
  const long =
    'This sentence is long enough to take part in the deduplication of repeated sentences, surely.';
  const { docs, stats } = dedupDocs([
    { id: 'a', text: `Short one. ${long} End of a.` },
    { id: 'b', text: `Short one.  ${long}\n\nEnd of b.` },
    { id: 'c', text: `short ONE. ${long.toUpperCase()} end of a.` }, // the same as a once normalized
    { id: 'd', text: long },
  ]);
  assert.deepEqual(
    docs.map((d) => [d.id, d.text]),
    [
      ['a', `Short one. ${long} End of a.`],
      ['b', 'Short one.\n\nEnd of b.'],
    ],
  );
  assert.deepEqual(stats, { droppedDocs: 2, droppedSentences: 2 });
});

test('mixed corpus: split by document per source, fixed seed, Moby Dick held out as out-of-domain', () => {
  const fake = (name: string, n: number) => ({
    name,
    load: () => Array.from({ length: n }, (_, i) => ({ id: `d${i}`, text: `${name} document number ${i}.` })),
  });
  const c = loadMixedCorpus([fake('one', 60), fake('two', 40)]);
  const ids = (docs: { id: string }[]) => docs.map((d) => d.id);
  const all = [...ids(c.train), ...ids(c.val), ...ids(c.test)];
  assert.equal(new Set(all).size, 100, 'every document in exactly one split');
  assert.ok(ids(c.test).some((i) => i.startsWith('one/')) && ids(c.test).some((i) => i.startsWith('two/')));
  assert.deepEqual(
    c.stats.sources.map((s) => [s.name, s.train, s.val, s.test]),
    [
      ['one', 54, 3, 3],
      ['two', 36, 2, 2],
    ],
  );
  assert.ok(c.ood.length > 100 && c.ood.every((d) => d.id.startsWith('moby-dick/')));
  assert.deepEqual(
    ids(loadMixedCorpus([fake('one', 60), fake('two', 40)]).test),
    ids(c.test),
    'deterministic',
  );
});

test('the Brown corpus: 500 samples of plain text, ~6M characters', () => {
  const b = loadBrown();
  assert.equal(b.length, 500);
  const n = b.reduce((s, d) => s + d.text.length, 0);
  assert.ok(n > 5.5e6 && n < 6.5e6, `${n} characters`);
  assert.ok(
    b.every((d) => !/\/(at|nn|vbd)\b/.test(d.text.slice(0, 2000))),
    'no tags left',
  );
});
