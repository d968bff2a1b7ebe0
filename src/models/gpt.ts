import * as tf from '@tensorflow/tfjs';
import {
  ActivationHistory,
  DEFAULT_K,
  Residual,
  type ResidualConfig,
  addedParamCount,
  historyUse,
  residualConfig,
  variantSpec,
} from '../laurel/index.ts';
import { CausalSelfAttention, KvCache } from '../nn/attention.ts';
import { Embedding } from '../nn/embedding.ts';
import { LayerNorm } from '../nn/layernorm.ts';
import { Linear } from '../nn/linear.ts';
import { crossEntropy } from '../nn/loss.ts';
import { Mlp } from '../nn/mlp.ts';
import { Module } from '../nn/module.ts';
import { Rng } from '../util/rng.ts';

/**
 * A decoder-only, pre-norm GPT (GPT-2 / nanoGPT layout) whose residual connections are switchable LAUREL
 * residuals.
 *
 * One layer, plain (placement does not matter for 'baseline'):
 *   a = Attn(LN₁(x));   h = x + a;   m = MLP(LN₂(h));   x' = h + m = x + (a + m)
 *
 * LAUREL placement (R = a LAUREL `Residual`, R(f, x) = x_{i+1}; e.g. RW+LR: α·f + β·(x + U·V·x)):
 * - 'block' (default): one LAUREL per layer around the whole layer, f(x) = x' − x = a + m:
 *     x' = R(a + m, x).   With RW+LR at rank r this adds N·(2rD + 2): r = 4 gives the paper's 2N(4D+1).
 * - 'attention': x' = h + MLP(LN₂(h)) with h = R_attn(a, x).
 * - 'mlp':       x' = R_mlp(MLP(LN₂(h)), h) with h = x + a.
 * - 'both':      h = R_attn(a, x); x' = R_mlp(MLP(LN₂(h)), h)   (two LAURELs per layer).
 * The 'gemma3n' variant always sits around attention (Gemma 3n's form), whatever `placement` says:
 *     h = R_gemma3n(a, x, x̂ = LN₁(x)) = (x + a + x̂ + RMSNorm(U·V·x̂)) / √2,  x' = h + MLP(LN₂(h)).
 * Every LAUREL residual also receives the pre-normed input of its branch as `xNormed`.
 * PA: one ActivationHistory per forward pass, shared by all LAUREL residuals in order (with 'both', x_{i−1}
 * of an MLP residual is the input of the attention residual of the same layer).
 *
 * Embeddings: token embedding E [V, D]; positions learned (P [context, D], added to the token embeddings) or
 * rotary (RoPE on queries and keys in every layer, no P). Output head tied to E by default (logits = h·Eᵀ,
 * no bias), as GPT-2 and nanoGPT do: it saves V·D parameters, which matters for small models.
 * Init (GPT-2): linear and embedding weights N(0, 0.02²), the two output projections of each layer
 * N(0, (0.02/√(2·L))²) with L the total layer count, biases 0, LayerNorm γ = 1, β = 0.
 * No dropout.
 */

export type Placement = 'block' | 'attention' | 'mlp' | 'both';
export const PLACEMENTS: readonly Placement[] = ['block', 'attention', 'mlp', 'both'];

export interface GptConfig {
  /** N: transformer layers (before `extraLayers`). Default 4. */
  layers: number;
  /** D: model width. Default 128. */
  dim: number;
  /** H: attention heads; must divide D. Default 4. */
  heads: number;
  /** MLP hidden width = mlpRatio · D. Default 4. */
  mlpRatio: number;
  /** Longest input sequence T (learned positions need one row each). Default 128. */
  context: number;
  /** V: vocabulary size (256 for the byte-level tokenizer). Default 256. */
  vocab: number;
  /** 'learned' absolute position embeddings or 'rotary' (RoPE). Default 'learned'. */
  positions: 'learned' | 'rotary';
  /** Output head = token embedding transposed (no extra parameters). Default true. */
  tieEmbeddings: boolean;
  /** Biases in linear layers and LayerNorm β (GPT-2 style). Default true. */
  bias: boolean;
  /** The residual connection (LAUREL variant or 'baseline'). */
  residual: ResidualConfig;
  /** Where LAUREL goes in each layer, see above. Default 'block'. */
  placement: Placement;
  /** Naive scaling: layers added on top of `layers` (they get the same residual). Default 0. */
  extraLayers: number;
  /** Seed of all initial weights. Base and LAUREL weights come from separate streams. Default 0. */
  seed: number;
}

