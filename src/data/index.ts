/** Public API of the data layer: readers, splits, batch iterators, tokenizers, cloze and synthetic tasks. */
export * from './types.ts';
export * from './idx.ts';
export * from './fashion-mnist.ts';
export * from './image-batches.ts';
export * from './text.ts';
export * from './tokenizer.ts';
export * from './bpe.ts';
export * from './text-batches.ts';
export * from './cloze.ts';
export * from './synthetic.ts';
export * from './text-task.ts';
