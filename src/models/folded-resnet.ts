import * as tf from '@tensorflow/tfjs';
import {
  ActivationHistory,
  DEFAULT_K,
  Residual,
  type ResidualConfig,
  hasRw,
  historyUse,
  residualConfig,
  variantSpec,
} from '../laurel/index.ts';
import { Conv2d } from '../nn/conv2d.ts';
import { Linear } from '../nn/linear.ts';
import { Module } from '../nn/module.ts';
import { Rng } from '../util/rng.ts';
import { type BlockPlan, type ResNetConfig, blockResidual, resnetPlan } from './resnet.ts';

/**
 * A ResNet in its serving form (src/models/fold.ts fills it from a trained ResNet): the same function with fewer
 * operations. Every batch norm is folded into the convolution before it (W' = W·γ/√(σ² + ε) per output channel,
 * b' = β − γ·μ/√(σ² + ε)); RW's α is folded into each block's last convolution (W'·α, b'·α); a projection shortcut
 * of a variant without PA becomes one 1×1 convolution that also holds LAUREL's β(I + V·U); what cannot be folded
 * exactly stays in the block's `residual` (a LAUREL Residual whose RW has α = 1: `rwNorm 'none'`, (α, β) = (1, β)).
 *
 *   block:  y = ReLU(R'(f'(x), s'(x)))      f' = the folded branch (α included),
 *           s' = x (identity), the folded projection, or the merged projection x·W_d'·β(I + V·U) + b_d'·β(I + V·U)
 *           R' = the remainder: plain f' + s' (baseline, and every merged block), else β(s' + U·V·s'), β·s',
 *                PA's Σ_j γ_j·U_j·V_j·s'_{i−j} with its history (which restarts at every stage, as in training).
 *
 * Module names: conv1 (stem), layerN.i.conv1 … conv3, layerN.i.shortcut, layerN.i.residual, fc.
 */

/**
 * The folded model serves: its convolutions take tfjs's fused conv2d (bias and ReLU in the kernel), whose
 * gradient path is tfjs's own; nothing trains the folded form, so the training path's speed does not matter.
 */
const SERVING_FILTER_GRAD = 'tfjs' as const;

/** Whether a block's projection shortcut and LAUREL combine merge into one 1×1 convolution (the variant's record says). */
export function mergesProjection(plan: BlockPlan, residual: ResidualConfig): boolean {
  return plan.downsample && variantSpec(residual.variant).foldsIntoShortcut;
}

/** The residual config that remains after folding: RW's α is gone (rwNorm 'none' with α = 1). */
export function remainderConfig(config: ResidualConfig, merged: boolean): ResidualConfig {
  if (merged || config.variant === 'baseline') return residualConfig('baseline');
  if (config.variant === 'general')
    throw new Error("fold: the 'general' residual (a user function) cannot be folded");
  const { variant, ...rest } = config;
  return hasRw(variant) ? residualConfig(variant, { ...rest, rwNorm: 'none' }) : config;
}

/** One folded BasicBlock or Bottleneck. */
export class FoldedBlock extends Module {
  /** The branch's convolutions, BN (and, last, α) folded in; ReLU after all but the last. */
  readonly convs: Conv2d[];
  /** The projection (folded, or merged with LAUREL's β(I + V·U)); null for an identity shortcut. */
  readonly shortcut: Conv2d | null;
  readonly residual: Residual;

  constructor(plan: BlockPlan, kind: 'basic' | 'bottleneck', config: ResidualConfig, rng: Rng) {
    super();
    const { inplanes: cin, planes, outChannels: out, stride } = plan;
    const conv = (i: number, a: number, b: number, k: number, s: number) =>
      this.child(
        `conv${i}`,
        new Conv2d(a, b, k, { stride: s, padding: k === 3 ? 1 : 0, rng, filterGrad: SERVING_FILTER_GRAD }),
      );
    this.convs =
      kind === 'basic'
        ? [conv(1, cin, planes, 3, stride), conv(2, planes, planes, 3, 1)]
        : [conv(1, cin, planes, 1, 1), conv(2, planes, planes, 3, stride), conv(3, planes, out, 1, 1)];
    this.shortcut = plan.downsample
      ? this.child('shortcut', new Conv2d(cin, out, 1, { stride, rng, filterGrad: SERVING_FILTER_GRAD }))
      : null;
    const own = blockResidual(config, out);
    this.residual = this.child(
      'residual',
      new Residual(remainderConfig(own, mergesProjection(plan, config)), out, { seed: rng.seed() }),
    );
  }

