import * as tf from '@tensorflow/tfjs';
import { nativeAdamW } from '../../engine/index.ts';
import type { NamedParam } from '../../nn/module.ts';
import { type DecayOptions, Optimizer, isDecayed } from './optimizer.ts';

export interface AdamWOptions extends DecayOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (PyTorch AdamW default 0.01). */
  weightDecay?: number;
}

/**
 * AdamW (Loshchilov & Hutter), matching torch.optim.AdamW:
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + ε)
 * On the native backend each parameter's update is one fused kernel (engine nativeAdamW); elsewhere the tf ops.
 */
export class AdamW extends Optimizer {
  readonly type = 'adamw';
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  constructor(
    params: NamedParam[],
    private readonly opts: AdamWOptions = {},
  ) {
    super(params);
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.999;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    for (const [k, b] of [
      ['beta1', this.beta1],
      ['beta2', this.beta2],
    ] as const) {
      if (!(b >= 0 && b < 1)) throw new Error(`adamw: ${k} must be in [0, 1), got ${b}`);
    }
    // as torch.optim.AdamW: eps < 0 divides by a vanishing √v − |eps| (weights went to −∞ in 2 steps)
    if (!(Number.isFinite(this.eps) && this.eps >= 0))
      throw new Error(`adamw: eps must be >= 0, got ${this.eps}`);
    if (!(Number.isFinite(this.weightDecay) && this.weightDecay >= 0))
      throw new Error(`adamw: weightDecay must be >= 0, got ${this.weightDecay}`);
  }

  protected slotNames(): readonly string[] {
    return ['m', 'v'];
  }

  protected update(p: NamedParam, g: tf.Tensor, lr: number): void {
    const t = this.stepCount;
    const wd = isDecayed(p.kind, this.opts) ? this.weightDecay : 0;
    const m = this.slot(p, 'm');
    const v = this.slot(p, 'v');
    const o = { lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, weightDecay: wd, step: t };
    if (nativeAdamW(p.variable, g, m, v, o)) return;
    const m1 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
    const v1 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
    m.assign(m1);
    v.assign(v1);
    const denom = tf.add(tf.mul(tf.sqrt(v1), 1 / Math.sqrt(1 - this.beta2 ** t)), this.eps);
    const decayed = wd > 0 ? tf.mul(p.variable, 1 - lr * wd) : p.variable;
    p.variable.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), lr / (1 - this.beta1 ** t))));
  }
}
