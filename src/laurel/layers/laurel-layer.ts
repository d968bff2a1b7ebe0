/**
 * The tfjs Layers face of LAUREL: one layer over the same code as Residual (initialParams, residualForward,
 * math.ts), serializable with getConfig + registerClass so that saved models load again.
 *
 * Inputs: [fx, x, ...extra], all of the same shape [batch, ..., D]:
 *   - variants that read the history (PA): extra = the earlier block inputs x_{i-1}, x_{i-2}, … (newest first,
 *     at most k − 1; the first blocks of a model simply pass fewer). The functional graph wires them explicitly.
 *   - variants that read x̂ (gemma3n): extra = [x̂] (the pre-normed block input); without it x̂ = x.
 *   - other variants: no extra inputs.
 * Variants that need a user-supplied function g (`general`) cannot be serialized and are not offered as layers.
 */
import * as tf from '@tensorflow/tfjs';
import {
  type ResidualConfig,
  VARIANTS,
  addedParamCount,
  effectiveK,
  residualConfig,
  variantSpec,
} from '../config.ts';
import type { LaurelParams } from '../options.ts';
import { initialParams, residualForward } from '../residual.ts';

type Shape = (number | null)[];
type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type LayerVariable = tf.LayerVariable;

/** Residual's options (all but the unserializable `g`) plus the layer's own. */
export interface LaurelLayerArgs extends LayerArgs, Omit<ResidualConfig, 'g'> {
  /** Seed of the V (and gemma3n U) initialization. */
  seed?: number;
}

const LAUREL_KEYS = ['rank', 'k', 'rwNorm', 'rwPerDim', 'vInit', 'paH', 'layerScaleInit'] as const;
/**
 * tf.layers.Layer's own arguments (what its getConfig writes and a saved model passes back, and the rest), and
 * customObjects, which tfjs adds to the config of a class it deserializes.
 */
const BASE_KEYS = [
  'customObjects',
  'name',
  'trainable',
  'dtype',
  'inputShape',
  'batchInputShape',
  'batchSize',
  'inputDType',
  'weights',
];

export class LaurelResidualLayer extends tf.layers.Layer {
  static className = 'LaurelResidual';
  readonly laurel: ResidualConfig;
  private readonly seed?: number;
  private readonly P: Record<string, LayerVariable> = {};
  private dim = 0;

