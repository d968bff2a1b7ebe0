import * as tf from '@tensorflow/tfjs';
import { ops } from '../engine/ops/index.ts';
import type { InitOptions, KernelInit } from './init.ts';
import { rngOf } from './init.ts';
import { Linear } from './linear.ts';
import { Module } from './module.ts';

/**
 * Keys and values of the positions a layer has already seen, for incremental decoding: k, v [B, H, length, d]
 * (kept tensors, owned by the cache; null before the first call). `forward(x, cache)` treats x as the positions
 * length, length + 1, … and appends their keys and values; each new token then costs O(length) instead of a
 * recompute of the whole window.
 */
export class KvCache {
  k: tf.Tensor4D | null = null;
  v: tf.Tensor4D | null = null;

  /** Positions cached so far. */
  get length(): number {
    return this.k ? this.k.shape[2] : 0;
  }

  /** Replaces the cached keys and values (keeping the new ones, freeing the old ones). */
  set(k: tf.Tensor4D, v: tf.Tensor4D): void {
    const old = [this.k, this.v];
    this.k = tf.keep(k);
    this.v = tf.keep(v);
    for (const t of old) t?.dispose();
  }

  dispose(): void {
    this.k?.dispose();
    this.v?.dispose();
    this.k = this.v = null;
  }
}

export interface CausalSelfAttentionOptions extends InitOptions {
  /** Longest sequence T the layer accepts (sizes the rotary tables). */
  context: number;
  /** Apply rotary position embeddings (RoPE, half-rotation / GPT-NeoX layout) to queries and keys. Default false. */
  rotary?: boolean;
  /** RoPE base θ: frequencies θ^(−2i/d_head). Default 10000. */
  rotaryBase?: number;
  /** Biases on the QKV and output projections. Default true (GPT-2). */
  bias?: boolean;
  /** Init of the fused QKV projection. Default `'torch'`. */
  init?: KernelInit;
  /** Init of the output projection (GPT-2 scales it by 1/√(2·layers)). Default: same as `init`. */
  projInit?: KernelInit;
}

/**
 * Multi-head causal self-attention (Vaswani et al., 2017), as in GPT-2:
 *
 *   [Q, K, V] = x·W_qkv + b_qkv                       (one fused projection, split into H heads of size d = D/H)
 *   Q, K ← RoPE(Q), RoPE(K)                             (only with `rotary`)
 *   A_h = softmax(Q_h·K_hᵀ / √d + M),  M[t, s] = 0 if s ≤ t else −1e9   (position t sees only s ≤ t)
 *   y = concat_h(A_h·V_h)·W_o + b_o
 *
 * RoPE rotates each (x_i, x_{i+d/2}) pair of a head at position t by angle t·θ^(−2i/d).
 * All heads are computed with one batched matmul for the scores and one for the values.
 *
 * Args:
 *   dim: model width D.
 *   heads: H; must divide D (and with rotary, D/H must be even).
 *
 * Parameters: `qkv` (Linear D→3D), `proj` (Linear D→D).
 *
 * Shapes: input [B, T, D] with T ≤ context → output [B, T, D]. With a KvCache holding P positions, x holds
 * positions P … P + T − 1 (P + T ≤ context): queries attend to the cached keys and to their own causal prefix.
 */
