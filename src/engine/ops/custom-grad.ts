/**
 * tf.customGrad for ops that run on every forward pass, training or not.
 *
 * tf.customGrad records its forward and keeps its saved tensors for the backward; outside a gradient tape
 * (inference, evaluation, decoding) none of that is used, but its bookkeeping still costs time on every call (on
 * RW+LR's fused combine at batch 1, about 6 of a call's 46 µs). So where no tape records the call (`tf.engine().isTapeOn()`
 * is false: not inside tf.grad, variableGrads, optimizer.minimize, …) only the forward runs, in a tidy, with a
 * `save` that keeps nothing. Same values either way: the forward is the same function on the same inputs.
 */
import * as tf from '@tensorflow/tfjs';

/** tf.customGrad's argument: the forward on (inputs…, save), returning the value and its gradient function. */
export type CustomGradFunc<T extends tf.Tensor> = (...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
  value: T;
  gradFunc: (dy: T, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
};

export function customGrad<T extends tf.Tensor>(f: CustomGradFunc<T>): (...args: tf.Tensor[]) => T {
  const taped = tf.customGrad(f);
  const nothing: tf.GradSaveFunc = () => {};
  return (...args: tf.Tensor[]): T =>
    tf.engine().isTapeOn() ? taped(...args) : tf.tidy(() => f(...args, nothing).value);
}
