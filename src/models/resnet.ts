import * as tf from '@tensorflow/tfjs';
import {
  ActivationHistory,
  DEFAULT_K,
  Residual,
  type ResidualConfig,
  addedParamCount,
  effectiveRank,
  historyUse,
  residualConfig,
} from '../laurel/index.ts';
import { BatchNorm } from '../nn/batchnorm.ts';
import { Conv2d, type ConvFilterGradMode } from '../nn/conv2d.ts';
import { Linear } from '../nn/linear.ts';
import { Module } from '../nn/module.ts';
import { Rng } from '../util/rng.ts';

/**
 * ResNets (He et al., 2016) with a switchable residual connection (LAUREL, Menghani et al., 2025).
 *
 * ImageNet family (`resnet18/34/50/101/152`): torchvision's architecture exactly (v1.5: in a Bottleneck the
 * stride sits on the 3×3 conv), with torchvision's padding (3 for the 7×7 stem, 1 for 3×3 convs, symmetric:
 * explicit, not TF 'same'), init (convs kaiming-normal fan_out, BN γ=1 β=0, fc PyTorch default) and
 * parameter counts (ResNet-50: 25,557,032).
 *
 * CIFAR family (`resnet20/32/44/56/110`, He et al. §4.2): 3×3 stem with 16 channels, 3 stages of n BasicBlocks
 * with 16/32/64 channels (n = 3, 5, 7, 9, 18), global average pooling, fc. Shortcut **option B**: where the
 * shape changes, a 1×1 strided conv + BN projection (as torchvision's `downsample`), instead of option A's
 * zero-padded identity. Option B costs 2,752 parameters in ResNet-20 (+1 % params) and lets every block,
 * the projected ones included, use the same LAUREL definition below.
 *
 * LAUREL in a block. With f(x) the block's residual branch (…→ conv → BN, before the final ReLU):
 *
 *   plain (torchvision):  y = ReLU(f(x) + s(x))
 *   LAUREL:               y = ReLU(Residual.forward(f(x), s(x)))   e.g. RW+LR: ReLU(α·f(x) + β·(s + U·V·s))
 *
 * where s(x) = x for identity shortcuts and s(x) = downsample(x) (1×1 conv + BN) for projection shortcuts:
 * g acts on the projected shortcut, so LAUREL's width D is always the block's output channel count
 * (planes·expansion), and its matrices are 1×1 convs (matmuls on the NHWC channel dimension).
 * PA's history holds the shortcuts s(x) of the earlier blocks; it restarts at every stage (a fresh
 * ActivationHistory per stage per forward pass), since the shapes change between stages.
 *
 * A LAUREL rank at least as large as a block's width is capped per block at width − 1 (`blockResidual`).
 *
 * Naive scaling: `extraBlocks` more blocks (of the stage's own kind, stride 1) appended to stage
 * `extraStage` (1-based, default 3: torchvision's `layer3`, the 1024-channel stage of ResNet-50, which is the
 * paper's "+1 layer": one Bottleneck = 1,117,184 parameters = 4.37 %; for the CIFAR nets stage 3 is the last).
 * Extra blocks get the same residual config as the others; their weights come from a stream of their own.
 */

/** The architectures this file builds. */
export type ResNetArch =
  | 'resnet18'
  | 'resnet34'
  | 'resnet50'
  | 'resnet101'
  | 'resnet152'
  | 'resnet20'
  | 'resnet32'
  | 'resnet44'
  | 'resnet56'
  | 'resnet110';

interface ArchSpec {
  /** Block type: BasicBlock (two 3×3 convs, expansion 1) or Bottleneck (1×1, 3×3, 1×1, expansion 4). */
  block: 'basic' | 'bottleneck';
  /** Blocks per stage. */
  layers: number[];
  /** 'imagenet': 7×7/2 stem + max-pool, stages of 64/128/256/512 planes; 'cifar': 3×3 stem, 16/32/64. */
  style: 'imagenet' | 'cifar';
}

const ARCHS: Record<ResNetArch, ArchSpec> = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2], style: 'imagenet' },
  resnet34: { block: 'basic', layers: [3, 4, 6, 3], style: 'imagenet' },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3], style: 'imagenet' },
  resnet101: { block: 'bottleneck', layers: [3, 4, 23, 3], style: 'imagenet' },
  resnet152: { block: 'bottleneck', layers: [3, 8, 36, 3], style: 'imagenet' },
  resnet20: { block: 'basic', layers: [3, 3, 3], style: 'cifar' },
  resnet32: { block: 'basic', layers: [5, 5, 5], style: 'cifar' },
  resnet44: { block: 'basic', layers: [7, 7, 7], style: 'cifar' },
  resnet56: { block: 'basic', layers: [9, 9, 9], style: 'cifar' },
  resnet110: { block: 'basic', layers: [18, 18, 18], style: 'cifar' },
};