  forward(x: tf.Tensor4D, history?: ActivationHistory): tf.Tensor4D {
    const body = (): [tf.Tensor4D, tf.Tensor4D] => {
      let h: tf.Tensor4D = x;
      this.convs.forEach((c, i) => {
        h = c.forward(h, { relu: i < this.convs.length - 1 });
      });
      const s = this.shortcut ? this.shortcut.forward(x) : x;
      return [this.residual.forward(h, s, { history, relu: true }) as tf.Tensor4D, s];
    };
    // With a PA history, the shortcut (pushed into it) must outlive this tidy: the stage's tidy frees it.
    return history ? tf.tidy(body)[0] : tf.tidy(() => body()[0]);
  }
}

/** One stage of folded blocks; PA's history restarts here, as in training. */
export class FoldedStage extends Module {
  readonly blocks: FoldedBlock[];

  constructor(
    plans: BlockPlan[],
    kind: 'basic' | 'bottleneck',
    private readonly config: ResidualConfig,
    rng: Rng,
  ) {
    super();
    this.blocks = plans.map((p, i) => this.child(String(i), new FoldedBlock(p, kind, config, rng)));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const v = this.config.variant;
    const history = historyUse(v) !== 'none' ? new ActivationHistory(this.config.k ?? DEFAULT_K) : undefined;
    return tf.tidy(() => this.blocks.reduce((h, b) => b.forward(h, history), x));
  }
}

/** The folded ResNet: `forward(x)` NHWC [N, H, W, C] → logits [N, classes], the trained model's function. */
export class FoldedResNet extends Module {
  readonly kind = 'classifier' as const;
  readonly folded = true;
  readonly conv1: Conv2d;
  readonly stages: FoldedStage[];
  readonly fc: Linear;
  private readonly imagenet: boolean;

  constructor(readonly config: ResNetConfig) {
    super();
    const rng = new Rng(config.seed);
    const plan = resnetPlan(config);
    this.imagenet = plan.stem === 64; // the ImageNet family's 7×7/2 stem and max-pool
    const k = this.imagenet ? 7 : 3;
    this.conv1 = this.child(
      'conv1',
      new Conv2d(config.inChannels, plan.stem, k, {
        stride: this.imagenet ? 2 : 1,
        padding: (k - 1) / 2,
        rng,
        filterGrad: SERVING_FILTER_GRAD,
      }),
    );
    const kind = plan.stages[0][0].outChannels === plan.stages[0][0].planes ? 'basic' : 'bottleneck';
    this.stages = plan.stages.map((blocks, s) =>
      this.child(`layer${s + 1}`, new FoldedStage(blocks, kind, config.residual, rng)),
    );
    this.fc = this.child('fc', new Linear(plan.features, config.numClasses, { rng }));
  }

  forward(x: tf.Tensor4D): tf.Tensor2D {
    if (x.rank !== 4 || x.shape[3] !== this.config.inChannels) {
      throw new Error(`ResNet: input must be NHWC [N, H, W, ${this.config.inChannels}], got [${x.shape}]`);
    }
    return tf.tidy(() => {
      let h = this.conv1.forward(x, { relu: true });
      if (this.imagenet) h = tf.maxPool(h, 3, 2, 1);
      for (const stage of this.stages) h = stage.forward(h);
      return this.fc.forward(tf.mean(h, [1, 2])) as tf.Tensor2D;
    });
  }
}
