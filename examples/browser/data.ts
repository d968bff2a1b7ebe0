// The example's data files: the Fashion-MNIST sample both pages use (data/sample.bin, made by make-sample.ts:
// 2,000 training and 500 test images with their labels, as tensors: pixels in [0, 1], labels one-hot), and the
// weights the serving page loads.

import * as tf from '@tensorflow/tfjs';

/** A ResNet-20 RW+LR trained by `laurel train` and written by `laurel export` (see README, browser example). */
export const WEIGHTS = 'data/resnet20-rw-lr.safetensors';

export interface Split {
  x: tf.Tensor4D;
  y: tf.Tensor2D;
  labels: Uint8Array;
}

export interface Sample {
  train: Split;
  test: Split;
}

export async function loadSample(): Promise<Sample> {
  const meta = await (await fetch('data/sample.json')).json();
  const bytes = new Uint8Array(await (await fetch('data/sample.bin')).arrayBuffer());
  const px = meta.height * meta.width;
  let at = 0;
  const take = (n: number) => {
    at += n;
    return bytes.subarray(at - n, at);
  };
  const split = (n: number): Split => {
    const images = take(n * px);
    const labels = take(n);
    return {
      x: tf.tidy(() => tf.tensor4d(images, [n, meta.height, meta.width, 1], 'int32').toFloat().div(255)),
      y: tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat() as tf.Tensor2D,
      labels,
    };
  };
  const train = split(meta.train);
  return { train, test: split(meta.test) };
}
