/**
 * Tokenizers map text to int32 token ids and back. The byte-level tokenizer (vocab 256) encodes the UTF-8
 * bytes of the text; decoding any id sequence is total (invalid UTF-8 becomes U+FFFD), and
 * `decode(encode(s)) === s` for every string without lone surrogates.
 */

/** Common interface of the byte-level tokenizer and BPE. */
export interface Tokenizer {
  readonly kind: 'byte' | 'bpe';
  /** Ids are in [0, vocabSize). */
  readonly vocabSize: number;
  /** Text → ids, shape [numTokens]. */
  encode(text: string): Int32Array;
  /** Ids → text. */
  decode(ids: ArrayLike<number>): string;
  /** A JSON-serializable description; `tokenizerFromJSON` rebuilds it. */
  toJSON(): TokenizerJSON;
}

export type TokenizerJSON = { kind: 'byte' } | { kind: 'bpe'; version: 1; merges: [number, number][] };

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** UTF-8 bytes of `text`. */
export function utf8Bytes(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Decodes UTF-8 bytes (invalid sequences become U+FFFD). */
export function utf8Decode(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/** One token per UTF-8 byte: vocab 256. */
export class ByteTokenizer implements Tokenizer {
  readonly kind = 'byte' as const;
  readonly vocabSize = 256;

  encode(text: string): Int32Array {
    return Int32Array.from(utf8Bytes(text));
  }

  decode(ids: ArrayLike<number>): string {
    const b = new Uint8Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const v = ids[i];
      if (!Number.isInteger(v) || v < 0 || v > 255)
        throw new Error(`ByteTokenizer.decode: id ${v} is not in [0, 256)`);
      b[i] = v;
    }
    return utf8Decode(b);
  }

  toJSON(): TokenizerJSON {
    return { kind: 'byte' };
  }
}