export const RESNET_ARCHS = Object.keys(ARCHS) as ResNetArch[];

export function isResNetArch(name: string): name is ResNetArch {
  return Object.hasOwn(ARCHS, name);
}

export interface ResNetConfig {
  /** Architecture, see `ResNetArch`. */
  arch: ResNetArch;
  /** Classifier outputs. Default 1000 (ImageNet family) or 10 (CIFAR family). */
  numClasses: number;
  /** Input channels C of the NHWC images. Default 3 (ImageNet family) or 1 (CIFAR family: Fashion-MNIST). */
  inChannels: number;
  /** The residual connection of every block (LAUREL variant or 'baseline'). */
  residual: ResidualConfig;
  /** Naive scaling: blocks appended to stage `extraStage`. Default 0. */
  extraBlocks: number;
  /** 1-based stage that gets the extra blocks. Default 3 (layer3; the last stage of the CIFAR nets). */
  extraStage: number;
  /** Seed of all initial weights. Base weights and LAUREL weights come from separate streams, so models that
   * differ only in their residual config start with identical convs, BNs and fc. Default 0. */
  seed: number;
}

/**
 * How a ResNet is built to run, apart from what it is (its config, stored with a run): the same weights and
 * numbers either way, so a run can resume on another backend.
 */
export interface ResNetBuildOptions {
  /** Every k > 1 Conv2d's kernel-gradient path (see ConvFilterGradMode; src/engine convFilterGradMode picks
   * the fast one for a backend). Default 'conv'. */
  convFilterGrad?: ConvFilterGradMode;
}

/** Completes a partial config with the defaults above and checks it. */
export function resnetConfig(c: Partial<ResNetConfig> & { arch: ResNetArch }): ResNetConfig {
  const arch = ARCHS[c.arch];
  if (!arch) throw new Error(`resnet: bad arch '${c.arch}'; allowed: ${RESNET_ARCHS.join(', ')}`);
  const imagenet = arch.style === 'imagenet';
  const config: ResNetConfig = {
    arch: c.arch,
    numClasses: c.numClasses ?? (imagenet ? 1000 : 10),
    inChannels: c.inChannels ?? (imagenet ? 3 : 1),
    residual: c.residual ?? residualConfig('baseline'),
    extraBlocks: c.extraBlocks ?? 0,
    extraStage: c.extraStage ?? 3,
    seed: c.seed ?? 0,
  };
  const posInt = (name: keyof ResNetConfig, min: number) => {
    const v = config[name] as number;
    if (!(Number.isInteger(v) && v >= min))
      throw new Error(`resnet: bad ${name} ${v}; allowed: an integer >= ${min}`);
  };
  posInt('numClasses', 1);
  posInt('inChannels', 1);
  posInt('extraBlocks', 0);
  if (
    !(
      Number.isInteger(config.extraStage) &&
      config.extraStage >= 1 &&
      config.extraStage <= arch.layers.length
    )
  ) {
    throw new Error(
      `resnet: bad extraStage ${config.extraStage}; allowed: 1..${arch.layers.length} for ${c.arch}`,
    );
  }
  return config;
}

/** One residual block of the plan: its input channels, planes, stride and whether it projects its shortcut. */
export interface BlockPlan {
  inplanes: number;
  planes: number;
  /** Output channels = planes · expansion (= LAUREL's D). */
  outChannels: number;
  stride: number;
  downsample: boolean;
}

/** Stem width, stage planes and the blocks of every stage (shared by the builder and `resnetParamCount`). */
export function resnetPlan(config: ResNetConfig): { stem: number; stages: BlockPlan[][]; features: number } {
  const arch = ARCHS[config.arch];
  const expansion = arch.block === 'bottleneck' ? 4 : 1;
  const imagenet = arch.style === 'imagenet';
  const stem = imagenet ? 64 : 16;
  const planesOf = imagenet ? [64, 128, 256, 512] : [16, 32, 64];
  let inplanes = stem;
  const stages = arch.layers.map((n, s) => {
    const count = n + (s + 1 === config.extraStage ? config.extraBlocks : 0);
    const planes = planesOf[s];
    const blocks: BlockPlan[] = [];
    for (let b = 0; b < count; b++) {
      const stride = b === 0 && s > 0 ? 2 : 1;
      const outChannels = planes * expansion;
      blocks.push({
        inplanes,
        planes,
        outChannels,
        stride,
        downsample: stride !== 1 || inplanes !== outChannels,
      });
      inplanes = outChannels;
    }
    return blocks;
  });
  return { stem, stages, features: inplanes };
}