export class CausalSelfAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  readonly headDim: number;
  readonly context: number;
  readonly rotary: boolean;
  private rope: { cos: tf.Tensor2D; sin: tf.Tensor2D; rot: tf.Tensor2D } | null = null;
  private readonly rotaryBase: number;

  constructor(
    readonly dim: number,
    readonly heads: number,
    opts: CausalSelfAttentionOptions,
  ) {
    super();
    if (dim % heads !== 0) throw new Error(`CausalSelfAttention: heads (${heads}) must divide dim (${dim})`);
    this.headDim = dim / heads;
    this.context = opts.context;
    this.rotary = opts.rotary ?? false;
    this.rotaryBase = opts.rotaryBase ?? 10000;
    if (this.rotary && this.headDim % 2 !== 0) {
      throw new Error(`CausalSelfAttention: rotary needs an even head size, got dim/heads = ${this.headDim}`);
    }
    const rng = rngOf(opts);
    const bias = opts.bias ?? true;
    this.qkv = this.child('qkv', new Linear(dim, 3 * dim, { rng, bias, init: opts.init }));
    this.proj = this.child('proj', new Linear(dim, dim, { rng, bias, init: opts.projInit ?? opts.init }));
  }

  /** cos/sin tables [context, d] and the d×d matrix R with x·R = rotate_half(x) = [−x₂, x₁]. */
  private ropeTables(): { cos: tf.Tensor2D; sin: tf.Tensor2D; rot: tf.Tensor2D } {
    if (!this.rope) {
      const d = this.headDim;
      const half = d / 2;
      const cos = new Float32Array(this.context * d);
      const sin = new Float32Array(this.context * d);
      for (let t = 0; t < this.context; t++) {
        for (let i = 0; i < half; i++) {
          const angle = t * this.rotaryBase ** (-(2 * i) / d);
          cos[t * d + i] = cos[t * d + i + half] = Math.cos(angle);
          sin[t * d + i] = sin[t * d + i + half] = Math.sin(angle);
        }
      }
      const rot = new Float32Array(d * d);
      for (let i = 0; i < half; i++) {
        rot[(i + half) * d + i] = -1; // out_i = −x_{i+d/2}
        rot[i * d + i + half] = 1; // out_{i+d/2} = x_i
      }
      this.rope = {
        cos: tf.keep(tf.tensor2d(cos, [this.context, d])),
        sin: tf.keep(tf.tensor2d(sin, [this.context, d])),
        rot: tf.keep(tf.tensor2d(rot, [d, d])),
      };
    }
    return this.rope;
  }

  /** RoPE on x [..., T, d] at positions start … start + T − 1: x·cos + rotate_half(x)·sin. */
  private applyRope(x: tf.Tensor, t: number, start: number): tf.Tensor {
    const { cos, sin, rot } = this.ropeTables();
    const d = this.headDim;
    const whole = t === this.context;
    const c = whole ? cos : tf.slice(cos, [start, 0], [t, d]);
    const s = whole ? sin : tf.slice(sin, [start, 0], [t, d]);
    const rotated = tf.reshape(tf.matMul(tf.reshape(x, [-1, d]), rot), x.shape);
    return tf.add(tf.mul(x, c), tf.mul(rotated, s));
  }

  forward(x: tf.Tensor3D, cache?: KvCache): tf.Tensor3D {
    const [b, t, dim] = x.shape;
    const start = cache?.length ?? 0;
    if (start + t > this.context) {
      throw new Error(
        `CausalSelfAttention: sequence length ${start + t}${start ? ` (${start} cached)` : ''} > context ${this.context}`,
      );
    }
    if (cache?.k && cache.k.shape[0] !== b)
      throw new Error(`CausalSelfAttention: batch ${b} differs from the cache's ${cache.k.shape[0]}`);
    const h = this.heads;
    const d = this.headDim;
    return tf.tidy(() => {
      // [B, T, 3D] → [3, B, H, T, d]
      const qkv = tf.transpose(tf.reshape(this.qkv.forward(x), [b, t, 3, h, d]), [2, 0, 3, 1, 4]);
      let q: tf.Tensor;
      let k: tf.Tensor;
      let v: tf.Tensor;
      if (this.rotary) {
        const [qk, vv] = tf.split(qkv, [2, 1], 0);
        [q, k] = tf.unstack(this.applyRope(qk, t, start));
        v = tf.squeeze(vv, [0]);
      } else {
        [q, k, v] = tf.unstack(qkv);
      }
      if (cache) {
        if (cache.k && cache.v) {
          k = tf.concat([cache.k, k], 2);
          v = tf.concat([cache.v, v], 2);
        }
        cache.set(k as tf.Tensor4D, v as tf.Tensor4D);
      }
      // softmax(q·kᵀ/√d + M) over the cached keys and the queries' own causal prefix
      const weights = ops().causalSoftmax(tf.matMul(q, k, false, true), 1 / Math.sqrt(d));
      const y = tf.matMul(weights, v); // [B, H, T, d]
      return this.proj.forward(tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [b, t, dim])) as tf.Tensor3D;
    });
  }

  override dispose(): void {
    super.dispose();
    if (this.rope) for (const r of Object.values(this.rope)) r.dispose();
    this.rope = null;
  }
}
