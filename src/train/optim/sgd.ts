import * as tf from '@tensorflow/tfjs';
import { nativeSgd } from '../../engine/index.ts';
import type { NamedParam } from '../../nn/module.ts';
import { type DecayOptions, Optimizer, isDecayed } from './optimizer.ts';

export interface SgdOptions extends DecayOptions {
  momentum?: number;
  nesterov?: boolean;
  /** L2 weight decay added to the gradient (PyTorch `SGD(weight_decay=…)` semantics). */
  weightDecay?: number;
}

/**
 * SGD with momentum and nesterov, matching torch.optim.SGD (dampening 0):
 *   g ← g + wd·p;  b ← μ·b + g;  d = nesterov ? g + μ·b : b;  p ← p − lr·d
 * With momentum, on the native backend each parameter's update is one fused kernel (engine nativeSgd).
 */
export class Sgd extends Optimizer {
  readonly type = 'sgd';
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;

  constructor(
    params: NamedParam[],
    private readonly opts: SgdOptions = {},
  ) {
    super(params);
    this.momentum = opts.momentum ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    // NaN would pass a plain `< 0` test and then count as 0 (no momentum) without a word
    if (!(Number.isFinite(this.momentum) && this.momentum >= 0))
      throw new Error(`sgd: momentum must be >= 0, got ${this.momentum}`);
    if (!(Number.isFinite(this.weightDecay) && this.weightDecay >= 0))
      throw new Error(`sgd: weightDecay must be >= 0, got ${this.weightDecay}`);
    if (this.nesterov && this.momentum === 0) throw new Error('sgd: nesterov needs momentum > 0');
  }

  protected slotNames(): readonly string[] {
    return this.momentum > 0 ? ['momentum'] : [];
  }

  protected update(p: NamedParam, g: tf.Tensor, lr: number): void {
    const wd = isDecayed(p.kind, this.opts) ? this.weightDecay : 0;
    if (this.momentum > 0) {
      const o = { lr, momentum: this.momentum, weightDecay: wd, nesterov: this.nesterov };
      if (nativeSgd(p.variable, g, this.slot(p, 'momentum'), o)) return;
    }
    let d = wd > 0 ? tf.add(g, tf.mul(p.variable, wd)) : g;
    if (this.momentum > 0) {
      const buf = this.slot(p, 'momentum');
      const b = tf.add(tf.mul(buf, this.momentum), d);
      buf.assign(b);
      d = this.nesterov ? tf.add(d, tf.mul(b, this.momentum)) : b;
    }
    p.variable.assign(tf.sub(p.variable, tf.mul(d, lr)));
  }
}