/**
 * Trainable parameters of the ResNet described by `config`, computed from shapes without allocating
 * anything (torchvision counting: BN γ and β included, running statistics excluded).
 */
export function resnetParamCount(config: ResNetConfig): number {
  const arch = ARCHS[config.arch];
  const conv = (k: number, cin: number, cout: number) => k * k * cin * cout;
  const bn = (c: number) => 2 * c;
  const { stem, stages, features } = resnetPlan(config);
  let n = conv(arch.style === 'imagenet' ? 7 : 3, config.inChannels, stem) + bn(stem);
  for (const b of stages.flat()) {
    if (arch.block === 'basic')
      n += conv(3, b.inplanes, b.planes) + bn(b.planes) + conv(3, b.planes, b.planes) + bn(b.planes);
    else {
      n += conv(1, b.inplanes, b.planes) + bn(b.planes) + conv(3, b.planes, b.planes) + bn(b.planes);
      n += conv(1, b.planes, b.outChannels) + bn(b.outChannels);
    }
    if (b.downsample) n += conv(1, b.inplanes, b.outChannels) + bn(b.outChannels);
    n += addedParamCount(blockResidual(config.residual, b.outChannels), b.outChannels);
  }
  return n + features * config.numClasses + config.numClasses;
}

/**
 * The residual config of a block of width `dim`, its rank capped by laurel's effectiveRank, because stage widths
 * vary: `--rank 16` on ResNet-20 gives stage 1 (16 channels) rank 15 and stages 2 and 3 (32, 64 channels) 16.
 */
export function blockResidual(config: ResidualConfig, dim: number): ResidualConfig {
  return config.rank === undefined
    ? config
    : { ...config, rank: effectiveRank(config.variant, dim, config.rank) };
}

/** Per-forward-pass context a block receives. */
interface BlockContext {
  history?: ActivationHistory;
}

/**
 * Runs a block body that returns [output, shortcut] in a tf.tidy. Without a PA history only the output
 * survives; with one, the shortcut (pushed into the history, read by the next blocks) survives too, and is
 * freed by the enclosing scope (the stage's tidy).
 */
function keepingShortcut(ctx: BlockContext, body: () => [tf.Tensor4D, tf.Tensor4D]): tf.Tensor4D {
  if (!ctx.history) return tf.tidy(() => body()[0]);
  return tf.tidy(body)[0];
}

/** Shortcut projection: 1×1 strided conv + BN (torchvision's `downsample.0` / `downsample.1`). */
class Downsample extends Module {
  readonly conv: Conv2d;
  readonly bn: BatchNorm;

  constructor(inC: number, outC: number, stride: number, rng: Rng) {
    super();
    // 1×1 convolutions are matmuls (Conv2d's fast path): no filter-gradient mode to choose.
    this.conv = this.child(
      '0',
      new Conv2d(inC, outC, 1, { stride, bias: false, init: 'kaiming-normal-fan-out', rng }),
    );
    this.bn = this.child('1', new BatchNorm(outC));
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    return this.bn.forward(this.conv.forward(x));
  }
}

function conv3x3(
  inC: number,
  outC: number,
  stride: number,
  rng: Rng,
  filterGrad: ConvFilterGradMode,
): Conv2d {
  return new Conv2d(inC, outC, 3, {
    stride,
    padding: 1,
    bias: false,
    init: 'kaiming-normal-fan-out',
    rng,
    filterGrad,
  });
}

function conv1x1(inC: number, outC: number, rng: Rng): Conv2d {
  return new Conv2d(inC, outC, 1, { bias: false, init: 'kaiming-normal-fan-out', rng });
}

/**
 * The part of a block after f (BasicBlock and Bottleneck alike): the shortcut projection, when the plan has
 * one, and the residual R. Built after the block's convolutions, so that `rng` is drawn in the same order.
 */
function blockTail(
  plan: BlockPlan,
  residual: ResidualConfig,
  rng: Rng,
  laurelRng: Rng,
): { downsample: Downsample | null; residual: Residual } {
  const downsample = plan.downsample
    ? new Downsample(plan.inplanes, plan.outChannels, plan.stride, rng)
    : null;
  const r = new Residual(blockResidual(residual, plan.outChannels), plan.outChannels, {
    seed: laurelRng.seed(),
  });
  return { downsample, residual: r };
}

