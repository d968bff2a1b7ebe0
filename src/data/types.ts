/**
 * Plain data types shared by the data modules. Batches are typed arrays plus shapes; converting them to
 * tensors happens in `train`.
 */

/**
 * A set of images in NHWC layout with integer labels.
 * - `x`: Float32Array of length `n * height * width * channels`, shape [n, height, width, channels].
 * - `y`: Int32Array of length `n`, values in [0, numClasses).
 */
export interface ImageSet {
  x: Float32Array;
  y: Int32Array;
  n: number;
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  /** The value a black (0) source pixel has in `x` after scaling/normalization; used as padding fill. */
  fill: number;
}

/** A minibatch of images: `x` has shape [batchSize, height, width, channels] (NHWC), `y` shape [batchSize]. */
export interface ImageBatch {
  x: Float32Array;
  y: Int32Array;
  batchSize: number;
  /** [batchSize, height, width, channels] */
  shape: [number, number, number, number];
}

/**
 * A minibatch of token windows: `tokens` has shape [batchSize, seqLen + 1], row-major. Inputs are
 * `tokens[:, 0:seqLen]`, targets `tokens[:, 1:seqLen + 1]` (see `splitInputsTargets`).
 */
export interface TokenBatch {
  tokens: Int32Array;
  batchSize: number;
  /** T: the number of input (and target) positions per row; each row holds T + 1 tokens. */
  seqLen: number;
}

/** One text document of a corpus. */
export interface TextDoc {
  /** A stable identifier (file name or e.g. `1790-george-washington`). */
  id: string;
  text: string;
}
