// Fused optimizer updates (one pass over p, g and the slots instead of ~12 elementwise kernels).
import type { AdamWStep, SgdStep } from '../optim-steps.ts';
import {
  type Backend,
  type KernelArgs,
  type KernelFunc,
  type Kernels,
  type TensorInfo,
  addon,
  combineWeightGrads,
  combineWeights,
  f32,
  output,
} from './util.ts';

function adamw({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const { p, g, m, v } = inputs;
  const a = attrs as unknown as AdamWStep;
  const n = f32(backend, p).length;
  const po = backend.alloc(n);
  const mo = backend.alloc(n);
  const vo = backend.alloc(n);
  addon().adamw(
    f32(backend, p),
    f32(backend, g),
    f32(backend, m),
    f32(backend, v),
    po,
    mo,
    vo,
    a.lr,
    a.beta1,
    a.beta2,
    a.eps,
    a.weightDecay,
    1 - a.beta1 ** a.step,
    1 - a.beta2 ** a.step,
  );
  return [po, mo, vo].map((x) => backend.makeTensorInfo(p.shape.slice(), 'float32', x));
}

function sgd({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const { p, g, buf } = inputs;
  const a = attrs as unknown as SgdStep;
  const n = f32(backend, p).length;
  const po = backend.alloc(n);
  const bo = backend.alloc(n);
  addon().sgd(
    f32(backend, p),
    f32(backend, g),
    f32(backend, buf),
    po,
    bo,
    a.lr,
    a.momentum,
    a.weightDecay,
    a.nesterov,
    false,
  );
  return [po, bo].map((x) => backend.makeTensorInfo(p.shape.slice(), 'float32', x));
}

export function registerOptim(k: Kernels): void {
  k.set('LaurelAdamW', adamw as unknown as KernelFunc);
  k.set('LaurelSgd', sgd as unknown as KernelFunc);
}

// The combine kernels take α and β as tensors (scalar or [D]; RW's α, β come from tf ops in the ops interface).
// With attrs.relu the forward applies ReLU, and the gradient takes the forward's output as input y to mask dy.
function combine({ inputs, backend, attrs }: KernelArgs): TensorInfo {
  const { fx, x, extra } = inputs;
  const out = backend.alloc(f32(backend, fx).length);
  const d = fx.shape[fx.shape.length - 1];
  const { a, b } = combineWeights(backend, inputs);
  addon().combine(
    f32(backend, fx),
    f32(backend, x),
    extra ? f32(backend, extra) : null,
    a,
    b,
    out,
    d,
    attrs?.relu === true,
  );
  return backend.makeTensorInfo(fx.shape.slice(), 'float32', out);
}

function combineGrad({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const { dy, fx, x, extra, y } = inputs;
  const n = f32(backend, dy).length;
  const d = dy.shape[dy.shape.length - 1];
  const { a, b } = combineWeights(backend, inputs);
  const dfx = backend.alloc(n);
  const dx = backend.alloc(n);
  const da = a ? new Float32Array(a.length) : null;
  const db = b ? new Float32Array(b.length) : null;
  addon().combineGrad(
    f32(backend, dy),
    f32(backend, fx),
    f32(backend, x),
    extra ? f32(backend, extra) : null,
    a,
    b,
    dfx,
    dx,
    da,
    db,
    d,
    y ? f32(backend, y) : null,
  );
  return [
    output(backend, dy.shape.slice(), dfx),
    output(backend, dy.shape.slice(), dx),
    ...combineWeightGrads(backend, inputs, da, db),
  ];
}

export function registerCombine(k: Kernels): void {
  k.set('LaurelCombine', combine as unknown as KernelFunc);
  k.set('LaurelCombineGrad', combineGrad as unknown as KernelFunc);
}

function gelu({ inputs, backend }: KernelArgs): TensorInfo {
  const { x } = inputs;
  const out = backend.alloc(f32(backend, x).length);
  addon().gelu(f32(backend, x), out);
  return backend.makeTensorInfo(x.shape.slice(), 'float32', out);
}

function geluGrad({ inputs, backend }: KernelArgs): TensorInfo {
  const { dy, x } = inputs;
  const out = backend.alloc(f32(backend, x).length);
  addon().geluGrad(f32(backend, dy), f32(backend, x), out);
  return backend.makeTensorInfo(x.shape.slice(), 'float32', out);
}

function layerNorm({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const { x, gamma, beta } = inputs;
  const { eps, relu } = attrs as { eps: number; relu?: boolean };
  const d = x.shape[x.shape.length - 1];
  const n = f32(backend, x).length;
  const out = backend.alloc(n);
  const mean = backend.alloc(n / d);
  const rstd = backend.alloc(n / d);
  const opt = (t?: TensorInfo) => (t ? f32(backend, t) : null);
  addon().layerNorm(f32(backend, x), opt(gamma), opt(beta), out, mean, rstd, d, eps);
  const rowShape = x.shape.slice(0, -1);
  return [
    backend.makeTensorInfo(x.shape.slice(), 'float32', out),
    backend.makeTensorInfo(rowShape.slice(), 'float32', mean),
    backend.makeTensorInfo(rowShape.slice(), 'float32', rstd),
  ];
}

function layerNormGrad({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const { dy, x, mean, rstd, gamma } = inputs;
  const { withGamma, withBeta } = attrs as { withGamma: boolean; withBeta: boolean };
  const d = x.shape[x.shape.length - 1];
  const dx = backend.alloc(f32(backend, x).length);
  const dg = withGamma ? backend.alloc(d) : null;
  const db = withBeta ? backend.alloc(d) : null;
  addon().layerNormGrad(
    f32(backend, dy),
    f32(backend, x),
    f32(backend, mean),
    f32(backend, rstd),
    gamma ? f32(backend, gamma) : null,
    dx,
    dg,
    db,
    d,
  );
  const outs = [backend.makeTensorInfo(x.shape.slice(), 'float32', dx)];
  if (dg) outs.push(backend.makeTensorInfo([d], 'float32', dg));
  if (db) outs.push(backend.makeTensorInfo([d], 'float32', db));
  return outs;
}

function batchNormTrain({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const { x, gamma, beta } = inputs;
  const { eps, relu } = attrs as { eps: number; relu?: boolean };
  const c = x.shape[x.shape.length - 1];
  const y = backend.alloc(f32(backend, x).length);
  const mean = backend.alloc(c);
  const variance = backend.alloc(c);
  const opt = (t?: TensorInfo) => (t ? f32(backend, t) : null);
  addon().batchNormTrain(f32(backend, x), opt(gamma), opt(beta), y, mean, variance, c, eps, relu === true);
  return [
    backend.makeTensorInfo(x.shape.slice(), 'float32', y),
    backend.makeTensorInfo([c], 'float32', mean),
    backend.makeTensorInfo([c], 'float32', variance),
  ];
}

function batchNormTrainGrad({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const { dy, x, mean, variance, gamma, beta } = inputs;
  const { eps, relu } = attrs as { eps: number; relu?: boolean };
  const c = x.shape[x.shape.length - 1];
  const dx = backend.alloc(f32(backend, x).length);
  const dg = backend.alloc(c);
  const db = backend.alloc(c);
  addon().batchNormTrainGrad(
    f32(backend, dy),
    f32(backend, x),
    f32(backend, mean),
    f32(backend, variance),
    gamma ? f32(backend, gamma) : null,
    dx,
    dg,
    db,
    c,
    eps,
    beta ? f32(backend, beta) : null,
    relu === true,
  );
  return [
    backend.makeTensorInfo(x.shape.slice(), 'float32', dx),
    backend.makeTensorInfo([c], 'float32', dg),
    backend.makeTensorInfo([c], 'float32', db),
  ];
}

export function registerNorms(k: Kernels): void {
  k.set('LaurelBatchNormTrain', batchNormTrain as unknown as KernelFunc);
  k.set('LaurelBatchNormTrainGrad', batchNormTrainGrad as unknown as KernelFunc);
  k.set('LaurelGelu', gelu as unknown as KernelFunc);
  k.set('LaurelGeluGrad', geluGrad as unknown as KernelFunc);
  k.set('LaurelLayerNorm', layerNorm as unknown as KernelFunc);
  k.set('LaurelLayerNormGrad', layerNormGrad as unknown as KernelFunc);
}
