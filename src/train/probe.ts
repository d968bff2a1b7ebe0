/**
 * A linear probe of a frozen language model: each text's first `context` bytes go through the model, its final
 * hidden states (`features`) are averaged over the text's positions, and a logistic regression (logistic.ts)
 * fit on the training texts' features classifies the test texts. The LM is not trained further, so the
 * probe's accuracy measures what its features carry.
 *
 * Texts are batched with right padding: the model is causal, so padding after a text changes none of its
 * positions' states, and the average runs over the text's own positions only.
 */
import * as tf from '@tensorflow/tfjs';
import { fitLogistic, predictLogistic } from './logistic.ts';

export interface FeatureModel {
  features(tokens: tf.Tensor2D): tf.Tensor3D;
}

/** Mean final hidden state per text, [D] each. */
export function textFeatures(
  model: FeatureModel,
  texts: readonly Int32Array[],
  context: number,
  batchSize = 32,
): Float32Array[] {
  const out: Float32Array[] = [];
  for (let start = 0; start < texts.length; start += batchSize) {
    const batch = texts.slice(start, start + batchSize).map((t) => t.subarray(0, context));
    const T = Math.max(1, ...batch.map((t) => t.length));
    const ids = new Int32Array(batch.length * T).fill(32); // padding: spaces, after each text
    const mask = new Float32Array(batch.length * T);
    batch.forEach((t, i) => {
      ids.set(t, i * T);
      mask.fill(1 / Math.max(1, t.length), i * T, i * T + t.length);
    });
    const pooled = tf.tidy(() => {
      const h = model.features(tf.tensor2d(ids, [batch.length, T], 'int32'));
      // Σ_t mask[b, t] · h[b, t, :] = the mean over the text's own positions
      return tf.sum(tf.mul(h, tf.tensor3d(mask, [batch.length, T, 1])), 1);
    });
    const data = pooled.dataSync() as Float32Array;
    const d = pooled.shape[1]!;
    pooled.dispose();
    for (let i = 0; i < batch.length; i++) out.push(data.slice(i * d, (i + 1) * d));
  }
  return out;
}

export interface ProbeResult {
  /** Test accuracy of the probe, in [0, 1]. */
  accuracy: number;
  /** Test accuracy of always answering the training set's majority class. */
  majority: number;
  train: number;
  test: number;
  /** Per test item: 1 if the probe was right, else 0 (for paired comparisons between models). */
  correct: number[];
}

/** Fits the probe on `train` and scores it on `test` (labels 0/1). */
export function linearProbe(
  model: FeatureModel,
  train: readonly { tokens: Int32Array; label: number }[],
  test: readonly { tokens: Int32Array; label: number }[],
  context: number,
): ProbeResult {
  const fx = textFeatures(
    model,
    train.map((t) => t.tokens),
    context,
  );
  const lr = fitLogistic(
    fx,
    train.map((t) => t.label),
  );
  const tx = textFeatures(
    model,
    test.map((t) => t.tokens),
    context,
  );
  const correct = tx.map((x, i) => Number(predictLogistic(lr, x) >= 0.5 === (test[i]!.label === 1)));
  const ones = train.filter((t) => t.label === 1).length;
  const majorityLabel = ones * 2 > train.length ? 1 : 0;
  return {
    accuracy: correct.reduce((a, b) => a + b, 0) / Math.max(1, test.length),
    majority: test.filter((t) => t.label === majorityLabel).length / Math.max(1, test.length),
    train: train.length,
    test: test.length,
    correct,
  };
}
