// Fused optimizer updates (one pass over p, g and the slots instead of ~12 elementwise kernels).
import { type KernelArgs, type KernelFunc, type Kernels, type TensorInfo, addon, f32 } from './util.ts';

function adamw({ inputs, backend, attrs }: KernelArgs): TensorInfo[] {
  const { p, g, m, v } = inputs;
  const a = attrs as {
    lr: number;
    beta1: number;
    beta2: number;
    eps: number;
    weightDecay: number;
    step: number;
  };
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
  const a = attrs as { lr: number; momentum: number; weightDecay: number; nesterov: boolean };
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

function combine({ inputs, backend }: KernelArgs): TensorInfo {
  const { fx, x, extra, alpha, beta } = inputs;
  const out = backend.alloc(f32(backend, fx).length);
  const d = fx.shape[fx.shape.length - 1];
  const opt = (t?: TensorInfo) => (t ? f32(backend, t) : null);
  addon().combine(f32(backend, fx), f32(backend, x), opt(extra), opt(alpha), opt(beta), out, d);
  return backend.makeTensorInfo(fx.shape.slice(), 'float32', out);
}

function combineGrad({ inputs, backend }: KernelArgs): TensorInfo[] {
  const { dy, fx, x, extra, alpha, beta } = inputs;
  const n = f32(backend, dy).length;
  const d = dy.shape[dy.shape.length - 1];
  const opt = (t?: TensorInfo) => (t ? f32(backend, t) : null);
  const dfx = backend.alloc(n);
  const dx = backend.alloc(n);
  const da = alpha ? backend.alloc(f32(backend, alpha).length) : null;
  const db = beta ? backend.alloc(f32(backend, beta).length) : null;
  addon().combineGrad(
    f32(backend, dy),
    f32(backend, fx),
    f32(backend, x),
    opt(extra),
    opt(alpha),
    opt(beta),
    dfx,
    dx,
    da,
    db,
    d,
  );
  const outs = [
    backend.makeTensorInfo(dy.shape.slice(), 'float32', dfx),
    backend.makeTensorInfo(dy.shape.slice(), 'float32', dx),
  ];
  if (alpha && da) outs.push(backend.makeTensorInfo(alpha.shape.slice(), 'float32', da));
  if (beta && db) outs.push(backend.makeTensorInfo(beta.shape.slice(), 'float32', db));
  return outs;
}

export function registerCombine(k: Kernels): void {
  k.set('LaurelCombine', combine as unknown as KernelFunc);
  k.set('LaurelCombineGrad', combineGrad as unknown as KernelFunc);
}
