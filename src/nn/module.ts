import * as tf from '@tensorflow/tfjs';

/**
 * What a parameter is, so that an optimizer can decide about weight decay
 * (decay only `weight` and `embedding` by default; LAUREL, norms and biases are excluded).
 */
export type ParamKind = 'weight' | 'bias' | 'norm' | 'embedding' | 'laurel';

export interface NamedParam {
  /** Dotted path from the root module, e.g. `layer1.0.conv1.kernel`. */
  name: string;
  variable: tf.Variable;
  kind: ParamKind;
}

/**
 * Base class for every model part (nanoGPT / PyTorch style): it owns trainable parameters,
 * non-trainable buffers (e.g. batch-norm running statistics) and named child modules.
 * tf.Variable names are left to tfjs (they must be globally unique); our own names are the dotted paths.
 */
export abstract class Module {
  private readonly ownParams = new Map<string, { variable: tf.Variable; kind: ParamKind }>();
  private readonly ownBuffers = new Map<string, tf.Variable>();
  private readonly children = new Map<string, Module>();
  training = true;

  /** Registers a trainable parameter initialized from `init` (which the module takes ownership of). */
  protected param(name: string, init: tf.Tensor, kind: ParamKind = 'weight'): tf.Variable {
    this.checkFree(name);
    const variable = tf.variable(init, true);
    init.dispose();
    this.ownParams.set(name, { variable, kind });
    return variable;
  }

  /** Registers a non-trainable state tensor that is saved in checkpoints. */
  protected buffer(name: string, init: tf.Tensor): tf.Variable {
    this.checkFree(name);
    const variable = tf.variable(init, false);
    init.dispose();
    this.ownBuffers.set(name, variable);
    return variable;
  }

  /** Registers a child module under `name` and returns it. */
  protected child<M extends Module>(name: string, module: M): M {
    this.checkFree(name);
    this.children.set(name, module);
    return module;
  }

  private checkFree(name: string): void {
    if (this.ownParams.has(name) || this.ownBuffers.has(name) || this.children.has(name)) {
      throw new Error(`${this.constructor.name}: '${name}' is already registered`);
    }
  }

  namedParameters(prefix = ''): NamedParam[] {
    const out: NamedParam[] = [];
    for (const [n, p] of this.ownParams) out.push({ name: prefix + n, variable: p.variable, kind: p.kind });
    for (const [n, c] of this.children) out.push(...c.namedParameters(`${prefix + n}.`));
    return out;
  }

  namedBuffers(prefix = ''): { name: string; variable: tf.Variable }[] {
    const out = [...this.ownBuffers].map(([n, variable]) => ({ name: prefix + n, variable }));
    for (const [n, c] of this.children) out.push(...c.namedBuffers(`${prefix + n}.`));
    return out;
  }

  /** Every descendant module with its dotted path (children before grandchildren of the next child). */
  namedModules(prefix = ''): { name: string; module: Module }[] {
    const out: { name: string; module: Module }[] = [];
    for (const [n, c] of this.children)
      out.push({ name: prefix + n, module: c }, ...c.namedModules(`${prefix + n}.`));
    return out;
  }

  /** Number of trainable scalars (torchvision counting: buffers excluded). */
  parameterCount(): number {
    return this.namedParameters().reduce((s, p) => s + p.variable.size, 0);
  }

  /** Switches this module and its children between training and inference behaviour. */
  setTraining(training: boolean): this {
    this.training = training;
    for (const c of this.children.values()) c.setTraining(training);
    return this;
  }

  dispose(): void {
    for (const p of this.ownParams.values()) p.variable.dispose();
    for (const b of this.ownBuffers.values()) b.dispose();
    for (const c of this.children.values()) c.dispose();
  }
}