/** [ReLU(R(f(x), s(x))), s(x)] for keepingShortcut, s the block's projection or the identity. */
function blockOutput(
  block: { readonly downsample: Downsample | null; readonly residual: Residual },
  x: tf.Tensor4D,
  fx: tf.Tensor,
  ctx: BlockContext,
): [tf.Tensor4D, tf.Tensor4D] {
  const s = block.downsample ? block.downsample.forward(x) : x;
  return [block.residual.forward(fx, s, { history: ctx.history, relu: true }) as tf.Tensor4D, s];
}

/** A block's constructor arguments (BasicBlock and Bottleneck alike): weights drawn from rng (convs, BNs) and
 * laurelRng (the residual), every k > 1 conv on the filterGrad path. */
type BlockArgs = [
  plan: BlockPlan,
  residual: ResidualConfig,
  rng: Rng,
  laurelRng: Rng,
  filterGrad: ConvFilterGradMode,
];

/**
 * BasicBlock: `y = ReLU(R(f(x), s(x)))`, f = conv3×3(stride) → BN → ReLU → conv3×3 → BN, R the residual
 * (plain: f + s). Shapes: [N, H, W, inplanes] → [N, H/stride, W/stride, planes].
 */
export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm;
  readonly downsample: Downsample | null;
  readonly residual: Residual;

  constructor(...[plan, residual, rng, laurelRng, filterGrad]: BlockArgs) {
    super();
    this.conv1 = this.child('conv1', conv3x3(plan.inplanes, plan.planes, plan.stride, rng, filterGrad));
    this.bn1 = this.child('bn1', new BatchNorm(plan.planes));
    this.conv2 = this.child('conv2', conv3x3(plan.planes, plan.planes, 1, rng, filterGrad));
    this.bn2 = this.child('bn2', new BatchNorm(plan.planes));
    const tail = blockTail(plan, residual, rng, laurelRng);
    this.downsample = tail.downsample && this.child('downsample', tail.downsample);
    this.residual = this.child('residual', tail.residual);
  }

  forward(x: tf.Tensor4D, ctx: BlockContext = {}): tf.Tensor4D {
    return keepingShortcut(ctx, () => {
      const h = this.bn1.forwardRelu(this.conv1.forward(x));
      const fx = this.bn2.forward(this.conv2.forward(h as tf.Tensor4D));
      return blockOutput(this, x, fx, ctx);
    });
  }
}

/**
 * Bottleneck (v1.5): `y = ReLU(R(f(x), s(x)))`, f = conv1×1 → BN → ReLU → conv3×3(stride) → BN → ReLU →
 * conv1×1 (×4 channels) → BN. Shapes: [N, H, W, inplanes] → [N, H/stride, W/stride, 4·planes].
 */
export class Bottleneck extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm;
  readonly downsample: Downsample | null;
  readonly residual: Residual;

  constructor(...[plan, residual, rng, laurelRng, filterGrad]: BlockArgs) {
    super();
    this.conv1 = this.child('conv1', conv1x1(plan.inplanes, plan.planes, rng));
    this.bn1 = this.child('bn1', new BatchNorm(plan.planes));
    this.conv2 = this.child('conv2', conv3x3(plan.planes, plan.planes, plan.stride, rng, filterGrad));
    this.bn2 = this.child('bn2', new BatchNorm(plan.planes));
    this.conv3 = this.child('conv3', conv1x1(plan.planes, plan.outChannels, rng));
    this.bn3 = this.child('bn3', new BatchNorm(plan.outChannels));
    const tail = blockTail(plan, residual, rng, laurelRng);
    this.downsample = tail.downsample && this.child('downsample', tail.downsample);
    this.residual = this.child('residual', tail.residual);
  }

  forward(x: tf.Tensor4D, ctx: BlockContext = {}): tf.Tensor4D {
    return keepingShortcut(ctx, () => {
      const h1 = this.bn1.forwardRelu(this.conv1.forward(x)) as tf.Tensor4D;
      const h2 = this.bn2.forwardRelu(this.conv2.forward(h1)) as tf.Tensor4D;
      const fx = this.bn3.forward(this.conv3.forward(h2));
      return blockOutput(this, x, fx, ctx);
    });
  }
}

type Block = BasicBlock | Bottleneck;

