import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildClozeItems, splitSentences } from '../../src/data/cloze.ts';
import { loadSotu, splitDocs } from '../../src/data/text.ts';

test('sentence splitter keeps abbreviations together', () => {
  assert.deepEqual(
    splitSentences('Mr. Smith went to Washington.  He spoke!\nThe U.S. Senate listened? Yes. 12 men left.'),
    ['Mr. Smith went to Washington.', 'He spoke!', 'The U.S. Senate listened?', 'Yes.', '12 men left.'],
  );
});

test('cloze items from the SOTU test split: structure, true continuation, distractors, determinism', () => {
  const { test: docs } = splitDocs(loadSotu(), 0);
  const items = buildClozeItems(docs, { numItems: 200, seed: 3 });
  assert.equal(items.length, 200);
  const texts = docs.map((d) => d.text.replace(/\s+/g, ' '));
  const answers = [0, 0, 0, 0];
  for (const it of items) {
    assert.equal(it.choices.length, 4);
    assert.ok(Number.isInteger(it.answer) && it.answer >= 0 && it.answer < 4);
    answers[it.answer]++;
    assert.equal(new Set(it.choices).size, 4, 'distinct choices');
    assert.ok(it.choices.every((c) => c.startsWith(' ') && c.length > 30));
    assert.ok(!it.context.endsWith(' ') && it.context.length > 20);
    // the true choice follows the context in the source document; the distractors do not
    const docText = texts[docs.findIndex((d) => it.source.startsWith(`${d.id}#`))];
    assert.ok(docText.includes(it.context + it.choices[it.answer]), it.source);
    for (let i = 0; i < 4; i++) if (i !== it.answer) assert.ok(!docText.includes(it.context + it.choices[i]));
    // similar length: every distractor within a factor 2 of the truth
    const L = it.choices[it.answer].length;
    for (const c of it.choices) assert.ok(c.length > L / 2 && c.length < L * 2, `${c.length} vs ${L}`);
  }
  assert.ok(
    answers.every((a) => a > 30),
    `answer positions ${answers}`,
  );
  const again = buildClozeItems(docs, { numItems: 200, seed: 3 });
  assert.deepEqual(again, items);
  assert.notDeepEqual(buildClozeItems(docs, { numItems: 20, seed: 4 }), items.slice(0, 20));
});

test('cloze errors on text that is too small', () => {
  assert.throws(
    () => buildClozeItems([{ id: 'a', text: 'Too short. Really.' }], { numItems: 5, seed: 0 }),
    /too few sentences/,
  );
});
