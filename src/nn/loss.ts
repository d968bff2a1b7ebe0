import * as tf from '@tensorflow/tfjs';

/**
 * Mean softmax cross-entropy: `L = −(1/N) Σ_n log softmax(z_n)[y_n]`.
 *
 * Args:
 *   logits: [..., C] float32 (e.g. [B, C] for a classifier, [B, T, V] for an LM).
 *   labels: int32 class indices with the shape of `logits` minus its last dimension.
 *
 * Returns a scalar. Uses tfjs's fused softmax cross-entropy (its gradient is softmax − one-hot).
 */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const c = logits.shape[logits.shape.length - 1];
    const z = tf.reshape(logits, [-1, c]);
    const y = tf.oneHot(tf.reshape(labels, [-1]) as tf.Tensor1D, c);
    return tf.losses.softmaxCrossEntropy(y, z) as tf.Scalar;
  });
}
