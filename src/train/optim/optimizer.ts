import * as tf from '@tensorflow/tfjs';
import type { NamedParam, ParamKind } from '../../nn/module.ts';

/** Which parameters get weight decay. Defaults follow the architecture contract: `weight` and `embedding` only. */
export interface DecayOptions {
  /** Also decay LAUREL parameters (kind `laurel`); off by default, as in the paper's setup. */
  decayLaurel?: boolean;
  /** Also decay norm scales/offsets (kind `norm`). */
  decayNorm?: boolean;
  /** Also decay biases (kind `bias`). */
  decayBias?: boolean;
}

/** True when a parameter of this kind is weight-decayed under `opts`. */
export function isDecayed(kind: ParamKind, opts: DecayOptions = {}): boolean {
  switch (kind) {
    case 'weight':
    case 'embedding':
      return true;
    case 'laurel':
      return opts.decayLaurel === true;
    case 'norm':
      return opts.decayNorm === true;
    case 'bias':
      return opts.decayBias === true;
  }
}

/** A plain (name → tensor) map; gradients are keyed by our dotted parameter names. */
export type NamedTensors = Record<string, tf.Tensor>;

/** What an optimizer saves in a checkpoint: named slot tensors plus a small JSON part. */
export interface OptimizerState {
  /** e.g. `{ type: 'adamw', step: 12 }` */
  meta: { type: string; step: number };
  /** slot tensors named `<param name>/<slot>`, e.g. `layer1.0.conv1.kernel/m`. */
  tensors: NamedTensors;
}

/**
 * An optimizer over the `NamedParam[]` of a Module. `step(grads, lr)` applies one update in place
 * (variable.assign inside tf.tidy); the learning rate comes from the schedule on every step.
 */
export abstract class Optimizer {
  abstract readonly type: string;
  /** Number of updates applied so far (AdamW's bias correction uses it). */
  stepCount = 0;
  protected readonly slots = new Map<string, Map<string, tf.Variable>>();

  constructor(protected readonly params: NamedParam[]) {
    const names = new Set<string>();
    for (const p of params) {
      if (names.has(p.name)) throw new Error(`optimizer: duplicate parameter name '${p.name}'`);
      names.add(p.name);
    }
  }

  /** Applies one update. Parameters without a gradient (not reached by the loss) are left unchanged. */
  step(grads: NamedTensors, lr: number): void {
    if (!Number.isFinite(lr)) throw new Error(`optimizer: learning rate must be finite, got ${lr}`);
    this.stepCount++;
    for (const p of this.params) {
      const g = grads[p.name];
      if (g === undefined) continue;
      tf.tidy(() => this.update(p, g, lr));
    }
  }

  /** One parameter's update, run inside tf.tidy. */
  protected abstract update(p: NamedParam, g: tf.Tensor, lr: number): void;

  /** The slots `update` creates for every parameter it updates (e.g. AdamW's `m` and `v`). */
  protected abstract slotNames(): readonly string[];

  /** The slot variable `slot` of parameter `p`, created as zeros on first use. */
  protected slot(p: NamedParam, slot: string): tf.Variable {
    let m = this.slots.get(p.name);
    if (m === undefined) {
      m = new Map();
      this.slots.set(p.name, m);
    }
    let v = m.get(slot);
    if (v === undefined) {
      v = tf.tidy(() => tf.variable(tf.zerosLike(p.variable), false));
      m.set(slot, v);
    }
    return v;
  }

  /** The state to checkpoint. The tensors are the live slot variables: read them, do not dispose them. */
  getState(): OptimizerState {
    const tensors: NamedTensors = {};
    for (const [name, m] of this.slots) for (const [slot, v] of m) tensors[`${name}/${slot}`] = v;
    return { meta: { type: this.type, step: this.stepCount }, tensors };
  }

  /** Restores a state saved by `getState` (values are copied; the caller keeps ownership of `state.tensors`). */
  setState(state: OptimizerState): void {
    if (state.meta.type !== this.type) {
      throw new Error(`optimizer: checkpoint holds '${state.meta.type}' state, this run uses '${this.type}'`);
    }
    const byName = new Map(this.params.map((p) => [p.name, p]));
    const want = this.slotNames();
    // A parameter the loss never reached has no slots; one that has any must have them all, else a lost
    // entry would restart silently from zeros. Everything is checked before the live slots are replaced.
    const restored: [NamedParam, string, tf.Tensor][] = [];
    const slotsOf = new Map<string, Set<string>>();
    for (const [key, t] of Object.entries(state.tensors)) {
      const cut = key.lastIndexOf('/');
      const pname = key.slice(0, cut);
      const slot = key.slice(cut + 1);
      const p = byName.get(pname);
      if (cut < 0 || p === undefined) throw new Error(`optimizer: state '${key}' matches no parameter`);
      if (!want.includes(slot)) {
        throw new Error(
          `optimizer: state '${key}' is not a slot of ${this.type} (${want.join(', ') || 'none'})`,
        );
      }
      if (!tf.util.arraysEqual(t.shape, p.variable.shape)) {
        throw new Error(
          `optimizer: state '${key}' has shape [${t.shape}], parameter has [${p.variable.shape}]`,
        );
      }
      restored.push([p, slot, t]);
      slotsOf.set(pname, (slotsOf.get(pname) ?? new Set()).add(slot));
    }
    for (const [pname, slots] of slotsOf) {
      const missing = want.find((w) => !slots.has(w));
      if (missing !== undefined) throw new Error(`optimizer: state lacks '${pname}/${missing}'`);
    }
    this.disposeSlots();
    for (const [p, slot, t] of restored) this.slot(p, slot).assign(t);
    this.stepCount = state.meta.step;
  }

  private disposeSlots(): void {
    for (const m of this.slots.values()) for (const v of m.values()) v.dispose();
    this.slots.clear();
  }

  dispose(): void {
    this.disposeSlots();
  }
}