/** Completes a partial config with the defaults above and checks it. */
export function gptConfig(c: Partial<GptConfig> = {}): GptConfig {
  const config: GptConfig = {
    layers: c.layers ?? 4,
    dim: c.dim ?? 128,
    heads: c.heads ?? 4,
    mlpRatio: c.mlpRatio ?? 4,
    context: c.context ?? 128,
    vocab: c.vocab ?? 256,
    positions: c.positions ?? 'learned',
    tieEmbeddings: c.tieEmbeddings ?? true,
    bias: c.bias ?? true,
    residual: c.residual ?? residualConfig('baseline'),
    placement: c.placement ?? 'block',
    extraLayers: c.extraLayers ?? 0,
    seed: c.seed ?? 0,
  };
  for (const [name, min] of [
    ['layers', 1],
    ['dim', 2],
    ['heads', 1],
    ['context', 1],
    ['vocab', 2],
    ['extraLayers', 0],
  ] as const) {
    const v = config[name];
    if (!(Number.isInteger(v) && v >= min))
      throw new Error(`gpt: bad ${name} ${v}; allowed: an integer >= ${min}`);
  }
  if (config.dim % config.heads !== 0) {
    throw new Error(`gpt: bad heads ${config.heads}; allowed: a divisor of dim ${config.dim}`);
  }
  if (config.positions === 'rotary' && (config.dim / config.heads) % 2 !== 0) {
    throw new Error(`gpt: bad heads ${config.heads}; rotary positions need an even head size dim/heads`);
  }
  // The MLP's hidden width is round(mlpRatio · dim): it must be a finite integer of at least 1.
  if (!(Number.isFinite(config.mlpRatio) && Math.round(config.mlpRatio * config.dim) >= 1)) {
    throw new Error(
      `gpt: bad mlpRatio ${config.mlpRatio}; allowed: a number with round(mlpRatio * dim) >= 1 (dim ${config.dim})`,
    );
  }
  if (config.positions !== 'learned' && config.positions !== 'rotary') {
    throw new Error(`gpt: bad positions '${config.positions}'; allowed: 'learned', 'rotary'`);
  }
  if (!PLACEMENTS.includes(config.placement)) {
    throw new Error(
      `gpt: bad placement '${config.placement}'; allowed: ${PLACEMENTS.map((p) => `'${p}'`).join(', ')}`,
    );
  }
  return config;
}

/** Which of a layer's two residual connections are LAUREL ones, given the variant and placement. */
export function laurelSites(config: GptConfig): { block: boolean; attention: boolean; mlp: boolean } {
  const fixed = variantSpec(config.residual.variant).fixedPlacement;
  if (fixed === 'none') return { block: false, attention: false, mlp: false };
  if (fixed === 'attention') return { block: false, attention: true, mlp: false };
  const p = config.placement;
  return {
    block: p === 'block',
    attention: p === 'attention' || p === 'both',
    mlp: p === 'mlp' || p === 'both',
  };
}

/** Total layer count L = layers + extraLayers. */
const totalLayers = (c: GptConfig) => c.layers + c.extraLayers;

/** Trainable parameters of the GPT described by `config`, computed from shapes without allocating anything. */
export function gptParamCount(config: GptConfig): number {
  const D = config.dim;
  const V = config.vocab;
  const hidden = Math.round(config.mlpRatio * D);
  const b = config.bias ? 1 : 0;
  const ln = D * (1 + b);
  const attn = D * 3 * D + 3 * D * b + D * D + D * b;
  const mlp = D * hidden + hidden * b + hidden * D + D * b;
  const sites = laurelSites(config);
  const perSite = addedParamCount(config.residual, D);
  const laurel = [sites.block, sites.attention, sites.mlp].filter(Boolean).length * perSite;
  const layer = 2 * ln + attn + mlp + laurel;
  const embeddings = V * D + (config.positions === 'learned' ? config.context * D : 0);
  const head = config.tieEmbeddings ? 0 : V * D;
  return embeddings + totalLayers(config) * layer + ln + head;
}

