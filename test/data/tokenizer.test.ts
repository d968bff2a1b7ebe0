import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BpeTokenizer, pieces, tokenizerFromJSON, trainBpeMerges } from '../../src/data/bpe.ts';
import { joinDocs, loadSotu, splitDocs } from '../../src/data/text.ts';
import { ByteTokenizer } from '../../src/data/tokenizer.ts';

const samples = [
  '',
  'Hello, world!',
  'naïve café — “quotes” – 日本語 🐋 Ærøskøbing',
  'tabs\tand\nnewlines\r\n  double  spaces ',
  "it's 1,234.5 o'clock",
];

test('byte tokenizer: UTF-8 bytes, vocab 256, exact round-trip incl. non-ASCII', () => {
  const t = new ByteTokenizer();
  assert.equal(t.vocabSize, 256);
  assert.deepEqual(Array.from(t.encode('aé')), [97, 0xc3, 0xa9]);
  for (const s of samples) assert.equal(t.decode(t.encode(s)), s);
  assert.equal(t.encode('🐋').length, 4);
  assert.equal(t.decode([0xff]), '\ufffd'); // invalid UTF-8 decodes, lossy
  assert.throws(() => t.decode([256]), /not in \[0, 256\)/);
  assert.equal(tokenizerFromJSON(JSON.stringify(t.toJSON())).kind, 'byte');
});

test('pre-tokenization pieces concatenate back to the text', () => {
  for (const s of samples) assert.equal(pieces(s).join(''), s);
  assert.deepEqual(pieces('The cat sat.'), ['The', ' cat', ' sat', '.']);
});

const toy = 'the cat sat on the mat. the cat ate the rat. that hat is the cat hat. '.repeat(20);

test('BPE: deterministic, learns frequent pairs first, round-trips any text, JSON round-trip', () => {
  const a = trainBpeMerges(toy, { vocabSize: 300 });
  const b = trainBpeMerges(toy, { vocabSize: 300 });
  assert.deepEqual(a, b);
  const bpe = new BpeTokenizer(a);
  // ' ' + 't' is among the most frequent pairs: merge 0 or 1 contains it
  const first = a.slice(0, 2).map(([x, y]) => bpe.tokenText(x) + bpe.tokenText(y));
  assert.ok(first.includes(' t') || first.includes('th') || first.includes('at'), first.join('|'));
  const enc = bpe.encode(toy);
  assert.ok(enc.length < Buffer.byteLength(toy) / 3, `compression ${Buffer.byteLength(toy) / enc.length}`);
  assert.ok(Math.max(...enc) < bpe.vocabSize);
  for (const s of [...samples, toy]) assert.equal(bpe.decode(bpe.encode(s)), s);
  const again = tokenizerFromJSON(JSON.stringify(bpe.toJSON()));
  assert.equal(again.vocabSize, bpe.vocabSize);
  assert.deepEqual(Array.from(again.encode(toy)), Array.from(enc));
  assert.throws(() => new BpeTokenizer([[300, 1]]), /not defined before it/);
  assert.throws(() => tokenizerFromJSON('{"kind":"wordpiece"}'), /unknown kind "wordpiece"/);
  assert.throws(() => trainBpeMerges(toy, { vocabSize: 100 }), /vocabSize must be an integer in \[256/);
});

test('BPE on the SOTU train split: 1024 vocab, ~3 bytes per token on test, exact round-trip', () => {
  const split = splitDocs(loadSotu(), 0);
  const train = joinDocs(split.train);
  const testText = joinDocs(split.test);
  const bpe = BpeTokenizer.train(train, { vocabSize: 1024, maxChars: 3_000_000 });
  assert.equal(bpe.vocabSize, 1024);
  const ids = bpe.encode(testText);
  const ratio = Buffer.byteLength(testText) / ids.length;
  assert.ok(ratio > 2.6 && ratio < 3.5, `bytes/token ${ratio}`);
  assert.equal(bpe.decode(ids), testText);
});
