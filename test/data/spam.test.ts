import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Message, loadSpamAssassin, messageText, splitMessages } from '../../src/data/spam.ts';

test('messageText keeps Subject (without its list tag) and body, drops other headers and HTML', () => {
  const raw =
    'From a@b.c  Mon\nReceived: from mx.example.org\nSubject: Re: [ILUG] Cheap\n\tstuff\nX-Spam: no\n\n<html><body><p>Buy&nbsp;now</p>\n<style>p{}</style>!</body></html>\n';
  assert.equal(messageText(raw), 'Cheap stuff Buy now !');
  assert.equal(messageText('Subject: only headers'), 'only headers');
});

test('SpamAssassin: labelled, deduplicated, split by message, stratified and fixed', () => {
  const all = loadSpamAssassin();
  assert.ok(all.length > 5500 && all.length < 6046, `${all.length} messages after deduplication`);
  assert.equal(new Set(all.map((m) => m.text.toLowerCase())).size, all.length);
  const spam = all.filter((m) => m.label === 1).length;
  assert.ok(spam > 1500 && spam < 1900, `${spam} spam`);
  const { train, test: held } = splitMessages(all);
  const ids = (ms: Message[]) => new Set(ms.map((m) => m.id));
  assert.equal(ids(train).size + ids(held).size, all.length);
  assert.ok([...ids(held)].every((id) => !ids(train).has(id)));
  const rate = (ms: Message[]) => ms.filter((m) => m.label === 1).length / ms.length;
  assert.ok(Math.abs(rate(train) - rate(held)) < 0.01, 'stratified');
  assert.deepEqual(
    splitMessages(all).test.map((m) => m.id),
    held.map((m) => m.id),
  );
  const small = splitMessages(all, { limit: 100 });
  assert.equal(small.train.length + small.test.length, 100);
  assert.throws(() => splitMessages(all.slice(0, 3)), /too few/);
});