/** One pre-norm transformer layer with LAUREL residual(s), see the file comment. Shapes: [B, T, D] → [B, T, D]. */
export class GptLayer extends Module {
  readonly ln1: LayerNorm;
  readonly attn: CausalSelfAttention;
  readonly ln2: LayerNorm;
  readonly mlp: Mlp;
  /** The LAUREL residual around the whole layer ('block' placement); null where the sum is plain. */
  readonly residual: Residual | null;
  readonly residualAttn: Residual | null;
  readonly residualMlp: Residual | null;

  constructor(config: GptConfig, rng: Rng, laurelRng: Rng) {
    super();
    const D = config.dim;
    const init = { std: 0.02 };
    const projInit = { std: 0.02 / Math.sqrt(2 * totalLayers(config)) };
    const bias = config.bias;
    this.ln1 = this.child('ln1', new LayerNorm(D, { bias }));
    this.attn = this.child(
      'attn',
      new CausalSelfAttention(D, config.heads, {
        context: config.context,
        rotary: config.positions === 'rotary',
        bias,
        init,
        projInit,
        rng,
      }),
    );
    this.ln2 = this.child('ln2', new LayerNorm(D, { bias }));
    this.mlp = this.child('mlp', new Mlp(D, { ratio: config.mlpRatio, bias, init, projInit, rng }));
    const sites = laurelSites(config);
    const make = (name: string) =>
      this.child(name, new Residual(config.residual, D, { seed: laurelRng.seed() }));
    this.residual = sites.block ? make('residual') : null;
    this.residualAttn = sites.attention ? make('residualAttn') : null;
    this.residualMlp = sites.mlp ? make('residualMlp') : null;
  }

  /** `cache`: the attention's keys and values of earlier positions (incremental decoding, see Gpt.forward). */
  forward(x: tf.Tensor3D, history?: ActivationHistory, cache?: KvCache): tf.Tensor3D {
    const body = (): [tf.Tensor3D, tf.Tensor3D] => {
      const xn = this.ln1.forward(x);
      const a = this.attn.forward(xn, cache);
      const h = this.residualAttn ? this.residualAttn.forward(a, x, { history, xNormed: xn }) : tf.add(x, a);
      const hn = this.ln2.forward(h);
      const m = this.mlp.forward(hn);
      let out: tf.Tensor;
      if (this.residual) out = this.residual.forward(tf.add(a, m), x, { history, xNormed: xn });
      else if (this.residualMlp) out = this.residualMlp.forward(m, h, { history, xNormed: hn });
      else out = tf.add(h, m);
      return [out as tf.Tensor3D, h as tf.Tensor3D];
    };
    // With a PA history and an MLP residual, h was pushed into the history: it must outlive this tidy
    // (the enclosing scope, Gpt.forward's tidy, frees it).
    if (history && this.residualMlp) return tf.tidy(body)[0];
    return tf.tidy(() => body()[0]);
  }
}

/**
 * The keys and values of every layer for incremental decoding (one KvCache per layer); `length` positions are
 * cached. Owned by the caller: `dispose()` frees them.
 */
export class GptCache {
  readonly layers: KvCache[];

  constructor(layers: number) {
    this.layers = Array.from({ length: layers }, () => new KvCache());
  }

  get length(): number {
    return this.layers[0].length;
  }

  dispose(): void {
    for (const c of this.layers) c.dispose();
  }
}

/**
 * The language model. `forward(tokens)`: int32 [B, T] (T ≤ context) → logits [B, T, vocab].
 * `forward(tokens, cache)`: tokens are the positions cache.length … cache.length + T − 1 (≤ context in all), and
 * the cache grows by T. The same logits as a forward pass over the whole sequence: every part of a layer but
 * attention acts on each position alone, and so does LAUREL (its matrices act on D; PA's history holds the
 * earlier layers' inputs at the same positions, so one fresh history per call is exact).
 * Module names: wte, wpe (learned positions), layers.0 … layers.{L−1} (ln1, attn.qkv, attn.proj, ln2, mlp.fc,
 * mlp.proj, residual | residualAttn | residualMlp), lnF, head (untied only).
 */
export class Gpt extends Module {
  readonly kind = 'lm' as const;
  readonly config: GptConfig;
  readonly wte: Embedding;
  readonly wpe: Embedding | null;
  readonly layers: GptLayer[];
  readonly lnF: LayerNorm;
  readonly head: Linear | null;

