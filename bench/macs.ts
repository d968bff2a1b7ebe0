// Multiply-adds of one forward pass, counted from the kernels tfjs runs (tf.profile's shapes): the work a model
// cannot avoid, so that LAUREL's measured inference overhead can be set beside its floor (its share of the MACs).
import * as tf from '@tensorflow/tfjs';

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** MACs of one kernel call from its input and output shapes; 0 for kernels that multiply nothing. */
export function kernelMacs(name: string, inputs: number[][], outputs: number[][]): number {
  const out = outputs[0];
  if (!out) return 0;
  switch (name) {
    case 'Conv2D':
    case 'FusedConv2D': {
      const [kh, kw, cin] = inputs[1]; // filter HWIO
      return size(out) * kh * kw * cin;
    }
    case 'BatchMatMul':
    case '_FusedMatMul': {
      // a [B, M, K] (or Kᵀ), b [B, K, N]: size(a)·size(b) = B²·M·N·K², size(out) = B·M·N
      const [m, n] = out.slice(-2);
      const batch = size(out) / (m * n);
      const k = Math.sqrt((size(inputs[0]) * size(inputs[1])) / (size(out) * batch));
      return size(out) * Math.round(k);
    }
    case 'LaurelLowRankCombine': {
      const [, x, V] = inputs; // fx, x, V [D, r], U [r, D]: (x·V)·U
      return 2 * size(x) * V[1];
    }
    default:
      return 0;
  }
}

/** MACs of everything `run` computes (it is run once, under tf.profile). */
export async function forwardMacs(run: () => void): Promise<number> {
  const info = await tf.profile(() => {
    run();
  });
  return info.kernels.reduce((s, k) => s + kernelMacs(k.name, k.inputShapes, k.outputShapes), 0);
}
