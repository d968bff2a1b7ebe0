// Fused training helpers that run as one native kernel on the `native` backend. Each returns false (doing
// nothing) on any other backend or for non-float32 tensors, so callers keep their tf-ops path as the fallback.
import * as tf from '@tensorflow/tfjs';
import { NATIVE_BACKEND } from './backend.ts';

function usable(...ts: tf.Tensor[]): boolean {
  if (tf.getBackend() !== NATIVE_BACKEND) return false;
  const shape = ts[0].shape.join(',');
  return ts.every((t) => t.dtype === 'float32' && t.shape.join(',') === shape);
}

export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Decoupled decay for this parameter (0 for excluded kinds). */
  weightDecay: number;
  /** 1-based step count t (bias corrections 1 − β^t). */
  step: number;
}

/**
 * torch.optim.AdamW for one parameter, in one pass: p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g;
 * v ← β2·v + (1−β2)·g²; p ← p − (lr/(1−β1^t))·m / (√v/√(1−β2^t) + ε). Assigns p, m and v.
 */
export function nativeAdamW(
  p: tf.Variable,
  g: tf.Tensor,
  m: tf.Variable,
  v: tf.Variable,
  o: AdamWStep,
): boolean {
  if (!usable(p, g, m, v)) return false;
  const out = tf
    .engine()
    .runKernel('LaurelAdamW', { p, g, m, v }, { ...o } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  p.assign(out[0]);
  m.assign(out[1]);
  v.assign(out[2]);
  tf.dispose(out);
  return true;
}

export interface SgdStep {
  lr: number;
  momentum: number;
  /** L2 decay added to the gradient (torch SGD weight_decay). */
  weightDecay: number;
  nesterov: boolean;
}

/** torch.optim.SGD with momentum buffer `buf` (zeros before the first step). Assigns p and buf. */
export function nativeSgd(p: tf.Variable, g: tf.Tensor, buf: tf.Variable, o: SgdStep): boolean {
  if (!usable(p, g, buf)) return false;
  const out = tf
    .engine()
    .runKernel('LaurelSgd', { p, g, buf }, { ...o } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  p.assign(out[0]);
  buf.assign(out[1]);
  tf.dispose(out);
  return true;
}