  constructor(config: GptConfig) {
    super();
    this.config = config;
    const rng = new Rng(config.seed);
    const laurelRng = new Rng((config.seed ^ 0x5a5a5a5a) >>> 0);
    // Naive-scaling layers draw from a third stream, so that adding them shifts no other weight (paired trials).
    const extraRng = new Rng((config.seed ^ 0x3c3c3c3c) >>> 0);
    const D = config.dim;
    this.wte = this.child('wte', new Embedding(config.vocab, D, { std: 0.02, rng }));
    this.wpe =
      config.positions === 'learned'
        ? this.child('wpe', new Embedding(config.context, D, { std: 0.02, rng }))
        : null;
    const stack = new LayerStack(config, rng, laurelRng, extraRng);
    this.layers = this.child('layers', stack).layers;
    this.lnF = this.child('lnF', new LayerNorm(D, { bias: config.bias }));
    this.head = config.tieEmbeddings
      ? null
      : this.child('head', new Linear(D, config.vocab, { bias: false, init: { std: 0.02 }, rng }));
  }

  forward(tokens: tf.Tensor2D, cache?: GptCache): tf.Tensor3D {
    return tf.tidy(() => {
      const f = this.features(tokens, cache);
      const [b, t, D] = f.shape;
      const h = tf.reshape(f, [b * t, D]) as tf.Tensor2D;
      const logits = this.head
        ? this.head.forward(h)
        : tf.matMul(h, this.wte.table as tf.Tensor2D, false, true);
      return tf.reshape(logits, [b, t, this.config.vocab]);
    });
  }

  /** The final hidden states lnF(x) [B, T, D] the head reads (also the features of a linear probe). */
  features(tokens: tf.Tensor2D, cache?: GptCache): tf.Tensor3D {
    if (tokens.rank !== 2) throw new Error(`Gpt: tokens must be int32 [B, T], got shape [${tokens.shape}]`);
    const t = tokens.shape[1];
    const start = cache?.length ?? 0;
    if (start + t > this.config.context) {
      throw new Error(
        `Gpt: sequence length ${start + t}${start ? ` (${start} cached)` : ''} > context ${this.config.context}`,
      );
    }
    if (cache && cache.layers.length !== this.layers.length)
      throw new Error(`Gpt: cache has ${cache.layers.length} layers, the model ${this.layers.length}`);
    const D = this.config.dim;
    const reads = historyUse(this.config.residual.variant) !== 'none';
    const history = reads ? new ActivationHistory(this.config.residual.k ?? DEFAULT_K) : undefined;
    return tf.tidy(() => {
      let x = this.wte.forward(tf.cast(tokens, 'int32')) as tf.Tensor3D;
      if (this.wpe) x = tf.add(x, tf.slice(this.wpe.table, [start, 0], [t, D]));
      this.layers.forEach((layer, i) => {
        x = layer.forward(x, history, cache?.layers[i]);
      });
      return this.lnF.forward(x) as tf.Tensor3D;
    });
  }

  /** An empty key/value cache for `forward(tokens, cache)`. */
  newCache(): GptCache {
    return new GptCache(this.layers.length);
  }

  /** Mean next-token cross-entropy of `forward(tokens)` against int32 `targets` [B, T]. */
  loss(tokens: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
    return tf.tidy(() => crossEntropy(this.forward(tokens), targets));
  }

  /** Sum of LAUREL parameters over all layers. */
  addedParams(): number {
    return this.layers.reduce(
      (s, l) =>
        s + [l.residual, l.residualAttn, l.residualMlp].reduce((t, r) => t + (r ? r.addedParams() : 0), 0),
      0,
    );
  }
}

/** The layers, as children '0', '1', … (so that parameter names read `layers.3.attn.qkv.kernel`). */
class LayerStack extends Module {
  readonly layers: GptLayer[];

  constructor(config: GptConfig, rng: Rng, laurelRng: Rng, extraRng: Rng) {
    super();
    this.layers = Array.from({ length: totalLayers(config) }, (_, i) =>
      this.child(
        String(i),
        i < config.layers ? new GptLayer(config, rng, laurelRng) : new GptLayer(config, extraRng, extraRng),
      ),
    );
  }
}

/** Builds a GPT (defaults as in `gptConfig`). */
export function gpt(config: Partial<GptConfig> = {}): Gpt {
  return new Gpt(gptConfig(config));
}

/** Mean next-token cross-entropy: logits [B, T, V], int32 targets [B, T]. */
export function lmLoss(logits: tf.Tensor3D, targets: tf.Tensor2D): tf.Scalar {
  return crossEntropy(logits, targets);
}
