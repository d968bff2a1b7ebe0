import * as tf from '@tensorflow/tfjs';
import { sequentialWindows, splitInputsTargets } from '../data/text-batches.ts';
import type { TokenBatch } from '../data/types.ts';
import { crossEntropy } from '../nn/loss.ts';
import { type ClozeItem, scoreCloze } from './cloze.ts';
import type { EvalResult, Model, Task, TensorBatch } from './task.ts';

/** The data module's TextWindowSampler, structurally. */
export interface TokenSampler {
  readonly epoch: number;
  next(): TokenBatch;
  state(): unknown;
  restore(state: never): void;
}

export interface LanguageTaskOptions {
  sampler: TokenSampler;
  /** Training tokens in the stream (to count steps per epoch). */
  trainTokens: number;
  seqLen: number;
  batchSize: number;
  /** Evaluation streams; the first is the main one (its loss selects "best"), the others are reported as
   * `<name>_loss` and `<name>_perplexity` (e.g. `test` = the corpus's held-out documents, `ood` = Moby Dick). */
  evalSets: { name: string; tokens: Int32Array }[];
  evalBatchSize?: number;
  /** Cap on evaluation windows per set (evenly spaced over the stream), to bound eval time. */
  evalMaxWindows?: number;
  /** Optional multiple-choice cloze items, reported as `cloze_accuracy`. */
  cloze?: ClozeItem[];
}

/** Mean next-token cross-entropy (nats per token) of an LM over a token stream, in non-overlapping windows. */
export function evaluateLm(
  model: Model,
  tokens: Int32Array,
  o: { seqLen: number; batchSize: number; maxWindows?: number },
): number {
  let sum = 0;
  let count = 0;
  for (const b of sequentialWindows(tokens, o)) {
    const { inputs, targets } = splitInputsTargets(b);
    const l = tf.tidy(() => {
      const x = tf.tensor2d(inputs, [b.batchSize, b.seqLen], 'int32');
      const y = tf.tensor2d(targets, [b.batchSize, b.seqLen], 'int32');
      return crossEntropy(model.forward(x), y);
    });
    const n = b.batchSize * b.seqLen;
    sum += l.dataSync()[0] * n;
    count += n;
    l.dispose();
  }
  return sum / count;
}

/** Language modelling: next-token cross-entropy; eval reports loss and perplexity per eval stream. */
export class LanguageTask implements Task {
  readonly name = 'language';
  readonly unit = 'tokens';
  readonly select = { metric: 'loss', higherIsBetter: false } as const;
  readonly stepsPerEpoch: number;

  constructor(private readonly o: LanguageTaskOptions) {
    if (o.evalSets.length === 0) throw new Error('LanguageTask: needs at least one evaluation stream');
    this.stepsPerEpoch = Math.max(1, Math.ceil(o.trainTokens / (o.batchSize * o.seqLen)));
  }

  get epoch(): number {
    return this.o.sampler.epoch;
  }

  nextBatch(): TensorBatch {
    const b = this.o.sampler.next();
    const { inputs, targets } = splitInputsTargets(b);
    return {
      inputs: tf.tensor2d(inputs, [b.batchSize, b.seqLen], 'int32'),
      targets: tf.tensor2d(targets, [b.batchSize, b.seqLen], 'int32'),
      units: b.batchSize * b.seqLen,
    };
  }

  loss(model: Model, batch: TensorBatch): tf.Scalar {
    return crossEntropy(model.forward(batch.inputs), batch.targets);
  }

  evaluate(model: Model): EvalResult {
    const opts = {
      seqLen: this.o.seqLen,
      batchSize: this.o.evalBatchSize ?? this.o.batchSize,
      maxWindows: this.o.evalMaxWindows,
    };
    const [main, ...others] = this.o.evalSets;
    const loss = evaluateLm(model, main.tokens, opts);
    const extra: Record<string, number> = {};
    for (const s of others) {
      const l = evaluateLm(model, s.tokens, opts);
      extra[`${s.name}_loss`] = l;
      extra[`${s.name}_perplexity`] = Math.exp(l);
    }
    if (this.o.cloze && this.o.cloze.length > 0) {
      // Choices differ in length, and a summed log-likelihood favours the shortest one, so the headline
      // metric is the per-token mean (HellaSwag's acc_norm); the summed score is kept beside it.
      const c = scoreCloze(model, this.o.cloze, this.o.seqLen);
      extra.cloze_accuracy = c.accuracyNorm;
      extra.cloze_accuracy_sum = c.accuracy;
    }
    return { loss, perplexity: Math.exp(loss), extra };
  }

  dataState(): unknown {
    return this.o.sampler.state();
  }

  restoreData(state: unknown): void {
    this.o.sampler.restore(state as never);
  }
}
