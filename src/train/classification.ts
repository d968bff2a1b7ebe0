import * as tf from '@tensorflow/tfjs';
import { evalImageBatches } from '../data/image-batches.ts';
import type { ImageBatch, ImageSet } from '../data/types.ts';
import { crossEntropy } from '../nn/loss.ts';
import type { EvalResult, Model, ResumableBatcher, Task, TensorBatch } from './task.ts';

export interface ClassificationTaskOptions {
  /** Training batches (e.g. the data module's ImageBatcher). */
  batcher: ResumableBatcher<ImageBatch>;
  /** The set evaluated every N steps (the paper reports best top-1 on the test set). */
  evalSet: ImageSet;
  evalBatchSize?: number;
  /** Evaluate on the first `evalLimit` images only (quick runs). */
  evalLimit?: number;
}

/** Top-1 accuracy and mean cross-entropy of `model` over a set, in batches. */
export function evaluateClassifier(
  model: Model,
  data: ImageSet,
  batchSize = 500,
  limit?: number,
): EvalResult {
  let lossSum = 0;
  let correct = 0;
  let n = 0;
  for (const b of evalImageBatches(data, batchSize, limit)) {
    const [l, c] = tf.tidy(() => {
      const x = tf.tensor4d(b.x, b.shape);
      const y = tf.tensor1d(b.y, 'int32');
      const logits = model.forward(x);
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), y), 'int32'));
      return [tf.mul(crossEntropy(logits, y), b.batchSize), hits];
    });
    lossSum += l.dataSync()[0];
    correct += c.dataSync()[0];
    n += b.batchSize;
    tf.dispose([l, c]);
  }
  if (n === 0) throw new Error('evaluateClassifier: the evaluation set is empty');
  return { loss: lossSum / n, accuracy: correct / n };
}

/** Image classification (Fashion-MNIST): cross-entropy training, top-1 accuracy evaluation. */
export class ClassificationTask implements Task {
  readonly name = 'classification';
  readonly unit = 'images';
  readonly select = { metric: 'accuracy', higherIsBetter: true } as const;

  constructor(private readonly o: ClassificationTaskOptions) {}

  get stepsPerEpoch(): number {
    return this.o.batcher.stepsPerEpoch;
  }

  get epoch(): number {
    return this.o.batcher.epoch;
  }

  nextBatch(): TensorBatch {
    const b = this.o.batcher.next().value;
    return { inputs: tf.tensor4d(b.x, b.shape), targets: tf.tensor1d(b.y, 'int32'), units: b.batchSize };
  }

  loss(model: Model, batch: TensorBatch): tf.Scalar {
    return crossEntropy(model.forward(batch.inputs), batch.targets);
  }

  evaluate(model: Model): EvalResult {
    return evaluateClassifier(model, this.o.evalSet, this.o.evalBatchSize, this.o.evalLimit);
  }

  dataState(): unknown {
    return this.o.batcher.state();
  }

  restoreData(state: unknown): void {
    this.o.batcher.restore(state as never);
  }
}
