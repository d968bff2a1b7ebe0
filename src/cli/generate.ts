import { ByteTokenizer } from '../data/tokenizer.ts';
import { generate } from '../models/generate.ts';
import { Gpt } from '../models/gpt.ts';
import { type FlagDef, UsageError, formatHelp, parseFlags, requiredFlag } from './flags.ts';
import { RUNTIME_FLAGS } from './options.ts';
import { loadRunModel } from './run-model.ts';
import { startBackend } from './train.ts';

const G = 'Generation';
export const GENERATE_FLAGS: FlagDef[] = [
  ...RUNTIME_FLAGS.filter((d) => ['out', 'backend', 'threads'].includes(d.name)).map((d) =>
    d.name === 'out' ? { ...d, help: 'Run folder of a trained GPT (laurel train --task text)' } : d,
  ),
  { name: 'json', type: 'bool', default: false, help: 'Print one JSON document instead of the text' },
  { name: 'prompt', type: 'string', help: 'Text to continue', group: G, defaultText: 'empty' },
  { name: 'max-tokens', type: 'int', min: 0, default: 200, help: 'Tokens to generate', group: G },
  {
    name: 'temperature',
    type: 'number',
    min: 0,
    default: 0.8,
    help: 'Softmax temperature (0: greedy)',
    group: G,
  },
  {
    name: 'top-k',
    type: 'int',
    min: 0,
    default: 0,
    help: 'Sample among the k most likely (0: all)',
    group: G,
  },
  {
    name: 'top-p',
    type: 'number',
    above: 0,
    default: 1,
    help: 'Nucleus: smallest set of tokens with this probability mass (1: all)',
    group: G,
  },
  { name: 'seed', type: 'int', min: 0, default: 0, help: 'Seed of the sampler', group: G },
];

export const GENERATE_HELP = formatHelp(
  'generate',
  '--out RUN [--prompt TEXT] [--max-tokens N] [--json]',
  'Samples text from a trained GPT with a key/value cache (each new token costs O(context)).\n' +
    'The prompt is byte-tokenized; an empty prompt starts from the first byte token (id 0, not printed).\n' +
    'A prompt longer than the context keeps its last context tokens (a note goes to stderr). When the text\n' +
    'fills the context, the window slides: the cache is rebuilt from the last context/2 tokens.\n' +
    'Text mode streams the continuation to stdout. JSON: {"prompt", "text", "tokens", "truncated", "slides",\n' +
    '"prefill_ms", "decode_ms", "tokens_per_s", "step", "backend"}.',
  GENERATE_FLAGS,
);

export async function generateCommand(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, GENERATE_FLAGS, 'generate');
  const out = requiredFlag(values, 'out', 'generate', 'RUN');
  if ((values['top-p'] as number) > 1)
    throw new UsageError(
      `laurel generate: bad value '${values['top-p']}' for --top-p: expected a value <= 1`,
    );
  const backend = await startBackend(values);
  const { model, step } = loadRunModel(out, 'generate');
  try {
    if (!(model instanceof Gpt))
      throw new UsageError(
        `laurel generate: ${out} holds a ${model.config.arch}, not a GPT (use laurel predict)`,
      );
    const tok = new ByteTokenizer();
    if (model.config.vocab !== tok.vocabSize) {
      throw new UsageError(
        `laurel generate: ${out}'s vocabulary is ${model.config.vocab}, the byte tokenizer's ${tok.vocabSize}`,
      );
    }
    const text = (values.prompt as string | undefined) ?? '';
    const encoded = Array.from(tok.encode(text));
    const prompt = encoded.length ? encoded : [0];
    if (prompt.length > model.config.context) {
      process.stderr.write(
        `laurel generate: the prompt has ${prompt.length} tokens, the context ${model.config.context}: ` +
          `keeping its last ${model.config.context}\n`,
      );
    }
    const json = values.json as boolean;
    const decoder = new TextDecoder('utf-8');
    if (!json) process.stdout.write(text);
    const g = generate(model, prompt, {
      maxTokens: values['max-tokens'] as number,
      temperature: values.temperature as number,
      topK: values['top-k'] as number,
      topP: values['top-p'] as number,
      seed: values.seed as number,
      onToken: json
        ? undefined
        : (t) => process.stdout.write(decoder.decode(Uint8Array.of(t), { stream: true })),
    });
    const continuation = tok.decode(g.tokens);
    if (json) {
      process.stdout.write(
        `${JSON.stringify({
          prompt: text,
          text: continuation,
          tokens: g.tokens,
          truncated: g.truncated,
          slides: g.slides,
          prefill_ms: g.prefillMs,
          decode_ms: g.decodeMs,
          tokens_per_s: g.tokens.length > 1 ? (g.tokens.length - 1) / (g.decodeMs / 1000) : null,
          step,
          backend,
        })}\n`,
      );
    } else process.stdout.write(`${decoder.decode()}\n`);
    return 0;
  } finally {
    model.dispose();
  }
}