  constructor(args: LaurelLayerArgs) {
    const { variant, rank, k, rwNorm, rwPerDim, vInit, paH, layerScaleInit, seed, ...base } = args;
    // tf.layers.Layer would drop an unknown key silently: a misspelled option (ranks: 4) would build the default
    const unknown = Object.keys(base).filter((key) => !BASE_KEYS.includes(key));
    if (unknown.length > 0)
      throw new Error(
        `LaurelResidualLayer: bad option name '${unknown[0]}'; allowed: variant, seed, ${[...LAUREL_KEYS, ...BASE_KEYS].join(', ')}`,
      );
    super(base);
    const opts: Partial<ResidualConfig> = {};
    const given = { rank, k, rwNorm, rwPerDim, vInit, paH, layerScaleInit };
    for (const key of LAUREL_KEYS) if (given[key] !== undefined) Object.assign(opts, { [key]: given[key] });
    if (VARIANTS.includes(variant) && variantSpec(variant).needsG) {
      const layered = VARIANTS.filter((v) => !variantSpec(v).needsG);
      throw new Error(
        `LaurelResidualLayer: bad variant '${variant}'; allowed: ${layered.map((v) => `'${v}'`).join(', ')} (a function g cannot be serialized: use Residual)`,
      );
    }
    this.laurel = residualConfig(variant, opts);
    if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff))
      throw new Error(`LaurelResidualLayer: bad seed ${seed}; allowed: an integer from 0 to 4294967295`);
    this.seed = seed;
  }

  /** The most inputs this layer accepts: [fx, x] plus k − 1 earlier activations (PA) or x̂ (gemma3n). */
  maxInputs(): number {
    const spec = variantSpec(this.laurel.variant);
    if (spec.history !== 'none') return 1 + effectiveK(this.laurel);
    return spec.xNormed ? 3 : 2;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shapes = (Array.isArray(inputShape[0]) ? inputShape : [inputShape]) as Shape[];
    const name = this.errorName();
    this.checkCount(shapes.length);
    const x = shapes[1];
    for (const [i, s] of shapes.entries()) {
      const same = s.length === x.length && s.every((d, j) => d === x[j] || d === null || x[j] === null);
      if (!same) throw new Error(`${name}: input ${i} shape [${s}] must equal x shape [${x}]`);
    }
    const D = x[x.length - 1];
    if (x.length < 2 || typeof D !== 'number') {
      throw new Error(`${name}: x must be [batch, ..., D] with a known D, got [${x}]`);
    }
    this.dim = D;
    for (const [pname, init] of initialParams(this.laurel, D, this.seed)) {
      const w = this.addWeight(pname, init.shape, 'float32', tf.initializers.zeros(), undefined, true);
      w.write(init);
      init.dispose();
      this.P[pname] = w;
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const x = (Array.isArray(inputShape[0]) ? inputShape[1] : inputShape) as Shape;
    // a shared layer applied again to another width: refused while the graph is built, not at predict
    const D = x[x.length - 1];
    if (this.built && typeof D === 'number' && D !== this.dim)
      throw new Error(
        `${this.errorName()}: x shape [${x}] must end in ${this.dim}, the D the layer was built with`,
      );
    return x;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const all = Array.isArray(inputs) ? inputs : [inputs];
      this.checkTensors(all);
      const [fx, x, ...extra] = all;
      const P: LaurelParams = {};
      for (const [n, w] of Object.entries(this.P)) P[n] = w.read();
      if (variantSpec(this.laurel.variant).xNormed)
        return residualForward(this.laurel, P, fx, x, [], extra[0] ?? x);
      return residualForward(this.laurel, P, fx, x, extra);
    });
  }

  private errorName(): string {
    return `LaurelResidualLayer(${this.laurel.variant})`;
  }

  private checkCount(n: number): void {
    if (n < 2 || n > this.maxInputs()) {
      throw new Error(
        `${this.errorName()}: got ${n} inputs; allowed: 2 to ${this.maxInputs()} ([fx, x, ...earlier activations or x̂])`,
      );
    }
  }

  /** build() checked the shapes of the first call only; later calls must match them, or tfjs would broadcast. */
  private checkTensors(inputs: tf.Tensor[]): void {
    this.checkCount(inputs.length);
    const x = inputs[1];
    if (x.shape[x.rank - 1] !== this.dim) {
      throw new Error(
        `${this.errorName()}: x shape [${x.shape}] must end in ${this.dim}, the D the layer was built with`,
      );
    }
    for (const [i, t] of inputs.entries()) {
      if (t.rank !== x.rank || t.shape.some((d, j) => d !== x.shape[j])) {
        throw new Error(`${this.errorName()}: input ${i} shape [${t.shape}] must equal x shape [${x.shape}]`);
      }
    }
  }

  /** Parameters this layer adds over a plain residual (the paper's formula); needs the layer built. */
  addedParams(): number {
    if (!this.built) throw new Error('LaurelResidualLayer.addedParams: build the layer first (D is unknown)');
    return addedParamCount(this.laurel, this.dim);
  }

  override getConfig(): tf.serialization.ConfigDict {
    const own: tf.serialization.ConfigDict = { variant: this.laurel.variant };
    for (const key of LAUREL_KEYS) {
      const v = this.laurel[key];
      if (v !== undefined) own[key] = v;
    }
    if (this.seed !== undefined) own.seed = this.seed;
    return { ...super.getConfig(), ...own };
  }
}

tf.serialization.registerClass(LaurelResidualLayer);

/** Factory in the style of tf.layers.dense. */
export function laurelResidual(args: LaurelLayerArgs): LaurelResidualLayer {
  return new LaurelResidualLayer(args);
}