/** One stage (torchvision's `layerN`): its blocks named '0', '1', …; PA history restarts here. */
export class Stage extends Module {
  readonly blocks: Block[];
  private readonly residualConfig: ResidualConfig;

  constructor(
    plans: BlockPlan[],
    kind: 'basic' | 'bottleneck',
    residual: ResidualConfig,
    rng: Rng,
    laurelRng: Rng,
    filterGrad: ConvFilterGradMode,
    /** Blocks from this index on are naive-scaling extras: they draw from `extra`, not from rng/laurelRng. */
    firstExtra = plans.length,
    extra?: Rng,
  ) {
    super();
    const Ctor = kind === 'basic' ? BasicBlock : Bottleneck;
    this.blocks = plans.map((p, i) =>
      this.child(
        String(i),
        i < firstExtra || !extra
          ? new Ctor(p, residual, rng, laurelRng, filterGrad)
          : new Ctor(p, residual, extra, extra, filterGrad),
      ),
    );
    this.residualConfig = residual;
  }

  forward(x: tf.Tensor4D): tf.Tensor4D {
    const reads = historyUse(this.residualConfig.variant) !== 'none';
    const history = reads ? new ActivationHistory(this.residualConfig.k ?? DEFAULT_K) : undefined;
    return tf.tidy(() => {
      let h = x;
      for (const b of this.blocks) h = b.forward(h, { history });
      return h;
    });
  }
}

/**
 * A ResNet classifier. `forward(x)`: NHWC float32 images [N, H, W, inChannels] → logits [N, numClasses].
 * Module names follow torchvision: conv1, bn1, layer1.0.conv1, …, layerN.i.downsample.0, fc; each block's
 * LAUREL parameters live under `layerN.i.residual`. Call `setTraining(false)` for inference (BN running stats).
 */
export class ResNet extends Module {
  readonly kind = 'classifier' as const;
  readonly config: ResNetConfig;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm;
  readonly stages: Stage[];
  readonly fc: Linear;

  constructor(config: ResNetConfig, build: ResNetBuildOptions = {}) {
    super();
    this.config = config;
    const filterGrad = build.convFilterGrad ?? 'conv';
    const arch = ARCHS[config.arch];
    const rng = new Rng(config.seed);
    const laurelRng = new Rng((config.seed ^ 0x5a5a5a5a) >>> 0);
    // Naive-scaling blocks draw from a third stream, so that adding them shifts no other weight (paired trials).
    const extraRng = new Rng((config.seed ^ 0x3c3c3c3c) >>> 0);
    const plan = resnetPlan(config);
    const imagenet = arch.style === 'imagenet';
    this.conv1 = this.child(
      'conv1',
      new Conv2d(config.inChannels, plan.stem, imagenet ? 7 : 3, {
        stride: imagenet ? 2 : 1,
        padding: imagenet ? 3 : 1,
        bias: false,
        init: 'kaiming-normal-fan-out',
        rng,
        filterGrad,
      }),
    );
    this.bn1 = this.child('bn1', new BatchNorm(plan.stem));
    this.stages = plan.stages.map((blocks, s) =>
      this.child(
        `layer${s + 1}`,
        new Stage(blocks, arch.block, config.residual, rng, laurelRng, filterGrad, arch.layers[s], extraRng),
      ),
    );
    this.fc = this.child('fc', new Linear(plan.features, config.numClasses, { rng }));
  }

  forward(x: tf.Tensor4D): tf.Tensor2D {
    if (x.rank !== 4 || x.shape[3] !== this.config.inChannels) {
      throw new Error(`ResNet: input must be NHWC [N, H, W, ${this.config.inChannels}], got [${x.shape}]`);
    }
    return tf.tidy(() => {
      let h = this.bn1.forwardRelu(this.conv1.forward(x)) as tf.Tensor4D;
      if (ARCHS[this.config.arch].style === 'imagenet') h = tf.maxPool(h, 3, 2, 1);
      for (const stage of this.stages) h = stage.forward(h);
      return this.fc.forward(tf.mean(h, [1, 2])) as tf.Tensor2D;
    });
  }

  /** Sum of LAUREL parameters over all blocks. */
  addedParams(): number {
    return this.stages.reduce((s, st) => s + st.blocks.reduce((t, b) => t + b.residual.addedParams(), 0), 0);
  }
}

/** Builds a ResNet (defaults as in `resnetConfig`). */
export function resnet(
  config: Partial<ResNetConfig> & { arch: ResNetArch },
  build: ResNetBuildOptions = {},
): ResNet {
  return new ResNet(resnetConfig(config), build);
}
